/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * server.h - the Unix stream socket: accepts clients, splits their input
 * into lines, buffers their output.
 *
 * Bounds: a request line longer than max_line is refused and skipped
 * without being stored; a client whose unread output passes max_out is not
 * read from until it catches up; at most max_conns clients at once, with
 * room kept for root; per user (users.h), connections and bytes held
 * (input not yet answered, output not yet read, what the protocol holds
 * for its requests): a user at its byte bound is not read from until its
 * clients catch up. At most SERVER_LINES_PER_TURN lines of one client are
 * handled per turn of the event loop, so that every client is served.
 */
#ifndef INUSED_SERVER_H
#define INUSED_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/strbuf.h"
#include "inused/creds.h"
#include "inused/loop.h"
#include "inused/users.h"

#define SERVER_LINES_PER_TURN 256

struct server;

/* Descriptors that go with the byte at stream offset at (SCM_RIGHTS). */
#define CONN_FD_BATCHES 4
#define CONN_FDS_MAX	16
struct conn_fds {
	uint64_t at;
	int fd[CONN_FDS_MAX];
	int n;
};

struct conn {
	struct server *srv;
	struct loop_watch w;
	struct peer peer;     /* who, as of connect(2) */
	bool admin;	      /* sees every file: decided when it connected */
	struct user_usage *u; /* what its user holds */
	size_t charged;	      /* bytes of this client counted to u */
	size_t held;	      /* bytes the protocol holds for it */
	struct strbuf in;
	size_t in_clean; /* bytes at the start of in known to hold no newline */
	struct strbuf out;
	size_t outoff;
	bool discarding;    /* skipping the rest of an oversized line */
	bool closing;	    /* close once the output is flushed */
	bool busy;	    /* a request is being answered in turns: later lines wait */
	bool more;	    /* complete lines left for the next turn */
	bool eof;	    /* the peer sends nothing more */
	unsigned int async; /* requests still to be answered (waits, streams) */
	uint64_t sent;	    /* bytes the socket has taken so far */
	struct conn_fds fds[CONN_FD_BATCHES];
	int nfds;
	struct conn *prev, *next;
	void *user; /* the protocol's per-client state */
};

/* A client connected (its peer is known). Returns 0 to keep it, or a
 * message to refuse it with a "busy" error. */
typedef const char *(*server_accept_fn)(void *ctx, struct conn *c);
/* One complete request line, without its newline. */
typedef void (*server_line_fn)(void *ctx, struct conn *c, const char *line, size_t len);
/* The line was longer than max_line. */
typedef void (*server_oversize_fn)(void *ctx, struct conn *c);
/* The client is about to be freed. */
typedef void (*server_gone_fn)(void *ctx, struct conn *c);

struct server_opts {
	const char *path;
	unsigned int mode; /* socket file mode */
	gid_t gid;	   /* (gid_t)-1: leave the group */
	size_t max_line;
	size_t max_out;
	size_t max_conns;
	struct user_limits ulim;
};

struct server {
	struct loop *loop;
	struct loop_watch lw;
	int lock_fd;
	char *path;
	char *lock_path;
	struct server_opts o;
	struct users users;
	struct conn *conns;
	size_t nconns;
	server_accept_fn on_accept;
	server_line_fn on_line;
	server_oversize_fn on_oversize;
	server_gone_fn on_gone;
	void *ctx;
	unsigned long long accepted, refused, oversized;
};

/*
 * Takes the instance lock beside the socket and binds it. Fails with
 * -EADDRINUSE (and says who) if another daemon serves that socket, and
 * with -EPERM when the socket's directory is not trusted (trust.h): it
 * must be root's and not writable by others, or sticky (as /tmp). The
 * lock file is opened without following symlinks and must be root's.
 */
int server_open(struct server *s, struct loop *l, const struct server_opts *o);
void server_close(struct server *s);

/* Sets the socket's group and mode again (a reload). 0 or -errno. */
int server_set_access(struct server *s, gid_t gid, unsigned int mode);

/* Handles the lines left for this turn; returns true when some are left
 * for the next one (the loop must not sleep). */
bool server_work(struct server *s);

/* Queues bytes for the client; flushed as the socket allows (also when
 * called outside the client's own event, for late answers). */
int conn_send(struct conn *c, const void *data, size_t len);
/* The connection's output, for an answer written into it in place (no
 * copy); conn_out_done() after appending. */
struct strbuf *conn_out(struct conn *c);
void conn_out_done(struct conn *c);
/* Queues bytes with descriptors attached to their first byte (sent with
 * SCM_RIGHTS). Takes the descriptors: they are closed once sent, or with
 * the connection. -EBUSY when too many are waiting to go. */
int conn_send_fds(struct conn *c, const void *data, size_t len, const int *fds, int n);

/* Bytes queued for the client and not yet taken by its socket. */
size_t conn_pending(const struct conn *c);

/* Output already queued is flushed, then the client is closed. */
void conn_close_after_flush(struct conn *c);

/* An answer will come later (async++), or has been sent (async--): a client
 * that half-closed is kept until its late answers are flushed. */
void conn_hold(struct conn *c);
void conn_release(struct conn *c);

/* A request is being answered in turns (busy): its later lines wait, and
 * are handled once it is done. */
void conn_set_busy(struct conn *c, bool busy);

/* Bytes the protocol holds for the client (a request's paths), counted to
 * its user: delta added (or removed when negative). */
void conn_hold_bytes(struct conn *c, long long delta);

/* May more output be produced for the client now? (Its unread output is
 * below limit and its user is within its byte bound.) */
bool conn_can_take(const struct conn *c, size_t limit);

#endif
