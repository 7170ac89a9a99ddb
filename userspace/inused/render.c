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
		return sb_add(out, "\"", 1) | sb_add_u64(out, v) | sb_add(out, "\"", 1);
	return sb_add_u64(out, v);
}

/* A signed number (a descriptor, -1 when not known). */
static int add_int(struct strbuf *out, int v)
{
	if (v < 0)
		return sb_add(out, "-", 1) | sb_add_u64(out, 0 - (uint64_t)(int64_t)v);
	return sb_add_u64(out, (uint64_t)v);
}

/* name then a device number as "major:minor" */
static int add_dev(struct strbuf *out, const char *name, uint32_t dev)
{
	return sb_adds(out, name) | sb_add(out, "\"", 1) | sb_add_u64(out, kdev_major(dev)) |
	       sb_add(out, ":", 1) | sb_add_u64(out, kdev_minor(dev)) | sb_add(out, "\"", 1);
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
		err |=
		    sb_adds(b, first ? "\"" : ",\"") | sb_adds(b, fl[i].name) | sb_add(b, "\"", 1);
		first = false;
	}
	if ((w->f_flags & O_SYNC) == O_SYNC)
		err |= sb_adds(b, first ? "\"sync\"" : ",\"sync\"");
	return err | sb_adds(b, "]");
}

/* Does the writer have any of the flags render_flags names? */
static bool has_flags(const struct writer *w)
{
	return (w->f_flags & (O_APPEND | O_DIRECT | O_SYNC)) ||
	       (w->open_flags & (O_CREAT | O_TRUNC | O_CLOEXEC));
}

/* A process's identity: "comm":C,"uid":U,"cgroup_id":I after sep, without
 * the cgroup's name (given last). */
static int render_ident(struct strbuf *b, const char *sep, const char *comm, uint32_t uid,
			uint64_t cgroup_id)
{
	int err = sb_adds(b, sep);

	err |= sb_adds(b, "\"comm\":");
	err |= jname_append(b, comm, strnlen(comm, 16));
	err |= sb_adds(b, ",\"uid\":") | sb_add_u64(b, uid) | sb_adds(b, ",\"cgroup_id\":");
	return err | render_id(b, cgroup_id);
}

/* A writer; lean: "mode" left out when "w", "flags" when empty and
 * "since" when it is the file's first open, first (both null counts:
 * docs/protocol.md); whole: with the identity of its process (otherwise
 * that is in the answer's "processes"). */
static int render_writer(struct tracker *t, const struct writer *w, bool lean, bool whole,
			 uint64_t first, struct strbuf *b)
{
	const char *mode = mode_name(w);
	uint64_t since = tracker_wall_ns(t, w->since_ns);
	int err = 0;

	err |= sb_adds(b, "{\"pid\":") | sb_add_u64(b, w->pid);
	if (whole)
		err |= render_ident(b, ",", w->comm, w->uid, w->cgroup_id);
	if (!lean || strcmp(mode, "w"))
		err |= sb_adds(b, ",\"mode\":\"") | sb_adds(b, mode) | sb_add(b, "\"", 1);
	if (!lean || has_flags(w)) {
		err |= sb_adds(b, ",\"flags\":");
		err |= render_flags(b, w);
	}
	if (!lean || since != first) {
		err |= sb_adds(b, ",\"since\":");
		err |= render_time(b, since);
	}
	if (w->via == VIA_FD || w->via == VIA_URING)
		err |= sb_adds(b, w->via == VIA_FD ? ",\"fd\":" : ",\"slot\":") | add_int(b, w->fd);
	if (whole) {
		err |= sb_adds(b, ",\"cgroup\":");
		err |= render_name(b, cgroup_path(&t->cg, w->cgroup_id, (pid_t)w->pid));
	}
	return err | sb_adds(b, "}");
}

/* ps: the answer's processes; a writer whose identity is its pid's there
 * is given without it. */
static int render_writers(struct tracker *t, const struct entry *e, bool lean,
			  const struct procset *ps, struct strbuf *b)
{
	uint64_t first = tracker_wall_ns(t, e->first_open_ns);
	int err = sb_adds(b, "[");

	for (uint32_t i = 0; i < e->nw; i++) {
		struct proc_id id;
		bool whole = true;

		if (i)
			err |= sb_adds(b, ",");
		if (ps) {
			proc_id_of(&e->w[i], &id);
			whole = !procset_same(ps, &id);
		}
		err |= render_writer(t, &e->w[i], lean, whole, first, b);
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
	return sb_adds(s, ",\"") | sb_adds(s, name) | sb_adds(s, v ? "\":true" : "\":false");
}

/* The members that change only with writers and names, without the
 * closing brace; lean: the members at their defaults left out. */
static int render_stable(struct tracker *t, const struct entry *e, bool lean,
			 const struct procset *ps, struct strbuf *out)
{
	const struct ename *up = &e->names[NAME_UPPER];
	struct strbuf s = *out;
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
	err |= add_dev(&s, ",\"dev\":", dev) | sb_adds(&s, ",\"ino\":");
	err |= render_id(&s, ino);
	if (dev != e->dev || ino != e->ino) {
		err |= add_dev(&s, ",\"data_dev\":", e->dev) | sb_adds(&s, ",\"data_ino\":");
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
			err |= add_dev(&s, ",\"fs_dev\":", n->sb_dev);
	}
	{
		bool mounted = !(e->pflags & (PF_UNMOUNTED | PF_NO_PATH)) || e->path != NULL;

		/* lean: mounted is left out when true */
		if (!lean || !mounted)
			err |= sb_adds(&s, ",\"mounted\":") | sb_adds(&s, b(mounted));
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
		err |= sb_adds(&s, ",\"opened_before_start\":") |
		       sb_adds(&s, b(e->first_open_ns == 0));
	err |= sb_adds(&s, ",\"writers\":");
	err |= render_writers(t, e, lean, ps, &s);
	if (!lean || e->writers_dropped)
		err |= sb_adds(&s, ",\"writers_dropped\":") | sb_add_u64(&s, e->writers_dropped);
	holders = e->nw ? "known" : ((e->state & ES_UNKNOWN) ? "unknown" : "searching");
	if (!lean || e->nw == 0)
		err |= sb_adds(&s, ",\"holders\":\"") | sb_adds(&s, holders) | sb_add(&s, "\"", 1);
	*out = s;
	return err ? -ENOMEM : 0;
}

/* The processes a cached rendering in the RENDER_PROCS form leaves out,
 * kept after its text (8-aligned): their count, then each (procset.h). */
static const struct proc_id *cached_procs(const struct entry *e, uint64_t *n)
{
	const char *p = e->json + (((size_t)e->json_len + 7) & ~(size_t)7);

	memcpy(n, p, sizeof(*n));
	return (const struct proc_id *)(const void *)(p + sizeof(*n));
}

/* The stable part rendered and kept on the entry, in the given form. */
static int build_cache(struct tracker *t, struct entry *e, unsigned form, const struct procset *ps)
{
	static const char pad[8];
	struct strbuf s = {0};
	char *keep;
	size_t len;
	int err;

	err = render_stable(t, e, form & RENDER_LEAN, ps, &s);
	len = s.len;
	if (!err && (form & RENDER_PROCS)) {
		uint64_t n = e->nw;

		err |= sb_add(&s, pad, ((len + 7) & ~(size_t)7) - len);
		err |= sb_add(&s, &n, sizeof(n));
		for (uint32_t i = 0; i < e->nw; i++) {
			struct proc_id id;

			proc_id_of(&e->w[i], &id);
			err |= sb_add(&s, &id, sizeof(id));
		}
	}
	/* kept in a block of its own size: one for each entry in the table,
	 * where the buffer it was written in is rounded up to a power of two */
	keep = err || len > UINT32_MAX ? NULL : malloc(s.len);
	if (!keep) {
		sb_free(&s);
		return -ENOMEM;
	}
	memcpy(keep, s.buf, s.len);
	sb_free(&s);
	free(e->json);
	e->json = keep;
	e->json_len = (uint32_t)len;
	e->json_form = (uint8_t)form;
	e->json_gen = t->mounts.gen;
	return 0;
}

int render_entry(struct tracker *t, struct entry *e, unsigned form, struct procset *ps,
		 struct strbuf *out)
{
	bool lean = form & RENDER_LEAN, cached = true;
	int err = 0;

	/* the names are resolved again only when the mount table changed
	 * since they were (a name set anew drops the rendering) */
	if (!e->json || e->json_gen != t->mounts.gen) {
		tracker_resolve_names(t, e);
		if (e->json)
			e->json_gen = t->mounts.gen;
	}
	if (ps) {
		/* the writers' processes named in the answer: the cached
		 * rendering serves when each writer's identity is its pid's
		 * (read from the rendering itself: the writers stay unread) */
		form |= RENDER_PROCS;
		if (e->json && e->json_form == form) {
			uint64_t n;
			const struct proc_id *id = cached_procs(e, &n);

			for (uint64_t i = 0; i < n; i++)
				cached &= procset_note(ps, &id[i]);
		} else {
			for (uint32_t i = 0; i < e->nw; i++) {
				struct proc_id id;

				proc_id_of(&e->w[i], &id);
				cached &= procset_note(ps, &id);
			}
		}
	} else {
		form &= ~RENDER_PROCS;
	}
	if (!cached || !lean) {
		/* the full form is not kept: it is about four times the lean
		 * one (inuse-ls's), and kept for every entry it would double
		 * the daemon's memory */
		err |= render_stable(t, e, lean, ps, out);
	} else {
		/* one rendering is kept, in the lean form last asked for */
		if ((!e->json || e->json_form != form) && (err = build_cache(t, e, form, ps)))
			return err;
		err |= sb_add(out, e->json, e->json_len);
	}
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

	err |= render_writers(t, e, false, NULL, out);
	err |= sb_adds(out, ",\"first_open\":");
	err |= render_time(out, tracker_wall_ns(t, e->first_open_ns));
	err |= sb_adds(out, ",\"last_write\":");
	err |= render_time(out, tracker_wall_ns(t, e->last_write_ns));
	return err ? -ENOMEM : 0;
}

int render_processes(struct tracker *t, const struct procset *ps, struct strbuf *out)
{
	int err = sb_adds(out, ",\"processes\":{");

	for (size_t i = 0; i < ps->n; i++) {
		const struct proc_id *p = &ps->v[i];

		err |=
		    sb_adds(out, i ? ",\"" : "\"") | sb_add_u64(out, p->pid) | sb_adds(out, "\":");
		err |= render_ident(out, "{", p->comm, p->uid, p->cgroup_id);
		err |= sb_adds(out, ",\"cgroup\":");
		err |= render_name(out, cgroup_path(&t->cg, p->cgroup_id, (pid_t)p->pid));
		err |= sb_adds(out, "}");
	}
	err |= sb_adds(out, "}");
	return err ? -ENOMEM : 0;
}
