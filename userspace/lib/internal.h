/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * internal.h - libinuse's own seams, not exported (tests and fuzzing link
 * the static library).
 */
#ifndef INUSE_LIB_INTERNAL_H
#define INUSE_LIB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "inuse.h"

/* A client over an already connected socket (taken). */
int inuse__client_from_fd(int fd, int timeout_ms, size_t max_response, struct inuse_client **out);

/* Parses one answer line (taken, malloc'ed) into a result. 0, -EPROTO,
 * -EBUSY, -EREMOTEIO or -ENOMEM. */
int inuse__result_parse(char *line, size_t len, struct inuse_result **out);

struct strbuf;

/* Appends a request of op in the compact form (its answer in rows, one per
 * path, in order) for paths[0..n). 0, -EINVAL (a NULL path) or -ENOMEM. */
/* stats: with each path's stat(2) (the identity form, taken from admins) */
int inuse__rows_request(struct strbuf *b, const char *op, const char *const *paths, size_t n,
			bool stats);

/* Parses the answer line (taken) to a compact request for paths[0..n):
 * rows, or, from a daemon that does not know the compact form, the full
 * form; errors as inuse__result_parse, and -EPROTO when the rows are not
 * one per path. */
int inuse__rows_parse(char *line, size_t len, const char *const *paths, size_t n,
		      struct inuse_result **out);

#endif
