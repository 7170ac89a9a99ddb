// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_shell.c - the programs as a script uses them: inuse-ls, inuse-wait,
 * inuse-check and inuse-copy, their output and exit codes (missing files,
 * directories, filters with matches, errors, relative paths), the writers
 * column, "wait" with a quiet period on a file that never closes, the copy
 * loop, inuse-ls --between, and inuse-run's word on a file held open for
 * writing while read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"
#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char dir[PATH_MAX];
static char out[65536];

#define sh(...) td_sh(out, sizeof(out), __VA_ARGS__)

static int group_setup(void **state)
{
	return td_group_start(&D, dir, "/var/tmp/inuse-shell-XXXXXX");
}

static int group_teardown(void **state)
{
	return td_group_stop(&D, dir);
}

static const char *in(const char *name)
{
	return td_path(dir, name);
}

static void make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "content\n", 8), 8);
	close(fd);
}

/* ---- a writer, driven over a pipe ---- */

struct proc {
	pid_t pid;
	int cmd, ack;
};

/* Holds path open for writing (nfds descriptors, a shared writable mapping
 * with map); on 'b' writes every 50 ms until 'p' (pause); exits on 'x'. */
static void holder_main(const char *path, int nfds, bool map, int cmd, int ack)
{
	int fd = -1;
	bool busy = false;
	char c;

	for (int i = 0; i < nfds; i++)
		fd = open(path, O_RDWR);
	if (fd < 0 ||
	    (map && mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED))
		_exit(2);
	if (write(ack, "r", 1) != 1)
		_exit(2);
	fcntl(cmd, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = read(cmd, &c, 1);

		if (n == 1) {
			if (c == 'x')
				_exit(0);
			busy = c == 'b';
			if (write(ack, &c, 1) != 1)
				_exit(2);
		} else if (n == 0) {
			_exit(0);
		}
		if (busy && pwrite(fd, "busy", 4, 0) != 4)
			_exit(2);
		usleep(busy ? 50000 : 20000);
	}
}

static struct proc holder(const char *path, int nfds, bool map)
{
	int c[2], a[2];
	struct proc p;
	char r;

	assert_int_equal(pipe(c), 0);
	assert_int_equal(pipe(a), 0);
	p.pid = fork();
	assert_true(p.pid >= 0);
	if (p.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(c[1]);
		close(a[0]);
		holder_main(path, nfds, map, c[0], a[1]);
	}
	close(c[0]);
	close(a[1]);
	p.cmd = c[1];
	p.ack = a[0];
	assert_int_equal(read(p.ack, &r, 1), 1);
	assert_true(td_wait_state(&D, path, "open"));
	return p;
}

static void tell(struct proc *p, char c)
{
	char a;

	assert_int_equal(write(p->cmd, &c, 1), 1);
	assert_int_equal(read(p->ack, &a, 1), 1);
}

static void release(struct proc *p)
{
	if (p->pid <= 0)
		return;
	if (write(p->cmd, "x", 1) != 1)
		kill(p->pid, SIGKILL);
	close(p->cmd);
	close(p->ack);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

static int ls(const char *args)
{
	return sh("%s --socket %s %s 2>&1", td_bin("inuse-ls"), D.sock, args);
}

/* The line of out that is exactly line. */
static bool has_line(const char *line)
{
	size_t n = strlen(line);

	for (const char *p = out; (p = strstr(p, line)); p++)
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* Waits until path has at least n writers listed. */
static bool wait_writers_at_least(const char *path, size_t n)
{
	uint64_t deadline = clock_mono_ns() + TD_TIMEOUT_MS * NSEC_PER_MSEC;

	do {
		json_t *e = td_entry(&D, path);
		size_t k = json_array_size(json_object_get(e, "writers"));

		json_decref(e);
		if (k >= n)
			return true;
		usleep(5000);
	} while (clock_mono_ns() < deadline);
	return false;
}

/* ---- inuse-ls ---- */

static void test_ls_exit_codes(void **state)
{
	const char *held = in("held.txt"), *closed = in("closed.txt");
	char sub[PATH_MAX], line[PATH_MAX * 2];
	struct proc h;

	td_need(&D);
	snprintf(sub, sizeof(sub), "%s/empty-dir", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	make_file(held);
	make_file(closed);
	h = holder(held, 1, false);

	assert_int_equal(ls(held), 1);
	snprintf(line, sizeof(line), "%s: open for writing", held);
	assert_true(has_line(line));
	assert_int_equal(ls(closed), 0);
	snprintf(line, sizeof(line), "%s: not open for writing", closed);
	assert_true(has_line(line));
	/* missing: 3; with an open one beside it: 1 */
	assert_int_equal(ls(in("nothere")), 3);
	snprintf(line, sizeof(line), "%s %s", in("nothere"), held);
	assert_int_equal(ls(line), 1);
	snprintf(line, sizeof(line), "%s %s", in("nothere"), closed);
	assert_int_equal(ls(line), 3);
	/* a directory: the files under it */
	assert_int_equal(ls(dir), 1);
	assert_non_null(strstr(out, held));
	assert_int_equal(ls(sub), 0);
	/* --under: 1 with matches, 0 without, also as JSON */
	snprintf(line, sizeof(line), "--under %s", dir);
	assert_int_equal(ls(line), 1);
	snprintf(line, sizeof(line), "--under %s --json", dir);
	assert_int_equal(ls(line), 1);
	snprintf(line, sizeof(line), "--under %s", sub);
	assert_int_equal(ls(line), 0);
	snprintf(line, sizeof(line), "--under %s --json", sub);
	assert_int_equal(ls(line), 0);
	/* a relative path, from the working directory */
	assert_int_equal(
	    sh("cd %s && %s --socket %s held.txt closed.txt", dir, td_bin("inuse-ls"), D.sock), 1);
	assert_true(has_line("held.txt: open for writing"));
	assert_true(has_line("closed.txt: not open for writing"));
	/* no daemon there: 2 */
	assert_int_equal(
	    sh("%s --socket %s/none.sock %s 2>/dev/null", td_bin("inuse-ls"), dir, held), 2);
	release(&h);
	assert_true(td_wait_state(&D, held, "not_open"));
	assert_int_equal(ls(dir), 0);
}

/* A process with two descriptors and a mapping of a file is one writer;
 * many writers do not push the PATH column. */
static void test_ls_writers_column(void **state)
{
	const char *one = in("one-proc.dat"), *many = in("many-procs.dat");
	struct proc h, hs[12];
	char pid[32], *l;
	int n = 0;

	td_need(&D);
	make_file(one);
	make_file(many);
	h = holder(one, 2, true);
	assert_true(wait_writers_at_least(one, 2));
	assert_int_equal(ls(one), 1);
	snprintf(pid, sizeof(pid), "%d/", (int)h.pid);
	for (l = out; (l = strstr(l, pid)); l++)
		n++;
	assert_int_equal(n, 1);
	release(&h);

	for (int i = 0; i < 12; i++)
		hs[i] = holder(many, 1, false);
	assert_true(td_wait_nwriters(&D, many, 12));
	assert_int_equal(ls(many), 1);
	/* the row: OPEN(8) WRITTEN(8) WRITERS(30), one space after each */
	l = strstr(out, "\nOPEN ");
	assert_non_null(l);
	l = strchr(l + 1, '\n');
	assert_non_null(l);
	l++;
	assert_int_equal(strncmp(l + 8 + 1 + 8 + 1 + 30 + 1, many, strlen(many)), 0);
	assert_non_null(strstr(l, ",+"));
	for (int i = 0; i < 12; i++)
		release(&hs[i]);
}

/* ---- inuse-wait ---- */

static void test_wait_exit_codes(void **state)
{
	const char *held = in("wait-held.txt");
	char sub[PATH_MAX];
	struct proc h;

	td_need(&D);
	snprintf(sub, sizeof(sub), "%s/wait-dir", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(sh("%s --socket %s %s/nothere 2>&1", td_bin("inuse-wait"), D.sock, sub),
			 3);
	assert_int_equal(sh("%s --socket %s /dev/null 2>&1", td_bin("inuse-wait"), D.sock), 2);
	make_file(held);
	h = holder(held, 1, false);
	/* a directory: the files open under it */
	assert_int_equal(sh("%s --socket %s -t 1 %s 2>&1", td_bin("inuse-wait"), D.sock, dir), 1);
	assert_non_null(strstr(out, held));
	assert_int_equal(sh("%s --socket %s -t 1 %s 2>&1", td_bin("inuse-wait"), D.sock, sub), 0);
	release(&h);
	assert_int_equal(sh("%s --socket %s -t 10 %s 2>&1", td_bin("inuse-wait"), D.sock, held), 0);
}

/* A file that stays open: not quiet while written, quiet in its pause. */
static void test_wait_quiet_open(void **state)
{
	const char *img = in("disk.img");
	struct proc h;
	json_t *r;

	td_need(&D);
	make_file(img);
	h = holder(img, 1, false);
	tell(&h, 'b');
	/* written every 50 ms: never quiet for 1 s */
	assert_int_equal(
	    sh("%s --socket %s --quiet 1s --timeout 2s %s 2>&1", td_bin("inuse-wait"), D.sock, img),
	    1);
	assert_non_null(strstr(out, "still"));
	tell(&h, 'p');
	/* paused, still open: quiet after 1 s */
	r = td_call(&D, "{\"op\":\"wait\",\"id\":1,\"paths\":[\"%s\"],\"timeout\":10,\"quiet\":1}",
		    img);
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "done")));
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(r, "files"), 0), "state")),
			    "quiet");
	json_decref(r);
	assert_string_equal(td_state(&D, img), "open");
	assert_int_equal(sh("%s --socket %s --quiet 1s --timeout 10s %s 2>&1", td_bin("inuse-wait"),
			    D.sock, img),
			 0);
	release(&h);
}

/* ---- inuse-check ---- */

static void test_check_verify(void **state)
{
	const char *a = in("chk-a.txt"), *b = in("chk-b.txt"), *held = in("chk-held.txt");
	char tok[PATH_MAX];
	struct proc h;

	td_need(&D);
	snprintf(tok, sizeof(tok), "%s/tokens", dir);
	make_file(a);
	make_file(b);
	make_file(held);
	assert_int_equal(
	    sh("%s --socket %s --tokens %s %s %s", td_bin("inuse-check"), D.sock, tok, a, b), 0);
	{
		char want[PATH_MAX + 32];

		snprintf(want, sizeof(want), "copy closed %s", a);
		assert_true(has_line(want));
	}
	assert_int_equal(sh("%s --socket %s --verify %s", td_bin("inuse-check"), D.sock, tok), 0);
	/* written since: 1 */
	{
		int fd = open(b, O_WRONLY | O_APPEND);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "more\n", 5), 5);
		close(fd);
	}
	assert_int_equal(sh("%s --socket %s --verify %s", td_bin("inuse-check"), D.sock, tok), 1);
	/* gone: 3; one gone and one written: 1 comes first */
	unlink(b);
	assert_int_equal(sh("%s --socket %s --verify %s", td_bin("inuse-check"), D.sock, tok), 3);
	assert_int_equal(
	    sh("%s --socket %s --tokens %s %s %s", td_bin("inuse-check"), D.sock, tok, a, held), 0);
	unlink(a);
	{
		int fd = open(held, O_WRONLY | O_APPEND);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "more\n", 5), 5);
		close(fd);
	}
	assert_int_equal(sh("%s --socket %s --verify %s", td_bin("inuse-check"), D.sock, tok), 1);
	/* open for writing: not to copy now (the default policy defers) */
	h = holder(held, 1, false);
	assert_int_equal(sh("%s --socket %s %s", td_bin("inuse-check"), D.sock, held), 1);
	assert_non_null(strstr(out, "defer open"));
	release(&h);
	/* missing: 3; a directory: its files */
	assert_int_equal(sh("%s --socket %s %s", td_bin("inuse-check"), D.sock, in("nothere")), 3);
	assert_true(td_wait_state(&D, held, "not_open"));
	assert_int_equal(sh("%s --socket %s %s", td_bin("inuse-check"), D.sock, dir), 0);
	assert_non_null(strstr(out, held));
}

/* ---- the copy loop ---- */

static int frozen(void *ctx, const char *src, const char *dest)
{
	int fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	(*(int *)ctx)++;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static void test_copy_loop(void **state)
{
	const char *img = in("copy.img"), *dest = in("copy.out");
	struct inuse_client_opts co = {.sz = sizeof(co), .socket_path = D.sock};
	struct inuse_copy_opts o = {.sz = sizeof(o), .quiet = 0.5, .timeout = 2};
	struct inuse_copy_result res;
	struct inuse_client *c;
	struct proc h;
	int calls = 0;

	td_need(&D);
	make_file(img);
	h = holder(img, 1, false);
	/* open and quiet: a consistent copy, while it stays open */
	assert_int_equal(sh("%s --socket %s --quiet 500ms --timeout 10s %s %s",
			    td_bin("inuse-copy"), D.sock, img, dest),
			 0);
	assert_non_null(strstr(out, "consistent"));
	assert_string_equal(td_state(&D, img), "open");
	/* written all along: flagged at the timeout */
	tell(&h, 'b');
	assert_int_equal(sh("%s --socket %s --quiet 500ms --timeout 2s %s %s", td_bin("inuse-copy"),
			    D.sock, img, dest),
			 1);
	assert_non_null(strstr(out, "flagged"));
	/* the step before flagging: a fallback (a frozen snapshot) */
	assert_int_equal(inuse_client__open(&co, &c), 0);
	o.fallback = frozen;
	o.fallback_ctx = &calls;
	assert_int_equal(inuse_copy_file(c, img, dest, &o, &res), 0);
	assert_int_equal(res.outcome, INUSE_COPY_FALLBACK);
	assert_int_equal(calls, 1);
	inuse_client__free(c);
	release(&h);
	assert_int_equal(
	    sh("%s --socket %s %s %s", td_bin("inuse-copy"), D.sock, in("nothere"), dest), 3);
}

/* ---- inuse-ls --between ---- */

/* "@seconds" of now, in ms rounded down (early) or up (late), so that the
 * text never moves the time across an event a few microseconds away. */
static void stamp(char *buf, size_t len, bool late)
{
	struct timespec ts;
	long long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + (late ? 1 : 0);
	snprintf(buf, len, "@%lld.%03lld", ms / 1000, ms % 1000);
}

static void test_between(void **state)
{
	const char *p = in("hist.txt");
	char sub[PATH_MAX], before[64], during[64], after[64];
	int fd;

	td_need(&D);
	snprintf(sub, sizeof(sub), "%s/hist-other", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	stamp(before, sizeof(before), false);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_true(td_wait_state(&D, p, "open"));
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_true(td_wait_state(&D, p, "not_open"));
	stamp(during, sizeof(during), true);
	usleep(20000);
	stamp(after, sizeof(after), true);

	assert_int_equal(sh("%s --socket %s --between %s %s --under %s", td_bin("inuse-ls"), D.sock,
			    before, during, dir),
			 1);
	assert_non_null(strstr(out, p));
	/* after it closed: not there */
	assert_int_equal(sh("%s --socket %s --between %s now --under %s", td_bin("inuse-ls"),
			    D.sock, after, dir),
			 0);
	assert_null(strstr(out, p));
	/* elsewhere: not there */
	assert_int_equal(sh("%s --socket %s --between %s %s --under %s", td_bin("inuse-ls"), D.sock,
			    before, during, sub),
			 0);
	/* before the daemon started: not covered, and nothing found: 2 */
	assert_int_equal(sh("%s --socket %s --between @1000 @2000 --under %s 2>&1",
			    td_bin("inuse-ls"), D.sock, sub),
			 2);
	assert_non_null(strstr(out, "history begins"));
	/* bad times: 2 */
	assert_int_equal(
	    sh("%s --socket %s --between soon later 2>/dev/null", td_bin("inuse-ls"), D.sock), 2);
}

/* ---- inuse-run: a file held open for writing while read ---- */

/* The report's item for path, its kind. */
static const char *run_kind(const char *report, const char *path, char *why, size_t len)
{
	static char kind[32];
	json_t *a = json_load_file(report, 0, NULL), *f;
	size_t i;

	kind[0] = why[0] = '\0';
	json_array_foreach(json_object_get(a, "files"), i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "path")) ?: "", path))
			continue;
		snprintf(kind, sizeof(kind), "%s", json_string_value(json_object_get(f, "kind")));
		snprintf(why, len, "%s", json_string_value(json_object_get(f, "why")) ?: "");
	}
	json_decref(a);
	return kind;
}

/*
 * Held by a writer, not written while the command read it: one state of
 * the file, vouched for only when it had gone unwritten for the quiet
 * period before the read (else it may be halfway through an update).
 */
static void test_run_held(void **state)
{
	const char *img = in("held.img"), *rep = in("held-run.json");
	char why[256];
	struct proc h;
	struct stat st;
	struct timespec now;

	td_need(&D);
	make_file(img);
	h = holder(img, 1, false);
	tell(&h, 'b');
	tell(&h, 'p');
	/* written just now: not settled for a minute */
	assert_int_equal(sh("%s --socket %s --quiet 60s --report %s -- cat %s >/dev/null 2>&1",
			    td_bin("inuse-run"), D.sock, rep, img),
			 75);
	assert_string_equal(run_kind(rep, img, why, sizeof(why)), "torn");
	assert_non_null(strstr(why, "before the command read it"));
	/* unwritten for longer than the quiet period: held, vouched for */
	do {
		usleep(50000);
		assert_int_equal(stat(img, &st), 0);
		clock_gettime(CLOCK_REALTIME, &now);
	} while ((now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL +
		     (now.tv_nsec - st.st_mtim.tv_nsec) <
		 500000000LL);
	assert_int_equal(sh("%s --socket %s --quiet 0.2s --report %s -- cat %s >/dev/null 2>&1",
			    td_bin("inuse-run"), D.sock, rep, img),
			 0);
	assert_string_equal(run_kind(rep, img, why, sizeof(why)), "held");
	release(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ls_exit_codes),   cmocka_unit_test(test_ls_writers_column),
	    cmocka_unit_test(test_wait_exit_codes), cmocka_unit_test(test_wait_quiet_open),
	    cmocka_unit_test(test_check_verify),    cmocka_unit_test(test_copy_loop),
	    cmocka_unit_test(test_between),	    cmocka_unit_test(test_run_held),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("from the shell", tests, group_setup, group_teardown);
}
