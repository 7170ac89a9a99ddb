// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_compact.c - check in the compact form (rows, docs/protocol.md) says
 * what the full form says: for files closed, open (with writers), open
 * under rules that skip, flag with a quiet period, or name a method,
 * missing, not regular, not a usable path, and named by bytes that are not
 * UTF-8, libinuse's result (read from the rows) and its text (made from
 * them) match the full answer member for member (tokens aside: each seal
 * has its own nonce, so both are verified instead); the rows echo no
 * path; libinuse still reads a full answer (a daemon without the compact
 * form), and refuses rows that are not one per path. As root, libinuse
 * gives its own stat(2) of each path ("stats", the identity form), so the
 * comparison with the full form (each path looked up by the daemon) is
 * also one of the two ways of knowing the file; the identity form's
 * records are checked on their own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "inuse.h"
#include "lib/internal.h"
#include "rows_agree.h"
#include "tdaemon.h"

static struct tdaemon D;
static char dir[PATH_MAX], conf[PATH_MAX];

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
	FILE *f;

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(dir, "/var/tmp/inuse-c-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(conf, sizeof(conf), "%s/inused.conf", dir);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs(conf1, f);
	fclose(f);
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

static struct inuse_client *client(void)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 10000};
	struct inuse_client *c = NULL;

	assert_int_equal(inuse_client__open(&o, &c), 0);
	return c;
}

#define NPATHS 10

static char names[NPATHS][PATH_MAX];

/* The paths asked about; fds[] hold some open for writing. */
static void make_files(const char **paths, int *fds)
{
	static const char *const base[] = {
	    "closed.dat",   "open.dat", "scratch.tmp",	   "app.log",	 "data.sqlite",
	    "nothing-here", NULL,	"bad\xff\xfe.dat", "closed.log", NULL};

	for (int i = 0; i < NPATHS; i++) {
		if (i == 6)
			snprintf(names[i], PATH_MAX, "%s", dir); /* a directory */
		else if (i == 9)
			snprintf(names[i], PATH_MAX, "relative/path"); /* not usable */
		else
			snprintf(names[i], PATH_MAX, "%s/%s", dir, base[i]);
		paths[i] = names[i];
		fds[i] = -1;
	}
	td_touch(paths[0]);
	td_touch(paths[8]);
	for (int i = 1; i <= 4; i++)
		fds[i] = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	fds[7] = open(paths[7], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	for (int i = 0; i < NPATHS; i++)
		if (i == 7 || (i >= 1 && i <= 4))
			assert_true(fds[i] >= 0);
}

/* The full form, asked for raw. */
static char *full_answer(struct inuse_client *c, const char **paths, size_t n, size_t *len)
{
	struct strbuf b = {0};
	char *line = NULL;

	sb_adds(&b, "{\"op\":\"check\",\"id\":5,\"paths\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_adds(&b, ",");
		jname_append(&b, paths[i], strlen(paths[i]));
	}
	sb_adds(&b, "]}");
	assert_int_equal(inuse_client__call(c, b.buf, b.len, &line, len), 0);
	sb_free(&b);
	return line;
}

/* Is the token that check gave for paths[i] one verify accepts as
 * unchanged? */
static void assert_token_good(struct inuse_client *c, const char *path, const char *token)
{
	struct inuse_result *v;

	assert_int_equal(inuse_client__verify(c, &path, &token, 1, &v), 0);
	assert_int_equal(inuse_result__file(v, 0)->consistent, 1);
	inuse_result__free(v);
}

static void test_compact_matches_full(void **state)
{
	const char *paths[NPATHS];
	struct inuse_client *c;
	struct inuse_result *r;
	int fds[NPATHS];
	json_t *full, *made;
	size_t len;
	char *line;

	td_need(&D);
	make_files(paths, fds);
	c = client();
	/* the writers are in the table before either answer */
	assert_true(td_wait_state(&D, paths[4], "open"));
	assert_int_equal(inuse_client__check(c, paths, NPATHS, &r), 0);
	line = full_answer(c, paths, NPATHS, &len);
	full = json_loadb(line, len, 0, NULL);
	made = json_loads(inuse_result__json(r), 0, NULL);
	assert_non_null(full);
	assert_non_null(made);
	assert_int_equal(inuse_result__count(r), NPATHS);
	assert_int_equal(json_array_size(json_object_get(made, "files")), NPATHS);
	assert_int_equal(json_integer_value(json_object_get(made, "count")), NPATHS);
	for (size_t i = 0; i < NPATHS; i++) {
		json_t *a = json_array_get(json_object_get(full, "files"), i);
		json_t *b = json_array_get(json_object_get(made, "files"), i);
		const struct inuse_file *f = inuse_result__file(r, i);
		const char *ta = json_string_value(json_object_get(a, "token"));
		const char *tb = json_string_value(json_object_get(b, "token"));

		/* a token each, or none */
		assert_true((ta == NULL) == (tb == NULL));
		assert_true((f->token == NULL) == (ta == NULL));
		if (tb) {
			assert_string_equal(tb, f->token);
			assert_token_good(c, paths[i], f->token);
		}
		json_object_del(a, "token");
		json_object_del(b, "token");
		if (!json_equal(a, b)) {
			char *sa = json_dumps(a, JSON_SORT_KEYS),
			     *sb = json_dumps(b, JSON_SORT_KEYS);

			fail_msg("path %zu:\nfull    %s\ncompact %s", i, sa, sb);
		}
		/* the struct as the full form's parser fills it */
		assert_string_equal(f->path, paths[i]);
		assert_string_equal(inuse_state_name(f->state),
				    json_string_value(json_object_get(a, "state")));
		assert_string_equal(f->reason, json_string_value(json_object_get(a, "reason")));
		assert_string_equal(f->rule, json_string_value(json_object_get(a, "rule")));
		assert_int_equal(f->nwriters, json_array_size(json_object_get(a, "writers")));
		assert_true(f->size ==
			    (unsigned long long)json_integer_value(json_object_get(a, "size")));
	}
	/* what each path was */
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_NOT_OPEN);
	assert_int_equal(inuse_result__file(r, 1)->decision, INUSE_DEFER);
	assert_int_equal(inuse_result__file(r, 1)->nwriters, 1);
	assert_true(inuse_result__file(r, 1)->defer_max > 1.9);
	assert_int_equal(inuse_result__file(r, 2)->decision, INUSE_SKIP);
	assert_int_equal(inuse_result__file(r, 4)->state, INUSE_OPEN);
	assert_non_null(inuse_result__file(r, 4)->method_argv);
	assert_string_equal(inuse_result__file(r, 4)->method_argv[0], "sqlite3");
	assert_int_equal(inuse_result__file(r, 5)->state, INUSE_MISSING);
	assert_int_equal(inuse_result__file(r, 6)->state, INUSE_NOT_REGULAR);
	assert_int_equal(inuse_result__file(r, 7)->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 9)->state, INUSE_ERROR);
	json_decref(full);
	json_decref(made);
	free(line);
	inuse_result__free(r);
	for (int i = 0; i < NPATHS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	inuse_client__free(c);
}

/* names[0] and names[1] as dir/a and dir/b, in p[0] and p[1]. */
static void two_names(const char **p, const char *a, const char *b)
{
	snprintf(names[0], PATH_MAX, "%s/%s", dir, a);
	snprintf(names[1], PATH_MAX, "%s/%s", dir, b);
	p[0] = names[0];
	p[1] = names[1];
}

/* The rows on the wire: one per path, no path echoed. */
static void test_rows_echo_no_path(void **state)
{
	const char *p[2];
	struct inuse_client *c;
	json_t *root, *rows;
	char req[2 * PATH_MAX + 64], *line = NULL;
	size_t len;

	td_need(&D);
	two_names(p, "echo-a", "echo-b");
	td_touch(p[0]);
	c = client();
	snprintf(req, sizeof(req),
		 "{\"op\":\"check\",\"compact\":true,\"id\":\"x\",\"paths\":[\"%s\",\"%s\"]}", p[0],
		 p[1]);
	assert_int_equal(inuse_client__call(c, req, strlen(req), &line, &len), 0);
	assert_int_equal(strncmp(line, "{\"id\":\"x\",\"ok\":true,\"rows\":[", 28), 0);
	assert_null(strstr(line, "echo-"));
	root = json_loads(line, 0, NULL);
	rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 0)),
			    "not_open");
	assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 0)),
			    "missing");
	json_decref(root);
	free(line);
	inuse_client__free(c);
}

/* A full answer (from a daemon without the compact form) is read as
 * before; rows that are not one per path are refused. */
static void test_rows_parser_fallback_and_count(void **state)
{
	const char *p[2];
	struct inuse_client *c;
	struct inuse_result *r;
	char req[2 * PATH_MAX + 64], *line = NULL, *copy;
	size_t len;

	td_need(&D);
	two_names(p, "fb-a", "fb-b");
	td_touch(p[0]);
	c = client();
	line = full_answer(c, p, 2, &len);
	assert_int_equal(inuse__rows_parse(line, len, p, 2, &r), 0);
	assert_int_equal(inuse_result__count(r), 2);
	assert_string_equal(inuse_result__file(r, 0)->path, p[0]);
	assert_int_equal(inuse_result__file(r, 1)->state, INUSE_MISSING);
	inuse_result__free(r);
	snprintf(req, sizeof(req), "{\"op\":\"check\",\"compact\":true,\"paths\":[\"%s\",\"%s\"]}",
		 p[0], p[1]);
	assert_int_equal(inuse_client__call(c, req, strlen(req), &line, &len), 0);
	copy = strdup(line);
	/* two rows for one path, and for three */
	assert_int_equal(inuse__rows_parse(line, len, p, 1, &r), -EPROTO);
	assert_int_equal(
	    inuse__rows_parse(strdup(copy), len, (const char *[]){p[0], p[1], p[0]}, 3, &r),
	    -EPROTO);
	assert_int_equal(inuse__rows_parse(copy, len, p, 2, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_NOT_OPEN);
	inuse_result__free(r);
	inuse_client__free(c);
}

/* The rows of common shape are read the quick way, every other row the
 * general way; both give the same, and the quick way keeps no name of the
 * row before when the next one differs. */
static void test_rows_read_quickly(void **state)
{
	static const char *const rows[] = {
	    /* the common row: the names of the row before are taken again */
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.t0\",0]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.t1\",7]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",null,null]",
	    "[\"missing\",\"skip\",\"missing\",\"default\",\"defer\",null,null]",
	    "[\"open\",\"snapshot\",\"open\",\"policy\",\"snapshot\",\"2.t4\",9223372036854775807]",
	    /* the general way: other members, white space, escapes, names
	     * not known, numbers of 20 digits */
	    "[\"open\",\"defer\",\"open\",\"default\",\"defer\",\"2.t5\",5,"
	    "{\"writers\":[{\"pid\":1}],\"retry_after\":3,\"defer_max\":2,\"fallback\":\"skip\"}]",
	    "[ \"not_open\", \"copy\",\"closed\",\"default\",\"defer\",\"2.t6\",0 ]",
	    "[\"not_open\",\"copy\",\"clo\\u0073ed\",\"default\",\"defer\",\"2.\\u0074\",0]",
	    "[\"not_open\",\"copy\",\"closed\",\"my rule\",\"defer\",\"2.t8\",0]",
	    "[\"not_quiet\",\"copy\",\"closed\",\"default\",\"defer\",\"2.t9\",0]",
	    /* the common row again, after rows of other names */
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.tb\",3]",
	};
	/* sizes past what JSON readers take (the full form then is not
	 * JSON either way) */
	static const char *const big[] = {
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.ta\","
	    "18446744073709551615]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.tz\","
	    "99999999999999999999]",
	};
	static const char *const bad[] = {
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.x\",-1]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.x\",1.5]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",7,0]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.x\"]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.x\",0,[]]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.x\",0",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",\"defer\",\"2.x,0]",
	    "[\"not_open\",\"copy\",\"closed\",\"default\",5,\"2.x\",0]",
	};
	const size_t n = sizeof(rows) / sizeof(rows[0]);
	const char *paths[sizeof(rows) / sizeof(rows[0])];
	struct inuse_result *r = inuse__rows_new(n);
	struct strbuf b = {0};

	for (size_t i = 0; i < n; i++)
		paths[i] = "/p";
	sb_adds(&b, "{\"id\":null,\"ok\":true,\"rows\":[");
	for (size_t i = 0; i < n; i++) {
		sb_adds(&b, i ? "," : "");
		sb_adds(&b, rows[i]);
	}
	sb_adds(&b, "],\"count\":11}");
	assert_true(rows_agree(b.buf, b.len, paths, n));
	{
		struct inuse_result *g = inuse__rows_new(n);
		json_t *j;

		assert_int_equal(inuse__rows_add(g, b.buf, b.len, paths, 0, n), 0);
		j = json_loads(inuse_result__json(g), 0, NULL);
		assert_non_null(j); /* the comparison of the two full forms was made */
		assert_int_equal(json_array_size(json_object_get(j, "files")), n);
		json_decref(j);
		inuse_result__free(g);
	}
	assert_int_equal(inuse__rows_add(r, b.buf, b.len, paths, 0, n), 0);
	assert_string_equal(inuse_result__file(r, 1)->token, "2.t1");
	assert_true(inuse_result__file(r, 1)->size == 7);
	assert_null(inuse_result__file(r, 2)->token);
	assert_int_equal(inuse_result__file(r, 3)->state, INUSE_MISSING);
	assert_string_equal(inuse_result__file(r, 3)->reason, "missing");
	assert_int_equal(inuse_result__file(r, 4)->decision, INUSE_SNAPSHOT);
	assert_string_equal(inuse_result__file(r, 4)->rule, "policy");
	assert_true(inuse_result__file(r, 4)->size == 9223372036854775807ull);
	assert_int_equal(inuse_result__file(r, 5)->nwriters, 1);
	assert_int_equal(inuse_result__file(r, 5)->fallback, INUSE_SKIP);
	assert_string_equal(inuse_result__file(r, 7)->reason, "closed");
	assert_string_equal(inuse_result__file(r, 7)->token, "2.t");
	assert_string_equal(inuse_result__file(r, 8)->rule, "my rule");
	assert_int_equal(inuse_result__file(r, 9)->state, INUSE_NOT_QUIET);
	assert_string_equal(inuse_result__file(r, 10)->token, "2.tb");
	assert_string_equal(inuse_result__file(r, 10)->reason, "closed");
	assert_int_equal(inuse_result__file(r, 10)->state, INUSE_NOT_OPEN);
	inuse_result__free(r);
	for (size_t k = 0; k < sizeof(big) / sizeof(big[0]); k++) {
		sb_reset(&b);
		sb_adds(&b, "{\"id\":null,\"ok\":true,\"rows\":[");
		sb_adds(&b, rows[0]);
		sb_adds(&b, ",");
		sb_adds(&b, big[k]);
		sb_adds(&b, "],\"count\":2}");
		assert_true(rows_agree(b.buf, b.len, paths, 2));
		r = inuse__rows_new(2);
		assert_int_equal(inuse__rows_add(r, b.buf, b.len, paths, 0, 2), 0);
		assert_true(inuse_result__file(r, 1)->size == 18446744073709551615ull);
		inuse_result__free(r);
	}
	/* one bad row among good ones: refused both ways */
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		sb_reset(&b);
		sb_adds(&b, "{\"id\":null,\"ok\":true,\"rows\":[");
		sb_adds(&b, rows[0]);
		sb_adds(&b, ",");
		sb_adds(&b, bad[k]);
		sb_adds(&b, "],\"count\":2}");
		assert_true(rows_agree(b.buf, b.len, paths, 2));
		r = inuse__rows_new(2);
		assert_int_equal(inuse__rows_add(r, b.buf, b.len, paths, 0, 2), -EPROTO);
		inuse_result__free(r);
	}
	sb_free(&b);
}

/* One path's stat(2) as a "stats" record. */
static void stat_record(struct strbuf *b, const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	sb_printf(b, "%llx,%llx,%x,%llx,%llx,%llx", (unsigned long long)st.st_dev,
		  (unsigned long long)st.st_ino, st.st_mode, (unsigned long long)st.st_size,
		  (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec,
		  (unsigned long long)st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec);
}

/* The state of row i of a compact answer. */
static const char *row_state(json_t *ans, size_t i)
{
	return json_string_value(
	    json_array_get(json_array_get(json_object_get(ans, "rows"), i), 0));
}

/* An admin's "stats" are what the daemon answers from: the identity it
 * gives (here another file's) is the one looked up, "!" is missing, "-"
 * is looked up by the daemon; a malformed one is refused. */
static void test_identity_form(void **state)
{
	const char *p[2];
	struct strbuf b = {0};
	json_t *j;
	int fd;

	td_need(&D);
	two_names(p, "id-closed", "id-open");
	td_touch(p[0]);
	fd = open(p[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_wait_state(&D, p[1], "open"));
	/* looked up ("-"): the daemon knows the file system after it */
	j = td_call(&D,
		    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"%s\",\"%s\"],"
		    "\"stats\":\"-;-\"}",
		    p[0], p[1]);
	assert_string_equal(row_state(j, 0), "not_open");
	assert_string_equal(row_state(j, 1), "open");
	json_decref(j);
	/* the closed file given the open one's identity; the open one's own */
	sb_printf(&b, "{\"op\":\"check\",\"compact\":true,\"paths\":[\"%s\",\"%s\"],\"stats\":\"",
		  p[0], p[1]);
	stat_record(&b, p[1]);
	sb_adds(&b, ";");
	stat_record(&b, p[1]);
	sb_adds(&b, "\"}");
	j = td_call(&D, "%s", b.buf);
	assert_string_equal(row_state(j, 0), "open");
	assert_string_equal(row_state(j, 1), "open");
	json_decref(j);
	sb_free(&b);
	/* "!": missing, as the client found it */
	j = td_call(&D, "{\"op\":\"check\",\"compact\":true,\"paths\":[\"%s\"],\"stats\":\"!\"}",
		    p[0]);
	assert_string_equal(row_state(j, 0), "missing");
	json_decref(j);
	/* malformed */
	j = td_call(&D, "{\"op\":\"check\",\"paths\":[\"%s\"],\"stats\":5}", p[0]);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "bad_request");
	json_decref(j);
	j = td_call(&D, "{\"op\":\"check\",\"paths\":[\"%s\",\"%s\"],\"stats\":\"-\"}", p[0], p[1]);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			    "bad_request");
	json_decref(j);
	close(fd);
}

/* Files made for test_check_in_parts. */
#define NPARTS (2 * CHECK_CHUNK + 100)

/* More paths than one request takes: libinuse asks in parts, and its
 * result and text are what one request in the full form answers; an
 * error in a later part is the result, and the connection stays in step. */
static void test_check_in_parts(void **state)
{
	static char pbuf[NPARTS][64];
	const char *paths[NPARTS];
	int fds[3];
	const size_t held[3] = {0, CHECK_CHUNK + 7, NPARTS - 1};
	struct inuse_client *c;
	struct inuse_result *r;
	json_t *full, *made;
	size_t len;
	char *line;

	td_need(&D);
	for (size_t i = 0; i < NPARTS; i++) {
		snprintf(pbuf[i], sizeof(pbuf[i]), "%s/part-%zu%s", dir, i,
			 i % 5 == 3 ? ".log" : "");
		paths[i] = pbuf[i];
		if (i % 7 != 5) /* a few missing */
			td_touch(paths[i]);
	}
	for (size_t k = 0; k < 3; k++) {
		fds[k] = open(paths[held[k]], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fds[k] >= 0);
	}
	assert_true(td_wait_state(&D, paths[held[2]], "open"));
	c = client();
	assert_int_equal(inuse_client__check(c, paths, NPARTS, &r), 0);
	assert_int_equal(inuse_result__count(r), NPARTS);
	line = full_answer(c, paths, NPARTS, &len);
	full = json_loadb(line, len, 0, NULL);
	made = json_loads(inuse_result__json(r), 0, NULL);
	assert_non_null(full);
	assert_non_null(made);
	assert_int_equal(json_array_size(json_object_get(made, "files")), NPARTS);
	for (size_t i = 0; i < NPARTS; i++) {
		json_t *a = json_array_get(json_object_get(full, "files"), i);
		json_t *b = json_array_get(json_object_get(made, "files"), i);
		const struct inuse_file *f = inuse_result__file(r, i);

		assert_string_equal(f->path, paths[i]);
		assert_string_equal(inuse_state_name(f->state),
				    json_string_value(json_object_get(a, "state")));
		assert_true((f->token == NULL) == (json_object_get(a, "token") == NULL));
		json_object_del(a, "token");
		json_object_del(b, "token");
		if (!json_equal(a, b)) {
			char *sa = json_dumps(a, JSON_SORT_KEYS),
			     *sb = json_dumps(b, JSON_SORT_KEYS);

			fail_msg("path %zu:\nfull  %s\nparts %s", i, sa, sb);
		}
	}
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(inuse_result__file(r, held[k])->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_DEFER);
	assert_int_equal(inuse_result__file(r, 5)->state, INUSE_MISSING);
	assert_token_good(c, paths[CHECK_CHUNK + 1], inuse_result__file(r, CHECK_CHUNK + 1)->token);
	json_decref(full);
	json_decref(made);
	free(line);
	inuse_result__free(r);
	/* a path the daemon refuses (empty) in the second part */
	paths[CHECK_CHUNK + 3] = "";
	assert_int_equal(inuse_client__check(c, paths, NPARTS, &r), -EREMOTEIO);
	paths[CHECK_CHUNK + 3] = pbuf[CHECK_CHUNK + 3];
	assert_int_equal(inuse_client__check(c, paths, 2, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
	inuse_result__free(r);
	for (size_t k = 0; k < 3; k++)
		close(fds[k]);
	inuse_client__free(c);
}

/* The full form of a verify, asked for raw. */
static json_t *verify_full(struct inuse_client *c, const char *const *paths,
			   const char *const *tokens, size_t n)
{
	struct strbuf b = {0};
	char *line = NULL;
	size_t len;
	json_t *j;

	sb_adds(&b, "{\"op\":\"verify\",\"id\":9,\"files\":[");
	for (size_t i = 0; i < n; i++) {
		sb_adds(&b, i ? ",{\"path\":" : "{\"path\":");
		jname_append(&b, paths[i], strlen(paths[i]));
		sb_adds(&b, ",\"token\":");
		jname_append(&b, tokens[i], strlen(tokens[i]));
		sb_adds(&b, "}");
	}
	sb_adds(&b, "]}");
	assert_int_equal(inuse_client__call(c, b.buf, b.len, &line, &len), 0);
	sb_free(&b);
	j = json_loadb(line, len, 0, NULL);
	assert_non_null(j);
	free(line);
	return j;
}

/* r (a verify in rows) says what the full form says, file by file, and
 * its text is the full form's. */
static void assert_verify_same(struct inuse_client *c, const char *const *paths,
			       const char *const *tokens, size_t n, const struct inuse_result *r)
{
	json_t *full = verify_full(c, paths, tokens, n);
	json_t *made = json_loads(inuse_result__json(r), 0, NULL);

	assert_non_null(made);
	assert_int_equal(inuse_result__count(r), n);
	assert_int_equal(json_integer_value(json_object_get(made, "count")), n);
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(json_object_get(full, "files"), i);
		json_t *b = json_array_get(json_object_get(made, "files"), i);
		const struct inuse_file *f = inuse_result__file(r, i);

		if (!json_equal(a, b)) {
			char *sa = json_dumps(a, JSON_SORT_KEYS),
			     *sb = json_dumps(b, JSON_SORT_KEYS);

			fail_msg("file %zu:\nfull %s\nrows %s", i, sa, sb);
		}
		assert_string_equal(f->path, paths[i]);
		assert_string_equal(f->reason, json_string_value(json_object_get(a, "reason")));
		assert_int_equal(f->consistent, json_is_true(json_object_get(a, "consistent")));
	}
	json_decref(full);
	json_decref(made);
}

/* verify in rows (as root with its own stat of each path), alone and in
 * parts, says for each file what the full form says: unchanged, written,
 * opened, replaced, missing, a token of another file, a made-up token. */
static void test_verify_rows(void **state)
{
	enum { NV = 8, NVPARTS = CHECK_CHUNK * 2 + 7 };
	static char pb[NV][PATH_MAX];
	static const char *many[NVPARTS], *many_tok[NVPARTS];
	const char *paths[NV], *tokens[NV];
	struct inuse_client *c;
	struct inuse_result *chk, *r;
	char other[PATH_MAX];
	int fd;

	td_need(&D);
	for (int i = 0; i < NV; i++) {
		snprintf(pb[i], PATH_MAX, "%s/v%d", dir, i);
		paths[i] = pb[i];
		td_touch(paths[i]);
	}
	snprintf(other, sizeof(other), "%s/v-other", dir);
	td_touch(other);
	c = client();
	assert_int_equal(inuse_client__check(c, paths, NV, &chk), 0);
	for (int i = 0; i < NV; i++)
		tokens[i] = inuse_result__file(chk, i)->token;
	tokens[6] = inuse_result__file(chk, 0)->token; /* another file's */
	tokens[7] = "2.AAAAmadeup";
	/* 1 written, 2 opened for writing (and held), 3 replaced, 4 gone */
	fd = open(paths[1], O_WRONLY | O_APPEND);
	assert_true(fd >= 0 && write(fd, "x", 1) == 1);
	close(fd);
	fd = open(paths[2], O_WRONLY);
	assert_true(fd >= 0);
	assert_true(td_wait_state(&D, paths[2], "open"));
	assert_int_equal(rename(other, paths[3]), 0);
	assert_int_equal(unlink(paths[4]), 0);
	assert_int_equal(inuse_client__verify(c, paths, tokens, NV, &r), 0);
	assert_verify_same(c, paths, tokens, NV, r);
	assert_int_equal(inuse_result__file(r, 0)->consistent, 1);
	assert_string_equal(inuse_result__file(r, 1)->reason, "written");
	assert_string_equal(inuse_result__file(r, 2)->reason, "opened");
	assert_string_equal(inuse_result__file(r, 3)->reason, "replaced");
	assert_string_equal(inuse_result__file(r, 4)->reason, "missing");
	assert_string_equal(inuse_result__file(r, 6)->reason, "replaced");
	assert_string_equal(inuse_result__file(r, 7)->reason, "bad_token");
	inuse_result__free(r);
	/* in parts: the same files over and over (seven of them: no part
	 * and no batch of lookups begins with the same one) */
	for (size_t i = 0; i < NVPARTS; i++) {
		many[i] = paths[i % 7];
		many_tok[i] = tokens[i % 7];
	}
	assert_int_equal(inuse_client__verify(c, many, many_tok, NVPARTS, &r), 0);
	assert_verify_same(c, many, many_tok, NVPARTS, r);
	assert_string_equal(inuse_result__file(r, CHECK_CHUNK + 1)->reason,
			    (CHECK_CHUNK + 1) % 7 == 2 ? "opened" : "?");
	inuse_result__free(r);
	close(fd);
	inuse_result__free(chk);
	inuse_client__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compact_matches_full),
	    cmocka_unit_test(test_rows_echo_no_path),
	    cmocka_unit_test(test_rows_parser_fallback_and_count),
	    cmocka_unit_test(test_rows_read_quickly),
	    cmocka_unit_test(test_identity_form),
	    cmocka_unit_test(test_check_in_parts),
	    cmocka_unit_test(test_verify_rows),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("check in the compact form", tests, group_setup,
					   group_teardown);
}
