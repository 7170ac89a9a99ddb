// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_alerts.c - a file held open for writing past a short threshold: one
 * alert and one resolution, on the event stream, in the log and through
 * the hook (with the facts in its environment); a hanging hook is killed
 * at its timeout while the daemon keeps serving.
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
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"
#include "tdaemon.h"

static struct tdaemon D;
static char dir[PATH_MAX], conf[PATH_MAX], hookout[PATH_MAX], hookprog[PATH_MAX];

static void write_conf(const char *hook, const char *timeout)
{
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	fprintf(
	    f,
	    "policy = { default = { open = \"defer\"; defer_max = \"1m\"; fallback = \"flag\"; };\n"
	    "  rules = ( { name = \"watched\"; match = [ \"%s/**\" ]; alert_after = \"1s\"; } );\n"
	    "};\n"
	    "alerts = { realert = \"1h\"; hook = %s; hook_timeout = \"%s\"; };\n",
	    dir, hook, timeout);
	fclose(f);
}

static int group_setup(void **state)
{
	const char *args[] = {"--config", conf, NULL};
	char hook[PATH_MAX * 2];

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(dir, "/var/tmp/inuse-alerts-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(conf, sizeof(conf), "%s.conf", dir);
	snprintf(hookout, sizeof(hookout), "%s.hook", dir);
	snprintf(hookprog, sizeof(hookprog), "%s.hook.sh", dir);
	{
		/* the hook: a program of root's (run without a shell) */
		FILE *f = fopen(hookprog, "w");

		if (!f)
			return -1;
		fprintf(f, "#!/bin/sh\nenv | grep ^INUSE_ >> %s; echo --- >> %s\n", hookout,
			hookout);
		fclose(f);
		chmod(hookprog, 0755);
	}
	snprintf(hook, sizeof(hook), "[ \"%s\" ]", hookprog);
	write_conf(hook, "5s");
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	unlink(conf);
	unlink(hookout);
	unlink(hookprog);
	return td_rmtree(dir);
}

#define next_event td_recv_json

static bool file_has(const char *path, const char *needle)
{
	char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strstr(buf, needle) != NULL;
}

static bool wait_file_has(const char *path, const char *needle)
{
	for (int i = 0; i < 1000; i++) {
		if (file_has(path, needle))
			return true;
		usleep(10000);
	}
	return false;
}

static void test_alert_and_resolution(void **state)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 15000};
	char path[PATH_MAX], want[PATH_MAX + 32], *line = NULL;
	const char *req = "{\"id\":1,\"op\":\"subscribe\",\"kinds\":[\"alert\"]}";
	struct inuse_client *c;
	json_t *ev;
	int fd;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/held", dir);
	assert_int_equal(inuse_client__open(&o, &c), 0);
	assert_int_equal(inuse_client__call(c, req, strlen(req), &line, NULL), 0);
	free(line);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ev = next_event(c);
	assert_string_equal(json_string_value(json_object_get(ev, "event")), "alert");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "file"), "path")),
			    path);
	assert_true(json_number_value(json_object_get(ev, "age")) >= 1.0);
	json_decref(ev);
	close(fd);
	ev = next_event(c);
	assert_string_equal(json_string_value(json_object_get(ev, "event")), "resolved");
	json_decref(ev);
	inuse_client__free(c);
	/* the log */
	snprintf(want, sizeof(want), "alert: %s open for writing", path);
	assert_true(wait_file_has(D.log, want));
	snprintf(want, sizeof(want), "resolved: %s", path);
	assert_true(wait_file_has(D.log, want));
	/* the hook, with the facts */
	snprintf(want, sizeof(want), "INUSE_PATH=%s", path);
	assert_true(wait_file_has(hookout, want));
	assert_true(wait_file_has(hookout, "INUSE_EVENT=alert"));
	assert_true(wait_file_has(hookout, "INUSE_EVENT=resolved"));
	snprintf(want, sizeof(want), "INUSE_PIDS=%d", (int)getpid());
	assert_true(wait_file_has(hookout, want));
	assert_true(wait_file_has(hookout, "INUSE_AGE_SECONDS="));
	/* one alert, not one per tick */
	{
		json_t *s = td_call(&D, "{\"op\":\"stats\"}");
		json_t *al = json_object_get(json_object_get(s, "requests"), "alerts");

		assert_int_equal(json_integer_value(json_object_get(al, "resolved")), 1);
		json_decref(s);
	}
}

static long long alert_stat(const char *k)
{
	json_t *s = td_call(&D, "{\"op\":\"stats\"}");
	long long v = json_integer_value(
	    json_object_get(json_object_get(json_object_get(s, "requests"), "alerts"), k));

	json_decref(s);
	return v;
}

/* Is a "/bin/sleep 1000" (the hanging hook) still running? */
static bool sleeper_running(void)
{
	char cmd[PATH_MAX * 2];

	snprintf(cmd, sizeof(cmd),
		 "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f 2>/dev/null; echo; done | "
		 "grep -qx '/bin/sleep 1000 '");
	return system(cmd) == 0;
}

/* A hook that never ends is killed at its timeout; meanwhile, answers. */
static void test_hanging_hook_killed(void **state)
{
	char path[PATH_MAX];
	uint64_t t0;
	int fd;

	td_need(&D);
	write_conf("[ \"/bin/sleep\", \"1000\" ]", "1s");
	kill(D.pid, SIGHUP);
	assert_true(wait_file_has(D.log, "config"));
	usleep(200000);
	snprintf(path, sizeof(path), "%s/held-again", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	t0 = clock_mono_ns();
	/* serving while the hook hangs */
	while (alert_stat("hooks_killed") < 1) {
		assert_string_equal(td_state(&D, path) ?: "none", "open");
		assert_true(clock_mono_ns() - t0 < 15 * NSEC_PER_SEC);
		usleep(50000);
	}
	assert_true(wait_file_has(D.log, "alert hook killed after its timeout"));
	close(fd);
	assert_true(td_wait_state(&D, path, "not_open"));
	/* the resolution's hook hangs too, and is killed too: none is left */
	t0 = clock_mono_ns();
	while (alert_stat("hooks_killed") < 2)
		assert_true(clock_mono_ns() - t0 < 15 * NSEC_PER_SEC), usleep(50000);
	assert_false(sleeper_running());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alert_and_resolution),
	    cmocka_unit_test(test_hanging_hook_killed),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("alerts", tests, group_setup, group_teardown);
}
