// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_daemon.c - inused as a program and inuse-ls as a command: one
 * instance per socket, clean detach on SIGTERM, bad requests answered and
 * survived, the CLI's output and exit status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char dir[PATH_MAX];

static int group_setup(void **state)
{
	return td_group_start(&D, dir, "/var/tmp/inuse-cli-XXXXXX");
}

static int group_teardown(void **state)
{
	return td_group_stop(&D, dir);
}

static void need_daemon(void)
{
	td_need(&D);
}

/* A command line's status; stdout and stderr together into out. */
#define run(out, outlen, fmt, ...) td_sh(out, outlen, fmt " 2>&1", ##__VA_ARGS__)

/* A raw connection for protocol abuse. */
static int raw_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", D.sock);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one line (up to cap bytes) with a deadline. */
static json_t *read_line(int fd)
{
	static char buf[1 << 16];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		assert_true(poll(&p, 1, 10000) == 1);
		r = recv(fd, buf + n, 1, 0);
		assert_true(r == 1);
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return json_loads(buf, 0, NULL);
		}
		n++;
	}
	fail_msg("line too long");
	return NULL;
}

static const char *err_code(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

/* --help and --version of both programs. */
static void test_help_and_version(void **state)
{
	char out[8192];

	assert_int_equal(run(out, sizeof(out), "%s --help", td_bin("inused")), 0);
	assert_non_null(strstr(out, "Usage: inused"));
	assert_int_equal(run(out, sizeof(out), "%s --version", td_bin("inused")), 0);
	assert_non_null(strstr(out, "inused "));
	assert_int_equal(run(out, sizeof(out), "%s --help", td_bin("inuse-ls")), 0);
	assert_non_null(strstr(out, "Usage: inuse-ls"));
	assert_int_equal(run(out, sizeof(out), "%s --version", td_bin("inuse-ls")), 0);
	assert_int_equal(run(out, sizeof(out), "%s --no-such-option", td_bin("inused")), 1);
	assert_non_null(strstr(out, "unknown option"));
	assert_int_equal(run(out, sizeof(out), "%s --bogus", td_bin("inuse-ls")), 2);
}

/* A second daemon on the same socket refuses, says why, and leaves the
 * first one serving. */
static void test_second_instance_refuses(void **state)
{
	char out[8192];

	need_daemon();
	assert_int_equal(run(out, sizeof(out), "%s --socket %s", td_bin("inused"), D.sock), 1);
	assert_non_null(strstr(out, "another inused"));
	assert_string_equal(td_state(&D, "/etc/hostname") ?: "none", "not_open");
}

/* The ids of the BPF programs process pid holds (its fds' fdinfo). */
static size_t prog_ids_of(pid_t pid, unsigned int *ids, size_t max)
{
	char path[64], line[256];
	size_t n = 0;

	for (int fd = 0; fd < 4096 && n < max; fd++) {
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f) && n < max)
			if (sscanf(line, "prog_id: %u", &ids[n]) == 1)
				n++;
		fclose(f);
	}
	return n;
}

/* SIGTERM detaches everything: every BPF program that this daemon held is
 * unloaded (other inused instances on the machine are left alone and not
 * counted: the programs are told apart by id). */
static void test_sigterm_detaches(void **state)
{
	struct tdaemon d2 = {0};
	unsigned int ids[256];
	char out[1 << 14];
	bool named = false;
	size_t n, left = 0;

	need_daemon();
	assert_int_equal(td_start(&d2, NULL), 0);
	n = prog_ids_of(d2.pid, ids, 256);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(run(out, sizeof(out), "bpftool prog show id %u", ids[i]), 0);
		named |= strstr(out, "name exit_openat ") != NULL;
	}
	assert_true(named); /* they are ours: the open hook is among them */
	assert_int_equal(td_stop(&d2), 0);
	/* the kernel frees tracing programs after an RCU grace period */
	for (int round = 0; round < 1000; round++) {
		left = 0;
		for (size_t i = 0; i < n; i++)
			left += run(NULL, 0, "bpftool prog show id %u >/dev/null", ids[i]) == 0;
		if (!left)
			break;
		usleep(10000);
	}
	assert_int_equal(left, 0);
	assert_int_equal(access(d2.sock, F_OK), -1);
}

/* The daemon still answers right: a file held open is "open", one closed
 * is "not_open" (neither "error" nor any other answer). */
static void still_right(const char *held, const char *closed)
{
	assert_true(td_state_is(&D, held, "open"));
	assert_true(td_wait_state(&D, closed, "not_open"));
}

/* Malformed, unknown and oversized requests get errors with stable codes;
 * the connection and the daemon keep working. */
static void test_bad_requests(void **state)
{
	static char big[(9 << 20) + 2];
	char held[PATH_MAX], closed[PATH_MAX];
	json_t *r;
	int fd, hfd;

	need_daemon();
	snprintf(held, sizeof(held), "%s/bad-requests-held", dir);
	snprintf(closed, sizeof(closed), "%s/bad-requests-closed", dir);
	hfd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(hfd >= 0);
	td_touch(closed);
	fd = raw_connect();
	send_all(fd, "{not json\n", 10);
	r = read_line(fd);
	assert_string_equal(err_code(r), "bad_json");
	json_decref(r);
	send_all(fd, "[1,2]\n", 6);
	r = read_line(fd);
	assert_string_equal(err_code(r), "bad_request");
	json_decref(r);
	send_all(fd, "{\"id\":7,\"op\":\"frobnicate\"}\n", 27);
	r = read_line(fd);
	assert_string_equal(err_code(r), "unknown_op");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
	send_all(fd, "{\"id\":8}\n", 9);
	r = read_line(fd);
	assert_string_equal(err_code(r), "bad_request");
	json_decref(r);
	{
		const char *q = "{\"id\":9,\"op\":\"list\",\"under\":\"relative\"}\n";

		send_all(fd, q, strlen(q));
		r = read_line(fd);
		assert_string_equal(err_code(r), "bad_request");
		json_decref(r);
	}
	/* a line over the 8 MiB limit: refused, skipped, not stored */
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	send_all(fd, big, sizeof(big) - 1);
	r = read_line(fd);
	assert_string_equal(err_code(r), "line_too_long");
	json_decref(r);
	/* pipelined requests after it, answered in order */
	send_all(fd, "{\"id\":1,\"op\":\"hello\"}\n{\"id\":2,\"op\":\"stats\"}\n", 44);
	r = read_line(fd);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = read_line(fd);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	close(fd);
	still_right(held, closed);
	close(hfd);
}

/* A client that sends a request and vanishes does not hurt the daemon. */
static void test_dying_clients(void **state)
{
	char held[PATH_MAX], closed[PATH_MAX];
	int hfd;

	need_daemon();
	snprintf(held, sizeof(held), "%s/dying-held", dir);
	snprintf(closed, sizeof(closed), "%s/dying-closed", dir);
	hfd = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(hfd >= 0);
	td_touch(closed);
	for (int i = 0; i < 50; i++) {
		int fd = raw_connect();

		send_all(fd, "{\"id\":1,\"op\":\"list\"}\n{\"id\":2,\"op\":\"li", 37);
		close(fd);
	}
	still_right(held, closed);
	close(hfd);
}

/* inuse-ls: exit status 0 (none open), 1 (some open, or a filter's
 * match), 3 (no such file), 2 (error); the table and --json; filters. */
static void test_inuse_ls(void **state)
{
	char out[1 << 16], a[PATH_MAX], b[PATH_MAX], want[PATH_MAX * 3];
	json_t *j;
	int fd;

	need_daemon();
	snprintf(a, sizeof(a), "%s/ls-a", dir);
	snprintf(b, sizeof(b), "%s/ls-b", dir);
	td_touch(b);
	fd = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	/* asked right after the open, no retry; one exact line per path */
	assert_int_equal(
	    run(out, sizeof(out), "%s --socket %s %s %s", td_bin("inuse-ls"), D.sock, a, b), 1);
	snprintf(want, sizeof(want), "%s: open for writing\n%s: not open for writing\n\n", a, b);
	if (strncmp(out, want, strlen(want)))
		fail_msg("inuse-ls said:\n%s\nwanted first:\n%s", out, want);
	assert_int_equal(run(out, sizeof(out), "%s --socket %s %s", td_bin("inuse-ls"), D.sock, b),
			 0);
	snprintf(want, sizeof(want), "%s: not open for writing\n", b);
	assert_string_equal(out, want);
	assert_int_equal(
	    run(out, sizeof(out), "%s --socket %s %s/nope", td_bin("inuse-ls"), D.sock, dir), 3);
	snprintf(want, sizeof(want), "%s/nope: no such file\n", dir);
	assert_string_equal(out, want);
	assert_int_equal(
	    run(out, sizeof(out), "%s --socket %s --under %s", td_bin("inuse-ls"), D.sock, dir), 1);
	assert_non_null(strstr(out, "ls-a"));
	assert_non_null(strstr(out, "PATH"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --json --under %s --pid %d",
			     td_bin("inuse-ls"), D.sock, dir, (int)getpid()),
			 1);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "files"), 0), "path")),
			    a);
	json_decref(j);
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --json --under %s --pid 1",
			     td_bin("inuse-ls"), D.sock, dir),
			 0);
	assert_non_null(strstr(out, "\"count\":0"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --json --under %s --older-than 1h",
			     td_bin("inuse-ls"), D.sock, dir),
			 0);
	assert_non_null(strstr(out, "\"count\":0"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --json --under %s --user root",
			     td_bin("inuse-ls"), D.sock, dir),
			 1);
	assert_non_null(strstr(out, "\"count\":1"));
	assert_int_equal(
	    run(out, sizeof(out), "%s --socket %s --older-than soon", td_bin("inuse-ls"), D.sock),
	    2);
	assert_non_null(strstr(out, "bad duration"));
	close(fd);
	assert_true(td_wait_state(&D, a, "not_open"));
}

/* "older_than": the files open since before the cutoff and no other. The
 * walk ends at the first file opened after the cutoff (table.h:
 * table_opened_after), so the files before it are all looked at and none
 * after it is listed. */
static void test_list_older_than(void **state)
{
	char sub[PATH_MAX], p[3][PATH_MAX];
	int fd[3];
	json_t *j;

	need_daemon();
	snprintf(sub, sizeof(sub), "%s/older", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(p[i], sizeof(p[i]), "%s/f%d", sub, i);
		fd[i] = open(p[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd[i] >= 0);
		if (i < 2)
			usleep(1200000);
	}
	/* f0 open for 2.4 s, f1 for 1.2 s, f2 just opened */
	j = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"older_than\":1}", sub);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 2);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "files"), 0), "path")),
			    p[0]);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "files"), 1), "path")),
			    p[1]);
	json_decref(j);
	j = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"older_than\":2}", sub);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1);
	json_decref(j);
	j = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"older_than\":\"1h\"}", sub);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
	for (int i = 0; i < 3; i++) {
		close(fd[i]);
		unlink(p[i]);
	}
	rmdir(sub);
}

/* inuse-ls says clearly when the daemon is not there. */
/* A member of a full entry that the lean form leaves out: at its default
 * (docs/protocol.md, "The lean form"); first: for a writer, its file's
 * first_open, the default of its since. */
static bool lean_default(bool writer, json_t *first, const char *k, json_t *v)
{
	static const char *const false_members[] = {"deleted", "renamed", "path_stale",
						    "other_mntns", "path_truncated"};

	if (writer)
		return (!strcmp(k, "mode") && !strcmp(json_string_value(v) ?: "", "w")) ||
		       (!strcmp(k, "flags") && json_array_size(v) == 0) ||
		       (!strcmp(k, "since") && json_equal(v, first));
	for (size_t i = 0; i < sizeof(false_members) / sizeof(false_members[0]); i++)
		if (!strcmp(k, false_members[i]))
			return json_is_false(v);
	if (!strcmp(k, "mounted"))
		return json_is_true(v);
	if (!strcmp(k, "opened_before_start"))
		return true; /* said by first_open's absence */
	if (!strcmp(k, "first_open") || !strcmp(k, "last_write"))
		return json_is_null(v);
	if (!strcmp(k, "writers_dropped") || !strcmp(k, "write_gen") || !strcmp(k, "open_gen"))
		return json_integer_value(v) == 0;
	if (!strcmp(k, "holders"))
		return !strcmp(json_string_value(v) ?: "", "known");
	return false;
}

/* The full entry f with its members at their defaults left out (first:
 * for a writer, its file's first_open). */
static json_t *leaned(json_t *f, bool writer, json_t *first)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach(f, k, v)
	{
		if (lean_default(writer, first, k, v))
			continue;
		if (!writer && !strcmp(k, "writers")) {
			json_t *ws = json_array(), *w;
			size_t i;

			json_array_foreach(v, i, w) json_array_append_new(
			    ws, leaned(w, true, json_object_get(f, "first_open")));
			json_object_set_new(out, k, ws);
		} else {
			json_object_set(out, k, v);
		}
	}
	return out;
}

/* A request whose member is not what it must be: refused, not served. */
static void assert_refused(const char *req)
{
	json_t *a = td_call(&D, "%s", req);

	assert_non_null(a);
	assert_false(json_is_true(json_object_get(a, "ok")));
	json_decref(a);
}

/* inuse-ls --json --under the test directory (files there: exit status
 * 1), parsed. */
static json_t *ls_json_under(void)
{
	static char out[1 << 16];
	json_t *ls;

	assert_int_equal(run(out, sizeof(out), "%s --socket %s --json --under %s",
			     td_bin("inuse-ls"), D.sock, dir),
			 1);
	ls = json_loads(out, 0, NULL);
	assert_non_null(ls);
	return ls;
}

/* "lean":true: the same files, each the full entry without the members
 * at their defaults; inuse-ls --json prints that form. */
static void test_list_lean(void **state)
{
	char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
	json_t *full, *lean, *f, *l, *ls;
	size_t i, sinces = 0;
	int fa, fb, fb2, fc;

	need_daemon();
	snprintf(a, sizeof(a), "%s/lean-append", dir);
	snprintf(b, sizeof(b), "%s/lean-rw", dir);
	snprintf(c, sizeof(c), "%s/lean-\xff\xfe", dir);
	fa = open(a, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	fb = open(b, O_RDWR | O_CREAT, 0644);
	fc = open(c, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fa >= 0 && fb >= 0 && fc >= 0);
	assert_true(td_wait_count_under(&D, dir, 3));
	/* a second writer of b, opened later: its since is not b's first
	 * open, and is given */
	usleep(2000);
	fb2 = open(b, O_WRONLY | O_CLOEXEC);
	assert_true(fb2 >= 0);
	full = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\"}", dir);
	lean = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"lean\":true}", dir);
	assert_non_null(full);
	assert_non_null(lean);
	assert_true(json_is_true(json_object_get(lean, "ok")));
	assert_int_equal(json_array_size(json_object_get(lean, "files")), 3);
	assert_int_equal(json_integer_value(json_object_get(lean, "count")), 3);
	json_array_foreach(json_object_get(full, "files"), i, f)
	{
		json_t *want = leaned(f, false, NULL);

		l = json_array_get(json_object_get(lean, "files"), i);
		if (!json_equal(want, l)) {
			char *x = json_dumps(want, JSON_COMPACT), *y = json_dumps(l, JSON_COMPACT);

			fail_msg("lean entry\n%s\nwanted\n%s", y, x);
		}
		/* what is not at its default is there */
		assert_non_null(json_object_get(l, "path"));
		json_decref(want);
		{
			json_t *w;
			size_t k;

			json_array_foreach(json_object_get(l, "writers"), k, w)
			{
				sinces += json_object_get(w, "since") != NULL;
			}
		}
	}
	/* only the second writer of b gives its since */
	assert_int_equal(sinces, 1);
	/* by the pid index, and by the user index: the same files, in the
	 * same order; no file of a user who writes none */
	l = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"pid\":%d}", dir,
		    (int)getpid());
	assert_true(json_equal(json_object_get(l, "files"), json_object_get(full, "files")));
	json_decref(l);
	l = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"uid\":%u}", dir,
		    (unsigned)getuid());
	assert_true(json_equal(json_object_get(l, "files"), json_object_get(full, "files")));
	json_decref(l);
	l = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"uid\":65534}", dir);
	assert_int_equal(json_integer_value(json_object_get(l, "count")), 0);
	json_decref(l);
	json_decref(full);
	json_decref(lean);
	/* not a boolean: refused */
	assert_refused("{\"op\":\"list\",\"id\":1,\"lean\":1}");
	/* inuse-ls --json: the lean form, passed through whole */
	ls = ls_json_under();
	assert_int_equal(json_integer_value(json_object_get(ls, "count")), 3);
	json_array_foreach(json_object_get(ls, "files"), i, l)
	{
		json_t *w = json_array_get(json_object_get(l, "writers"), 0);

		assert_null(json_object_get(l, "deleted"));
		assert_non_null(json_object_get(w, "pid"));
		/* the first writer opened the file first: its since is the
		 * file's first_open */
		assert_non_null(json_object_get(l, "first_open"));
		assert_null(json_object_get(w, "since"));
		if (json_is_string(json_object_get(l, "path")) &&
		    !strcmp(json_string_value(json_object_get(l, "path")), b))
			assert_string_equal(json_string_value(json_object_get(w, "mode")), "rw");
		else
			assert_null(json_object_get(w, "mode"));
	}
	json_decref(ls);
	close(fa);
	close(fb);
	close(fb2);
	close(fc);
	unlink(a);
	unlink(b);
	unlink(c);
}

/* The lean entry l of a "processes":true answer with each writer's
 * process filled in from the answer's "processes" (members a writer has
 * itself win). */
static json_t *joined(json_t *l, json_t *procs)
{
	json_t *out = json_deep_copy(l), *w;
	size_t i;

	json_array_foreach(json_object_get(out, "writers"), i, w)
	{
		char pid[16];
		json_t *p;

		snprintf(pid, sizeof(pid), "%lld", json_integer_value(json_object_get(w, "pid")));
		p = json_object_get(procs, pid);
		assert_non_null(p);
		json_object_update_missing(w, p);
	}
	return out;
}

/* "processes":true: each writer's process (command, user, cgroup) named
 * once in "processes"; a writer whose process changed its name between
 * two opens keeps its own. Joined, the answer is the lean form, from the
 * cached rendering as from a fresh one. */
static void test_list_processes(void **state)
{
	char a[PATH_MAX], b[PATH_MAX];
	json_t *full, *pr, *f, *l, *procs, *ls;
	int ready[2], go[2], own = 0;
	pid_t pid;
	size_t i;
	char x;

	need_daemon();
	snprintf(a, sizeof(a), "%s/procs-a", dir);
	snprintf(b, sizeof(b), "%s/procs-b", dir);
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	/* the second file is opened once the daemon has settled the first
	 * (and the walk its parent's fork asks for, which names every writer
	 * of a process with what the process is called then) */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fa, fb;

		/* gone with the test: read sees the end of go */
		close(go[1]);
		prctl(PR_SET_NAME, "procs-first");
		fa = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fa < 0 || write(ready[1], "1", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(1);
		prctl(PR_SET_NAME, "procs-second");
		fb = open(b, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fb < 0 || write(ready[1], "2", 1) != 1)
			_exit(1);
		(void)!read(go[0], &x, 1);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &x, 1), 1);
	assert_true(td_wait_count_under(&D, dir, 1));
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(ready[0], &x, 1), 1);
	assert_true(td_wait_count_under(&D, dir, 2));
	for (int round = 0; round < 3; round++) {
		/* round 1 from the cached renderings (round 0's full listing
		 * replaced them, the first call here makes them again); round 2
		 * after a listing of the second file alone, where its writer
		 * named the process */
		const char *req = "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"lean\":true,"
				  "\"processes\":true}";

		if (round == 1)
			json_decref(td_call(&D, req, dir));
		if (round == 2)
			json_decref(
			    td_call(&D,
				    "{\"op\":\"list\",\"id\":1,\"paths\":[\"%s\"],\"lean\":true,"
				    "\"processes\":true}",
				    b));
		pr = td_call(&D, req, dir);
		full = td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\"}", dir);
		assert_non_null(full);
		assert_non_null(pr);
		procs = json_object_get(pr, "processes");
		assert_true(json_is_object(procs));
		assert_int_equal(json_object_size(procs), 1);
		assert_int_equal(json_array_size(json_object_get(pr, "files")), 2);
		own = 0;
		json_array_foreach(json_object_get(full, "files"), i, f)
		{
			json_t *want = leaned(f, false, NULL), *got;

			l = json_array_get(json_object_get(pr, "files"), i);
			own += json_object_get(json_array_get(json_object_get(l, "writers"), 0),
					       "comm") != NULL;
			got = joined(l, procs);
			/* the write time is read again for each answer: the file's
			 * modification time may be seen by the second only */
			json_object_del(want, "last_write");
			json_object_del(got, "last_write");
			if (!json_equal(want, got)) {
				char *w = json_dumps(want, JSON_COMPACT),
				     *g = json_dumps(got, JSON_COMPACT);

				fail_msg("round %d: joined entry\n%s\nwanted\n%s", round, g, w);
			}
			json_decref(want);
			json_decref(got);
		}
		/* the process is named by its first writer shown; the other
		 * writer, opened under another name, carries its own */
		if (own != 1) {
			char *g = json_dumps(pr, JSON_COMPACT), *w = json_dumps(full, JSON_COMPACT);

			fail_msg("round %d: %d writers with their own process in\n%s\nfull:\n%s",
				 round, own, g, w);
		}
		json_decref(full);
		json_decref(pr);
	}
	/* not a boolean: refused */
	assert_refused("{\"op\":\"list\",\"id\":1,\"processes\":\"yes\"}");
	/* inuse-ls --json asks for it */
	ls = ls_json_under();
	procs = json_object_get(ls, "processes");
	{
		char key[16];

		snprintf(key, sizeof(key), "%d", (int)pid);
		assert_non_null(json_object_get(procs, key));
	}
	json_decref(ls);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	unlink(a);
	unlink(b);
}

static void test_inuse_ls_no_daemon(void **state)
{
	char out[4096];

	assert_int_equal(
	    run(out, sizeof(out), "%s --socket /nonexistent/inuse.sock", td_bin("inuse-ls")), 2);
	assert_non_null(strstr(out, "is inused running?"));
}

/* Drops to uid/gid 65534 (nobody), in a child (which then dies with the
 * test: the parent-death signal does not survive the change of ids). */
static void become_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		_exit(2);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* Ordinary users see only files their own processes write: a file held by
 * root is not listed to nobody, one held by nobody is (the positive
 * control: the listing nobody gets is not just empty). */
static void test_non_root_sees_own_files_only(void **state)
{
	char out[1 << 16], path[PATH_MAX], mine[PATH_MAX], ndir[PATH_MAX];
	int fd, ready[2], go[2];
	pid_t pid;
	char x;

	need_daemon();
	snprintf(path, sizeof(path), "%s/root-secret", dir);
	snprintf(ndir, sizeof(ndir), "%s/nobodys", dir);
	snprintf(mine, sizeof(mine), "%s/nobodys-own", ndir);
	assert_true(mkdir(ndir, 0755) == 0 || errno == EEXIST);
	assert_int_equal(chown(ndir, 65534, 65534), 0);
	chmod(dir, 0755);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		become_nobody();
		if (open(mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0 ||
		    write(ready[1], "k", 1) != 1 || read(go[0], &x, 1) < 0)
			_exit(2);
		_exit(0);
	}
	assert_int_equal(read(ready[0], &x, 1), 1);
	assert_true(td_state_is(&D, mine, "open"));
	/* opened after the fork: nobody's process does not hold it */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_state_is(&D, path, "open"));
	chmod(D.dir, 0755);
	chmod(D.sock, 0666);
	assert_int_equal(run(out, sizeof(out),
			     "setpriv --reuid=65534 --regid=65534 --clear-groups "
			     "%s --socket %s --json",
			     td_bin("inuse-ls"), D.sock),
			 0);
	chmod(D.sock, 0660);
	chmod(D.dir, 0700);
	assert_null(strstr(out, "root-secret"));
	assert_non_null(strstr(out, mine));
	assert_non_null(strstr(out, "\"complete\":false"));
	/* the admin's listing by user (from the user index): nobody's file
	 * and no other */
	{
		json_t *l =
		    td_call(&D, "{\"op\":\"list\",\"id\":1,\"under\":\"%s\",\"uid\":65534}", dir);
		json_t *f = json_array_get(json_object_get(l, "files"), 0);

		assert_int_equal(json_integer_value(json_object_get(l, "count")), 1);
		assert_string_equal(json_string_value(json_object_get(f, "path")) ?: "", mine);
		json_decref(l);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
	close(fd);
	chmod(dir, 0700);
}

/* Under systemd (Type=notify): READY with STATUS, the watchdog, RELOADING
 * then READY on SIGHUP, STOPPING on SIGTERM; seen on a NOTIFY_SOCKET. */
static void test_systemd_notify(void **state)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct tdaemon d2 = {0};
	char all[8192] = "";
	int fd, watchdogs = 0;

	need_daemon();
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/notify.sock", dir);
	unlink(a.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1);
	assert_int_equal(td_start(&d2, NULL), 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	/* READY, then watchdog pings every 100 ms */
	for (int i = 0; i < 100 && watchdogs < 3; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char msg[1024];
		ssize_t n;

		if (poll(&p, 1, 200) != 1)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		assert_true(n > 0);
		msg[n] = '\0';
		strncat(all, msg, sizeof(all) - strlen(all) - 2);
		strcat(all, "\n");
		if (strstr(msg, "WATCHDOG=1"))
			watchdogs++;
	}
	assert_non_null(strstr(all, "READY=1"));
	assert_non_null(strstr(all, "STATUS="));
	assert_true(watchdogs >= 3);
	kill(d2.pid, SIGHUP);
	all[0] = '\0';
	for (int i = 0; i < 100 && !strstr(all, "READY=1"); i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char msg[1024];
		ssize_t n;

		if (poll(&p, 1, 200) != 1)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		msg[n > 0 ? n : 0] = '\0';
		strncat(all, msg, sizeof(all) - strlen(all) - 1);
	}
	assert_non_null(strstr(all, "RELOADING=1"));
	assert_non_null(strstr(all, "READY=1"));
	assert_int_equal(td_stop(&d2), 0);
	all[0] = '\0';
	for (int i = 0; i < 20; i++) {
		char msg[1024];
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);

		if (n <= 0)
			break;
		msg[n] = '\0';
		strncat(all, msg, sizeof(all) - strlen(all) - 1);
	}
	assert_non_null(strstr(all, "STOPPING=1"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_second_instance_refuses),
	    cmocka_unit_test(test_sigterm_detaches),
	    cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_dying_clients),
	    cmocka_unit_test(test_inuse_ls),
	    cmocka_unit_test(test_list_lean),
	    cmocka_unit_test(test_list_older_than),
	    cmocka_unit_test(test_list_processes),
	    cmocka_unit_test(test_inuse_ls_no_daemon),
	    cmocka_unit_test(test_non_root_sees_own_files_only),
	    cmocka_unit_test(test_systemd_notify),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("inused daemon and inuse-ls", tests, group_setup,
					   group_teardown);
}
