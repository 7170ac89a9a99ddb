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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"
#include "tdaemon.h"

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
	static char buf[4][PATH_MAX];
	static int k;

	k = (k + 1) % 4;
	snprintf(buf[k], PATH_MAX, "%s/%s", dir, name);
	return buf[k];
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
	assert_true(td_wait_state(&D, paths[2], "open"));
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
	assert_int_equal(f->decision, INUSE_SKIP);
	assert_string_equal(f->rule, "scratch");
	f = inuse_result__file(r, 3);
	assert_int_equal(f->state, INUSE_MISSING);
	assert_int_equal(f->decision, INUSE_SKIP);
	f = inuse_result__file(r, 4);
	assert_int_equal(f->state, INUSE_NOT_REGULAR);
	inuse_result__free(r);
	inuse_client__free(c);
	close(fd_a);
	close(fd_t);
}

/* check: a log open for writing but quiet is copied; written recently it is
 * flagged. */
static void test_check_quiet_period(void **state)
{
	const char *p = in("app.log");
	struct inuse_client *c;
	struct inuse_result *r;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "line\n", 5), 5);
	assert_int_equal(fsync(fd), 0);
	assert_true(td_wait_state(&D, p, "open"));
	c = client(10000);
	assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_FLAG);
	assert_string_equal(inuse_result__file(r, 0)->rule, "logs");
	inuse_result__free(r);
	/* no write for the quiet period (1 s): copy */
	for (int i = 0; i < 300; i++) {
		int d;

		assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
		d = inuse_result__file(r, 0)->decision;
		if (d == INUSE_COPY) {
			assert_string_equal(inuse_result__file(r, 0)->reason, "quiet");
			inuse_result__free(r);
			break;
		}
		inuse_result__free(r);
		assert_true(i < 299);
		usleep(10000);
	}
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
	assert_true(td_wait_state(&D, p, "open"));
	c = client(10000);
	assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
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

/* verify: unchanged -> consistent; written, opened, replaced, missing ->
 * not; a bad token is named as such. */
static void test_verify_fence(void **state)
{
	const char *p = in("fence.dat"), *q = in("fence2.dat"), *m = in("fence3.dat");
	const char *paths[3] = {p, q, m};
	const char *tokens[3];
	char *tok[3];
	struct inuse_client *c;
	struct inuse_result *r, *v;
	int fd;

	need_daemon();
	td_touch(p);
	td_touch(q);
	td_touch(m);
	c = client(10000);
	assert_int_equal(inuse_client__check(c, paths, 3, &r), 0);
	for (int i = 0; i < 3; i++)
		tok[i] = strdup(inuse_result__file(r, i)->token), tokens[i] = tok[i];
	inuse_result__free(r);
	assert_int_equal(inuse_client__verify(c, paths, tokens, 3, &v), 0);
	for (int i = 0; i < 3; i++) {
		assert_true(inuse_result__file(v, i)->consistent);
		assert_string_equal(inuse_result__file(v, i)->reason, "unchanged");
	}
	inuse_result__free(v);
	/* p written and closed, q opened and still open, m replaced */
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	fd = open(q, O_WRONLY | O_CLOEXEC);
	assert_true(td_wait_state(&D, q, "open"));
	{
		/* another file takes the name (rename keeps its own inode) */
		const char *other = in("fence-other.dat");

		td_touch(other);
		assert_int_equal(rename(other, m), 0);
	}
	assert_int_equal(inuse_client__verify(c, paths, tokens, 3, &v), 0);
	assert_false(inuse_result__file(v, 0)->consistent);
	assert_string_equal(inuse_result__file(v, 0)->reason, "written");
	assert_false(inuse_result__file(v, 1)->consistent);
	assert_string_equal(inuse_result__file(v, 1)->reason, "opened");
	assert_false(inuse_result__file(v, 2)->consistent);
	assert_string_equal(inuse_result__file(v, 2)->reason, "replaced");
	inuse_result__free(v);
	close(fd);
	tokens[0] = "garbage";
	assert_int_equal(inuse_client__verify(c, paths, tokens, 1, &v), 0);
	assert_string_equal(inuse_result__file(v, 0)->reason, "bad_token");
	inuse_result__free(v);
	for (int i = 0; i < 3; i++)
		free(tok[i]);
	inuse_client__free(c);
}

/* A file written while it was open at check time: the write generation. */
static void test_verify_written_while_open(void **state)
{
	const char *p = in("busy.dat");
	const char *tk;
	struct inuse_client *c;
	struct inuse_result *r, *v;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(td_wait_state(&D, p, "open"));
	c = client(10000);
	assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
	tk = inuse_result__file(r, 0)->token;
	assert_int_equal(inuse_client__verify(c, &p, &tk, 1, &v), 0);
	assert_true(inuse_result__file(v, 0)->consistent);
	inuse_result__free(v);
	assert_int_equal(pwrite(fd, "abc", 3, 0), 3);
	assert_int_equal(inuse_client__verify(c, &p, &tk, 1, &v), 0);
	assert_false(inuse_result__file(v, 0)->consistent);
	assert_string_equal(inuse_result__file(v, 0)->reason, "written");
	inuse_result__free(v);
	inuse_result__free(r);
	inuse_client__free(c);
	close(fd);
}

struct closer {
	int fd;
	int delay_ms;
};

static void *close_later(void *arg)
{
	struct closer *cl = arg;

	usleep((useconds_t)cl->delay_ms * 1000);
	close(cl->fd);
	return NULL;
}

/* wait: answered when the writer closes, not at the timeout. */
static void test_wait_released_on_close(void **state)
{
	const char *p = in("waited.dat");
	struct closer cl = {.delay_ms = 300};
	struct inuse_client *c;
	struct inuse_result *r;
	pthread_t th;
	uint64_t t0;

	need_daemon();
	cl.fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(td_wait_state(&D, p, "open"));
	c = client(30000);
	assert_int_equal(pthread_create(&th, NULL, close_later, &cl), 0);
	t0 = clock_mono_ns();
	assert_int_equal(inuse_client__wait(c, &p, 1, 20.0, 0, &r), 0);
	assert_true(inuse_result__done(r));
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_NOT_OPEN);
	/* released by the close, long before the 20 s timeout */
	assert_true(clock_mono_ns() - t0 < 15 * NSEC_PER_SEC);
	inuse_result__free(r);
	pthread_join(th, NULL);
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
	assert_true(td_wait_state(&D, p, "open"));
	c = client(30000);
	assert_int_equal(inuse_client__wait(c, paths, 2, 0.3, 0, &r), 0);
	assert_false(inuse_result__done(r));
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 1)->state, INUSE_NOT_OPEN);
	inuse_result__free(r);
	inuse_client__free(c);
	close(fd);
}

/* wait with a quiet period: a closed file written just now is waited for. */
static void test_wait_quiet(void **state)
{
	const char *p = in("quiet.dat");
	struct inuse_client *c;
	struct inuse_result *r;
	uint64_t t0;
	int fd;

	need_daemon();
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	c = client(30000);
	t0 = clock_mono_ns();
	assert_int_equal(inuse_client__wait(c, &p, 1, 10.0, 0.5, &r), 0);
	assert_true(inuse_result__done(r));
	assert_true(clock_mono_ns() - t0 >= 400 * NSEC_PER_MSEC);
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
	assert_true(td_wait_state(&D, p, "open"));
	for (int i = 0; i < 50; i++) {
		char req[PATH_MAX + 100];

		cs[i] = client(30000);
		snprintf(req, sizeof(req),
			 "{\"id\":%d,\"op\":\"wait\",\"paths\":[\"%s\"],\"timeout\":30}", i, p);
		assert_int_equal(inuse_client__send(cs[i], req, strlen(req)), 0);
	}
	for (int i = 0; i < 50 && td_stat(&D, "clients") < 51; i++)
		usleep(10000);
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

		assert_true(td_wait_state(&D, p, "open"));
		assert_int_equal(inuse_client__check(c, &p, 1, &r), 0);
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
	assert_true(td_wait_state(&D, p, "open"));
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
	assert_true(td_wait_state(&D, p, "open"));
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
	if (getenv("INUSE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));
	return cmocka_run_group_tests_name("inused backup queries", tests, group_setup,
					   group_teardown);
}
