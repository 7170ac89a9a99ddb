/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fastreq_agree.h - what fastreq.h takes, JSON takes as the same request:
 * an object of exactly "op":"check" (or "verify"), "compact":true, "paths"
 * (the same names, in order), a verify's "tokens" (the same, in order)
 * and, when fastreq saw it, "stats" (the same text).
 * For the unit test and the request fuzzer.
 */
#ifndef TESTS_FASTREQ_AGREE_H
#define TESTS_FASTREQ_AGREE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/jname.h"
#include "inused/fastreq.h"
#include "inused/request.h"

/* True when line is not that form, or JSON reads it as fastreq does. */
static inline bool fastreq_agrees(const char *line, size_t len)
{
	struct fastreq r;
	struct namev nv = {0}, tv = {0};
	json_t *j, *paths, *stats, *tokens;
	bool ok;

	if (!fastreq_check(line, len, PROTO_NAME_MAX, &r))
		return true;
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	paths = json_object_get(j, "paths");
	stats = json_object_get(j, "stats");
	tokens = json_object_get(j, "tokens");
	ok = json_is_object(j) && json_object_size(j) == 3u + !!r.stats + r.verify &&
	     json_is_true(json_object_get(j, "compact")) &&
	     !strcmp(json_string_value(json_object_get(j, "op")) ?: "",
		     r.verify ? "verify" : "check") &&
	     json_array_size(paths) == r.n && fastreq_paths(&r, &nv) == 0;
	if (ok && r.verify)
		ok = json_array_size(tokens) == r.n && fastreq_tokens(&r, &tv) == 0;
	for (size_t i = 0; ok && r.verify && i < r.n; i++)
		ok = json_is_string(json_array_get(tokens, i)) &&
		     !strcmp(json_string_value(json_array_get(tokens, i)), tv.v[i]);
	if (tv.v)
		namev_free(&tv);
	if (ok && r.stats)
		ok = json_is_string(stats) && json_string_length(stats) == r.stats_len &&
		     !memcmp(json_string_value(stats), r.stats, r.stats_len);
	for (size_t i = 0; ok && i < r.n; i++) {
		size_t n = 0;
		char *s = jname_get(json_array_get(paths, i), PROTO_NAME_MAX, &n);

		ok = s && n == strlen(nv.v[i]) && !memcmp(s, nv.v[i], n);
		free(s);
	}
	if (nv.v)
		namev_free(&nv);
	json_decref(j);
	return ok;
}

#endif
