/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clientstat.h - the identity form of check (docs/protocol.md, "check":
 * "stats"): an admin client that has stat(2)ed each path itself gives
 * what it found, so the daemon need not walk the path again.
 */
#ifndef INUSED_CLIENTSTAT_H
#define INUSED_CLIENTSTAT_H

#include <stddef.h>
#include <stdint.h>

enum client_stat_kind {
	CS_ASK,	    /* the client could not stat it: the daemon looks it up */
	CS_MISSING, /* stat(2) said ENOENT or ENOTDIR */
	CS_STAT,    /* what stat(2) gave */
};

struct client_stat {
	uint64_t dev; /* st_dev as stat(2) gives it */
	uint64_t ino, size, mtime_ns, ctime_ns;
	uint32_t mode;
	uint8_t kind;
};

/*
 * Parses s[0..len): exactly n records separated by ';', each "-"
 * (CS_ASK), "!" (CS_MISSING) or six lowercase hexadecimal numbers of 1-16
 * digits separated by ',': st_dev, st_ino, st_mode, st_size, st_mtim and
 * st_ctim in nanoseconds. 0, or -EINVAL with *why set.
 */
int client_stats_parse(const char *s, size_t len, size_t n, struct client_stat *out,
		       const char **why);

#endif
