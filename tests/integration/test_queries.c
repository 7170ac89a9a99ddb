// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_queries.c - the backup requests against the running daemon: check,
 * wait, verify (through libinuse and raw), their errors, the policy file
 * and its reload, inuse-wait.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"
#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char dir[PATH_MAX], conf[PATH_MAX];

static void write_conf(const char *text)
{
	FILE *f = fopen(conf, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char conf1[] =
    "policy = {\n"
    "  default = { open = \"defer\"; defer_max = \"2s\"; fallback = \"flag\"; };\n"
    "  rules = (\n"
    "    { name = \"logs\"; match = [ \"*.log\" ]; open = \"flag\"; quiet = \"1s\"; },\n"
    "    { name = \"scratch\"; match = [ \"*.tmp\" ]; open = \"skip\"; },\n"
    "    { name = \"db\"; match = [ \"*.sqlite\" ];\n"
    "      method = [ \"sqlite3\", \"{path}\", \"{dest}\" ]; open = \"defer\"; defer_max = \"1s\"; "
    "}\n"
    "  );\n"
    "};\n";

static int group_setup(void **state)
{
	const char *args[3];

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(dir, "/var/tmp/inuse-q-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(conf, sizeof(conf), "%s/inused.conf", dir);
	{
		FILE *f = fopen(conf, "w");

		if (!f)
			return -1;
		fputs(conf1, f);
		fclose(f);
	}
	args[0] = "--config";
	args[1] = conf;
	args[2] = NULL;
	if (td_start(&D, args) != 0)
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

static struct inuse_client *client(int timeout_ms)
{
	struct inuse_client_opts o = {
	    .sz = sizeof(o), .socket_path = D.sock, .timeout_ms = timeout_ms};
	struct inuse_client *c = NULL;

	assert_int_equal(inuse_client__open(&o, &c), 0);
	return c;
}

static const char *in(const char *name)
{
	return td_path(dir, name);
}

/* check: closed -> copy; open -> the rule's decision; missing -> skip. */
static void test_check_decisions(void **state)
{
	const char *paths[5];
	struct inuse_client *c;
	struct inuse_result *r;
	const struct inuse_file *f;
	int fd_a, fd_t;

	need_daemon();
	paths[0] = in("closed.dat");
	paths[1] = in("open.dat");
	paths[2] = in("scratch.tmp");
	paths[3] = in("nothing-here");
	paths[4] = dir;
	td_touch(paths[0]);
	fd_a = open(paths[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	fd_t = open(paths[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd_a >= 0 && fd_t >= 0);
	/* asked right after the opens: no retry */
	c = client(10000);
	assert_int_equal(inuse_client__check(c, paths, 5, &r), 0);
	assert_int_equal(inuse_result__count(r), 5);
	f = inuse_result__file(r, 0);
	assert_int_equal(f->state, INUSE_NOT_OPEN);
	assert_int_equal(f->decision, INUSE_COPY);
	assert_string_equal(f->reason, "closed");
	assert_non_null(f->token);
	f = inuse_result__file(r, 1);
	assert_int_equal(f->state, INUSE_OPEN);
	assert_int_equal(f->decision, INUSE_DEFER);
	assert_string_equal(f->rule, "default");
	assert_true(f->retry_after > 0);
	assert_true(f->defer_max > 1.9 && f->defer_max < 2.1);
	assert_int_equal(f->fallback, INUSE_FLAG);
	assert_int_equal(f->nwriters, 1);
	f = inuse_result__file(r, 2);
	assert_int_equal(f->state, INUSE_OPEN);
	assert_int_equal(f->decision, INUSE_SKIP);
	assert_string_equal(f->rule, "scratch");
	f = inuse_result__file(r, 3);
	assert_int_equal(f->state, INUSE_MISSING);
	assert_int_equal(f->decision, INUSE_SKIP);
	f = inuse_result__file(r, 4);
	assert_int_equal(f->state, INUSE_NOT_REGULAR);
	inuse_result__free(r);
	close(fd_a);
	close(fd_t);
	assert_true(td_wait_state(&D, paths[1], "not_open"));
	assert_true(td_wait_state(&D, paths[2], "not_open"));
	/* closed now: copied */
	assert_int_equal(inuse_client__check(c, paths, 3, &r), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(inuse_result__file(r, i)->state, INUSE_NOT_OPEN);
		assert_int_equal(inuse_result__file(r, i)->decision, INUSE_COPY);
	}
	inuse_result__free(r);
	inuse_client__free(c);
}

/* Seconds (CLOCK_REALTIME) as a double. */
static double real_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The member "last_write" (seconds) of the check answer, or -1. */
static double last_write_of(struct inuse_result *r)
{
	json_t *j = json_loads(inuse_result__json(r), 0, NULL);
	json_t *v = json_object_get(json_array_get(json_object_get(j, "files"), 0), "last_write");
	double t = json_is_number(v) ? json_number_value(v) : -1;

	json_decref(j);
	return t;
}

/*
 * check with a quiet period (the "logs" rule: open = flag, quiet = 1 s): an
 * open log is flagged while it was written less than 1 s before the check,
 * and copied ("quiet") once it was not. No timing is assumed: each answer
 * is judged against the time its request was sent and its answer came
 * (it must be "flag" when even the answer came within the quiet period of
 * the last write, "copy" when even the request was sent after it), and the
 * test goes on until it saw both.
 */
static void test_check_quiet_period(void **state)
{
	const double quiet = 1.0, slack = 0.01; /* clock conversion */
	const char *p = in("app.log");
	struct inuse_client *c;
	bool flagged = false, copied = false;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	c = client(10000);
	for (int round = 0; round < 1000 && !(flagged && copied); round++) {
		struct inuse_result *r;
		const struct inuse_file *f;
		double sent, got, lw;

		if (!flagged) {
			/* a write, then at once a check */
			assert_int_equal(write(fd, "line\n", 5), 5);
		}
		sent = real_now();
		assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
		got = real_now();
		f = inuse_result__file(r, 0);
		lw = last_write_of(r);
		assert_int_equal(f->state, INUSE_OPEN);
		assert_string_equal(f->rule, "logs");
		assert_true(lw > 0);
		if (got + slack < lw + quiet) {
			assert_int_equal(f->decision, INUSE_FLAG);
		} else if (sent - slack >= lw + quiet) {
			assert_int_equal(f->decision, INUSE_COPY);
			assert_string_equal(f->reason, "quiet");
		}
		if (f->decision == INUSE_FLAG) {
			assert_string_equal(f->reason, "open");
			flagged = true;
		} else {
			assert_int_equal(f->decision, INUSE_COPY);
			assert_string_equal(f->reason, "quiet");
			copied = flagged; /* a copy before any flag: write again */
		}
		inuse_result__free(r);
		if (flagged && !copied)
			usleep(10000); /* let the quiet period pass */
	}
	assert_true(flagged);
	assert_true(copied);
	inuse_client__free(c);
	close(fd);
}

/* check: a rule with an application method returns it. */
static void test_check_method(void **state)
{
	const char *p = in("app.sqlite");
	struct inuse_client *c;
	struct inuse_result *r;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	c = client(10000);
	assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_COPY);
	assert_string_equal(inuse_result__file(r, 0)->reason, "method");
	assert_non_null(inuse_result__file(r, 0)->method_argv);
	assert_string_equal(inuse_result__file(r, 0)->method_argv[0], "sqlite3");
	assert_string_equal(inuse_result__file(r, 0)->method_argv[1], "{path}");
	assert_string_equal(inuse_result__file(r, 0)->method_argv[2], "{dest}");
	assert_null(inuse_result__file(r, 0)->method_argv[3]);
	assert_string_equal(inuse_result__file(r, 0)->rule, "db");
	inuse_result__free(r);
	inuse_client__free(c);
	close(fd);
}

/* verify: unchanged -> consistent; written, opened, replaced, changed
 * (metadata only), missing -> not; a bad token is named as such. */
static void test_verify_fence(void **state)
{
	char p[PATH_MAX], q[PATH_MAX], m[PATH_MAX], ch[PATH_MAX];
	const char *paths[4] = {p, q, m, ch};
	const char *tokens[4];
	char *tok[4];
	struct inuse_client *c;
	struct inuse_result *r, *v;
	int fd;

	need_daemon();
	snprintf(p, sizeof(p), "%s", in("fence.dat"));
	snprintf(q, sizeof(q), "%s", in("fence2.dat"));
	snprintf(m, sizeof(m), "%s", in("fence3.dat"));
	snprintf(ch, sizeof(ch), "%s", in("fence4.dat"));
	for (int i = 0; i < 4; i++)
		td_touch(paths[i]);
	c = client(10000);
	assert_int_equal(inuse_client__check(c, paths, 4, &r), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(inuse_result__file(r, i)->state, INUSE_NOT_OPEN);
		tok[i] = strdup(inuse_result__file(r, i)->token), tokens[i] = tok[i];
	}
	inuse_result__free(r);
	assert_int_equal(inuse_client__verify(c, paths, tokens, 4, &v), 0);
	for (int i = 0; i < 4; i++) {
		assert_true(inuse_result__file(v, i)->consistent);
		assert_string_equal(inuse_result__file(v, i)->reason, "unchanged");
	}
	inuse_result__free(v);
	/* p written and closed, q opened and still open, m replaced, ch's
	 * mode changed (its ctime, not its size or mtime) */
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	fd = open(q, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	{
		/* another file takes the name (rename keeps its own inode) */
		const char *other = in("fence-other.dat");

		td_touch(other);
		assert_int_equal(rename(other, m), 0);
	}
	assert_int_equal(chmod(ch, 0600), 0);
	assert_int_equal(inuse_client__verify(c, paths, tokens, 4, &v), 0);
	assert_false(inuse_result__file(v, 0)->consistent);
	assert_string_equal(inuse_result__file(v, 0)->reason, "written");
	assert_false(inuse_result__file(v, 1)->consistent);
	assert_string_equal(inuse_result__file(v, 1)->reason, "opened");
	assert_false(inuse_result__file(v, 2)->consistent);
	assert_string_equal(inuse_result__file(v, 2)->reason, "replaced");
	assert_false(inuse_result__file(v, 3)->consistent);
	assert_string_equal(inuse_result__file(v, 3)->reason, "changed");
	inuse_result__free(v);
	close(fd);
	tokens[0] = "garbage";
	assert_int_equal(inuse_client__verify(c, paths, tokens, 1, &v), 0);
	assert_string_equal(inuse_result__file(v, 0)->reason, "bad_token");
	inuse_result__free(v);
	for (int i = 0; i < 4; i++)
		free(tok[i]);
	inuse_client__free(c);
}

/*
 * A file written while it was open at check time, in place (same size),
 * its mtime then set back to what the check saw: size and mtime say
 * nothing, only the write generation does, and verify must say "written".
 */
static void test_verify_written_while_open(void **state)
{
	const char *p = in("busy.dat");
	struct timespec times[2];
	struct stat before, after;
	struct inuse_client *c;
	struct inuse_result *r, *v;
	const char *tk;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	c = client(10000);
	assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
	assert_int_equal(fstat(fd, &before), 0);
	tk = inuse_result__file(r, 0)->token;
	assert_int_equal(inuse_client__verify(c, &p, &tk, 1, &v), 0);
	assert_true(inuse_result__file(v, 0)->consistent);
	inuse_result__free(v);
	assert_int_equal(pwrite(fd, "abc", 3, 0), 3);
	times[0].tv_nsec = UTIME_OMIT;
	times[1] = before.st_mtim;
	assert_int_equal(futimens(fd, times), 0);
	assert_int_equal(fstat(fd, &after), 0);
	/* what a stat comparison sees: nothing */
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(inuse_client__verify(c, &p, &tk, 1, &v), 0);
	assert_false(inuse_result__file(v, 0)->consistent);
	assert_string_equal(inuse_result__file(v, 0)->reason, "written");
	inuse_result__free(v);
	inuse_result__free(r);
	inuse_client__free(c);
	close(fd);
}

static long long waiting_now(void)
{
	json_t *st = td_call(&D, "{\"op\":\"stats\"}");
	long long n =
	    json_integer_value(json_object_get(json_object_get(st, "requests"), "waiting"));

	json_decref(st);
	return st ? n : -1;
}

/* Waits (bounded) until the daemon has exactly n waits pending: sent,
 * registered, not answered. With answered_early, fails at once when c
 * has an answer to read meanwhile. */
static bool waiting_is(long long n, struct inuse_client *answered_early)
{
	long long now = -1;

	for (int i = 0; i < 5000; i++) {
		if (answered_early) {
			struct pollfd pf = {.fd = inuse_client__fd(answered_early),
					    .events = POLLIN};

			if (poll(&pf, 1, 0) != 0) {
				fprintf(stderr, "waiting_is: answered before it was released\n");
				return false;
			}
		}
		if ((now = waiting_now()) == n)
			return true;
		usleep(2000);
	}
	fprintf(stderr, "waiting_is: %lld waits pending, wanted %lld\n", now, n);
	return false;
}

/* wait: not answered while the writer holds the file (the wait is seen
 * pending, and no answer has come); answered, done, by the close. */
static void test_wait_released_on_close(void **state)
{
	const char *p = in("waited.dat");
	struct inuse_client *c;
	struct pollfd pf;
	char req[PATH_MAX + 128], *line = NULL;
	json_t *j, *f;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_state_is(&D, p, "open"));
	c = client(30000);
	snprintf(req, sizeof(req), "{\"id\":7,\"op\":\"wait\",\"paths\":[\"%s\"],\"timeout\":%d}",
		 p, TD_TIMEOUT_MS / 1000);
	assert_int_equal(inuse_client__send(c, req, strlen(req)), 0);
	/* pending, unanswered, right before the close */
	assert_true(waiting_is(1, c));
	pf = (struct pollfd){.fd = inuse_client__fd(c), .events = POLLIN};
	assert_int_equal(poll(&pf, 1, 0), 0);
	close(fd);
	assert_int_equal(inuse_client__recv(c, &line, NULL), 0);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 7);
	assert_true(json_is_true(json_object_get(j, "done")));
	f = json_array_get(json_object_get(j, "files"), 0);
	assert_string_equal(json_string_value(json_object_get(f, "state")) ?: "(none)", "not_open");
	json_decref(j);
	free(line);
	assert_true(waiting_is(0, NULL));
	inuse_client__free(c);
}

/* wait: at the timeout, with what is still open. */
static void test_wait_timeout(void **state)
{
	const char *p = in("held.dat"), *q = in("free.dat");
	const char *paths[2] = {p, q};
	struct inuse_client *c;
	struct inuse_result *r;
	int fd;

	need_daemon();
	td_touch(q);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	c = client(30000);
	assert_int_equal(inuse_client__wait(c, paths, 2, 0.3, 0, &r), 0);
	assert_false(inuse_result__done(r));
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 1)->state, INUSE_NOT_OPEN);
	inuse_result__free(r);
	inuse_client__free(c);
	close(fd);
}

/* wait with a quiet period: a closed file written just now is waited for
 * until it was not written for that long (its mtime, not the wait's
 * start, is the reference), and not longer than the timeout. */
static void test_wait_quiet(void **state)
{
	const char *p = in("quiet.dat");
	struct inuse_client *c;
	struct inuse_result *r;
	struct stat st;
	double mtime;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	mtime = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	c = client(30000);
	assert_int_equal(inuse_client__wait(c, &p, 1, 10.0, 0.5, &r), 0);
	assert_true(inuse_result__done(r));
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_NOT_OPEN);
	/* answered once the file had been quiet for 0.5 s */
	assert_true(real_now() >= mtime + 0.5);
	inuse_result__free(r);
	inuse_client__free(c);
}

/* A waiter that disconnects is dropped; many waiters at once. */
static void test_wait_disconnect_and_many(void **state)
{
	const char *p = in("many.dat");
	struct inuse_client *cs[50];
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(td_state_is(&D, p, "open"));
	for (int i = 0; i < 50; i++) {
		char req[PATH_MAX + 100];

		cs[i] = client(30000);
		snprintf(req, sizeof(req),
			 "{\"id\":%d,\"op\":\"wait\",\"paths\":[\"%s\"],\"timeout\":30}", i, p);
		assert_int_equal(inuse_client__send(cs[i], req, strlen(req)), 0);
	}
	assert_true(waiting_is(50, NULL));
	for (int i = 0; i < 25; i++)
		inuse_client__free(cs[i]); /* gone before the answer */
	/* the daemon noticed: 25 waiting clients, and the one asking */
	for (int i = 0; i < 500 && td_stat(&D, "clients") != 26; i++)
		usleep(10000);
	assert_int_equal(td_stat(&D, "clients"), 26);
	close(fd);
	for (int i = 25; i < 50; i++) {
		char *line = NULL;
		json_t *j;

		assert_int_equal(inuse_client__recv(cs[i], &line, NULL), 0);
		j = json_loads(line, 0, NULL);
		assert_true(json_is_true(json_object_get(j, "done")));
		assert_int_equal(json_integer_value(json_object_get(j, "id")), i);
		json_decref(j);
		free(line);
		inuse_client__free(cs[i]);
	}
	{
		json_t *s = td_call(&D, "{\"op\":\"stats\"}");
		json_t *rq = json_object_get(s, "requests");

		assert_int_equal(json_integer_value(json_object_get(rq, "waiting")), 0);
		assert_true(json_integer_value(json_object_get(rq, "waits_abandoned")) >= 25);
		json_decref(s);
	}
}

/* Errors of the new requests: stable codes, the connection lives on. */
static void test_query_errors(void **state)
{
	static const struct {
		const char *req;
		const char *code;
	} cases[] = {
	    {"{\"op\":\"check\"}", "bad_request"},
	    {"{\"op\":\"check\",\"paths\":[]}", "bad_request"},
	    {"{\"op\":\"check\",\"paths\":[1]}", "bad_request"},
	    {"{\"op\":\"wait\",\"paths\":[\"/x\"]}", "bad_request"},
	    {"{\"op\":\"wait\",\"paths\":[\"/x\"],\"timeout\":-1}", "bad_request"},
	    {"{\"op\":\"wait\",\"paths\":[\"/x\"],\"timeout\":\"soon\"}", "bad_request"},
	    {"{\"op\":\"verify\"}", "bad_request"},
	    {"{\"op\":\"verify\",\"files\":[{\"path\":\"/x\"}]}", "bad_request"},
	};
	struct inuse_client *c;

	need_daemon();
	c = client(10000);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line = NULL;
		json_t *j;

		assert_int_equal(
		    inuse_client__call(c, cases[i].req, strlen(cases[i].req), &line, NULL), 0);
		j = json_loads(line, 0, NULL);
		assert_false(json_is_true(json_object_get(j, "ok")));
		assert_string_equal(
		    json_string_value(json_object_get(json_object_get(j, "error"), "code")),
		    cases[i].code);
		json_decref(j);
		free(line);
	}
	{
		/* an unusable path is an error of its own, never the batch's */
		static const char req[] = "{\"op\":\"check\",\"paths\":[\"relative\",\"/\"]}";
		char *line = NULL;
		json_t *j, *f;

		assert_int_equal(inuse_client__call(c, req, sizeof(req) - 1, &line, NULL), 0);
		j = json_loads(line, 0, NULL);
		assert_true(json_is_true(json_object_get(j, "ok")));
		f = json_object_get(j, "files");
		assert_int_equal(json_array_size(f), 2);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(f, 0), "state")), "error");
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(f, 1), "state")),
		    "not_regular");
		json_decref(j);
		free(line);
	}
	inuse_client__free(c);
}

/* SIGHUP reloads the policy; a bad file is refused (file:line in the log)
 * and the old policy stays. */
static void test_policy_reload(void **state)
{
	const char *p = in("reload.tmp");
	struct inuse_client *c;
	struct inuse_result *r;
	char log[8192];
	FILE *f;
	size_t n;

	need_daemon();
	c = client(10000);
	write_conf("policy = { rules = ( { name = \"bad\"; match = [\"*.tmp\"]; open = \"maybe\"; "
		   "} ); };\n");
	kill(D.pid, SIGHUP);
	for (int i = 0; i < 500; i++) {
		f = fopen(D.log, "r");
		n = f ? fread(log, 1, sizeof(log) - 1, f) : 0;
		if (f)
			fclose(f);
		log[n] = '\0';
		if (strstr(log, "config refused"))
			break;
		usleep(10000);
	}
	assert_non_null(strstr(log, "inused.conf:1"));
	assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
	inuse_result__free(r);
	/* still the old policy: *.tmp is the "scratch" rule */
	{
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

		assert_true(fd >= 0);
		assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
		assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
		assert_string_equal(inuse_result__file(r, 0)->rule, "scratch");
		inuse_result__free(r);
		write_conf("policy = { rules = ( { name = \"tmpcopy\"; match = [\"*.tmp\"]; open = "
			   "\"copy\"; } ); };\n");
		kill(D.pid, SIGHUP);
		for (int i = 0; i < 500; i++) {
			assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
			if (!strcmp(inuse_result__file(r, 0)->rule, "tmpcopy")) {
				assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_COPY);
				inuse_result__free(r);
				break;
			}
			inuse_result__free(r);
			assert_true(i < 499);
			usleep(10000);
		}
		close(fd);
	}
	write_conf(conf1);
	kill(D.pid, SIGHUP);
	inuse_client__free(c);
}

/* A config file named on the command line must exist and be valid. */
static void test_bad_config_refuses_start(void **state)
{
	char cmd[PATH_MAX * 2], out[4096];
	FILE *p;
	size_t n;
	int st;

	need_daemon();
	snprintf(cmd, sizeof(cmd), "%s --socket %s/x.sock --config %s/none.conf 2>&1",
		 td_bin("inused"), dir, dir);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(out, "none.conf"));
}

/* inuse-wait: 0 when free, 1 at the timeout naming the open file, 2 on error. */
static void test_inuse_wait_cli(void **state)
{
	const char *p = in("cli.dat");
	char cmd[PATH_MAX * 2], out[4096];
	FILE *f;
	size_t n;
	int fd, st;

	need_daemon();
	td_touch(p);
	snprintf(cmd, sizeof(cmd), "%s --socket %s --timeout 5 %s 2>&1", td_bin("inuse-wait"),
		 D.sock, p);
	assert_int_equal(WEXITSTATUS(system(cmd)), 0);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_true(td_state_is(&D, p, "open"));
	snprintf(cmd, sizeof(cmd), "%s --socket %s --timeout 0.2 %s 2>&1", td_bin("inuse-wait"),
		 D.sock, p);
	f = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_non_null(strstr(out, "still open for writing"));
	assert_non_null(strstr(out, p));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s --socket %s/none.sock %s 2>/dev/null", td_bin("inuse-wait"),
		 dir, p);
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "%s --timeout never %s 2>/dev/null", td_bin("inuse-wait"), p);
	assert_int_equal(WEXITSTATUS(system(cmd)), 2);
}

/* An ordinary user: the state of a file it names, no other user's writers;
 * a path behind a directory it cannot search is an error. */
static void test_check_as_ordinary_user(void **state)
{
	char cmd[PATH_MAX * 3], out[8192], hidden[PATH_MAX];
	const char *p = in("roots-file.dat");
	FILE *f;
	size_t n;
	json_t *j, *files;
	int fd;

	need_daemon();
	snprintf(hidden, sizeof(hidden), "%s/private", dir);
	assert_true(mkdir(hidden, 0700) == 0 || errno == EEXIST);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(td_state_is(&D, p, "open"));
	chmod(D.dir, 0755);
	chmod(D.sock, 0666);
	chmod(dir, 0755);
	snprintf(cmd, sizeof(cmd),
		 "printf '%%s\\n' '{\"id\":1,\"op\":\"check\",\"paths\":[\"%s\",\"%s/x\"]}' | "
		 "setpriv --reuid=65534 --regid=65534 --clear-groups socat - UNIX-CONNECT:%s",
		 p, hidden, D.sock);
	f = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	chmod(D.sock, 0660);
	chmod(D.dir, 0700);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	files = json_object_get(j, "files");
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "state")),
			    "open");
	assert_null(json_object_get(json_array_get(files, 0), "writers"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(files, 1), "state")),
			    "error");
	json_decref(j);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_decisions),
	    cmocka_unit_test(test_check_quiet_period),
	    cmocka_unit_test(test_check_method),
	    cmocka_unit_test(test_verify_fence),
	    cmocka_unit_test(test_verify_written_while_open),
	    cmocka_unit_test(test_wait_released_on_close),
	    cmocka_unit_test(test_wait_timeout),
	    cmocka_unit_test(test_wait_quiet),
	    cmocka_unit_test(test_wait_disconnect_and_many),
	    cmocka_unit_test(test_query_errors),
	    cmocka_unit_test(test_policy_reload),
	    cmocka_unit_test(test_bad_config_refuses_start),
	    cmocka_unit_test(test_inuse_wait_cli),
	    cmocka_unit_test(test_check_as_ordinary_user),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("inused backup queries", tests, group_setup,
					   group_teardown);
}
