/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* strbuf.h - a growable byte buffer with an optional size limit. */
#ifndef INUSE_STRBUF_H
#define INUSE_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

/* Makes room for n more bytes. 0 or -ENOMEM. */
int sb_reserve(struct strbuf *b, size_t n);
int sb_add(struct strbuf *b, const void *data, size_t n);
int sb_adds(struct strbuf *b, const char *s);
int sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sb_add_u64(struct strbuf *b, uint64_t v);
/* Drops the first n bytes. */
void sb_consume(struct strbuf *b, size_t n);
void sb_reset(struct strbuf *b);
void sb_free(struct strbuf *b);

#endif
