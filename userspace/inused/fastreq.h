/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fastreq.h - a check or verify request in the form libinuse writes it, read
 * without a JSON tree: a batch of 100,000 paths built a tree of 100,000
 * strings and spent half the daemon's time in it. Anything else (another
 * member order, an id, an escape, a byte outside printable ASCII, a name
 * given as bytes) is not this form and is parsed as JSON as before; what
 * this form takes, JSON parsing takes as the same request
 * (tests/unit/test_fastreq.c, tests/fuzz/fuzz_request.c).
 */
#ifndef INUSED_FASTREQ_H
#define INUSED_FASTREQ_H

#include <stdbool.h>
#include <stddef.h>

struct namev;

/*
 * {"op":"check","compact":true,"paths":["P",...]} with, before the last
 * '}', optionally ,"stats":"S": each P 1 to max bytes of printable ASCII
 * other than '"' and '\', S of [0-9a-f,;!-] only. Or the same with
 * "verify" for "check" and ,"tokens":["T",...] after the paths, one T a
 * P, each as a P.
 */
struct fastreq {
	bool verify;
	const char *paths; /* from the first path's opening quote to the last's closing one */
	size_t paths_len;
	size_t n;	    /* paths */
	const char *tokens; /* verify: as paths */
	size_t tokens_len;
	const char *stats; /* its text, or NULL */
	size_t stats_len;
};

/* Whether line[0..len) is that form (max: the longest path taken). */
bool fastreq_check(const char *line, size_t len, size_t max, struct fastreq *out);

/* The paths of a request of that form, in one allocation (namev_free
 * frees it). 0 or -ENOMEM. */
int fastreq_paths(const struct fastreq *r, struct namev *out);

/* The tokens of a verify of that form, as fastreq_paths. */
int fastreq_tokens(const struct fastreq *r, struct namev *out);

#endif
