// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/fastreq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inused/request.h"

#define HEAD	    "{\"op\":\"check\",\"compact\":true,\"paths\":["
#define HEAD_VERIFY "{\"op\":\"verify\",\"compact\":true,\"paths\":["
#define TOKENS	    ",\"tokens\":["
#define STATS	    ",\"stats\":\""

static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static bool stats_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ',' || c == ';' ||
	       c == '!' || c == '-';
}

/* "S",... up to the closing ']' (taken): each S 1 to max plain bytes.
 * *n: how many; NULL when not that. */
static const char *strings(const char *p, const char *end, size_t max, size_t *n)
{
	for (*n = 0;;) {
		const char *s;

		if (p >= end || *p++ != '"')
			return NULL;
		s = p;
		while (p < end && plain((unsigned char)*p))
			p++;
		if (p >= end || *p != '"' || p == s || (size_t)(p - s) > max)
			return NULL;
		p++;
		(*n)++;
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		break;
	}
	return p < end && *p == ']' ? p : NULL;
}

bool fastreq_check(const char *line, size_t len, size_t max, struct fastreq *out)
{
	const char *p = line, *end = line + len;

	memset(out, 0, sizeof(*out));
	if (len >= sizeof(HEAD) - 1 && !memcmp(p, HEAD, sizeof(HEAD) - 1)) {
		p += sizeof(HEAD) - 1;
	} else if (len >= sizeof(HEAD_VERIFY) - 1 &&
		   !memcmp(p, HEAD_VERIFY, sizeof(HEAD_VERIFY) - 1)) {
		p += sizeof(HEAD_VERIFY) - 1;
		out->verify = true;
	} else {
		return false;
	}
	out->paths = p;
	if (!(p = strings(p, end, max, &out->n)))
		return false;
	out->paths_len = (size_t)(p++ - out->paths);
	if (out->verify) {
		size_t nt;

		/* one token a path, each shorter than any name */
		if ((size_t)(end - p) < sizeof(TOKENS) - 1 || memcmp(p, TOKENS, sizeof(TOKENS) - 1))
			return false;
		p += sizeof(TOKENS) - 1;
		out->tokens = p;
		if (!(p = strings(p, end, max, &nt)) || nt != out->n)
			return false;
		out->tokens_len = (size_t)(p++ - out->tokens);
	}
	if ((size_t)(end - p) >= sizeof(STATS) - 1 && !memcmp(p, STATS, sizeof(STATS) - 1)) {
		p += sizeof(STATS) - 1;
		out->stats = p;
		while (p < end && stats_char((unsigned char)*p))
			p++;
		out->stats_len = (size_t)(p - out->stats);
		if (p >= end || *p++ != '"')
			return false;
	}
	return p + 1 == end && *p == '}';
}

/* The n strings of text[0..len) ("S","S",...), in one allocation. */
static int split(const char *text, size_t len, size_t n, struct namev *out)
{
	/* the quotes and commas around the names leave room for their NULs */
	char *block = malloc(len + 1), *q = block;
	const char *p = text, *end = text + len;

	memset(out, 0, sizeof(*out));
	out->v = calloc(n, sizeof(*out->v));
	if (!block || !out->v) {
		free(block);
		free(out->v);
		out->v = NULL;
		return -ENOMEM;
	}
	out->block = block;
	while (p < end && out->n < n) {
		const char *s = p + 1, *e = memchr(s, '"', (size_t)(end - s));
		size_t l = (size_t)(e - s);

		memcpy(q, s, l);
		q[l] = '\0';
		out->v[out->n++] = q;
		out->bytes += l + 1 + 2 * sizeof(void *);
		q += l + 1;
		p = e + 2; /* past the quote and the comma */
	}
	return 0;
}

int fastreq_paths(const struct fastreq *r, struct namev *out)
{
	return split(r->paths, r->paths_len, r->n, out);
}

int fastreq_tokens(const struct fastreq *r, struct namev *out)
{
	return split(r->tokens, r->tokens_len, r->n, out);
}
