/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#include "inuse.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/timeutil.h"
#include "lib/internal.h"
#include "lib/client_timeout.h"

#define CLIENT_FDS 32

struct inuse_client {
	int fd;
	int timeout_ms;
	size_t max_response;
	char *path;
	struct strbuf in;    /* bytes read past the last answer */
	size_t scanned;	     /* bytes of in known to hold no newline */
	int fds[CLIENT_FDS]; /* descriptors received (snapshots), in order */
	int nfds;
};

int inuse_client__open(const struct inuse_client_opts *opts, struct inuse_client **out)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	const char *path = NULL;
	struct inuse_client *c;
	int err;

	if (opts && opts->sz >= offsetof(struct inuse_client_opts, socket_path) + sizeof(char *))
		path = opts->socket_path;
	if (!path)
		path = getenv(INUSE_SOCKET_ENV);
	if (!path || !*path)
		path = INUSE_DEFAULT_SOCKET_PATH;
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->timeout_ms = 30000;
	c->max_response = (size_t)1 << 30;
	if (opts && opts->sz >= offsetof(struct inuse_client_opts, timeout_ms) + sizeof(int) &&
	    opts->timeout_ms)
		c->timeout_ms = opts->timeout_ms;
	if (opts && opts->sz >= sizeof(struct inuse_client_opts) && opts->max_response)
		c->max_response = opts->max_response;
	c->path = strdup(path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!c->path || c->fd < 0) {
		err = c->path ? -errno : -ENOMEM;
		inuse_client__free(c);
		return err;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		err = -errno;
		inuse_client__free(c);
		return err;
	}
	*out = c;
	return 0;
}

int inuse__client_from_fd(int fd, int timeout_ms, size_t max_response, struct inuse_client **out)
{
	struct inuse_client *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->timeout_ms = timeout_ms ? timeout_ms : 30000;
	c->max_response = max_response ? max_response : (size_t)1 << 30;
	c->path = strdup("(fd)");
	if (!c->path) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void inuse_client__free(struct inuse_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	sb_free(&c->in);
	free(c->path);
	free(c);
}

int inuse_client__fd(const struct inuse_client *c)
{
	return c->fd;
}

const char *inuse_client__socket_path(const struct inuse_client *c)
{
	return c->path;
}

/* Milliseconds left until deadline (mono ns), for poll(). */
static int left_ms(const struct inuse_client *c, uint64_t deadline)
{
	uint64_t now;

	if (c->timeout_ms < 0)
		return -1;
	now = clock_mono_ns();
	if (now >= deadline)
		return 0;
	return (int)((deadline - now) / NSEC_PER_MSEC) + 1;
}

static int wait_for(struct inuse_client *c, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = c->fd, .events = events};

	for (;;) {
		int ms = left_ms(c, deadline);
		int n;

		if (ms == 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static ssize_t recv_fds(struct inuse_client *c, char *buf, size_t len);

/* Takes in what the daemon has sent so far, without waiting: how many
 * bytes (0: none yet), or -errno (-ECONNRESET: it closed, nothing came). */
static ssize_t take_in(struct inuse_client *c)
{
	size_t got = 0;

	for (;;) {
		ssize_t n;

		if (c->in.len > c->max_response)
			return -EMSGSIZE;
		if (sb_reserve(&c->in, 1 << 16))
			return -ENOMEM;
		n = recv_fds(c, c->in.buf + c->in.len, c->in.cap - c->in.len - 1);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.buf[c->in.len] = '\0';
			got += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (got)
			return (ssize_t)got; /* an end or error is seen at the next call */
		if (n == 0)
			return -ECONNRESET;
		return errno == EAGAIN ? 0 : -errno;
	}
}

/* Sends req and a newline; reading: while the socket is full, takes in
 * the answers to earlier requests (a daemon that waits for them to be
 * read before it reads on would otherwise wait for this send). */
static int send_line(struct inuse_client *c, const char *req, size_t len, bool reading)
{
	uint64_t deadline =
	    clock_mono_ns() + (uint64_t)(c->timeout_ms > 0 ? c->timeout_ms : 0) * NSEC_PER_MSEC;
	struct iovec iov[2] = {{(void *)req, len}, {"\n", 1}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	size_t total = len + 1, sent = 0;

	while (sent < total) {
		ssize_t n;

		n = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int err;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return errno == EPIPE ? -ECONNRESET : -errno;
			err = wait_for(c, reading ? POLLOUT | POLLIN : POLLOUT, deadline);
			if (!err && reading) {
				ssize_t got = take_in(c);

				err = got < 0 ? (int)got : 0;
			}
			if (err)
				return err;
			continue;
		}
		sent += (size_t)n;
		while (n > 0 && m.msg_iovlen) {
			size_t take =
			    (size_t)n < m.msg_iov[0].iov_len ? (size_t)n : m.msg_iov[0].iov_len;

			m.msg_iov[0].iov_base = (char *)m.msg_iov[0].iov_base + take;
			m.msg_iov[0].iov_len -= take;
			n -= (ssize_t)take;
			if (m.msg_iov[0].iov_len == 0) {
				m.msg_iov++;
				m.msg_iovlen--;
			}
		}
	}
	return 0;
}

int inuse_client__send(struct inuse_client *c, const char *req, size_t len)
{
	return send_line(c, req, len, false);
}

int inuse__send_reading(struct inuse_client *c, const char *req, size_t len)
{
	return send_line(c, req, len, true);
}

/* recv(), keeping the descriptors that come with the bytes (SCM_RIGHTS);
 * past CLIENT_FDS waiting, more are closed. */
static ssize_t recv_fds(struct inuse_client *c, char *buf, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = {buf, len};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n <= 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nfds < CLIENT_FDS)
				c->fds[c->nfds++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

int inuse_client__take_fd(struct inuse_client *c)
{
	int fd;

	if (!c->nfds)
		return -ENOENT;
	fd = c->fds[0];
	memmove(c->fds, c->fds + 1, sizeof(int) * (size_t)(c->nfds - 1));
	c->nfds--;
	return fd;
}

int inuse_client__recv(struct inuse_client *c, char **resp, size_t *len)
{
	uint64_t deadline =
	    clock_mono_ns() + (uint64_t)(c->timeout_ms > 0 ? c->timeout_ms : 0) * NSEC_PER_MSEC;

	for (;;) {
		char *nl = c->in.len > c->scanned
			       ? memchr(c->in.buf + c->scanned, '\n', c->in.len - c->scanned)
			       : NULL;
		ssize_t got;
		int err;

		if (nl) {
			size_t l = (size_t)(nl - c->in.buf);
			char *r = malloc(l + 1);

			if (!r)
				return -ENOMEM;
			memcpy(r, c->in.buf, l);
			r[l] = '\0';
			sb_consume(&c->in, l + 1);
			c->scanned = 0;
			*resp = r;
			if (len)
				*len = l;
			return 0;
		}
		c->scanned = c->in.len;
		got = take_in(c);
		if (got < 0)
			return (int)got;
		if (got > 0)
			continue;
		err = wait_for(c, POLLIN, deadline);
		if (err)
			return err;
	}
}

int inuse_client__call(struct inuse_client *c, const char *req, size_t len, char **resp,
		       size_t *resp_len)
{
	int err = inuse_client__send(c, req, len);

	if (err == -ECONNRESET) {
		/* the daemon may have answered and closed before the request
		 * went out (it refused the connection: busy); that answer
		 * is the one to give */
		int timeout = c->timeout_ms;

		c->timeout_ms = 1;
		if (inuse_client__recv(c, resp, resp_len) == 0)
			err = 0;
		c->timeout_ms = timeout;
		return err;
	}
	if (err)
		return err;
	return inuse_client__recv(c, resp, resp_len);
}

int inuse_client_timeout_ms(const struct inuse_client *c)
{
	return c->timeout_ms;
}
