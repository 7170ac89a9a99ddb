/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * passthru.h - a listing copied from the daemon's socket to standard output
 * as it arrives, unparsed and never held whole (inuse-ls --json).
 */
#ifndef INUSE_LS_PASSTHRU_H
#define INUSE_LS_PASSTHRU_H

#include "inuse.h"

/*
 * Sends req (one JSON object, no newline) and copies its answer line to
 * standard output when it begins as prefix says (a successful answer of
 * that id, docs/protocol.md); *count is then the answer's "count" (1 when
 * it cannot be read: something was listed). Any other answer is not
 * printed: it is returned whole in *other (malloc'ed) for the caller to
 * report. 0, or -errno (the connection, a timeout, standard output).
 */
int passthru_list(struct inuse_client *c, const char *req, size_t len, const char *prefix,
		  long long *count, char **other);

#endif
