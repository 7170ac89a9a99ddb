/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#include "common/jname.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Decodes one UTF-8 sequence at s (n bytes available). Returns its length
 * and the code point in *cp, or 0 when the bytes there are not a valid
 * sequence.
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0; /* a continuation byte, 0xc0/0xc1, or 0xf5.. */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n;

		if (p[i] < 0x80) {
			i++;
			continue;
		}
		n = utf8_next(p + i, len - i, &cp);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

static const char hex[] = "0123456789abcdef";

/* Appends s, valid UTF-8, as a JSON string. */
static int json_string_append(struct strbuf *b, const char *s, size_t len)
{
	size_t start = 0;
	int err = 0;

	err |= sb_add(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		err |= sb_add(b, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
		}
		err |= sb_add(b, esc, elen);
	}
	err |= sb_add(b, s + start, len - start);
	err |= sb_add(b, "\"", 1);
	return err ? -ENOMEM : 0;
}

int jname_append(struct strbuf *b, const char *s, size_t len)
{
	size_t i = 0;
	int err = 0;

	/* most names: printable ASCII with no '"' or '\\', copied as they are */
	while (i < len && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f &&
	       s[i] != '"' && s[i] != '\\')
		i++;
	if (i == len) {
		if (sb_reserve(b, len + 2))
			return -ENOMEM;
		b->buf[b->len] = '"';
		memcpy(b->buf + b->len + 1, s, len);
		b->buf[b->len + len + 1] = '"';
		b->len += len + 2;
		b->buf[b->len] = '\0';
		return 0;
	}
	if (utf8_valid(s, len))
		return json_string_append(b, s, len);
	err |= sb_add(b, "[", 1);
	for (i = 0; i < len; i++) {
		if (i)
			err |= sb_add(b, ",", 1);
		err |= sb_add_u64(b, (unsigned char)s[i]);
	}
	err |= sb_add(b, "]", 1);
	return err ? -ENOMEM : 0;
}

json_t *jname_new(const char *s, size_t len)
{
	json_t *a;

	if (utf8_valid(s, len))
		return json_stringn(s, len);
	a = json_array();
	for (size_t i = 0; a && i < len; i++) {
		if (json_array_append_new(a, json_integer((unsigned char)s[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *jname_get(const json_t *v, size_t max, size_t *len)
{
	size_t n;
	char *out;

	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		n = json_string_length(v);
		if (n == 0 || n > max || memchr(s, '\0', n)) {
			errno = EINVAL;
			return NULL;
		}
		out = malloc(n + 1);
		if (!out)
			return NULL;
		memcpy(out, s, n);
	} else if (json_is_array(v)) {
		n = json_array_size(v);
		if (n == 0 || n > max) {
			errno = EINVAL;
			return NULL;
		}
		out = malloc(n + 1);
		if (!out)
			return NULL;
		for (size_t i = 0; i < n; i++) {
			const json_t *e = json_array_get(v, i);
			json_int_t x = json_integer_value(e);

			if (!json_is_integer(e) || x < 1 || x > 255) {
				free(out);
				errno = EINVAL;
				return NULL;
			}
			out[i] = (char)x;
		}
	} else {
		errno = EINVAL;
		return NULL;
	}
	out[n] = '\0';
	if (len)
		*len = n;
	return out;
}

/* Unicode characters that are not shown as themselves: C1 controls, the
 * direction marks, embeddings, overrides and isolates, the line and
 * paragraph separators, zero-width characters, the byte order mark. */
static bool unicode_hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

int name_display(struct strbuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	int err = 0;

	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			size_t j = i + 1;

			while (j < len && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '\\')
				j++;
			err |= sb_add(b, s + i, j - i);
			i = j;
			continue;
		}
		if (c == '\\') {
			err |= sb_add(b, "\\\\", 2);
		} else if (c == '\n') {
			err |= sb_add(b, "\\n", 2);
		} else if (c == '\t') {
			err |= sb_add(b, "\\t", 2);
		} else if (c == '\r') {
			err |= sb_add(b, "\\r", 2);
		} else if (c == 0x1b) {
			err |= sb_add(b, "\\e", 2);
		} else if (c >= 0x80 && (n = utf8_next(p + i, len - i, &cp)) > 0) {
			if (unicode_hidden(cp))
				err |= sb_printf(b, "\\u{%04x}", (unsigned int)cp);
			else
				err |= sb_add(b, s + i, n);
			i += n;
			continue;
		} else {
			char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};

			err |= sb_add(b, esc, 4);
		}
		i++;
	}
	if (!b->buf)
		err |= sb_add(b, "", 0);
	return err ? -ENOMEM : 0;
}
