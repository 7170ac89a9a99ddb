// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "inused/log.h"

static void conn_update(struct conn *c);

static void conn_free(struct conn *c)
{
	struct server *s = c->srv;

	if (s->on_gone)
		s->on_gone(s->ctx, c);
	loop_del(s->loop, &c->w);
	close(c->w.fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	for (int i = 0; i < c->nfds; i++)
		for (int k = 0; k < c->fds[i].n; k++)
			close(c->fds[i].fd[k]);
	sb_free(&c->in);
	sb_free(&c->out);
	free(c);
}

static size_t pending(const struct conn *c)
{
	return c->out.len - c->outoff;
}

/* Writes what the socket takes. -1 when the client is gone. */
/* Sends up to len bytes; with the next batch of descriptors when the
 * first of them is the byte they go with. */
static ssize_t send_part(struct conn *c, size_t len)
{
	struct conn_fds *b = c->nfds ? &c->fds[0] : NULL;
	char ctl[CMSG_SPACE(sizeof(int) * CONN_FDS_MAX)];
	struct iovec iov = {c->out.buf + c->outoff, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (b && b->at > c->sent && b->at - c->sent < len)
		iov.iov_len = (size_t)(b->at - c->sent); /* up to the descriptors' byte */
	if (b && b->at == c->sent) {
		struct cmsghdr *cm;

		memset(ctl, 0, sizeof(ctl));
		m.msg_control = ctl;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)b->n);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)b->n);
		memcpy(CMSG_DATA(cm), b->fd, sizeof(int) * (size_t)b->n);
	}
	n = sendmsg(c->w.fd, &m, MSG_NOSIGNAL);
	if (n > 0 && m.msg_control) {
		for (int k = 0; k < b->n; k++)
			close(b->fd[k]);
		memmove(&c->fds[0], &c->fds[1], sizeof(c->fds[0]) * (size_t)(c->nfds - 1));
		c->nfds--;
	}
	if (n > 0)
		c->sent += (uint64_t)n;
	return n;
}

static int conn_flush(struct conn *c)
{
	while (pending(c)) {
		ssize_t n = send_part(c, pending(c));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->outoff += (size_t)n;
	}
	if (c->outoff == c->out.len) {
		sb_reset(&c->out);
		c->outoff = 0;
		/* give back memory a large answer took */
		if (c->out.cap > (1 << 20))
			sb_free(&c->out);
	} else if (c->outoff > c->out.len / 2) {
		sb_consume(&c->out, c->outoff);
		c->outoff = 0;
	}
	return 0;
}

static void conn_update(struct conn *c)
{
	uint32_t ev = 0;

	/* RDHUP is level-triggered: watched only while reading, or a half-closed
	 * client that does not read would spin the loop */
	if (!c->closing && pending(c) <= c->srv->o.max_out)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (pending(c))
		ev |= EPOLLOUT;
	loop_mod(c->srv->loop, &c->w, ev);
}

int conn_send(struct conn *c, const void *data, size_t len)
{
	if (sb_add(&c->out, data, len))
		return -ENOMEM;
	conn_update(c); /* EPOLLOUT: flushed by the loop */
	return 0;
}

int conn_send_fds(struct conn *c, const void *data, size_t len, const int *fds, int n)
{
	struct conn_fds *b;

	if (n < 0 || n > CONN_FDS_MAX || c->nfds == CONN_FD_BATCHES || !len)
		return -EBUSY;
	b = &c->fds[c->nfds];
	b->at = c->sent + pending(c);
	b->n = n;
	memcpy(b->fd, fds, sizeof(int) * (size_t)n);
	if (sb_add(&c->out, data, len))
		return -ENOMEM; /* the descriptors are not taken */
	c->nfds++;
	conn_update(c);
	return 0;
}

size_t conn_pending(const struct conn *c)
{
	return pending(c);
}

void conn_hold(struct conn *c)
{
	c->async++;
}

void conn_release(struct conn *c)
{
	if (c->async)
		c->async--;
	conn_update(c);
}

void conn_close_after_flush(struct conn *c)
{
	c->closing = true;
}

/* Splits the input into lines and hands them over; returns false when the
 * client went away meanwhile. */
static void conn_lines(struct conn *c)
{
	struct server *s = c->srv;
	size_t off = 0;

	while (off < c->in.len) {
		char *nl = memchr(c->in.buf + off, '\n', c->in.len - off);
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (c->in.buf + off));
		if (c->discarding) {
			c->discarding = false;
		} else {
			if (len && c->in.buf[off + len - 1] == '\r')
				len--;
			s->on_line(s->ctx, c, c->in.buf + off, len);
		}
		off = (size_t)(nl - c->in.buf) + 1;
		if (c->closing || pending(c) > s->o.max_out)
			break;
	}
	sb_consume(&c->in, off);
	if (!c->discarding && c->in.len > s->o.max_line) {
		/* no newline within the limit: refuse, skip to the next one */
		s->oversized++;
		sb_reset(&c->in);
		c->discarding = true;
		if (s->on_oversize)
			s->on_oversize(s->ctx, c);
	}
}

static void conn_event(struct loop_watch *w, uint32_t events)
{
	struct conn *c = w->data;
	struct server *s = c->srv;
	bool eof = false;

	/* HUP: the peer closed both ways (a half-close is only RDHUP); nobody
	 * will read what is pending or still to come */
	if ((events & (EPOLLHUP | EPOLLERR)) && (c->closing || !(events & EPOLLIN))) {
		conn_free(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		while (!c->closing && pending(c) <= s->o.max_out) {
			size_t room = s->o.max_line + 1 - (c->discarding ? 0 : c->in.len);
			char tmp[65536];
			ssize_t n;

			if (room > sizeof(tmp))
				room = sizeof(tmp);
			if (room == 0)
				room = 1;
			n = recv(c->w.fd, tmp, room, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					eof = true;
				break;
			}
			if (n == 0) {
				eof = true;
				break;
			}
			if (c->discarding) {
				char *nl = memchr(tmp, '\n', (size_t)n);

				if (!nl)
					continue;
				c->discarding = false;
				sb_add(&c->in, nl + 1, (size_t)(n - (nl + 1 - tmp)));
			} else if (sb_add(&c->in, tmp, (size_t)n)) {
				eof = true;
				break;
			}
			conn_lines(c);
		}
		/* lines left over after the output limit was reached */
		if (!c->closing && pending(c) <= s->o.max_out)
			conn_lines(c);
	}
	if (conn_flush(c) < 0) {
		conn_free(c);
		return;
	}
	/* requests left in the buffer while the client was behind */
	if (!c->closing && c->in.len && pending(c) <= s->o.max_out) {
		conn_lines(c);
		if (conn_flush(c) < 0) {
			conn_free(c);
			return;
		}
	}
	if ((eof || c->closing) && !pending(c) && !c->async) {
		conn_free(c);
		return;
	}
	if (eof) {
		/* peer gone for reading: still flush what it asked for */
		shutdown(c->w.fd, SHUT_RD);
		c->closing = true;
	}
	conn_update(c);
}

static void accept_event(struct loop_watch *w, uint32_t events)
{
	struct server *s = w->data;

	for (;;) {
		socklen_t sl = sizeof(struct ucred);
		struct conn *c;
		int fd = accept4(s->lw.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		if (s->nconns >= s->o.max_conns) {
			static const char msg[] =
			    "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"busy\","
			    "\"message\":\"too many clients\"}}\n";

			s->refused++;
			if (send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &sl) != 0) {
			/* unknown peer: least privilege */
			c->cred.uid = (uid_t)-1;
			c->cred.gid = (gid_t)-1;
			c->cred.pid = 0;
		}
		if (loop_add(s->loop, &c->w, fd, EPOLLIN | EPOLLRDHUP, conn_event, c)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		s->accepted++;
	}
}

/* Is a daemon answering on path? */
static bool socket_alive(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	alive = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return alive;
}

static int mkdir_parent(const char *path)
{
	char *dir = strdup(path), *slash;
	int err = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			err = -errno;
	}
	free(dir);
	return err;
}

int server_open(struct server *s, struct loop *l, const struct server_opts *o)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, err;

	memset(s, 0, sizeof(*s));
	s->loop = l;
	s->o = *o;
	s->lock_fd = -1;
	s->lw.fd = -1;
	if (strlen(o->path) >= sizeof(a.sun_path)) {
		log_err("socket path too long: %s", o->path);
		return -ENAMETOOLONG;
	}
	err = mkdir_parent(o->path);
	if (err) {
		log_err("cannot create the directory of %s: %s", o->path, strerror(-err));
		return err;
	}
	s->path = strdup(o->path);
	if (!s->path || asprintf(&s->lock_path, "%s.lock", o->path) < 0) {
		s->lock_path = NULL;
		server_close(s);
		return -ENOMEM;
	}
	/* read-only: the daemon is no writer of its own lock file */
	s->lock_fd = open(s->lock_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0) {
		err = -errno;
		log_err("cannot open %s: %s", s->lock_path, strerror(errno));
		server_close(s);
		return err;
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);

		if (n > 0)
			pid[strcspn(pid, "\n")] = '\0';
		log_err("another inused (pid %s) is serving %s; not starting", n > 0 ? pid : "?",
			o->path);
		close(s->lock_fd);
		s->lock_fd = -1;
		server_close(s);
		return -EADDRINUSE;
	}
	{
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		int wfd = open(s->lock_path, O_WRONLY | O_TRUNC | O_CLOEXEC);

		if (wfd >= 0) {
			if (write(wfd, pid, (size_t)n) < 0)
				(void)0;
			close(wfd);
		}
	}
	/* we hold the lock: a socket file left there is stale, unless a daemon
	 * that does not use the lock answers on it */
	if (socket_alive(o->path)) {
		log_err("something already answers on %s; not starting", o->path);
		server_close(s);
		return -EADDRINUSE;
	}
	unlink(o->path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		server_close(s);
		return err;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", o->path);
	{
		mode_t old = umask(0177);

		err = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
		umask(old);
	}
	if (!err && o->gid != (gid_t)-1 && chown(o->path, (uid_t)-1, o->gid) != 0)
		err = -errno;
	if (!err && chmod(o->path, o->mode) != 0)
		err = -errno;
	if (!err && listen(fd, 128) != 0)
		err = -errno;
	if (!err)
		err = loop_add(l, &s->lw, fd, EPOLLIN, accept_event, s);
	if (err) {
		log_err("cannot serve on %s: %s", o->path, strerror(-err));
		close(fd);
		server_close(s);
		return err;
	}
	return 0;
}

void server_close(struct server *s)
{
	while (s->conns)
		conn_free(s->conns);
	if (s->lw.fd >= 0) {
		loop_del(s->loop, &s->lw);
		close(s->lw.fd);
		s->lw.fd = -1;
		if (s->path)
			unlink(s->path);
	}
	if (s->lock_fd >= 0) {
		close(s->lock_fd);
		s->lock_fd = -1;
	}
	free(s->path);
	free(s->lock_path);
	s->path = s->lock_path = NULL;
}
