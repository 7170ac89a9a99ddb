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
#include "inused/tracker.h"

/* lean: the members at their defaults left out (docs/protocol.md, "The
 * lean form"). */
int render_entry(struct tracker *t, struct entry *e, bool lean, struct strbuf *out);

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
