/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * render.h - a table entry as a JSON object (docs/protocol.md). The part
 * that changes only when writers or the path change is encoded once with
 * jansson and cached on the entry; write time and counters are appended per
 * answer.
 */
#ifndef INUSED_RENDER_H
#define INUSED_RENDER_H

#include "common/strbuf.h"
#include "inused/tracker.h"

int render_entry(struct tracker *t, struct entry *e, struct strbuf *out);

/* Appends wall-clock seconds with microseconds ("1764034000.123456"), or
 * "null" for 0. */
int render_time(struct strbuf *out, uint64_t wall_ns);

#endif
