/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rows_agree.h - libinuse reads a compact check answer's rows the quick
 * way (the common row's shape) exactly as the general way does: the same
 * error, or the same files member by member and the same full form made
 * from them. For the compact check test and the answers fuzzer.
 */
#ifndef TESTS_ROWS_AGREE_H
#define TESTS_ROWS_AGREE_H

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "inuse.h"
#include "lib/internal.h"

static inline bool rows_str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static inline bool rows_file_same(const struct inuse_file *a, const struct inuse_file *b)
{
	size_t k = 0;

	if (!rows_str_same(a->path, b->path) || a->state != b->state ||
	    a->decision != b->decision || !rows_str_same(a->reason, b->reason) ||
	    !rows_str_same(a->rule, b->rule) || !rows_str_same(a->token, b->token) ||
	    a->retry_after != b->retry_after || a->defer_max != b->defer_max ||
	    a->fallback != b->fallback || a->nwriters != b->nwriters || a->size != b->size ||
	    a->fd != b->fd || !a->method_argv != !b->method_argv)
		return false;
	for (; a->method_argv && (a->method_argv[k] || b->method_argv[k]); k++)
		if (!rows_str_same(a->method_argv[k], b->method_argv[k]))
			return false;
	return true;
}

/* True when the rows of line[0..len), the answer to paths[0..n), read
 * both ways give the same. */
static inline bool rows_agree(const char *line, size_t len, const char *const *paths, size_t n)
{
	struct inuse_result *q = inuse__rows_new(n), *g = inuse__rows_new(n);
	bool same = false;
	int eq, eg;

	if (!q || !g)
		goto out;
	eq = inuse__rows_add(q, line, len, paths, 0, n);
	eg = inuse__rows_add_general(g, line, len, paths, 0, n);
	same = eq == eg;
	for (size_t i = 0; same && !eq && i < n; i++)
		same = rows_file_same(inuse_result__file(q, i), inuse_result__file(g, i));
	if (same && !eq) {
		/* and the full form made from each says the same */
		json_t *jq = json_loads(inuse_result__json(q), 0, NULL);
		json_t *jg = json_loads(inuse_result__json(g), 0, NULL);

		/* (a row that is not JSON is given back as it came, by both) */
		same = jq && jg ? json_equal(jq, jg) : !jq && !jg;
		json_decref(jq);
		json_decref(jg);
	}
out:
	inuse_result__free(q);
	inuse_result__free(g);
	return same;
}

#endif
