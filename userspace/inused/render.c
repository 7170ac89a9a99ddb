// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/render.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/kdev.h"

int render_time(struct strbuf *out, uint64_t wall_ns)
{
	if (!wall_ns)
		return sb_adds(out, "null");
	return sb_printf(out, "%llu.%06llu", (unsigned long long)(wall_ns / 1000000000ULL),
			 (unsigned long long)(wall_ns % 1000000000ULL / 1000));
}

static json_t *time_json(const struct tracker *t, uint64_t boot_ns)
{
	uint64_t wall = tracker_wall_ns(t, boot_ns);

	if (!wall)
		return json_null();
	return json_real((double)(wall / 1000) / 1e6);
}

static const char *mode_name(const struct writer *w)
{
	if (w->via == VIA_MMAP)
		return "mmap";
	return (w->f_flags & O_ACCMODE) == O_RDWR ? "rw" : "w";
}

static json_t *writer_json(struct tracker *t, const struct writer *w)
{
	json_t *flags = json_array();
	json_t *o;

	if (w->f_flags & O_APPEND)
		json_array_append_new(flags, json_string("append"));
	if (w->open_flags & O_CREAT)
		json_array_append_new(flags, json_string("creat"));
	if (w->open_flags & O_TRUNC)
		json_array_append_new(flags, json_string("trunc"));
	if (w->f_flags & O_CLOEXEC)
		json_array_append_new(flags, json_string("cloexec"));
	if (w->f_flags & O_DIRECT)
		json_array_append_new(flags, json_string("direct"));
	if ((w->f_flags & O_SYNC) == O_SYNC)
		json_array_append_new(flags, json_string("sync"));
	o = json_pack("{s:I, s:s, s:I, s:I, s:s, s:o, s:o}", "pid", (json_int_t)w->pid, "comm",
		      w->comm, "uid", (json_int_t)w->uid, "cgroup_id", (json_int_t)w->cgroup_id,
		      "mode", mode_name(w), "flags", flags, "since", time_json(t, w->since_ns));
	if (o && w->via == VIA_FD)
		json_object_set_new(o, "fd", json_integer(w->fd));
	if (o) {
		const char *cg = cgroup_path(&t->cg, w->cgroup_id, (pid_t)w->pid);

		json_object_set_new(o, "cgroup", cg ? json_string(cg) : json_null());
	}
	return o;
}

static int build_cache(struct tracker *t, struct entry *e)
{
	json_t *writers = json_array(), *o;
	char dev[32], *s;
	size_t n;

	snprintf(dev, sizeof(dev), "%u:%u", kdev_major(e->dev), kdev_minor(e->dev));
	for (uint32_t i = 0; i < e->nw; i++)
		json_array_append_new(writers, writer_json(t, &e->w[i]));
	o = json_pack("{s:o, s:s, s:I, s:b, s:b, s:b, s:b, s:o, s:b, s:o, s:I, s:s}", "path",
		      e->path ? json_string(e->path) : json_null(), "dev", dev, "ino",
		      (json_int_t)e->ino, "deleted", !!(e->pflags & PF_DELETED), "renamed",
		      !!(e->pflags & PF_RENAMED), "other_mntns", !!(e->pflags & PF_FOREIGN_NS),
		      "path_truncated", !!(e->pflags & PF_TRUNCATED), "first_open",
		      time_json(t, e->first_open_ns), "opened_before_start",
		      e->first_open_ns == 0, "writers", writers, "writers_dropped",
		      (json_int_t)e->writers_dropped, "holders",
		      e->nw ? "known" : ((e->state & ES_UNKNOWN) ? "unknown" : "searching"));
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(16));
	json_decref(o);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	if (n < 2 || s[n - 1] != '}') {
		free(s);
		return -EINVAL;
	}
	s[--n] = '\0'; /* the dynamic part closes the object */
	free(e->json);
	e->json = s;
	e->json_len = n;
	return 0;
}

int render_entry(struct tracker *t, struct entry *e, struct strbuf *out)
{
	int err = 0;

	if (!e->json && (err = build_cache(t, e)))
		return err;
	err |= sb_add(out, e->json, e->json_len);
	err |= sb_adds(out, ",\"last_write\":");
	err |= render_time(out, tracker_wall_ns(t, e->last_write_ns));
	err |= sb_adds(out, ",\"write_gen\":");
	err |= sb_add_u64(out, e->write_gen);
	err |= sb_adds(out, ",\"open_gen\":");
	err |= sb_add_u64(out, e->open_gen);
	err |= sb_add(out, "}", 1);
	return err ? -ENOMEM : 0;
}
