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

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inuse.h"
#include "tdaemon.h"

static struct tdaemon D;
static char dir[PATH_MAX];

static int group_setup(void **state)
{
	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(dir, "/var/tmp/inuse-stream-XXXXXX");
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
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(
							      json_object_get(ev, "file"), "writers"),
						      0),
						      "pid")),
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
		snprintf(path, sizeof(path), "%s/slow-%04d-with-a-long-name-to-fill-the-buffer", dir,
			 i);
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

/* Ordinary users get only their own processes' events. */
static void test_stream_access(void **state)
{
	char path[PATH_MAX], cmd[PATH_MAX * 2], out[4096] = "";
	FILE *p;
	size_t n;
	int fd;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/roots-secret", dir);
	chmod(D.dir, 0755);
	chmod(D.sock, 0666);
	snprintf(cmd, sizeof(cmd),
		 "(printf '%%s\\n' '{\"op\":\"subscribe\"}'; sleep 2) | "
		 "setpriv --reuid=65534 --regid=65534 --clear-groups socat - UNIX-CONNECT:%s",
		 D.sock);
	p = popen(cmd, "r");
	assert_non_null(p);
	usleep(500000);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	chmod(D.sock, 0660);
	chmod(D.dir, 0700);
	assert_non_null(strstr(out, "\"subscribed\":true"));
	assert_null(strstr(out, "roots-secret"));
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

/* inuse-ls --follow shows them to people. */
static void test_inuse_ls_follow(void **state)
{
	char cmd[PATH_MAX * 2], out[8192] = "", path[PATH_MAX];
	FILE *p;
	size_t n;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/followed", dir);
	snprintf(cmd, sizeof(cmd), "timeout 2 %s --socket %s --follow --under %s",
		 td_bin("inuse-ls"), D.sock, dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	usleep(500000);
	close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	assert_non_null(strstr(out, " open  "));
	assert_non_null(strstr(out, " close "));
	assert_non_null(strstr(out, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_and_close_events),
		cmocka_unit_test(test_slow_subscriber_loses_events),
		cmocka_unit_test(test_stream_access),
		cmocka_unit_test(test_subscribe_errors),
		cmocka_unit_test(test_inuse_ls_follow),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getenv("INUSE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));
	return cmocka_run_group_tests_name("event stream", tests, group_setup, group_teardown);
}
