// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* item.c - the files a run has something to say about. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inuse-run/run.h"

struct item *item_find(struct run *r, const char *path)
{
	for (size_t i = 0; i < r->nit; i++)
		if (!strcmp(r->it[i].path, path))
			return &r->it[i];
	return NULL;
}

struct item *item_add(struct run *r, const char *path, enum item_kind kind)
{
	struct item *it;
	int s = source_of(r, path);

	if (r->nit == r->capit) {
		size_t cap = r->capit ? r->capit * 2 : 32;
		struct item *n = realloc(r->it, cap * sizeof(*n));

		if (!n)
			return NULL;
		r->it = n;
		r->capit = cap;
	}
	it = &r->it[r->nit];
	memset(it, 0, sizeof(*it));
	it->path = strdup(path);
	it->kind = kind;
	it->src = s;
	if (!it->path)
		return NULL;
	if (s >= 0 && r->tool->name_of)
		it->name = r->tool->name_of(r, &r->src[s], path);
	r->nit++;
	return it;
}

int source_of(const struct run *r, const char *path)
{
	int best = -1;
	size_t bestlen = 0;

	/* the most specific source: its name decides how the tool sees it */
	for (size_t i = 0; i < r->nsrc; i++) {
		size_t n = strlen(r->src[i].abs);

		if (path_below(path, r->src[i].abs) && (best < 0 || n > bestlen)) {
			best = (int)i;
			bestlen = n;
		}
	}
	return best;
}

const char *item_kind_name(enum item_kind k)
{
	static const char *const n[] = {"torn",	    "held",	 "changed",
					"excluded", "companion", "skipped"};

	return n[k];
}

const char *item_outcome_name(enum item_outcome o)
{
	static const char *const n[] = {"none",	   "consistent", "method", "snapshot",
					"flagged", "removed",	 "failed"};

	return n[o];
}

void info(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->verbose)
		return;
	va_start(ap, fmt);
	fputs("inuse-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("inuse-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
