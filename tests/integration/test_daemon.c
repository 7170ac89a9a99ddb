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
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"

static struct tdaemon D;
static char dir[PATH_MAX];

static int group_setup(void **state)
{
	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(dir, "/var/tmp/inuse-cli-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	if (td_start(&D, NULL) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	return td_rmtree(dir);
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

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* SIGTERM detaches everything: none of its programs is left loaded (other
 * inused instances on the machine are left alone and not counted). */
static void test_sigterm_detaches(void **state)
{
	struct tdaemon d2 = {0};
	char out[1 << 18];
	int before, after;

	need_daemon();
	assert_int_equal(run(out, sizeof(out), "bpftool prog list"), 0);
	before = count_of(out, "name exit_openat ");
	assert_int_equal(td_start(&d2, NULL), 0);
	assert_int_equal(run(out, sizeof(out), "bpftool prog list"), 0);
	assert_int_equal(count_of(out, "name exit_openat "), before + 1);
	assert_int_equal(count_of(out, "name on_dirty "), before + 1);
	assert_int_equal(td_stop(&d2), 0);
	/* the kernel frees tracing programs after an RCU grace period */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(run(out, sizeof(out), "bpftool prog list"), 0);
		after = count_of(out, "name exit_openat ") + count_of(out, "name on_dirty ") +
			count_of(out, "name probe ") + count_of(out, "name scan_files ");
		if (after == 4 * before)
			break;
		usleep(10000);
	}
	assert_int_equal(after, 4 * before);
	assert_int_equal(access(d2.sock, F_OK), -1);
}

/* Malformed, unknown and oversized requests get errors with stable codes;
 * the connection and the daemon keep working. */
static void test_bad_requests(void **state)
{
	static char big[(9 << 20) + 2];
	json_t *r;
	int fd;

	need_daemon();
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
	assert_non_null(td_state(&D, "/etc/hostname"));
}

/* A client that sends a request and vanishes does not hurt the daemon. */
static void test_dying_clients(void **state)
{
	for (int i = 0; i < 50; i++) {
		int fd;

		need_daemon();
		fd = raw_connect();
		send_all(fd, "{\"id\":1,\"op\":\"list\"}\n{\"id\":2,\"op\":\"li", 37);
		close(fd);
	}
	assert_non_null(td_state(&D, "/etc/hostname"));
	assert_true(td_stat(&D, "clients") >= 0);
}

/* inuse-ls: exit status 0 (none open), 1 (some open), 2 (error); the
 * table and --json; filters. */
static void test_inuse_ls(void **state)
{
	char out[1 << 16], a[PATH_MAX], b[PATH_MAX];
	json_t *j;
	int fd;

	need_daemon();
	snprintf(a, sizeof(a), "%s/ls-a", dir);
	snprintf(b, sizeof(b), "%s/ls-b", dir);
	td_touch(b);
	fd = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_wait_state(&D, a, "open"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s %s %s", td_bin("inuse-ls"), D.sock,
			     a, b),
			 1);
	assert_non_null(strstr(out, "open for writing"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s %s", td_bin("inuse-ls"), D.sock, b),
			 0);
	assert_non_null(strstr(out, "not open for writing"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s %s/nope", td_bin("inuse-ls"),
			     D.sock, dir),
			 0);
	assert_non_null(strstr(out, "no such file"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --under %s", td_bin("inuse-ls"),
			     D.sock, dir),
			 0);
	assert_non_null(strstr(out, "ls-a"));
	assert_non_null(strstr(out, "PATH"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --json --under %s --pid %d",
			     td_bin("inuse-ls"), D.sock, dir, (int)getpid()),
			 0);
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
			 0);
	assert_non_null(strstr(out, "\"count\":1"));
	assert_int_equal(run(out, sizeof(out), "%s --socket %s --older-than soon",
			     td_bin("inuse-ls"), D.sock),
			 2);
	assert_non_null(strstr(out, "bad duration"));
	close(fd);
	assert_true(td_wait_state(&D, a, "not_open"));
}

/* inuse-ls says clearly when the daemon is not there. */
static void test_inuse_ls_no_daemon(void **state)
{
	char out[4096];

	assert_int_equal(run(out, sizeof(out), "%s --socket /nonexistent/inuse.sock",
			     td_bin("inuse-ls")),
			 2);
	assert_non_null(strstr(out, "is inused running?"));
}

/* Ordinary users see only files their own processes write. */
static void test_non_root_sees_own_files_only(void **state)
{
	char out[1 << 16], path[PATH_MAX];
	int fd;

	need_daemon();
	snprintf(path, sizeof(path), "%s/root-secret", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_wait_state(&D, path, "open"));
	chmod(D.dir, 0755);
	chmod(D.sock, 0666);
	assert_int_equal(run(out, sizeof(out), "setpriv --reuid=65534 --regid=65534 --clear-groups "
					       "%s --socket %s --json",
			     td_bin("inuse-ls"), D.sock),
			 0);
	assert_null(strstr(out, "root-secret"));
	assert_non_null(strstr(out, "\"complete\":false"));
	chmod(D.sock, 0660);
	chmod(D.dir, 0700);
	close(fd);
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
		cmocka_unit_test(test_inuse_ls_no_daemon),
		cmocka_unit_test(test_non_root_sees_own_files_only),
		cmocka_unit_test(test_systemd_notify),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("INUSE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));
	return cmocka_run_group_tests_name("inused daemon and inuse-ls", tests, group_setup,
					   group_teardown);
}
