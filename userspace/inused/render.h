/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * render.h - a table entry as a JSON object (docs/protocol.md), written
 * member by member. The part that changes only when writers or names
 * change is rendered once and cached on the entry; write time and counters
 * are appended per answer. Names (paths, commands, cgroups) are encoded
 * losslessly (common/jname.h).
 */
#ifndef INUSED_RENDER_H
#define INUSED_RENDER_H

#include "common/strbuf.h"
#include "inused/procset.h"
#include "inused/tracker.h"

/* Forms of an entry (docs/protocol.md): RENDER_LEAN, the members at their
 * defaults left out ("The lean form"); RENDER_PROCS, the writers' process
 * identities named once per answer (set by render_entry when ps is given). */
#define RENDER_LEAN  0x1u
#define RENDER_PROCS 0x2u

/* ps: NULL, or the answer's processes, which the entry's writers are
 * noted in (inused/procset.h). */
int render_entry(struct tracker *t, struct entry *e, unsigned form, struct procset *ps,
		 struct strbuf *out);

/* Appends ,"processes":{"PID":{"comm":C,"uid":U,"cgroup_id":I,"cgroup":N},...}
 * for the processes noted in ps. */
int render_processes(struct tracker *t, const struct procset *ps, struct strbuf *out);

/* Appends ,"writers":[...],"first_open":T,"last_write":T for an entry (the
 * members a "check" answer shows of a file its client may see). */
int render_entry_members(struct tracker *t, struct entry *e, struct strbuf *out);

/* Appends wall-clock seconds with microseconds ("1764034000.123456"), or
 * "null" for 0. */
int render_time(struct strbuf *out, uint64_t wall_ns);

/* Appends a name (a NUL-terminated byte string) in the JSON name encoding,
 * or null. */
int render_name(struct strbuf *out, const char *s);

#endif
