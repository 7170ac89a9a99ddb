// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_mutation.c - the tests can fail. Each case runs one test of another
 * test program against a deliberately broken daemon (build/faults/inused-
 * NAME, see userspace/inused/fault.h) or in a broken environment (a tool
 * the test needs hidden, a kernel feature turned off), and passes only when
 * that test fails there: the claim it makes would catch the breakage. The
 * same tests pass against the real daemon in the rest of the suite.
 *
 * A failure here names a test that cannot see the breakage it is meant to
 * see. The background of a busy machine (other daemons' walks of every
 * process) can repair some breakages before a test looks, so a case is run
 * up to three times and counts as caught at its first failure; a run that
 * does not reach the test (a crash, a failed group setup) does not count.
 *
 * The cases run in parallel in the group setup; each cmocka test reports
 * one of them ("caught: FAULT by PROGRAM:TEST").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"

#define ATTEMPTS 3
#define PARALLEL 4

struct mcase {
	const char *fault; /* build/faults/inused-FAULT, or NULL: the real daemon */
	const char *hide;  /* a command hidden from PATH, or NULL */
	const char *args;  /* INUSE_DAEMON_ARGS, or NULL */
	const char *prog;  /* build/tests/PROG */
	const char *test;  /* the test that must fail */
	bool whole;	   /* run the whole program (the test needs the ones before) */
	const char *why;   /* what it shows (the item of the issue) */
};

static struct mcase cases[] = {
    /* answers at the moment of risk */
    {"lag", NULL, NULL, "test_writers", "test_plain_writer_disk", false,
     "open asserted right after open(2), no retry"},
    {"lag", NULL, NULL, "test_queries", "test_check_decisions", false,
     "check asked right after the opens"},
    {"drop-close", NULL, NULL, "test_writers", "test_plain_writer_tmpfs", false,
     "not_open after the last close"},
    {"drop-close", NULL, NULL, "test_writers", "test_dup2_over_writer", false,
     "dup2 over a writer's fd"},
    {"close-trusts-table", NULL, NULL, "test_writers", "test_dup_then_close_original", false,
     "open through a dup after the original's close"},
    {"close-trusts-table", NULL, NULL, "test_writers", "test_scm_rights", false,
     "open while the fd is passed with SCM_RIGHTS"},
    {"close-trusts-table", NULL, NULL, "test_writers", "test_mmap_outlives_fd", false,
     "open through a mapping after close"},
    {"ignore-fork", NULL, NULL, "test_writers", "test_fork_child_holds", false,
     "the child is a writer as soon as it runs"},
    /* the numbered items of the issue */
    {"wait-early", NULL, NULL, "test_queries", "test_wait_released_on_close", false,
     "1: a wait answered before the close"},
    {"drop-close", NULL, NULL, "test_queries", "test_wait_released_on_close", false,
     "1: a wait not released by the close"},
    {"no-pseudo-filter", NULL, NULL, "test_writers", "test_non_files_never_listed", false,
     "2: /proc and /sys knobs never listed"},
    {"unlinked-dropped", NULL, NULL, "test_writers", "test_rename_and_unlink", false,
     "3: an unlinked file stays listed with its writer"},
    {"ignore-exec", NULL, NULL, "test_writers", "test_exec_cloexec", false,
     "4: the writer's command after exec"},
    {"leak", NULL, NULL, "test_stream", "test_stream_access", false,
     "5: another user's events, with a positive control"},
    {"leak", NULL, NULL, "test_daemon", "test_non_root_sees_own_files_only", false,
     "5: another user's files, with a positive control"},
    {"realert-every-tick", NULL, NULL, "test_alerts", "test_alert_and_resolution", false,
     "6: one alert, not one per tick"},
    {"verify-stat-only", NULL, NULL, "test_queries", "test_verify_written_while_open", false,
     "7: the write generation, with size and mtime unchanged"},
    {"lag", NULL, NULL, "test_daemon", "test_inuse_ls", false, "8: inuse-ls's exact line per path"},
    {"drop-close", NULL, NULL, "test_daemon", "test_bad_requests", false,
     "11: exact states after bad requests"},
    {"drop-close", NULL, NULL, "test_daemon", "test_dying_clients", false,
     "11: exact states after dying clients"},
    {"wait-early", NULL, NULL, "test_backup", "test_backup_with_writers", false,
     "10: the archive's content (late.txt partial)"},
    {"lag", NULL, NULL, "test_backup", "test_backup_with_writers", false,
     "10: the archive's content (a database copied while written)"},
    {"lag", NULL, NULL, "test_backup", "test_backup_with_rsync", false, "10: the rsync backup"},
    {"wait-early", NULL, NULL, "test_backup", "test_backup_with_rsync", false,
     "10: the rsync backup's deferred file"},
    {"no-table-limit", NULL, NULL, "test_writers", "test_table_full", false, "14: table full"},
    {"trust-full-table", NULL, NULL, "test_writers", "test_table_full", false,
     "14: table full: a held file not in the table is still open"},
    {"no-foreign-ns", NULL, NULL, "test_writers", "test_other_mount_namespace", false,
     "14: other_mntns"},
    {"verify-stat-only", NULL, NULL, "test_queries", "test_verify_fence", false,
     "14: verify's changed"},
    {"hint-is-exit", NULL, NULL, "test_writers", "test_close_range", false,
     "14: fds outside a close_range range"},
    {"ignore-lost", NULL, NULL, "test_writers", "test_lost_events_reconciled", false,
     "14: a held file asked about right after the storm"},
    /* 9, 12: what a test needs, missing under CI=true */
    {NULL, "nm", NULL, "test_install", "test_build_against_installed_lib", true, "9: nm missing"},
    {NULL, "systemd-analyze", NULL, "test_install", "test_unit_verifies", true,
     "12: systemd-analyze missing"},
    {NULL, "man", NULL, "test_install", "test_man_pages_render", true, "12: man missing"},
    {NULL, "promtool", NULL, "test_metrics", "test_scrape_and_promtool", false,
     "12: promtool missing"},
    {NULL, "promtool", NULL, "test_metrics", "test_example_rules", false, "12: promtool missing"},
    {NULL, NULL, "--no-uring", "test_writers", "test_io_uring_open_close", false,
     "12: the io_uring hook off"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct mresult {
	char *name;
	int attempts;
	bool caught;
	char detail[512];
} results[NCASES];

static char work[] = "/tmp/inuse-mutation-XXXXXX";

/* A directory of links to every command on PATH but hide. */
static int path_without(const char *hide, char *out, size_t len)
{
	char *path = strdup(getenv("PATH") ?: "/usr/bin:/bin"), *save = NULL;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/path-without-%s", work, hide);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	for (char *p = strtok_r(path, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(p);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char from[PATH_MAX * 2], to[PATH_MAX * 2];

			if (de->d_name[0] == '.' || !strcmp(de->d_name, hide))
				continue;
			snprintf(from, sizeof(from), "%s/%s", p, de->d_name);
			snprintf(to, sizeof(to), "%s/%s", dir, de->d_name);
			/* the first on PATH wins: later ones exist already */
			if (access(from, X_OK) == 0 && symlink(from, to) && errno != EEXIST)
				fprintf(stderr, "%s: %s\n", to, strerror(errno));
		}
		if (d)
			closedir(d);
	}
	free(path);
	snprintf(out, len, "%s", dir);
	return 0;
}

/* Starts one attempt of case i; its output goes to WORK/i.out. */
static pid_t start(size_t i)
{
	struct mcase *m = &cases[i];
	char out[PATH_MAX], prog[PATH_MAX], daemon[PATH_MAX], path[PATH_MAX];
	pid_t pid;

	snprintf(out, sizeof(out), "%s/%zu.out", work, i);
	snprintf(prog, sizeof(prog), "%s", td_bin("tests/"));
	strncat(prog, m->prog, sizeof(prog) - strlen(prog) - 1);
	snprintf(daemon, sizeof(daemon), "%s",
		 m->fault ? td_bin("faults/inused-") : td_bin("inused"));
	if (m->fault)
		strncat(daemon, m->fault, sizeof(daemon) - strlen(daemon) - 1);
	if (m->hide && path_without(m->hide, path, sizeof(path)))
		return -1;
	pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	{
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
	}
	setenv("CI", "true", 1);
	setenv("INUSE_DAEMON", daemon, 1);
	unsetenv("INUSE_TEST_FILTER");
	unsetenv("INUSE_DAEMON_ARGS");
	if (!m->whole)
		setenv("INUSE_TEST_FILTER", m->test, 1);
	if (m->args)
		setenv("INUSE_DAEMON_ARGS", m->args, 1);
	if (m->hide)
		setenv("PATH", path, 1);
	execl(prog, prog, (char *)NULL);
	_exit(127);
}

/* Did the attempt's output show the test run and fail? */
static void judge(size_t i)
{
	struct mcase *m = &cases[i];
	struct mresult *r = &results[i];
	char path[PATH_MAX], run[256], failed[256], *text;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%zu.out", work, i);
	f = fopen(path, "r");
	if (!f)
		return;
	text = calloc(1, 1 << 20);
	n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!text)
		return;
	text[n] = '\0';
	snprintf(run, sizeof(run), "[ RUN      ] %s\n", m->test);
	snprintf(failed, sizeof(failed), "[  FAILED  ] %s\n", m->test);
	if (strstr(text, run) && strstr(text, failed)) {
		/* the assertion that failed in that test, for the report */
		char *sect = strstr(text, run), *msg = strstr(sect, "ERROR:"),
		     *at = strstr(sect, "[  ERROR   ]"), *end = strstr(sect, failed);

		r->caught = true;
		if (!msg || msg > end)
			msg = at && at < end ? at : "";
		snprintf(r->detail, sizeof(r->detail), "%.300s", msg);
		r->detail[strcspn(r->detail, "\n")] = '\0';
	} else if (!strstr(text, run)) {
		snprintf(r->detail, sizeof(r->detail), "the test did not run: %.300s", text);
	} else {
		snprintf(r->detail, sizeof(r->detail), "the test passed");
	}
	free(text);
}

/* Is the case selected by $INUSE_TEST_FILTER (all are, without it)? */
static bool wanted(size_t i)
{
	const char *f = getenv("INUSE_TEST_FILTER");

	return !f || fnmatch(f, results[i].name, 0) == 0;
}

static int group_setup(void **state)
{
	pid_t running[NCASES] = {0};
	size_t next = 0, active = 0;

	alarm(1800);
	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	if (!mkdtemp(work))
		return -1;
	/* rounds of attempts: every case not caught yet, PARALLEL at a time */
	for (int round = 0; round < ATTEMPTS; round++) {
		next = 0;
		for (;;) {
			while (active < PARALLEL && next < NCASES) {
				size_t i = next++;

				if (results[i].caught || !wanted(i))
					continue;
				running[i] = start(i);
				if (running[i] > 0) {
					results[i].attempts++;
					active++;
				}
			}
			if (!active)
				break;
			{
				int st;
				pid_t pid = wait(&st);

				for (size_t i = 0; i < NCASES && pid > 0; i++) {
					if (running[i] == pid) {
						running[i] = 0;
						active--;
						judge(i);
					}
				}
			}
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	return work[strlen(work) - 1] == 'X' ? 0 : td_rmtree(work);
}

static void check_case(void **state)
{
	struct mcase *m = *state;
	struct mresult *r = &results[m - cases];

	if (geteuid() != 0) {
		if (td_must_run())
			fail_msg("the mutation check needs root");
		skip();
	}
	if (!r->caught)
		fail_msg("%s:%s did not fail %s (%s) in %d attempts: %s", m->prog, m->test,
			 m->fault ? "against the fault build" : "in the broken environment",
			 m->fault ?: m->hide ?: m->args, r->attempts, r->detail);
	printf("caught: %s by %s:%s [%s] (attempt %d) %s\n",
	       m->fault	 ? m->fault
	       : m->hide ? m->hide
			 : m->args,
	       m->prog, m->test, m->why, r->attempts, r->detail);
}

/* The window checker itself: against a daemon whose answers lag new files
 * by 300 ms, a window that starts right after the open must fail; against
 * the real daemon the same window passes. */
static void watch_window(const char *daemon_bin, bool want_ok)
{
	struct tdaemon d = {0};
	char dir[] = "/var/tmp/inuse-mutation-watch-XXXXXX", path[PATH_MAX];
	struct td_watch *w;
	int fd;

	assert_non_null(mkdtemp(dir));
	setenv("INUSE_DAEMON", daemon_bin, 1);
	assert_int_equal(td_start(&d, NULL), 0);
	unsetenv("INUSE_DAEMON");
	w = td_watch_start(&d);
	assert_non_null(w);
	snprintf(path, sizeof(path), "%s/held", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_watch_path(w, path) == want_ok);
	/* the daemon's answer is right by now (after its lag); the window must
	 * still remember the wrong one */
	assert_true(td_wait_state(&d, path, "open"));
	assert_true(td_watch_mark(w) == want_ok);
	assert_true(td_watch_end(w) == want_ok);
	close(fd);
	td_stop(&d);
	td_rmtree(dir);
	printf("%s: the window checker %s\n", daemon_bin,
	       want_ok ? "passed (real daemon)" : "caught the lag");
}

static void test_watch_catches_transient(void **state)
{
	char lag[PATH_MAX];

	if (geteuid() != 0) {
		if (td_must_run())
			fail_msg("the mutation check needs root");
		skip();
	}
	alarm(120);
	snprintf(lag, sizeof(lag), "%s", td_bin("faults/inused-lag"));
	watch_window(lag, false);
	watch_window(td_bin("inused"), true);
}

/* Runs bench/burst with only fds 0-2 open and at most nofile fds (0: no
 * limit); its output in out. Returns its exit status. */
static int run_burst(int nofile, const char *sock, const char *dir, const char *procs,
		     const char *secs, char *out, size_t len)
{
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(p[1], 1) < 0)
			_exit(127);
		syscall(SYS_close_range, 3U, ~0U, 0);
		if (nofile && setrlimit(RLIMIT_NOFILE, &rl))
			_exit(127);
		execl(td_bin("bench/burst"), "burst", "--socket", sock, "--procs", procs,
		      "--seconds", secs, "--held", "16", dir, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n < len - 1 && (r = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 13: the bench smoke's checks reject a storm that did not happen (every
 * storm process fails: too few fds) and a run that lost no event where the
 * lost-events case is meant to be tested. */
static void test_burst_checks_can_fail(void **state)
{
	char dir[] = "/var/tmp/inuse-mutation-burst-XXXXXX", out[8192];
	struct tdaemon d = {0};
	const char *why;
	json_t *row;

	if (geteuid() != 0) {
		if (td_must_run())
			fail_msg("the mutation check needs root");
		skip();
	}
	alarm(120);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(td_start(&d, NULL), 0);
	/* 3 standard fds + 1 socket + 16 held files: a storm process can open
	 * nothing */
	assert_int_equal(run_burst(20, d.sock, dir, "2", "0.3", out, sizeof(out)), 1);
	row = td_burst_parse(out);
	assert_non_null(row);
	why = td_burst_problem(row, false);
	assert_non_null(why);
	printf("crippled storm rejected: %s\n", why);
	json_decref(row);
	/* a real storm, the default ring: whether it lost events or not, with
	 * the loss zeroed the lost-events case must be rejected */
	assert_int_equal(run_burst(0, d.sock, dir, "1", "0.2", out, sizeof(out)), 0);
	row = td_burst_parse(out);
	assert_null(td_burst_problem(row, false));
	json_object_set_new(row, "events_lost", json_real(0));
	why = td_burst_problem(row, true);
	assert_non_null(why);
	printf("storm without lost events rejected as the lost-events case: %s\n", why);
	json_decref(row);
	td_stop(&d);
	td_rmtree(dir);
}

int main(void)
{
	static struct CMUnitTest tests[NCASES + 2];
	size_t n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	tests[n++] = (struct CMUnitTest){"watch_catches_transient", test_watch_catches_transient,
					 NULL, NULL, NULL};
	tests[n++] = (struct CMUnitTest){"burst_checks_can_fail", test_burst_checks_can_fail, NULL,
					 NULL, NULL};
	for (size_t i = 0; i < NCASES; i++) {
		char *name;

		if (asprintf(&name, "%s/%s:%s",
			     cases[i].fault  ? cases[i].fault
			     : cases[i].hide ? cases[i].hide
					     : cases[i].args,
			     cases[i].prog, cases[i].test) < 0)
			return 1;
		results[i].name = name;
		tests[n++] = (struct CMUnitTest){name, check_case, NULL, NULL, &cases[i]};
	}
	td_filter_tests();
	return _cmocka_run_group_tests("mutation check", tests, n, group_setup, group_teardown);
}
