/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* between.h - inuse-ls --between: the files open for writing in a window. */
#ifndef INUSE_LS_BETWEEN_H
#define INUSE_LS_BETWEEN_H

#include <stdbool.h>

struct inuse_client;

/*
 * A time as a person or a script writes it: "now", "-2h" (that long ago),
 * "@1764500000" (Unix seconds), "2026-11-30 14:00[:05]" (also with a T),
 * "14:00[:05]" (today), local time. Unix seconds in *t, or -1.
 */
int when_parse(const char *s, double now, double *t);

/* Lists the files open for writing at some time in [t1, t2], under DIR
 * (NULL: anywhere). Returns the exit status: 1 some, 0 none, 2 error or
 * a window the daemon's history does not reach (when nothing was found). */
int ls_between(struct inuse_client *c, double t1, double t2, const char *under, bool json);

#endif
