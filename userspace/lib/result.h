/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * result.h - what an answer of check, verify, wait or snapshot holds
 * (libinuse's own; the struct is opaque to callers).
 */
#ifndef INUSE_LIB_RESULT_H
#define INUSE_LIB_RESULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "inuse.h"

struct inuse_result {
	char *line; /* the answer as the daemon sent it (NULL: asked in parts, each
		     * answer read and dropped) */
	size_t len;
	json_t *root; /* the answer's tree (full form) */
	struct inuse_file *files;
	char **names;	     /* paths sent as byte arrays, decoded; one per file */
	const char ***argvs; /* method arguments, one array per file */
	size_t n;
	int done;
	/* a compact check answer (rows.c): */
	json_t **extra; /* per row: its other members, or NULL */
	char *arena;	/* the rows' strings, decoded, and the paths asked about: one
			 * block per answer, each starting with the next's address */
	char *full;	/* the full form, made when inuse_result__json asks */
	bool verify;	/* the rows are a verify's (reason, error) */
	/* what the full form needs that the files do not hold: */
	unsigned char *when; /* per row read the quick way: when_open (rows.c) */
	char **raw;	     /* per row read the general way: its text, in the arena
			      * after its length (uint32_t); NULL: none such */
};

/* A method: an array of strings, as a NULL-terminated argv (pointing
 * into m); NULL when absent or not an array of strings. */
const char **inuse__method_argv(json_t *m);

/* The full form of a compact answer (malloc'ed), NULL when out of
 * memory. */
char *inuse__rows_full(const struct inuse_result *r);

#endif
