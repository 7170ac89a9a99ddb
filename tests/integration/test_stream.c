// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_stream.c - "subscribe": open and close events as they happen,
 * filtered, with access control, and bounded for a slow subscriber.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inuse.h"
#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char dir[PATH_MAX];

static int group_setup(void **state)
{
	return td_group_start(&D, dir, "/var/tmp/inuse-stream-XXXXXX");
}

static int group_teardown(void **state)
{
	return td_group_stop(&D, dir);
}

static struct inuse_client *subscribe(const char *extra)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 10000};
	struct inuse_client *c;
	char req[PATH_MAX + 256], *line = NULL;
	json_t *j;

	assert_int_equal(inuse_client__open(&o, &c), 0);
	snprintf(req, sizeof(req), "{\"id\":1,\"op\":\"subscribe\"%s}", extra);
	assert_int_equal(inuse_client__call(c, req, strlen(req), &line, NULL), 0);
	j = json_loads(line, 0, NULL);
	assert_true(json_is_true(json_object_get(j, "subscribed")));
	json_decref(j);
	free(line);
	return c;
}

/* The next event (skipping none); its kind and path. */
#define next_event td_recv_json

static const char *ev_path(json_t *ev)
{
	return json_string_value(json_object_get(json_object_get(ev, "file"), "path"));
}

static void test_open_and_close_events(void **state)
{
	char path[PATH_MAX], other[PATH_MAX], filt[PATH_MAX + 32];
	struct inuse_client *c, *co;
	json_t *ev;
	int fd;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/a", dir);
	snprintf(other, sizeof(other), "/var/tmp/inuse-not-under-%d", (int)getpid());
	snprintf(filt, sizeof(filt), ",\"under\":\"%s\"", dir);
	c = subscribe(filt);
	co = subscribe(",\"kinds\":[\"close\"]");
	/* outside the directory: not streamed to c */
	close(open(other, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ev = next_event(c);
	assert_string_equal(json_string_value(json_object_get(ev, "event")), "open");
	assert_string_equal(ev_path(ev), path);
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(json_object_get(ev, "file"), "writers"), 0), "pid")),
	    getpid());
	json_decref(ev);
	close(fd);
	ev = next_event(c);
	assert_string_equal(json_string_value(json_object_get(ev, "event")), "close");
	assert_string_equal(ev_path(ev), path);
	json_decref(ev);
	/* co: closes only, of every directory */
	for (int seen = 0; seen < 2;) {
		ev = next_event(co);
		assert_string_equal(json_string_value(json_object_get(ev, "event")), "close");
		if (!strcmp(ev_path(ev) ?: "", other) || !strcmp(ev_path(ev) ?: "", path))
			seen++;
		json_decref(ev);
	}
	unlink(other);
	inuse_client__free(c);
	inuse_client__free(co);
}

/* A subscriber that does not read: bounded, then told how much it lost. */
static void test_slow_subscriber_loses_events(void **state)
{
	char path[PATH_MAX], filt[PATH_MAX + 32];
	struct inuse_client *c;
	bool lost = false;
	json_t *ev;

	td_need(&D);
	snprintf(filt, sizeof(filt), ",\"under\":\"%s\"", dir);
	c = subscribe(filt);
	for (int i = 0; i < 4000; i++) {
		snprintf(path, sizeof(path), "%s/slow-%04d-with-a-long-name-to-fill-the-buffer",
			 dir, i);
		/* kept: distinct inodes (a reused inode number is the same table
		 * entry when its open and close land in one batch) */
		close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	}
	assert_true(td_barrier(&D, dir));
	assert_true(json_integer_value(json_object_get(
			json_object_get(td_call(&D, "{\"op\":\"stats\"}"), "requests"),
			"events_dropped")) > 0);
	/* reading again: a "lost" marker comes before the next event */
	close(open(dir, O_RDONLY)); /* nothing: just to be explicit */
	for (int i = 0; i < 20000 && !lost; i++) {
		ev = next_event(c);
		lost = !strcmp(json_string_value(json_object_get(ev, "event")) ?: "", "lost");
		if (lost)
			assert_true(json_integer_value(json_object_get(ev, "count")) > 0);
		json_decref(ev);
		if (!lost && i % 500 == 499)
			td_barrier(&D, dir); /* more events, to flush the marker */
	}
	assert_true(lost);
	inuse_client__free(c);
}

/* One line from fd (without its newline) into buf, waiting at most
 * TD_TIMEOUT_MS for each byte; false at EOF or timeout. */
static bool read_line_fd(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, TD_TIMEOUT_MS) != 1 || read(fd, buf + n, 1) != 1)
			return false;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return true;
}

/* Ordinary users get only their own processes' events: nobody subscribes;
 * root opens and closes a file, then nobody opens one. Nobody's stream
 * must show its own file opened (the positive control: the subscription
 * was live, and, events being in order, the root file's would have come
 * before) and nothing of root's. (Its own file is held until then: the
 * daemon decides visibility from the writers, and a closed file has none
 * left, so its close is not asserted.) */
static void test_stream_access(void **state)
{
	char secret[PATH_MAX], ndir[PATH_MAX], mine[PATH_MAX], line[1 << 14], out[1 << 16] = "";
	int ready[2], go[2], lines[2];
	bool opened = false;
	int st = -1;
	pid_t pid;
	char x;

	td_need(&D);
	snprintf(secret, sizeof(secret), "%s/roots-secret", dir);
	snprintf(ndir, sizeof(ndir), "%s/nobodys", dir);
	snprintf(mine, sizeof(mine), "%s/nobodys-own", ndir);
	assert_true(mkdir(ndir, 0755) == 0 || errno == EEXIST);
	assert_int_equal(chown(ndir, 65534, 65534), 0);
	chmod(dir, 0755);
	chmod(D.dir, 0755);
	chmod(D.sock, 0666);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(lines, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct inuse_client_opts o = {
		    .sz = sizeof(o), .socket_path = D.sock, .timeout_ms = TD_TIMEOUT_MS};
		const char *req = "{\"id\":1,\"op\":\"subscribe\"}";
		struct inuse_client *c;
		char *l = NULL;
		bool seen_open = false;
		int fd;

		close(ready[0]), close(go[1]), close(lines[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (inuse_client__open(&o, &c) ||
		    inuse_client__call(c, req, strlen(req), &l, NULL) ||
		    !strstr(l, "\"subscribed\":true"))
			_exit(3);
		free(l);
		if (write(ready[1], "s", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(4);
		/* held until its own open event came */
		fd = open(mine, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		while (!seen_open && inuse_client__recv(c, &l, NULL) == 0) {
			seen_open = strstr(l, "\"event\":\"open\"") && strstr(l, mine);
			if (write(lines[1], l, strlen(l)) < 0 || write(lines[1], "\n", 1) != 1)
				_exit(5);
			free(l);
		}
		close(fd);
		_exit(seen_open ? 0 : 6);
	}
	close(ready[1]), close(go[0]), close(lines[1]);
	assert_true(read_line_fd(ready[0], line, 2)); /* subscribed */
	close(open(secret, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	assert_int_equal(write(go[1], "g", 1), 1);
	while (read_line_fd(lines[0], line, sizeof(line))) {
		opened |= strstr(line, "\"event\":\"open\"") && strstr(line, mine);
		strncat(out, line, sizeof(out) - strlen(out) - 2);
		strcat(out, "\n");
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	chmod(D.sock, 0660);
	chmod(D.dir, 0700);
	chmod(dir, 0700);
	close(ready[0]), close(go[1]), close(lines[0]);
	if (strstr(out, "roots-secret"))
		fail_msg("nobody was told about root's file:\n%s", out);
	if (!opened || !WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("nobody's subscriber (status %d) got:\n%s", st, out);
}

static void test_subscribe_errors(void **state)
{
	static const char *const bad[] = {
	    "{\"op\":\"subscribe\",\"under\":\"relative\"}",
	    "{\"op\":\"subscribe\",\"kinds\":[\"explode\"]}",
	    "{\"op\":\"subscribe\",\"kinds\":\"open\"}",
	};
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 10000};

	td_need(&D);
	for (size_t i = 0; i < 3; i++) {
		struct inuse_client *c;
		char *line = NULL;

		assert_int_equal(inuse_client__open(&o, &c), 0);
		assert_int_equal(inuse_client__call(c, bad[i], strlen(bad[i]), &line, NULL), 0);
		assert_non_null(strstr(line, "\"bad_request\""));
		free(line);
		inuse_client__free(c);
	}
}

/* The answer to subscribe comes before any event: subscriptions made
 * while other processes open and close files for writing flat out (events
 * waiting to be applied at the moment of the request) each get the answer
 * as their first line. */
static void test_answer_before_events(void **state)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 10000};
	static const char req[] = "{\"id\":7,\"op\":\"subscribe\"}";
	char path[PATH_MAX];
	pid_t storm;
	int events_seen = 0;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/storm.txt", dir);
	storm = fork();
	assert_true(storm >= 0);
	if (storm == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			int fd = open(path, O_WRONLY | O_CREAT, 0644);

			if (fd >= 0)
				close(fd);
		}
	}
	for (int i = 0; i < 60; i++) {
		struct inuse_client *c;
		char *line = NULL;
		json_t *j;

		assert_int_equal(inuse_client__open(&o, &c), 0);
		assert_int_equal(inuse_client__call(c, req, sizeof(req) - 1, &line, NULL), 0);
		if (!strstr(line, "\"subscribed\":true")) {
			kill(storm, SIGKILL);
			waitpid(storm, NULL, 0);
			fail_msg("first line of a subscription is not its answer: %.300s", line);
		}
		free(line);
		/* positive control: the storm's events do reach the subscriber */
		j = next_event(c);
		if (j && json_object_get(j, "event"))
			events_seen++;
		json_decref(j);
		inuse_client__free(c);
	}
	kill(storm, SIGKILL);
	waitpid(storm, NULL, 0);
	assert_true(events_seen > 0);
}

/* The kernel's count of the daemon's wake-ups (stats "wakeups"); asking
 * drains the ring. */
static long long wakeups(void)
{
	json_t *j = td_call(&D, "{\"id\":1,\"op\":\"stats\"}");
	long long n;

	assert_non_null(j);
	assert_true(json_is_integer(json_object_get(j, "wakeups")));
	n = json_integer_value(json_object_get(j, "wakeups"));
	json_decref(j);
	return n;
}

/* A close after a quiet spell wakes the daemon by itself (emit.bpf.h),
 * with the ring empty and nobody waiting on the file: its record is not
 * left for a later wake-up, so a subscriber hears of it at once. */
static void test_quiet_close_wakes(void **state)
{
	char path[PATH_MAX];
	long long before;
	int fd;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/quiet", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	/* the open's record taken, the ring empty; then quiet for far
	 * longer than the wake-up interval (2 ms) */
	before = wakeups();
	usleep(50000);
	close(fd);
	assert_true(wakeups() > before);
	unlink(path);
}

/* inuse-ls --follow shows them to people: once it shows a marker file
 * (its subscription is live), a file opened is shown opened by this
 * process, and, once closed, closed. */
static void test_inuse_ls_follow(void **state)
{
	char path[PATH_MAX], marker[PATH_MAX], line[8192], by[64];
	bool live = false, opened = false, closed = false;
	int out[2], fd;
	pid_t pid;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/followed", dir);
	snprintf(by, sizeof(by), "by %d/", (int)getpid());
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(out[1], 1) < 0)
			_exit(2);
		execl(td_bin("inuse-ls"), "inuse-ls", "--socket", D.sock, "--follow", "--under",
		      dir, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	for (int i = 0; i < 100 && !live; i++) {
		struct pollfd p = {.fd = out[0], .events = POLLIN};

		snprintf(marker, sizeof(marker), "%s/follow-marker-%d", dir, i);
		close(open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		while (!live && poll(&p, 1, 100) == 1 && read_line_fd(out[0], line, sizeof(line)))
			live = strstr(line, "follow-marker-") != NULL;
	}
	assert_true(live);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	while (!closed && read_line_fd(out[0], line, sizeof(line))) {
		char *at = strstr(line, path);

		if (!at || (at[strlen(path)] != ' ' && at[strlen(path)] != '\0'))
			continue;
		if (strstr(line, " open  ")) {
			assert_non_null(strstr(line, by));
			opened = true;
			close(fd); /* held until shown with its writer */
			fd = -1;
		}
		if (strstr(line, " close ")) {
			assert_true(opened); /* in order */
			closed = true;
		}
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(out[0]);
	if (fd >= 0)
		close(fd);
	assert_true(opened);
	assert_true(closed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_and_close_events),
	    cmocka_unit_test(test_slow_subscriber_loses_events),
	    cmocka_unit_test(test_stream_access),
	    cmocka_unit_test(test_subscribe_errors),
	    cmocka_unit_test(test_answer_before_events),
	    cmocka_unit_test(test_inuse_ls_follow),
	    cmocka_unit_test(test_quiet_close_wakes),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("event stream", tests, group_setup, group_teardown);
}
