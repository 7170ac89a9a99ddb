// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_policy.c - patterns, the config file and its errors, decisions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inused/policy.h"

/* glob_match: components, '**', basenames, classes. */
static void test_glob(void **state)
{
	static const struct {
		const char *pat, *path;
		bool want;
	} cases[] = {
	    {"*.log", "/var/log/syslog.log", true},
	    {"*.log", "/var/log/syslog", false},
	    {"*.log", "/a.log/b", false},
	    {"/var/log/**", "/var/log/a", true},
	    {"/var/log/**", "/var/log/x/y.log", true},
	    {"/var/log/**", "/var/lib/a", false},
	    {"/var/log/*", "/var/log/x/y", false},
	    {"/var/log/*", "/var/log/x", true},
	    {"/data/**/*.db", "/data/a.db", true},
	    {"/data/**/*.db", "/data/x/y/z.db", true},
	    {"/data/**/*.db", "/data/x/y/z.dbx", false},
	    {"/data/**/*.db", "/other/a.db", false},
	    {"**/cache/*", "/home/u/cache/f", true},
	    {"**/cache/*", "/cache/f", true},
	    {"**/cache/*", "/cachex/f", false},
	    {"/**/cache/*", "/cache/f", true},
	    {"/srv/?.txt", "/srv/a.txt", true},
	    {"/srv/?.txt", "/srv/ab.txt", false},
	    {"/srv/?", "/srv//", false},
	    {"file[0-9].dat", "/x/file7.dat", true},
	    {"file[0-9].dat", "/x/filex.dat", false},
	    {"file[!0-9].dat", "/x/filex.dat", true},
	    {"file[!0-9].dat", "/x/file1.dat", false},
	    {"[abc]", "/b", true},
	    {"[]]x", "/]x", true},
	    {"a[", "/a[", true},
	    {"/exact/path", "/exact/path", true},
	    {"/exact/path", "/exact/path2", false},
	    {"/exact", "/exact/path", false},
	    {"\\*", "/*", true},
	    {"\\*", "/a", false},
	    {"*", "/anything", true},
	    {"/**", "/a/b/c", true},
	    {"/a/**/b/**/c", "/a/x/b/y/z/c", true},
	    {"/a/**/b/**/c", "/a/x/c", false},
	    {"*.sqlite", "/srv/app/main.sqlite", true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (glob_match(cases[i].pat, cases[i].path) != cases[i].want)
			fail_msg("glob_match(\"%s\", \"%s\") != %d", cases[i].pat, cases[i].path,
				 cases[i].want);
	}
}

/* A pathological pattern ends, with no match. */
static void test_glob_bounded(void **state)
{
	char path[300];

	memset(path, 'a', sizeof(path) - 2);
	path[0] = '/';
	path[sizeof(path) - 2] = 'b';
	path[sizeof(path) - 1] = '\0';
	assert_false(glob_match("/**a**a**a**a**a**a**a**a**a**a**c", path));
}

static char *write_tmp(const char *text)
{
	static char path[64];
	int fd;

	strcpy(path, "/tmp/inuse-policy-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static const char good[] =
    "admin_group = \"backup\";\n"
    "policy = {\n"
    "  default = { open = \"defer\"; defer_max = \"2m\"; fallback = \"skip\"; quiet = 0; };\n"
    "  rules = (\n"
    "    { name = \"logs\"; match = [ \"/var/log/**\", \"*.log\" ]; quiet = \"30s\"; "
    "open = \"flag\"; },\n"
    "    { name = \"db\"; match = \"*.sqlite\"; method = [ \"backup-db\", \"--\", \"{path}\", "
    "\"{dest}\" ]; },\n"
    "    { name = \"tmp\"; match = [ \"/tmp/**\" ]; open = \"skip\"; defer_max = 10; }\n"
    "  );\n"
    "};\n";

/* A good file: rules, inheritance from the default, first match wins. */
static void test_load_good(void **state)
{
	char err[256] = "";
	struct policy p;
	const struct rule *r;
	char *path = write_tmp(good);

	assert_int_equal(policy_load(path, &p, err, sizeof(err)), 0);
	assert_string_equal(p.admin_group, "backup");
	assert_int_equal(p.nrules, 3);
	assert_int_equal(p.dflt.open, DEC_DEFER);
	assert_int_equal(p.dflt.defer_max_ns, 120 * NSEC_PER_SEC);
	r = policy_match(&p, "/var/log/x/app.log");
	assert_string_equal(r->name, "logs");
	assert_int_equal(r->quiet_ns, 30 * NSEC_PER_SEC);
	assert_int_equal(r->fallback, DEC_SKIP); /* inherited */
	r = policy_match(&p, "/srv/a.sqlite");
	assert_string_equal(r->name, "db");
	assert_int_equal(r->open, DEC_DEFER); /* inherited */
	assert_string_equal(r->method[0], "backup-db");
	assert_string_equal(r->method[2], "{path}");
	assert_string_equal(r->method[3], "{dest}");
	assert_null(r->method[4]);
	r = policy_match(&p, "/tmp/x.log"); /* logs comes first */
	assert_string_equal(r->name, "logs");
	r = policy_match(&p, "/tmp/x.dat");
	assert_string_equal(r->name, "tmp");
	assert_int_equal(r->defer_max_ns, 10 * NSEC_PER_SEC);
	assert_ptr_equal(policy_match(&p, "/home/a/b"), &p.dflt);
	policy_free(&p);
	unlink(path);
}

/* Bad files: FILE:LINE: message, and the output is left alone. */
static void test_load_errors(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *what;
	} cases[] = {
	    {"policy = {\n  rules = ( { name = \"a\"; match = [ \"x\" ; } );\n};\n", 2, "syntax"},
	    {"policy = {\n  rules = (\n    { name = \"a\"; match = \"x\"; colour = \"red\"; }\n  "
	     ");\n};\n",
	     3, "unknown setting"},
	    {"policy = {\n  default = { open = \"maybe\"; };\n};\n", 2, "copy, defer"},
	    {"policy = {\n  rules = ( { name = \"a\"; match = \"x\"; quiet = \"soon\"; } );\n};\n",
	     2, "duration"},
	    {"policy = {\n  default = { open = \"defer\"; defer_max = 0; };\n};\n", 2, "defer_max"},
	    {"policy = {\n  rules = ( { name = \"a\"; match = \"x\"; },\n"
	     "            { name = \"a\"; match = \"y\"; } );\n};\n",
	     3, "two rules"},
	    {"policy = {\n  rules = ( { name = \"a\"; match = [ ]; } );\n};\n", 2, "empty"},
	    {"policy = {\n  rules = ( { name = \"a\"; match = \"x\";\n"
	     "   method = [ \"cp\", \"{path}\", \"/backup\" ]; } );\n};\n",
	     3, "{dest}"},
	    {"policy = {\n  rules = ( { match = \"x\"; } );\n};\n", 2, "name"},
	    {"colour = 1;\n", 1, "unknown setting"},
	    {"policy = {\n  default = { fallback = \"defer\"; };\n};\n", 2, "fallback"},
	};
	struct policy p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "", want[128];
		char *path = write_tmp(cases[i].text);

		memset(&p, 0x5a, sizeof(p));
		if (policy_load(path, &p, err, sizeof(err)) == 0)
			fail_msg("case %zu loaded", i);
		snprintf(want, sizeof(want), "%s:%d:", path, cases[i].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, cases[i].what))
			fail_msg("case %zu: \"%s\", wanted \"%s ...%s...\"", i, err, want,
				 cases[i].what);
		for (size_t b = 0; b < sizeof(p); b++)
			assert_int_equal(((unsigned char *)&p)[b], 0x5a);
		unlink(path);
	}
}

/* Alert thresholds: per rule, inherited; the alerts group. */
static void test_alert_settings(void **state)
{
	static const char text[] =
	    "policy = {\n"
	    "  default = { alert_after = \"1h\"; };\n"
	    "  rules = ( { name = \"db\"; match = \"*.db\"; alert_idle = \"10m\"; },\n"
	    "            { name = \"quiet\"; match = \"*.q\"; alert_after = 0; } );\n"
	    "};\n"
	    "alerts = { realert = \"2h\"; hook = \"/bin/true\"; hook_timeout = 3; };\n";
	char err[256] = "";
	struct policy p;
	char *path = write_tmp(text);

	assert_int_equal(policy_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.dflt.alert_after_ns, 3600 * NSEC_PER_SEC);
	assert_int_equal(policy_match(&p, "/x.db")->alert_after_ns, 3600 * NSEC_PER_SEC);
	assert_int_equal(policy_match(&p, "/x.db")->alert_idle_ns, 600 * NSEC_PER_SEC);
	assert_int_equal(policy_match(&p, "/x.q")->alert_after_ns, 0);
	assert_int_equal(p.alerts.realert_ns, 7200 * NSEC_PER_SEC);
	assert_int_equal(p.alerts.hook_timeout_ns, 3 * NSEC_PER_SEC);
	assert_string_equal(p.alerts.hook[0], "/bin/true");
	assert_null(p.alerts.hook[1]);
	policy_free(&p);
	unlink(path);
	path = write_tmp("alerts = { realert = \"0\"; };\n");
	assert_int_not_equal(policy_load(path, &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "realert"));
	unlink(path);
}

static void test_missing_file(void **state)
{
	char err[256];
	struct policy p;

	assert_int_equal(policy_load("/nonexistent/inused.conf", &p, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/inused.conf"));
}

/* Every branch of the decision. */
static void test_decide(void **state)
{
	struct rule r = {.name = "r",
			 .open = DEC_DEFER,
			 .defer_max_ns = 60 * NSEC_PER_SEC,
			 .fallback = DEC_FLAG,
			 .quiet_ns = 10 * NSEC_PER_SEC};
	struct verdict v;

	policy_decide(&r, false, 0, UINT64_MAX, &v);
	assert_int_equal(v.decision, DEC_COPY);
	assert_string_equal(v.reason, "closed");
	policy_decide(&r, true, 100 * NSEC_PER_SEC, 20 * NSEC_PER_SEC, &v);
	assert_int_equal(v.decision, DEC_COPY);
	assert_string_equal(v.reason, "quiet");
	policy_decide(&r, true, 100 * NSEC_PER_SEC, NSEC_PER_SEC, &v);
	assert_int_equal(v.decision, DEC_DEFER);
	assert_string_equal(v.reason, "open");
	assert_int_equal(v.retry_after_ns, NSEC_PER_SEC);
	assert_int_equal(v.defer_max_ns, 60 * NSEC_PER_SEC);
	assert_int_equal(v.fallback, DEC_FLAG);
	/* never written since tracked: quiet counts from the open */
	policy_decide(&r, true, 5 * NSEC_PER_SEC, UINT64_MAX, &v);
	assert_int_equal(v.decision, DEC_DEFER);
	policy_decide(&r, true, 50 * NSEC_PER_SEC, UINT64_MAX, &v);
	assert_int_equal(v.decision, DEC_COPY);
	r.quiet_ns = 0;
	r.open = DEC_SKIP;
	policy_decide(&r, true, 0, 0, &v);
	assert_int_equal(v.decision, DEC_SKIP);
	r.open = DEC_FLAG;
	policy_decide(&r, true, 0, 0, &v);
	assert_int_equal(v.decision, DEC_FLAG);
	char *m[] = {"m", "{path}", "{dest}", NULL};

	r.method = m;
	policy_decide(&r, true, 0, 0, &v);
	assert_int_equal(v.decision, DEC_COPY);
	assert_string_equal(v.reason, "method");
	assert_ptr_equal(v.method, m);
	policy_decide(&r, false, 0, 0, &v);
	assert_null(v.method);
	assert_string_equal(v.rule, "r");
}

static void test_builtin(void **state)
{
	struct policy p;

	policy_builtin(&p);
	assert_int_equal(p.dflt.open, DEC_DEFER);
	assert_int_equal(p.dflt.defer_max_ns, 300 * NSEC_PER_SEC);
	assert_int_equal(p.dflt.fallback, DEC_FLAG);
	assert_ptr_equal(policy_match(&p, "/x"), &p.dflt);
	policy_free(&p);
	policy_free(&p); /* twice is fine */
	assert_string_equal(decision_name(DEC_FLAG), "flag");
}

/* The shipped example loads. */
static void test_example_loads(void **state)
{
	char err[256] = "";
	struct policy p;
	const char *paths[] = {"examples/inused.conf", "../examples/inused.conf",
			       "../../examples/inused.conf"};

	for (size_t i = 0; i < 3; i++) {
		if (access(paths[i], R_OK))
			continue;
		if (policy_load(paths[i], &p, err, sizeof(err)))
			fail_msg("%s", err);
		assert_true(p.nrules > 0);
		policy_free(&p);
		return;
	}
	fail_msg("examples/inused.conf not found");
}

/* Methods and hooks are argument lists: a shell command line is refused,
 * {path} and {dest} only as whole arguments, after a program. */
static void test_methods_and_hooks(void **state)
{
	static const struct {
		const char *text, *what; /* NULL: loads */
	} cases[] = {
	    {"policy = { rules = ( { name = \"a\"; match = \"x\"; method = \"cp {path} {dest}\"; } ); "
	     "};\n",
	     "list of arguments"},
	    {"policy = { rules = ( { name = \"a\"; match = \"x\"; method = [ \"{path}\", \"{dest}\" "
	     "]; } ); };\n",
	     "begin with a program"},
	    {"policy = { rules = ( { name = \"a\"; match = \"x\"; method = [ \"p\", \"--in={path}\", "
	     "\"{dest}\" ]; } ); };\n",
	     "whole arguments"},
	    {"policy = { rules = ( { name = \"a\"; match = \"x\"; method = [ \"p\", \"\" ]; } ); };\n",
	     "non-empty"},
	    {"policy = { rules = ( { name = \"a\"; match = \"x\"; method = [ ]; } ); };\n", "1 to"},
	    {"policy = { rules = ( { name = \"a\"; match = \"x\"; method = [ \"p\", \"--\", "
	     "\"{path}\", \"{dest}\" ]; } ); };\n",
	     NULL},
	    {"alerts = { hook = \"logger -t x; rm x\"; };\n", "list"},
	    {"alerts = { hook = \"/usr/bin/logger\"; };\n", NULL},
	    {"alerts = { hook = [ \"logger\", \"-t\" ]; };\n", "absolute"},
	    {"alerts = { hook = [ \"/usr/bin/logger\", \"-t\", \"inuse\" ]; };\n", NULL},
	    {"all_users = true;\n", NULL},
	    {"all_users = 1;\n", "true or false"},
	    {"@include \"/etc/passwd\"\n", "not allowed"},
	};
	struct policy p;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[512] = "";
		int r = policy_parse(cases[i].text, "t.conf", false, &p, err, sizeof(err));

		if (!cases[i].what) {
			if (r)
				fail_msg("case %zu refused: %s", i, err);
			policy_free(&p);
		} else if (r == 0 || !strstr(err, cases[i].what)) {
			fail_msg("case %zu: \"%s\", wanted ...%s...", i, r ? err : "loaded",
				 cases[i].what);
		}
	}
	assert_int_equal(policy_parse("all_users = true;\n", "t", false, &p, (char[64]){0}, 64), 0);
	assert_true(p.all_users);
	policy_free(&p);
}

/* Files the policy comes from must be out of other users' reach: the file,
 * what it includes, the hook's program. */
static void test_untrusted_files_refused(void **state)
{
	char err[1024], text[512], inc[64], *path;
	struct policy p;
	int fd;

	/* a file its group may write */
	path = write_tmp("policy = { };\n");
	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(policy_load(path, &p, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by its group"));
	assert_non_null(strstr(err, path));
	unlink(path);
	/* an included file others may write */
	strcpy(inc, "/tmp/inuse-inc-XXXXXX");
	fd = mkstemp(inc);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "admin_group = \"x\";\n", 19), 19);
	close(fd);
	assert_int_equal(chmod(inc, 0666), 0);
	snprintf(text, sizeof(text), "@include \"%s\"\n", inc);
	path = write_tmp(text);
	assert_int_not_equal(policy_load(path, &p, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "writable by others"));
	/* the same, out of reach: loads */
	assert_int_equal(chmod(inc, 0644), 0);
	if (policy_load(path, &p, err, sizeof(err)))
		fail_msg("refused: %s", err);
	assert_string_equal(p.admin_group, "x");
	policy_free(&p);
	unlink(path);
	unlink(inc);
	/* a hook's program others may write */
	strcpy(inc, "/tmp/inuse-hook-XXXXXX");
	fd = mkstemp(inc);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(inc, 0777), 0);
	snprintf(text, sizeof(text), "alerts = { hook = [ \"%s\" ]; };\n", inc);
	path = write_tmp(text);
	assert_int_equal(policy_load(path, &p, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "hook"));
	assert_int_equal(chmod(inc, 0755), 0);
	if (policy_load(path, &p, err, sizeof(err)))
		fail_msg("refused: %s", err);
	policy_free(&p);
	unlink(path);
	unlink(inc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glob),	   cmocka_unit_test(test_glob_bounded),
	    cmocka_unit_test(test_load_good),	   cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_missing_file),   cmocka_unit_test(test_decide),
	    cmocka_unit_test(test_alert_settings), cmocka_unit_test(test_builtin),
	    cmocka_unit_test(test_example_loads),  cmocka_unit_test(test_methods_and_hooks),
	    cmocka_unit_test(test_untrusted_files_refused),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
