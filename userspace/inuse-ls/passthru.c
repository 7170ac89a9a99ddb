// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inuse-ls/passthru.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "lib/client_timeout.h"

#define CHUNK (1 << 20)
#define TAIL  160 /* the end of the answer, where "count" is */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Up to cap bytes of the socket, waiting at most timeout_ms (< 0: no
 * bound) for some. */
static ssize_t take(int fd, char *buf, size_t cap, int timeout_ms)
{
	for (;;) {
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r;

		if (n > 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = poll(&pfd, 1, timeout_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* "count" from the end of a listing: the member after the files (and the
 * processes). A name holds no unescaped quote, so this is the member. */
static long long tail_count(const char *s, size_t len)
{
	static const char key[] = ",\"count\":";
	const char *p = NULL;

	for (size_t i = 0; i + sizeof(key) - 1 <= len; i++)
		if (!memcmp(s + i, key, sizeof(key) - 1))
			p = s + i + sizeof(key) - 1;
	return p ? strtoll(p, NULL, 10) : 1;
}

/* Keeps the last TAIL bytes seen in tail (a NUL-terminated string). */
static void keep_tail(char *tail, size_t *tlen, const char *p, size_t n)
{
	if (n >= TAIL) {
		memcpy(tail, p + n - TAIL, TAIL);
		*tlen = TAIL;
	} else {
		size_t keep = *tlen + n > TAIL ? TAIL - n : *tlen;

		memmove(tail, tail + *tlen - keep, keep);
		memcpy(tail + keep, p, n);
		*tlen = keep + n;
	}
	tail[*tlen] = '\0';
}

int passthru_list(struct inuse_client *c, const char *req, size_t len, const char *prefix,
		  long long *count, char **other)
{
	size_t plen = strlen(prefix), have = 0, tlen = 0;
	int fd = inuse_client__fd(c), tmo = inuse_client_timeout_ms(c), err;
	char *buf = malloc(CHUNK), tail[TAIL + 1];
	bool passing = false;

	*other = NULL;
	if (!buf)
		return -ENOMEM;
	err = inuse_client__send(c, req, len);
	if (err == -ECONNRESET) {
		/* refused and closed before the request went out: that answer */
		free(buf);
		return inuse_client__recv(c, other, NULL) ? err : 0;
	}
	while (!err) {
		ssize_t n = take(fd, buf + have, CHUNK - have, tmo);
		char *nl;

		if (n < 0) {
			err = (int)n;
			break;
		}
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
		if (!passing && have < plen && !nl)
			continue;
		if (!passing && memcmp(buf, prefix, plen)) {
			/* not a listing: the whole line, for the caller */
			struct strbuf line = {0};

			while (!err && !nl) {
				if (sb_add(&line, buf, have)) {
					err = -ENOMEM;
					break;
				}
				have = 0;
				n = take(fd, buf, CHUNK, tmo);
				if (n < 0)
					err = (int)n;
				else
					nl = memchr(buf, '\n', (size_t)(have = (size_t)n));
			}
			if (!err && !sb_add(&line, buf, (size_t)(nl - buf))) {
				*other = line.buf;
				break;
			}
			sb_free(&line);
			err = err ? err : -ENOMEM;
			break;
		}
		passing = true;
		{
			size_t upto = nl ? (size_t)(nl - buf) + 1 : have;

			keep_tail(tail, &tlen, buf, upto);
			err = write_all(STDOUT_FILENO, buf, upto);
		}
		have = 0;
		if (nl) {
			*count = tail_count(tail, tlen);
			break;
		}
	}
	free(buf);
	return err;
}
