// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/fastreq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inused/request.h"

#define HEAD  "{\"op\":\"check\",\"compact\":true,\"paths\":["
#define STATS ",\"stats\":\""

static bool plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static bool stats_char(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ',' || c == ';' ||
	       c == '!' || c == '-';
}

bool fastreq_check(const char *line, size_t len, size_t max, struct fastreq *out)
{
	const char *p = line, *end = line + len;

	memset(out, 0, sizeof(*out));
	if (len < sizeof(HEAD) - 1 || memcmp(p, HEAD, sizeof(HEAD) - 1))
		return false;
	p += sizeof(HEAD) - 1;
	out->paths = p;
	for (;;) {
		const char *s;

		if (p >= end || *p++ != '"')
			return false;
		s = p;
		while (p < end && plain((unsigned char)*p))
			p++;
		if (p >= end || *p != '"' || p == s || (size_t)(p - s) > max)
			return false;
		p++;
		out->n++;
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		break;
	}
	out->paths_len = (size_t)(p - out->paths);
	if (p >= end || *p++ != ']')
		return false;
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

int fastreq_paths(const struct fastreq *r, struct namev *out)
{
	/* the quotes and commas around the names leave room for their NULs */
	char *block = malloc(r->paths_len + 1), *q = block;
	const char *p = r->paths, *end = r->paths + r->paths_len;

	memset(out, 0, sizeof(*out));
	out->v = calloc(r->n, sizeof(*out->v));
	if (!block || !out->v) {
		free(block);
		free(out->v);
		out->v = NULL;
		return -ENOMEM;
	}
	out->block = block;
	while (p < end && out->n < r->n) {
		const char *s = p + 1, *e = memchr(s, '"', (size_t)(end - s));
		size_t len = (size_t)(e - s);

		memcpy(q, s, len);
		q[len] = '\0';
		out->v[out->n++] = q;
		out->bytes += len + 1 + 2 * sizeof(void *);
		q += len + 1;
		p = e + 2; /* past the quote and the comma */
	}
	return 0;
}
