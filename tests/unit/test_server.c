// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_server.c - unit tests of userspace/inused/server.c and loop.c: a real
 * server on a Unix socket in a temporary directory, real client sockets, the
 * loop driven by hand (bounded turns: loop_run_once, then server_work, as the
 * daemon's loop does; no sleeping).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "inused/loop.h"
#include "inused/server.h"

#define MAX_LINE   64
#define MAX_OUT	   4096
#define MAX_CONNS  2
#define MAX_ITERS  200	     /* loop iterations before a wait gives up */
#define BIG_ANSWER (1 << 20) /* far more than a socket buffer holds */

struct client {
	int fd;
	struct strbuf in; /* everything received */
	bool eof;
};

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	char lock[PATH_MAX];
	struct loop loop;
	struct server srv;
	size_t lines; /* on_line calls */
	size_t gone;  /* on_gone calls */
	struct ucred last_cred;
};

/* The protocol under test: "big" answers BIG_ANSWER bytes, anything else is
 * echoed as "got:<line>". */
static void on_line(void *ctx, struct conn *c, const char *line, size_t len)
{
	struct fx *f = ctx;

	f->lines++;
	f->last_cred = (struct ucred){.pid = c->peer.pid, .uid = c->peer.uid, .gid = c->peer.gid};
	if (len == 3 && !memcmp(line, "big", 3)) {
		char *big = malloc(BIG_ANSWER);

		assert_non_null(big);
		memset(big, 'B', BIG_ANSWER - 1);
		big[BIG_ANSWER - 1] = '\n';
		assert_int_equal(conn_send(c, big, BIG_ANSWER), 0);
		free(big);
		return;
	}
	assert_int_equal(conn_send(c, "got:", 4), 0);
	assert_int_equal(conn_send(c, line, len), 0);
	assert_int_equal(conn_send(c, "\n", 1), 0);
}

static void on_oversize(void *ctx, struct conn *c)
{
	assert_int_equal(conn_send(c, "oversize\n", 9), 0);
}

static void on_gone(void *ctx, struct conn *c)
{
	struct fx *f = ctx;

	f->gone++;
}

static struct server_opts opts(const struct fx *f)
{
	struct server_opts o = {
	    .path = f->path,
	    .mode = 0660,
	    .gid = (gid_t)-1,
	    .max_line = MAX_LINE,
	    .max_out = MAX_OUT,
	    .max_conns = MAX_CONNS,
	};

	return o;
}

/* A temporary directory and a loop; no server yet. */
static int setup_dir(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/inused-unit-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s.lock", f->path);
	if (loop_init(&f->loop))
		return -1;
	f->srv.lw.fd = -1;
	f->srv.lock_fd = -1;
	*state = f;
	return 0;
}

/* The above, plus a running server. */
static int setup(void **state)
{
	struct fx *f;
	struct server_opts o;

	if (setup_dir(state))
		return -1;
	f = *state;
	o = opts(f);
	if (server_open(&f->srv, &f->loop, &o))
		return -1;
	f->srv.on_line = on_line;
	f->srv.on_oversize = on_oversize;
	f->srv.on_gone = on_gone;
	f->srv.ctx = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	server_close(&f->srv); /* safe when already closed */
	loop_fini(&f->loop);
	unlink(f->path);
	unlink(f->lock);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void client_open(struct fx *f, struct client *cl)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	memset(cl, 0, sizeof(*cl));
	cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(cl->fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	assert_int_equal(connect(cl->fd, (struct sockaddr *)&a, sizeof(a)), 0);
}

static void client_close(struct client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	sb_free(&cl->in);
}

static void client_send(struct client *cl, const void *data, size_t len)
{
	assert_int_equal(send(cl->fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void client_sends(struct client *cl, const char *s)
{
	client_send(cl, s, strlen(s));
}

/* Takes whatever has arrived, without blocking. */
static void client_drain(struct client *cl)
{
	struct pollfd p = {.fd = cl->fd, .events = POLLIN};
	char buf[65536];

	while (!cl->eof && poll(&p, 1, 0) == 1) {
		ssize_t n = recv(cl->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			cl->eof = true; /* ECONNRESET counts as the end */
			break;
		}
		if (n == 0) {
			cl->eof = true;
			break;
		}
		assert_int_equal(sb_add(&cl->in, buf, (size_t)n), 0);
	}
}

static size_t count_lines(const struct client *cl)
{
	size_t n = 0;

	for (size_t i = 0; i < cl->in.len; i++)
		n += cl->in.buf[i] == '\n';
	return n;
}

typedef bool (*cond_fn)(struct fx *f, void *arg);

/* Runs the loop until cond holds; false if it never did. */
/* One turn of the daemon's loop: events, then the lines left for this
 * turn. Returns how many callbacks ran, plus one when work is left for the
 * next turn (the loop would not sleep). */
static int turn(struct fx *f, int timeout_ms)
{
	int n = loop_run_once(&f->loop, timeout_ms);

	if (n < 0)
		return n;
	return n + (server_work(&f->srv) ? 1 : 0);
}

static bool run_until(struct fx *f, cond_fn cond, void *arg)
{
	for (int i = 0; i < MAX_ITERS; i++) {
		if (cond(f, arg))
			return true;
		assert_true(turn(f, 50) >= 0);
	}
	return cond(f, arg);
}

struct want_lines {
	struct client *cl;
	size_t n;
};

static bool has_lines(struct fx *f, void *arg)
{
	struct want_lines *w = arg;

	client_drain(w->cl);
	return count_lines(w->cl) >= w->n || w->cl->eof;
}

static bool has_eof(struct fx *f, void *arg)
{
	client_drain(arg);
	return ((struct client *)arg)->eof;
}

static bool nconns_is(struct fx *f, void *arg)
{
	return f->srv.nconns == *(size_t *)arg;
}

static bool gone_at_least(struct fx *f, void *arg)
{
	return f->gone >= *(size_t *)arg;
}

static bool input_is(struct fx *f, void *arg)
{
	return f->srv.conns && f->srv.conns->in.len == *(size_t *)arg;
}

/* Waits for n answer lines on cl and checks they are exactly want. */
static void expect(struct fx *f, struct client *cl, size_t n, const char *want)
{
	struct want_lines w = {cl, n};

	assert_true(run_until(f, has_lines, &w));
	assert_non_null(cl->in.buf);
	assert_string_equal(cl->in.buf, want);
	sb_reset(&cl->in);
}

static void wait_nconns(struct fx *f, size_t n)
{
	assert_true(run_until(f, nconns_is, &n));
}

/* Nothing more arrives on cl while the loop runs idle a few times. */
static void expect_silence(struct fx *f, struct client *cl)
{
	for (int i = 0; i < 3; i++)
		assert_true(turn(f, 0) >= 0);
	client_drain(cl);
	assert_int_equal(cl->in.len, 0);
	assert_false(cl->eof);
}

/* (a) One request line gets one answer; the server saw our credentials. */
static void test_one_line(void **state)
{
	struct fx *f = *state;
	struct client c;

	client_open(f, &c);
	client_sends(&c, "hello\n");
	expect(f, &c, 1, "got:hello\n");
	assert_int_equal(f->lines, 1);
	assert_int_equal(f->srv.accepted, 1);
	assert_int_equal(f->last_cred.pid, getpid());
	assert_int_equal(f->last_cred.uid, geteuid());
	expect_silence(f, &c);
	client_close(&c);
}

/* The socket file is a socket with the requested mode, and the lock file
 * beside it names this process. */
static void test_socket_file(void **state)
{
	struct fx *f = *state;
	struct stat st;
	char buf[32] = "", want[32];
	int fd;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	fd = open(f->lock, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	assert_string_equal(buf, want);
}

/* (b) Three lines in one send are answered in order. */
static void test_pipelined(void **state)
{
	struct fx *f = *state;
	struct client c;

	client_open(f, &c);
	client_sends(&c, "one\ntwo\nthree\n");
	expect(f, &c, 3, "got:one\ngot:two\ngot:three\n");
	assert_int_equal(f->lines, 3);
	client_close(&c);
}

/* (c) A line split across sends is answered once it is complete. */
static void test_split_line(void **state)
{
	struct fx *f = *state;
	struct client c;
	size_t three = 3;

	size_t nine = 9;

	client_open(f, &c);
	client_sends(&c, "hel");
	assert_true(run_until(f, input_is, &three));
	expect_silence(f, &c);
	assert_int_equal(f->lines, 0);
	client_sends(&c, "lo\n");
	expect(f, &c, 1, "got:hello\n");
	/* in three pieces: each searched from where the last one ended */
	client_sends(&c, "hel");
	assert_true(run_until(f, input_is, &three));
	client_sends(&c, "lo wor");
	assert_true(run_until(f, input_is, &nine));
	expect_silence(f, &c);
	client_sends(&c, "ld\nnext\n");
	expect(f, &c, 2, "got:hello world\ngot:next\n");
	client_close(&c);
}

/* (d) A 1000-byte line without newline is refused once, the rest of it is
 * skipped, and the connection goes on working. */
static void test_oversize(void **state)
{
	struct fx *f = *state;
	struct client c;
	char big[1000];

	memset(big, 'x', sizeof(big));
	client_open(f, &c);
	client_send(&c, big, sizeof(big));
	expect(f, &c, 1, "oversize\n");
	client_sends(&c, "\nok\n");
	expect(f, &c, 1, "got:ok\n");
	client_sends(&c, "again\n");
	expect(f, &c, 1, "got:again\n");
	assert_int_equal(f->srv.oversized, 1);
	assert_int_equal(f->lines, 2);
	assert_int_equal(f->srv.nconns, 1);
	client_close(&c);
}

/* A line of exactly max_line bytes is taken; one byte more is refused, also
 * when sent in one piece with the lines around it. */
static void test_line_limit_boundary(void **state)
{
	struct fx *f = *state;
	struct client c;
	char req[3 * MAX_LINE], want[3 * MAX_LINE];

	client_open(f, &c);

	memset(req, 'a', MAX_LINE);
	memcpy(req + MAX_LINE, "\n", 2);
	client_sends(&c, req);
	snprintf(want, sizeof(want), "got:%.*s\n", MAX_LINE, req);
	expect(f, &c, 1, want);

	memset(req, 'b', MAX_LINE + 1);
	memcpy(req + MAX_LINE + 1, "\nnext\n", 7);
	client_sends(&c, req);
	expect(f, &c, 2, "oversize\ngot:next\n");

	snprintf(req, sizeof(req), "pre\n%0*d\npost\n", MAX_LINE + 10, 7);
	client_sends(&c, req);
	expect(f, &c, 3, "got:pre\noversize\ngot:post\n");
	assert_int_equal(f->srv.oversized, 2);
	client_close(&c);
}

/* (e) A client beyond max_conns gets a "busy" JSON line and is closed; the
 * others are unaffected, and a freed slot is usable again. */
static void test_max_conns(void **state)
{
	struct fx *f = *state;
	struct client c1, c2, c3, c4;

	client_open(f, &c1);
	client_open(f, &c2);
	wait_nconns(f, 2);
	client_open(f, &c3);
	assert_true(run_until(f, has_eof, &c3));
	assert_non_null(c3.in.buf);
	assert_int_equal(count_lines(&c3), 1);
	assert_non_null(strstr(c3.in.buf, "\"busy\""));
	assert_int_equal(c3.in.buf[0], '{');
	assert_int_equal(f->srv.refused, 1);
	assert_int_equal(f->srv.nconns, 2);

	client_sends(&c1, "c1\n");
	client_sends(&c2, "c2\n");
	expect(f, &c1, 1, "got:c1\n");
	expect(f, &c2, 1, "got:c2\n");

	client_close(&c1);
	wait_nconns(f, 1);
	client_open(f, &c4);
	client_sends(&c4, "c4\n");
	expect(f, &c4, 1, "got:c4\n");
	assert_int_equal(f->srv.refused, 1);
	assert_int_equal(f->srv.accepted, 3);
	client_close(&c2);
	client_close(&c3);
	client_close(&c4);
}

/* (f) A second server on the same path is refused with -EADDRINUSE and the
 * first one keeps serving. */
static void test_second_server(void **state)
{
	struct fx *f = *state;
	struct server other;
	struct server_opts o = opts(f);
	struct client c;
	struct stat st;

	assert_int_equal(server_open(&other, &f->loop, &o), -EADDRINUSE);
	server_close(&other);
	assert_int_equal(stat(f->path, &st), 0);
	client_open(f, &c);
	client_sends(&c, "still\n");
	expect(f, &c, 1, "got:still\n");
	client_close(&c);
}

/* (g) server_close removes the socket file, drops the clients (telling the
 * protocol), and nobody can connect any more. */
static void test_close_removes_socket(void **state)
{
	struct fx *f = *state;
	struct client c;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	client_open(f, &c);
	wait_nconns(f, 1);
	server_close(&f->srv);
	assert_int_equal(f->gone, 1);
	assert_int_equal(f->srv.nconns, 0);
	assert_int_equal(stat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
	client_drain(&c);
	assert_true(c.eof);

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
	close(fd);
	client_close(&c);
}

/* (h) A client that disconnects mid-line is freed without a line being
 * delivered, and another client still works. */
static void test_disconnect_mid_line(void **state)
{
	struct fx *f = *state;
	struct client c1, c2;

	client_open(f, &c1);
	client_sends(&c1, "partial line with no end");
	client_close(&c1);
	assert_true(run_until(f, gone_at_least, &(size_t){1}));
	assert_int_equal(f->srv.accepted, 1);
	assert_int_equal(f->srv.nconns, 0);
	assert_int_equal(f->lines, 0);

	client_open(f, &c2);
	client_sends(&c2, "fine\n");
	expect(f, &c2, 1, "got:fine\n");
	client_close(&c2);
}

/* A client that sends a request and shuts down its writing side still gets
 * the answer, then is closed. */
static void test_half_close_gets_answer(void **state)
{
	struct fx *f = *state;
	struct client c;

	client_open(f, &c);
	client_sends(&c, "last\n");
	assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
	assert_true(run_until(f, has_eof, &c));
	assert_non_null(c.in.buf);
	assert_string_equal(c.in.buf, "got:last\n");
	wait_nconns(f, 0);
	client_close(&c);
}

/* (i) A trailing "\r" is stripped from each line; a "\r" inside is kept. */
static void test_crlf(void **state)
{
	static const struct {
		const char *req, *want;
		size_t n;
	} cases[] = {
	    {"hi\r\n", "got:hi\n", 1},
	    {"\r\n", "got:\n", 1},
	    {"\n", "got:\n", 1},
	    {"a\rb\r\n", "got:a\rb\n", 1},
	    {"x\r\ny\r\n", "got:x\ngot:y\n", 2},
	    {"two\r\r\n", "got:two\r\n", 1},
	};
	struct fx *f = *state;
	struct client c;

	client_open(f, &c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		client_sends(&c, cases[i].req);
		expect(f, &c, cases[i].n, cases[i].want);
	}
	client_close(&c);
}

static bool lines_at_least(struct fx *f, void *arg)
{
	return f->lines >= *(size_t *)arg;
}

/* While more than max_out of answers is unread, the server reads no further
 * requests; once the client catches up, the request already buffered is
 * answered without the client having to send anything more. */
static void test_output_limit_pauses_reading(void **state)
{
	struct fx *f = *state;
	struct client c;
	int idle = 0;

	client_open(f, &c);
	client_sends(&c, "big\nafter\n");
	assert_true(run_until(f, lines_at_least, &(size_t){1}));
	for (int i = 0; i < 5; i++)
		assert_true(turn(f, 0) >= 0);
	assert_int_equal(f->lines, 1); /* "after" waits */

	/* read everything; the second answer follows the big one */
	for (int i = 0; i < MAX_ITERS && c.in.len < BIG_ANSWER + 10 && idle < 20; i++) {
		size_t before = c.in.len;

		assert_true(turn(f, 50) >= 0);
		client_drain(&c);
		if (c.in.len >= BIG_ANSWER)
			idle += c.in.len == before;
	}
	assert_int_equal(f->lines, 2);
	assert_int_equal(c.in.len, BIG_ANSWER + 10);
	assert_memory_equal(c.in.buf + BIG_ANSWER, "got:after\n", 10);
	client_close(&c);
}

/* A client that shut down its writing side but does not read its (large)
 * answer must not make the loop spin: with nothing the server can do, the
 * loop has nothing ready. Whether or not the server saw the end of input
 * before it paused reading. */
static void test_half_closed_slow_reader_no_spin(void **state)
{
	static const struct {
		const char *req, *what;
	} cases[] = {
	    {"big\n", "end of input seen, answer pending"},
	    {"big\nmore\n", "reading paused with \"more\" and the end unread"},
	};
	struct fx *f = *state;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct client c;
		int ready = 0;

		f->lines = 0;
		client_open(f, &c);
		client_sends(&c, cases[k].req);
		assert_int_equal(shutdown(c.fd, SHUT_WR), 0);
		/* let the server read the request and fill the socket */
		for (int i = 0; i < 10; i++)
			assert_true(turn(f, 0) >= 0);
		assert_int_equal(f->lines, 1);
		assert_int_equal(f->srv.nconns, 1);
		for (int i = 0; i < 10; i++)
			ready += turn(f, 0);
		if (ready != 0)
			fail_msg("%s: %d of 10 idle loop rounds had events", cases[k].what, ready);
		client_close(&c);
		wait_nconns(f, 0);
	}
}

/* A socket file left behind by a dead server is replaced. */
static void test_stale_socket_replaced(void **state)
{
	struct fx *f = *state;
	struct server_opts o = opts(f);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct client c;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd); /* the file stays, nobody listens */

	assert_int_equal(server_open(&f->srv, &f->loop, &o), 0);
	f->srv.on_line = on_line;
	f->srv.ctx = f;
	client_open(f, &c);
	client_sends(&c, "new\n");
	expect(f, &c, 1, "got:new\n");
	client_close(&c);
}

/* A path too long for a Unix socket address is refused up front. */
static void test_path_too_long(void **state)
{
	struct fx *f = *state;
	struct server_opts o = opts(f);
	char path[200];

	memset(path, 'p', sizeof(path));
	memcpy(path, f->dir, strlen(f->dir));
	path[strlen(f->dir)] = '/';
	path[sizeof(path) - 1] = '\0';
	o.path = path;
	assert_int_equal(server_open(&f->srv, &f->loop, &o), -ENAMETOOLONG);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_line_limit_boundary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_conns, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_second_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_close_removes_socket, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disconnect_mid_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_close_gets_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_output_limit_pauses_reading, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_half_closed_slow_reader_no_spin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup_dir, teardown),
	    cmocka_unit_test_setup_teardown(test_path_too_long, setup_dir, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
