// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/render.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/jname.h"
#include "common/kdev.h"

int render_time(struct strbuf *out, uint64_t wall_ns)
{
	if (!wall_ns)
		return sb_adds(out, "null");
	return sb_printf(out, "%llu.%06llu", (unsigned long long)(wall_ns / 1000000000ULL),
			 (unsigned long long)(wall_ns % 1000000000ULL / 1000));
}

int render_name(struct strbuf *out, const char *s)
{
	if (!s)
		return sb_adds(out, "null");
	return jname_append(out, s, strlen(s));
}

/* A 64-bit identity (inode number, cgroup id): a number, or, above
 * 2^63 - 1 (some FUSE and network file systems), a string of its digits,
 * which JSON parsers that hold integers in 64 signed bits can read. */
static int render_id(struct strbuf *out, uint64_t v)
{
	if (v > INT64_MAX)
		return sb_printf(out, "\"%llu\"", (unsigned long long)v);
	return sb_add_u64(out, v);
}

static const char *mode_name(const struct writer *w)
{
	if (w->via == VIA_MMAP)
		return "mmap";
	if (w->via == VIA_URING)
		return "uring";
	return (w->f_flags & O_ACCMODE) == O_RDWR ? "rw" : "w";
}

static int render_flags(struct strbuf *b, const struct writer *w)
{
	static const struct {
		uint32_t bit;
		bool open_flags; /* asked for at open, not kept in f_flags */
		const char *name;
	} fl[] = {
	    {O_APPEND, false, "append"},   {O_CREAT, true, "creat"},	{O_TRUNC, true, "trunc"},
	    {O_CLOEXEC, true, "cloexec"}, {O_DIRECT, false, "direct"},
	};
	bool first = true;
	int err = sb_adds(b, "[");

	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		if (!((fl[i].open_flags ? w->open_flags : w->f_flags) & fl[i].bit))
			continue;
		err |= sb_printf(b, "%s\"%s\"", first ? "" : ",", fl[i].name);
		first = false;
	}
	if ((w->f_flags & O_SYNC) == O_SYNC)
		err |= sb_printf(b, "%s\"sync\"", first ? "" : ",");
	return err | sb_adds(b, "]");
}

static int render_writer(struct tracker *t, const struct writer *w, struct strbuf *b)
{
	const char *cg = cgroup_path(&t->cg, w->cgroup_id, (pid_t)w->pid);
	int err = 0;

	err |= sb_printf(b, "{\"pid\":%u,\"comm\":", w->pid);
	err |= jname_append(b, w->comm, strnlen(w->comm, sizeof(w->comm)));
	err |= sb_printf(b, ",\"uid\":%u,\"cgroup_id\":", w->uid);
	err |= render_id(b, w->cgroup_id);
	err |= sb_printf(b, ",\"mode\":\"%s\",\"flags\":", mode_name(w));
	err |= render_flags(b, w);
	err |= sb_adds(b, ",\"since\":");
	err |= render_time(b, tracker_wall_ns(t, w->since_ns));
	if (w->via == VIA_FD)
		err |= sb_printf(b, ",\"fd\":%d", w->fd);
	else if (w->via == VIA_URING)
		err |= sb_printf(b, ",\"slot\":%d", w->fd);
	err |= sb_adds(b, ",\"cgroup\":");
	err |= render_name(b, cg);
	return err | sb_adds(b, "}");
}

static int render_writers(struct tracker *t, const struct entry *e, struct strbuf *b)
{
	int err = sb_adds(b, "[");

	for (uint32_t i = 0; i < e->nw; i++) {
		if (i)
			err |= sb_adds(b, ",");
		err |= render_writer(t, &e->w[i], b);
	}
	return err | sb_adds(b, "]");
}

static const char *b(bool v)
{
	return v ? "true" : "false";
}

/* The members that change only with writers and names, without the
 * closing brace. */
static int build_cache(struct tracker *t, struct entry *e)
{
	const struct ename *up = &e->names[NAME_UPPER];
	struct strbuf s = {0};
	int err = 0;

	uint32_t dev = e->dev;
	uint64_t ino = e->ino;

	/* dev and ino are what stat(2) gives for the path shown: for a name
	 * through an overlay, its own; the inode that holds the data (the
	 * upper file) is then given apart */
	for (int i = 0; i < ENTRY_NAMES; i++) {
		if (e->path && e->names[i].host_path == e->path && e->names[i].alias_dev) {
			dev = e->names[i].alias_dev;
			ino = e->names[i].alias_ino;
		}
	}
	err |= sb_adds(&s, "{\"path\":");
	err |= render_name(&s, e->path);
	err |= sb_printf(&s, ",\"dev\":\"%u:%u\",\"ino\":", kdev_major(dev), kdev_minor(dev));
	err |= render_id(&s, ino);
	if (dev != e->dev || ino != e->ino) {
		err |= sb_printf(&s, ",\"data_dev\":\"%u:%u\",\"data_ino\":", kdev_major(e->dev),
				 kdev_minor(e->dev));
		err |= render_id(&s, e->ino);
	}
	if (up->host_path && up->host_path != e->path) {
		err |= sb_adds(&s, ",\"upper_path\":");
		err |= render_name(&s, up->host_path);
	}
	if (!e->path) {
		/* not reachable here: where it is within its file system */
		const struct ename *n = e->names[NAME_OPENED].fs_path ? &e->names[NAME_OPENED] : up;

		err |= sb_adds(&s, ",\"fs_path\":");
		if (n->fs_path && (n->flags & NF_TRUNC)) {
			/* only its end is known: never shown as if it were whole */
			struct strbuf tail = {0};

			err |= sb_adds(&tail, "...");
			err |= sb_adds(&tail, n->fs_path);
			err |= render_name(&s, tail.buf);
			sb_free(&tail);
		} else {
			err |= render_name(&s, n->fs_path);
		}
		if (n->fs_path)
			err |= sb_printf(&s, ",\"fs_dev\":\"%u:%u\"", kdev_major(n->sb_dev),
					 kdev_minor(n->sb_dev));
	}
	err |=
	    sb_printf(&s,
		      ",\"mounted\":%s,\"deleted\":%s,\"renamed\":%s,\"path_stale\":%s,"
		      "\"other_mntns\":%s,\"path_truncated\":%s,\"first_open\":",
		      b(!(e->pflags & (PF_UNMOUNTED | PF_NO_PATH)) || e->path != NULL),
		      b(e->pflags & PF_DELETED), b(e->pflags & PF_RENAMED), b(e->pflags & PF_STALE),
		      b(e->pflags & PF_FOREIGN_NS), b(e->pflags & PF_TRUNCATED));
	err |= render_time(&s, tracker_wall_ns(t, e->first_open_ns));
	err |= sb_printf(&s, ",\"opened_before_start\":%s,\"writers\":", b(e->first_open_ns == 0));
	err |= render_writers(t, e, &s);
	err |= sb_printf(&s, ",\"writers_dropped\":%u,\"holders\":\"%s\"", e->writers_dropped,
			 e->nw ? "known" : ((e->state & ES_UNKNOWN) ? "unknown" : "searching"));
	if (err) {
		sb_free(&s);
		return -ENOMEM;
	}
	free(e->json);
	e->json = s.buf;
	e->json_len = s.len;
	return 0;
}

int render_entry(struct tracker *t, struct entry *e, struct strbuf *out)
{
	int err = 0;

	tracker_resolve_names(t, e);
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

int render_entry_members(struct tracker *t, struct entry *e, struct strbuf *out)
{
	int err = sb_adds(out, ",\"writers\":");

	err |= render_writers(t, e, out);
	err |= sb_adds(out, ",\"first_open\":");
	err |= render_time(out, tracker_wall_ns(t, e->first_open_ns));
	err |= sb_adds(out, ",\"last_write\":");
	err |= render_time(out, tracker_wall_ns(t, e->last_write_ns));
	return err ? -ENOMEM : 0;
}
