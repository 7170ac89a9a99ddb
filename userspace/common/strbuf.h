/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* strbuf.h - a growable byte buffer with an optional size limit. */
#ifndef INUSE_STRBUF_H
#define INUSE_STRBUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

/* The slow path of sb_reserve: a larger buffer. */
int sb_grow(struct strbuf *b, size_t n);

/* Makes room for n more bytes (and the NUL kept after them). 0 or
 * -ENOMEM. Inline: called for every piece of every answer. */
static inline int sb_reserve(struct strbuf *b, size_t n)
{
	/* cap > len whenever a buffer is held */
	if (n < b->cap - b->len)
		return 0;
	return sb_grow(b, n);
}

static inline int sb_add(struct strbuf *b, const void *data, size_t n)
{
	if (sb_reserve(b, n))
		return -ENOMEM;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int sb_adds(struct strbuf *b, const char *s);
int sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_add_u64(struct strbuf *b, uint64_t v);
/* Drops the first n bytes. */
void sb_consume(struct strbuf *b, size_t n);
void sb_reset(struct strbuf *b);
void sb_free(struct strbuf *b);

#endif
