// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/server.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/jname.h"
#include "inused/log.h"
#include "inused/trust.h"

static void conn_update(struct conn *c);

static size_t pending(const struct conn *c)
{
	return c->out.len - c->outoff;
}

/* Its user went back under its byte bound: its clients may go on. */
static void user_wake(struct server *s, struct user_usage *u)
{
	for (struct conn *c = s->conns; c; c = c->next) {
		if (c->u != u)
			continue;
		c->more = true; /* lines left while it was paused */
		conn_update(c);
	}
}

/* Counts what the client holds now to its user. */
static void account(struct conn *c)
{
	size_t now = pending(c) + c->in.len + c->held;
	long long d = (long long)now - (long long)c->charged;

	c->charged = now;
	if (d && users_charge(&c->srv->users, c->u, d))
		user_wake(c->srv, c->u);
}

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
	c->outoff = 0;
	c->held = 0;
	if (c->u) {
		account(c);
		c->u->conns--;
		users_unref(&s->users, c->u);
	}
	peer_free(&c->peer);
	free(c);
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
	account(c);
	return 0;
}

/* May the client's lines be handled now? */
static bool may_process(const struct conn *c)
{
	return !c->closing && !c->busy && pending(c) <= c->srv->o.max_out &&
	       !users_bytes_over(c->u);
}

/* May more be read from it? Not while complete lines wait, nor after its
 * end. */
static bool may_read(const struct conn *c)
{
	return may_process(c) && !c->more && !c->eof;
}

/* Is a complete line waiting in the input? */
static bool has_line(const struct conn *c)
{
	return c->in.len > c->in_clean && !c->discarding &&
	       memchr(c->in.buf + c->in_clean, '\n', c->in.len - c->in_clean);
}

/* The peer is done and nothing is left to answer or to send. */
static bool finished(const struct conn *c, bool eof)
{
	if (!(eof || c->closing) || pending(c) || c->async || c->busy)
		return false;
	return c->closing || !has_line(c);
}

static void conn_update(struct conn *c)
{
	uint32_t ev = 0;

	/* RDHUP is level-triggered: watched only while reading, or a half-closed
	 * client that does not read would spin the loop */
	if (may_read(c))
		ev |= EPOLLIN | EPOLLRDHUP;
	if (pending(c))
		ev |= EPOLLOUT;
	loop_mod(c->srv->loop, &c->w, ev);
}

int conn_send(struct conn *c, const void *data, size_t len)
{
	if (sb_add(&c->out, data, len))
		return -ENOMEM;
	account(c);
	conn_update(c); /* EPOLLOUT: flushed by the loop */
	return 0;
}

struct strbuf *conn_out(struct conn *c)
{
	return &c->out;
}

void conn_out_done(struct conn *c)
{
	/* what the socket takes now is sent now: a long answer written in
	 * turns does not wait for the loop's wake-up at each one (an error
	 * is left for that wake-up to find, with the rest unsent) */
	if (pending(c))
		(void)conn_flush(c);
	account(c);
	conn_update(c);
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

bool conn_can_take(const struct conn *c, size_t limit)
{
	return pending(c) < limit && !users_bytes_over(c->u);
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

void conn_set_busy(struct conn *c, bool busy)
{
	c->busy = busy;
	if (!busy && has_line(c))
		c->more = true; /* lines that waited: next turn */
	conn_update(c);
}

void conn_hold_bytes(struct conn *c, long long delta)
{
	if (delta < 0 && (size_t)-delta > c->held)
		c->held = 0;
	else
		c->held = (size_t)((long long)c->held + delta);
	account(c);
	conn_update(c);
}

/* Hands over up to SERVER_LINES_PER_TURN complete lines; sets c->more when
 * some are left for the next turn. A line that arrives in many reads is
 * searched for its end once, not from its start at every read. */
static void conn_lines(struct conn *c)
{
	struct server *s = c->srv;
	unsigned int n = 0;
	size_t off = 0, from = c->in_clean;

	c->more = false;
	while (off < c->in.len && may_process(c)) {
		char *nl = memchr(c->in.buf + from, '\n', c->in.len - from);
		size_t len;

		if (!nl) {
			from = c->in.len;
			break;
		}
		if (n++ == SERVER_LINES_PER_TURN) {
			c->more = true;
			break;
		}
		len = (size_t)(nl - (c->in.buf + off));
		if (c->discarding) {
			c->discarding = false;
		} else {
			if (len && c->in.buf[off + len - 1] == '\r')
				len--;
			s->on_line(s->ctx, c, c->in.buf + off, len);
		}
		off = (size_t)(nl - c->in.buf) + 1;
		from = off;
	}
	sb_consume(&c->in, off);
	c->in_clean = from - off;
	if (!c->discarding && c->in.len > s->o.max_line &&
	    !memchr(c->in.buf + c->in_clean, '\n', c->in.len - c->in_clean)) {
		/* no newline within the limit: refuse, skip to the next one */
		s->oversized++;
		sb_reset(&c->in);
		c->in_clean = 0;
		c->discarding = true;
		if (s->on_oversize)
			s->on_oversize(s->ctx, c);
	}
	account(c);
}

static void conn_event(struct loop_watch *w, uint32_t events)
{
	struct conn *c = w->data;
	struct server *s = c->srv;
	bool eof = c->eof;

	/* HUP: the peer closed both ways (a half-close is only RDHUP); nobody
	 * will read what is pending or still to come */
	if ((events & (EPOLLHUP | EPOLLERR)) && (c->closing || !(events & EPOLLIN))) {
		conn_free(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		while (may_read(c)) {
			size_t used = c->discarding ? 0 : c->in.len;
			size_t room = used <= s->o.max_line ? s->o.max_line + 1 - used : 1;
			char tmp[65536];
			ssize_t n;

			if (room > sizeof(tmp))
				room = sizeof(tmp);
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
			account(c);
			conn_lines(c);
		}
	}
	if (conn_flush(c) < 0) {
		conn_free(c);
		return;
	}
	/* lines left while the client was behind: handled next turn */
	if (has_line(c) && may_process(c))
		c->more = true;
	if (finished(c, eof)) {
		conn_free(c);
		return;
	}
	if (eof && !c->eof) {
		/* peer gone for reading: still answer what it asked for */
		shutdown(c->w.fd, SHUT_RD);
		c->eof = true;
	}
	conn_update(c);
}

bool server_work(struct server *s)
{
	bool more = false;

	for (struct conn *c = s->conns, *n; c; c = n) {
		n = c->next;
		if (!c->more)
			continue;
		if (may_process(c))
			conn_lines(c);
		else
			c->more = false; /* woken again when it may go on */
		if (finished(c, c->eof)) {
			conn_free(c);
			continue;
		}
		conn_update(c);
		more |= c->more;
	}
	return more;
}

static void refuse(struct server *s, int fd, const char *why)
{
	struct strbuf b = {0};

	s->refused++;
	sb_adds(&b, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":");
	jname_append(&b, why, strlen(why));
	sb_adds(&b, "}}\n");
	if (b.buf && send(fd, b.buf, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0;
	sb_free(&b);
	close(fd);
}

static void accept_event(struct loop_watch *w, uint32_t events)
{
	struct server *s = w->data;

	for (;;) {
		const char *why = NULL;
		struct conn *c;
		int fd = accept4(s->lw.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->srv = s;
		/* unknown peer: least privilege (it may reach nothing) */
		if (peer_read(fd, &c->peer))
			log_debug("a client's credentials are unknown: %s", strerror(errno));
		c->u = users_ref(&s->users, c->peer.uid);
		if (!c->u)
			why = "out of memory";
		else if (!users_global_room(c->peer.uid, s->nconns, s->o.max_conns))
			why = "too many clients";
		else if (users_conns_full(&s->users, c->u))
			why = "too many clients of this user";
		if (why) {
			refuse(s, fd, why);
			users_unref(&s->users, c->u);
			peer_free(&c->peer);
			free(c);
			continue;
		}
		if (loop_add(s->loop, &c->w, fd, EPOLLIN | EPOLLRDHUP, conn_event, c)) {
			close(fd);
			users_unref(&s->users, c->u);
			peer_free(&c->peer);
			free(c);
			continue;
		}
		c->u->conns++;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		s->accepted++;
		if (s->on_accept && (why = s->on_accept(s->ctx, c))) {
			/* refused by the protocol: told, then closed */
			struct strbuf b = {0};

			s->refused++;
			sb_adds(&b, "{\"id\":null,\"ok\":false,\"error\":{\"code\":\"busy\","
				    "\"message\":");
			jname_append(&b, why, strlen(why));
			sb_adds(&b, "}}\n");
			conn_send(c, b.buf, b.len);
			sb_free(&b);
			conn_close_after_flush(c);
			conn_update(c);
		}
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

/* Opens (creating it if missing) the directory of the socket, checked to
 * be out of other users' reach. A descriptor, or -errno (logged). */
static int open_socket_dir(const char *path, char **base)
{
	char *copy = strdup(path), *dir, err[PATH_MAX + 128];
	int fd;

	*base = NULL;
	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	/* only the last directory is created, as root's, 0755 */
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fd = -errno;
		log_err("cannot create the directory of the socket, %s: %s", dir, strerror(errno));
		free(copy);
		return fd;
	}
	fd = trust_open(dir, TRUST_DIR, err, sizeof(err));
	if (fd < 0)
		log_err("the directory of the socket must be root's and not writable by others "
			"(or sticky, as /tmp): %s",
			err);
	free(copy);
	copy = strdup(path);
	if (fd >= 0 && copy)
		*base = strdup(basename(copy));
	free(copy);
	if (fd >= 0 && !*base) {
		close(fd);
		return -ENOMEM;
	}
	return fd;
}

/* The lock file beside the socket, opened in the checked directory
 * without following a symlink; it must be root's own regular file (a
 * user could otherwise make root truncate a file of their choice). */
static int open_lock(struct server *s, int dirfd, const char *name)
{
	struct stat st;
	int fd;

	/* read-only: the daemon is no writer of its own lock file */
	fd = openat(dirfd, name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0) {
		int err = -errno;

		log_err("cannot open %s%s: %s", s->lock_path,
			errno == ELOOP ? " (a symlink: refused)" : "", strerror(errno));
		return err;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || st.st_nlink != 1) {
		log_err("%s is not the daemon's own lock file (owner %u, %u links): refused",
			s->lock_path, (unsigned)st.st_uid, (unsigned)st.st_nlink);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Writes the daemon's pid into its lock file (the same inode, or not at
 * all). */
static void write_pid(struct server *s, int dirfd, const char *name)
{
	struct stat a, b;
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	int wfd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);

	if (wfd < 0)
		return;
	if (fstat(wfd, &a) == 0 && fstat(s->lock_fd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino && ftruncate(wfd, 0) == 0 && write(wfd, pid, (size_t)n) < 0)
		(void)0;
	close(wfd);
}

int server_open(struct server *s, struct loop *l, const struct server_opts *o)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char *base = NULL, *lockname = NULL;
	int fd, err, dirfd;

	memset(s, 0, sizeof(*s));
	s->loop = l;
	s->o = *o;
	s->lock_fd = -1;
	s->lw.fd = -1;
	users_init(&s->users, &o->ulim);
	if (strlen(o->path) >= sizeof(a.sun_path)) {
		log_err("socket path too long: %s", o->path);
		return -ENAMETOOLONG;
	}
	dirfd = open_socket_dir(o->path, &base);
	if (dirfd < 0)
		return dirfd;
	s->path = strdup(o->path);
	if (!s->path || asprintf(&s->lock_path, "%s.lock", o->path) < 0 ||
	    asprintf(&lockname, "%s.lock", base) < 0) {
		s->lock_path = NULL;
		lockname = NULL;
		err = -ENOMEM;
		goto fail;
	}
	s->lock_fd = open_lock(s, dirfd, lockname);
	if (s->lock_fd < 0) {
		err = s->lock_fd;
		goto fail;
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
		err = -EADDRINUSE;
		goto fail;
	}
	write_pid(s, dirfd, lockname);
	/* we hold the lock: a socket file left there is stale, unless a daemon
	 * that does not use the lock answers on it */
	if (socket_alive(o->path)) {
		log_err("something already answers on %s; not starting", o->path);
		err = -EADDRINUSE;
		goto fail;
	}
	unlinkat(dirfd, base, 0);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", o->path);
	{
		mode_t old = umask(0177);

		err = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
		umask(old);
	}
	/* the directory is root's: nobody else can swap the socket file */
	if (!err && o->gid != (gid_t)-1 &&
	    fchownat(dirfd, base, (uid_t)-1, o->gid, AT_SYMLINK_NOFOLLOW) != 0)
		err = -errno;
	if (!err && fchmodat(dirfd, base, o->mode, 0) != 0)
		err = -errno;
	if (!err && listen(fd, 128) != 0)
		err = -errno;
	if (!err)
		err = loop_add(l, &s->lw, fd, EPOLLIN, accept_event, s);
	if (err) {
		log_err("cannot serve on %s: %s", o->path, strerror(-err));
		close(fd);
		goto fail;
	}
	close(dirfd);
	free(base);
	free(lockname);
	return 0;
fail:
	close(dirfd);
	free(base);
	free(lockname);
	server_close(s);
	return err;
}

int server_set_access(struct server *s, gid_t gid, unsigned int mode)
{
	if (gid != (gid_t)-1 && chown(s->path, (uid_t)-1, gid) != 0)
		return -errno;
	if (chmod(s->path, mode) != 0)
		return -errno;
	s->o.gid = gid;
	s->o.mode = mode;
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
	users_fini(&s->users);
}
