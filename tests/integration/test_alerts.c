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

static long long alert_stat(const char *k)
{
	json_t *s = td_call(&D, "{\"op\":\"stats\"}");
	long long v = json_integer_value(
	    json_object_get(json_object_get(json_object_get(s, "requests"), "alerts"), k));

	json_decref(s);
	return v;
}

static const char *ev_kind(json_t *ev)
{
	return json_string_value(json_object_get(ev, "event")) ?: "";
}

static const char *ev_path(json_t *ev)
{
	return json_string_value(json_object_get(json_object_get(ev, "file"), "path")) ?: "";
}

static int count_in_file(const char *path, const char *needle)
{
	char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;
	int count = 0;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (const char *p = buf; (p = strstr(p, needle)); p++)
		count++;
	return count;
}

/*
 * One alert per file, not one per tick: a file A is held past its
 * threshold (alert); a second file B is opened after A's alert and held
 * past its threshold too, so that alert ticks run while A is still held;
 * nothing about A may come before B's alert. Then both close: one
 * resolution each. On the stream, in the counters, in the log and
 * through the hook.
 */
static void test_alert_and_resolution(void **state)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 15000};
	char a[PATH_MAX], b[PATH_MAX], want[PATH_MAX + 32], *line = NULL;
	const char *req = "{\"id\":1,\"op\":\"subscribe\",\"kinds\":[\"alert\"]}";
	struct inuse_client *c;
	json_t *ev;
	int fa, fb;

	td_need(&D);
	snprintf(a, sizeof(a), "%s/held", dir);
	snprintf(b, sizeof(b), "%s/held-2", dir);
	assert_int_equal(inuse_client__open(&o, &c), 0);
	assert_int_equal(inuse_client__call(c, req, strlen(req), &line, NULL), 0);
	free(line);
	fa = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fa >= 0);
	ev = next_event(c);
	assert_string_equal(ev_kind(ev), "alert");
	assert_string_equal(ev_path(ev), a);
	assert_true(json_number_value(json_object_get(ev, "age")) >= 1.0);
	json_decref(ev);
	fb = open(b, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fb >= 0);
	for (;;) {
		ev = next_event(c);
		if (!strcmp(ev_path(ev), a))
			fail_msg("%s again while it is held: %s", a, ev_kind(ev));
		if (!strcmp(ev_kind(ev), "alert") && !strcmp(ev_path(ev), b)) {
			json_decref(ev);
			break;
		}
		json_decref(ev);
	}
	assert_int_equal(alert_stat("fired"), 2);
	assert_int_equal(alert_stat("firing"), 2);
	assert_int_equal(alert_stat("resolved"), 0);
	close(fa);
	ev = next_event(c);
	assert_string_equal(ev_kind(ev), "resolved");
	assert_string_equal(ev_path(ev), a);
	json_decref(ev);
	close(fb);
	ev = next_event(c);
	assert_string_equal(ev_kind(ev), "resolved");
	assert_string_equal(ev_path(ev), b);
	json_decref(ev);
	inuse_client__free(c);
	assert_int_equal(alert_stat("fired"), 2);
	assert_int_equal(alert_stat("resolved"), 2);
	assert_int_equal(alert_stat("firing"), 0);
	/* the log */
	snprintf(want, sizeof(want), "alert: %s open for writing", a);
	assert_true(wait_file_has(D.log, want));
	snprintf(want, sizeof(want), "resolved: %s", a);
	assert_true(wait_file_has(D.log, want));
	/* the hook, with the facts: once per alert and per resolution */
	snprintf(want, sizeof(want), "INUSE_PATH=%s", a);
	assert_true(wait_file_has(hookout, want));
	for (int i = 0; i < 1000 && count_in_file(hookout, "---") < 4; i++)
		usleep(10000);
	assert_int_equal(count_in_file(hookout, "---"), 4);
	assert_int_equal(count_in_file(hookout, "INUSE_EVENT=alert\n"), 2);
	assert_int_equal(count_in_file(hookout, "INUSE_EVENT=resolved\n"), 2);
	snprintf(want, sizeof(want), "INUSE_PIDS=%d", (int)getpid());
	assert_true(wait_file_has(hookout, want));
	assert_true(wait_file_has(hookout, "INUSE_AGE_SECONDS="));
}

/* The hanging hook: a sleep with an argument no other process on the
 * machine uses (other test runs have other pids). */
static char sleeper[64];

/* Is the hanging hook running? */
static bool sleeper_running(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "pgrep -x -f '%s' >/dev/null", sleeper);
	return system(cmd) == 0;
}

static bool wait_sleeper(bool running)
{
	for (int i = 0; i < 1500; i++) {
		if (sleeper_running() == running)
			return true;
		usleep(10000);
	}
	return false;
}

/* A hook that never ends is killed at its timeout; meanwhile, answers. */
static void test_hanging_hook_killed(void **state)
{
	char path[PATH_MAX], hook[128];
	int fd;

	td_need(&D);
	snprintf(sleeper, sizeof(sleeper), "/bin/sleep 9%d", (int)getpid());
	snprintf(hook, sizeof(hook), "[ \"/bin/sleep\", \"9%d\" ]", (int)getpid());
	write_conf(hook, "5s");
	kill(D.pid, SIGHUP);
	assert_true(wait_file_has(D.log, "SIGHUP: config"));
	snprintf(path, sizeof(path), "%s/held-again", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	/* the hook runs (the alert came) and hangs: the daemon still answers
	 * (the answer comes between the hook seen running and the hook not
	 * killed yet) */
	assert_true(wait_sleeper(true));
	assert_true(td_state_is(&D, path, "open"));
	assert_int_equal(alert_stat("hooks_killed"), 0);
	/* killed at its timeout */
	assert_true(wait_file_has(D.log, "alert hook killed after its timeout"));
	assert_int_equal(alert_stat("hooks_killed"), 1);
	assert_true(td_state_is(&D, path, "open"));
	close(fd);
	assert_true(td_wait_state(&D, path, "not_open"));
	/* the resolution's hook hangs too, and is killed too: none is left */
	for (int i = 0; i < 1500 && alert_stat("hooks_killed") < 2; i++)
		usleep(10000);
	assert_int_equal(alert_stat("hooks_killed"), 2);
	assert_false(sleeper_running());
}

/* The rules of the test below, then SIGHUP, and the reload seen in the
 * log. */
static void reload_with(const char *rules)
{
	int before = count_in_file(D.log, "SIGHUP: config");
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	fprintf(f,
		"policy = { default = { open = \"defer\"; defer_max = \"1m\"; fallback = "
		"\"flag\"; };\n  rules = ( %s );\n};\nalerts = { realert = \"1h\"; };\n",
		rules);
	fclose(f);
	kill(D.pid, SIGHUP);
	for (int i = 0; i < 1000 && count_in_file(D.log, "SIGHUP: config") == before; i++)
		usleep(10000);
	assert_true(count_in_file(D.log, "SIGHUP: config") > before);
}

/* The next alert's path, or "" if none came before the client's timeout. */
static char *next_alert_path(struct inuse_client *c)
{
	json_t *ev = next_event(c);
	char *p = strdup(ev ? ev_path(ev) : "");

	json_decref(ev);
	return p;
}

/*
 * The rule a file's alerts go by is matched once per path and policy
 * (alerts.c), and again when either changes: a file under a rule without
 * alerts is alerted once it is renamed under a rule with, and another once
 * a reload puts it under a rule with (at another place in the list: the
 * rule is not remembered by its place).
 */
static void test_rule_follows_rename_and_reload(void **state)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 10000};
	const char *req = "{\"id\":1,\"op\":\"subscribe\",\"kinds\":[\"alert\"]}";
	char never[PATH_MAX], f[PATH_MAX], g[PATH_MAX], moved[PATH_MAX], rules[PATH_MAX * 4];
	struct inuse_client *c;
	long long fired;
	char *line = NULL, *got;
	int ff, fg;

	td_need(&D);
	snprintf(never, sizeof(never), "%s/never", dir);
	snprintf(f, sizeof(f), "%s/f", never);
	snprintf(g, sizeof(g), "%s/g", never);
	snprintf(moved, sizeof(moved), "%s/f-moved", dir);
	assert_int_equal(mkdir(never, 0755), 0);
	snprintf(rules, sizeof(rules),
		 "{ name = \"never\"; match = [ \"%s/**\" ]; alert_after = 0; },"
		 "{ name = \"watched\"; match = [ \"%s/**\" ]; alert_after = \"1s\"; }",
		 never, dir);
	reload_with(rules);
	assert_int_equal(inuse_client__open(&o, &c), 0);
	assert_int_equal(inuse_client__call(c, req, strlen(req), &line, NULL), 0);
	free(line);
	fired = alert_stat("fired");
	ff = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	fg = open(g, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(ff >= 0 && fg >= 0);
	sleep(3); /* three ticks: nothing under "never" */
	assert_int_equal(alert_stat("fired"), fired);
	/* renamed under "watched" */
	assert_int_equal(rename(f, moved), 0);
	got = next_alert_path(c);
	assert_string_equal(got, moved);
	free(got);
	/* "never" second and watching now, a rule without alerts first */
	snprintf(rules, sizeof(rules),
		 "{ name = \"nothing\"; match = [ \"%s/nothing/**\" ]; alert_after = 0; },"
		 "{ name = \"never\"; match = [ \"%s/**\" ]; alert_after = \"1s\"; },"
		 "{ name = \"watched\"; match = [ \"%s/**\" ]; alert_after = \"1s\"; }",
		 dir, never, dir);
	reload_with(rules);
	got = next_alert_path(c);
	assert_string_equal(got, g);
	free(got);
	inuse_client__free(c);
	close(ff);
	close(fg);
	unlink(moved);
	unlink(g);
	rmdir(never);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alert_and_resolution),
	    cmocka_unit_test(test_hanging_hook_killed),
	    cmocka_unit_test(test_rule_follows_rename_and_reload),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("alerts", tests, group_setup, group_teardown);
}
