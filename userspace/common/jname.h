/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * jname.h - names (file paths, command names, cgroup paths) in JSON and on a
 * terminal, for every byte a name can hold.
 *
 * A name is a string of bytes other than NUL. In JSON it is a string when its
 * bytes are valid UTF-8 (control characters escaped as JSON requires), and
 * otherwise an array of its byte values, e.g. "bad\xff" is [98,97,100,255].
 * The encoding is lossless both ways and is the one docs/protocol.md
 * documents for requests and answers.
 *
 * On a terminal a name is shown with every byte that is not printable
 * escaped: \\ for a backslash, \n \t \r \e, \xHH for other control bytes and
 * bytes that are not UTF-8, and \u{HHHH} for Unicode control and direction
 * characters, so that a name can neither move the cursor nor pass for
 * another name.
 */
#ifndef INUSE_JNAME_H
#define INUSE_JNAME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

/* Is s[0..len) valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF)? */
bool utf8_valid(const char *s, size_t len);

/* Appends the JSON encoding of the name s[0..len). 0 or -ENOMEM. */
int jname_append(struct strbuf *b, const char *s, size_t len);

/* The name as a new JSON value (string or byte array), NULL when out of
 * memory. */
json_t *jname_new(const char *s, size_t len);

/*
 * Decodes a name: a JSON string, or an array of integers 0..255. Returns
 * the bytes, NUL-terminated and malloc'ed, with their count in *len; NULL
 * (errno EINVAL) when v is neither, is empty, holds a NUL byte, or has more
 * than max bytes; errno ENOMEM when out of memory.
 */
char *jname_get(const json_t *v, size_t max, size_t *len);

/* Appends s[0..len) escaped for a terminal, as described above. */
int name_display(struct strbuf *b, const char *s, size_t len);

#endif
