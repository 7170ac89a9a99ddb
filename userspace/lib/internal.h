/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * internal.h - libinuse's own seams, not exported (tests and fuzzing link
 * the static library).
 */
#ifndef INUSE_LIB_INTERNAL_H
#define INUSE_LIB_INTERNAL_H

#include <stddef.h>

#include "inuse.h"

/* A client over an already connected socket (taken). */
int inuse__client_from_fd(int fd, int timeout_ms, size_t max_response, struct inuse_client **out);

/* Parses one answer line (taken, malloc'ed) into a result. 0, -EPROTO,
 * -EBUSY, -EREMOTEIO or -ENOMEM. */
int inuse__result_parse(char *line, size_t len, struct inuse_result **out);

#endif
