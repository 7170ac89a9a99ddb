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
	/* "%llu.%06llu" without printf: one per listed file */
	char frac[7];
	uint64_t us = wall_ns % 1000000000ULL / 1000;

	if (!wall_ns)
		return sb_adds(out, "null");
	frac[0] = '.';
	for (int i = 6; i > 0; i--, us /= 10)
		frac[i] = (char)('0' + us % 10);
	return sb_add_u64(out, wall_ns / 1000000000ULL) | sb_add(out, frac, sizeof(frac));
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
	    {O_APPEND, false, "append"},  {O_CREAT, true, "creat"},    {O_TRUNC, true, "trunc"},
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

/* Does the writer have any of the flags render_flags names? */
static bool has_flags(const struct writer *w)
{
	return (w->f_flags & (O_APPEND | O_DIRECT | O_SYNC)) ||
	       (w->open_flags & (O_CREAT | O_TRUNC | O_CLOEXEC));
}

/* A writer; lean: "mode" left out when "w", "flags" when empty and
 * "since" when not known (docs/protocol.md). */
static int render_writer(struct tracker *t, const struct writer *w, bool lean, struct strbuf *b)
{
	const char *cg = cgroup_path(&t->cg, w->cgroup_id, (pid_t)w->pid);
	const char *mode = mode_name(w);
	uint64_t since = tracker_wall_ns(t, w->since_ns);
	int err = 0;

	err |= sb_printf(b, "{\"pid\":%u,\"comm\":", w->pid);
	err |= jname_append(b, w->comm, strnlen(w->comm, sizeof(w->comm)));
	err |= sb_printf(b, ",\"uid\":%u,\"cgroup_id\":", w->uid);
	err |= render_id(b, w->cgroup_id);
	if (!lean || strcmp(mode, "w"))
		err |= sb_printf(b, ",\"mode\":\"%s\"", mode);
	if (!lean || has_flags(w)) {
		err |= sb_adds(b, ",\"flags\":");
		err |= render_flags(b, w);
	}
	if (!lean || since) {
		err |= sb_adds(b, ",\"since\":");
		err |= render_time(b, since);
	}
	if (w->via == VIA_FD)
		err |= sb_printf(b, ",\"fd\":%d", w->fd);
	else if (w->via == VIA_URING)
		err |= sb_printf(b, ",\"slot\":%d", w->fd);
	err |= sb_adds(b, ",\"cgroup\":");
	err |= render_name(b, cg);
	return err | sb_adds(b, "}");
}

static int render_writers(struct tracker *t, const struct entry *e, bool lean, struct strbuf *b)
{
	int err = sb_adds(b, "[");

	for (uint32_t i = 0; i < e->nw; i++) {
		if (i)
			err |= sb_adds(b, ",");
		err |= render_writer(t, &e->w[i], lean, b);
	}
	return err | sb_adds(b, "]");
}

static const char *b(bool v)
{
	return v ? "true" : "false";
}

/* Appends ,"name":true when v (the lean form leaves out false). */
static int flag_member(struct strbuf *s, const char *name, bool v, bool lean)
{
	if (lean && !v)
		return 0;
	return sb_printf(s, ",\"%s\":%s", name, b(v));
}

/* The members that change only with writers and names, without the
 * closing brace; lean: the members at their defaults left out. */
static int build_cache(struct tracker *t, struct entry *e, bool lean)
{
	const struct ename *up = &e->names[NAME_UPPER];
	struct strbuf s = {0};
	uint64_t first = tracker_wall_ns(t, e->first_open_ns);
	const char *holders;
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
	{
		bool mounted = !(e->pflags & (PF_UNMOUNTED | PF_NO_PATH)) || e->path != NULL;

		/* lean: mounted is left out when true */
		if (!lean || !mounted)
			err |= sb_printf(&s, ",\"mounted\":%s", b(mounted));
	}
	err |= flag_member(&s, "deleted", e->pflags & PF_DELETED, lean);
	err |= flag_member(&s, "renamed", e->pflags & PF_RENAMED, lean);
	err |= flag_member(&s, "path_stale", e->pflags & PF_STALE, lean);
	err |= flag_member(&s, "other_mntns", e->pflags & PF_FOREIGN_NS, lean);
	err |= flag_member(&s, "path_truncated", e->pflags & PF_TRUNCATED, lean);
	/* lean: no first_open when it is not known (opened before the
	 * daemon started), and no opened_before_start (it says the same) */
	if (!lean || first) {
		err |= sb_adds(&s, ",\"first_open\":");
		err |= render_time(&s, first);
	}
	if (!lean)
		err |= sb_printf(&s, ",\"opened_before_start\":%s", b(e->first_open_ns == 0));
	err |= sb_adds(&s, ",\"writers\":");
	err |= render_writers(t, e, lean, &s);
	if (!lean || e->writers_dropped)
		err |= sb_printf(&s, ",\"writers_dropped\":%u", e->writers_dropped);
	holders = e->nw ? "known" : ((e->state & ES_UNKNOWN) ? "unknown" : "searching");
	if (!lean || e->nw == 0)
		err |= sb_printf(&s, ",\"holders\":\"%s\"", holders);
	if (err || s.len > UINT32_MAX) {
		sb_free(&s);
		return -ENOMEM;
	}
	free(e->json);
	e->json = s.buf;
	e->json_len = (uint32_t)s.len;
	e->json_lean = lean;
	e->json_gen = t->mounts.gen;
	return 0;
}

int render_entry(struct tracker *t, struct entry *e, bool lean, struct strbuf *out)
{
	int err = 0;

	/* the names are resolved again only when the mount table changed
	 * since they were (a name set anew drops the rendering) */
	if (!e->json || e->json_gen != t->mounts.gen) {
		tracker_resolve_names(t, e);
		if (e->json)
			e->json_gen = t->mounts.gen;
	}
	/* one rendering is cached, in the form last asked for */
	if ((!e->json || e->json_lean != lean) && (err = build_cache(t, e, lean)))
		return err;
	err |= sb_add(out, e->json, e->json_len);
	if (!lean || e->last_write_ns) {
		err |= sb_adds(out, ",\"last_write\":");
		err |= render_time(out, tracker_wall_ns(t, e->last_write_ns));
	}
	if (!lean || e->write_gen) {
		err |= sb_adds(out, ",\"write_gen\":");
		err |= sb_add_u64(out, e->write_gen);
	}
	if (!lean || e->open_gen) {
		err |= sb_adds(out, ",\"open_gen\":");
		err |= sb_add_u64(out, e->open_gen);
	}
	err |= sb_add(out, "}", 1);
	return err ? -ENOMEM : 0;
}

int render_entry_members(struct tracker *t, struct entry *e, struct strbuf *out)
{
	int err = sb_adds(out, ",\"writers\":");

	err |= render_writers(t, e, false, out);
	err |= sb_adds(out, ",\"first_open\":");
	err |= render_time(out, tracker_wall_ns(t, e->first_open_ns));
	err |= sb_adds(out, ",\"last_write\":");
	err |= render_time(out, tracker_wall_ns(t, e->last_write_ns));
	return err ? -ENOMEM : 0;
}
