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
/* Sends a request while answers to earlier ones may still come: they
 * are taken in meanwhile (inuse_client__recv reads them after). */
int inuse__send_reading(struct inuse_client *c, const char *req, size_t len);

/* A check result of n files, none read yet (inuse__rows_add reads
 * them). NULL when out of memory. */
struct inuse_result *inuse__rows_new(size_t n);

/* The rows of the compact answer line[0..len) into r's files
 * [from, from + m), paths[from..from + m) the paths asked (the line is
 * not kept). 0, -EPROTO or -ENOMEM. */
int inuse__rows_add(struct inuse_result *r, const char *line, size_t len,
		    const char *const *paths, size_t from, size_t m);
/* The rows of a compact verify answer (["reason"] or ["reason","error"]
 * each), as inuse__rows_add. */
int inuse__vrows_add(struct inuse_result *r, const char *line, size_t len, const char *const *paths,
		     size_t from, size_t m);

/* The same, every row read the general way, never the quick way of the
 * common row's shape (tests and the fuzzer compare the two). */
int inuse__rows_add_general(struct inuse_result *r, const char *line, size_t len,
			    const char *const *paths, size_t from, size_t m);

/* A check of more paths than this is asked in parts of this many: each
 * part's answer fits in the socket's buffer (about 150 bytes a path), so
 * that the daemon is not held up while the caller stats the next part. */
#define CHECK_CHUNK 512

/* Whether line[0..len) is a compact answer (rows), not an error or the
 * full form. */
bool inuse__rows_answer(const char *line, size_t len);

/* tokens: a verify's, one per path (NULL: a check); stats: with each
 * path's stat(2) (the identity form, taken from admins) */
int inuse__rows_request(struct strbuf *b, const char *op, const char *const *paths, size_t n,
			const char *const *tokens, bool stats);

/* Parses the answer line (taken) to a compact request for paths[0..n):
 * rows, or, from a daemon that does not know the compact form, the full
 * form; errors as inuse__result_parse, and -EPROTO when the rows are not
 * one per path. */
int inuse__rows_parse(char *line, size_t len, const char *const *paths, size_t n,
		      struct inuse_result **out);

#endif
