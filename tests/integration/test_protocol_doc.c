// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_protocol_doc.c - every example request in docs/protocol.md, sent as
 * written to the running daemon, must be answered ok with its id; the shell
 * examples must run as written (with the test daemon's socket).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"

static struct tdaemon D;

static int group_setup(void **state)
{
	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	if (td_start(&D, NULL) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	return 0;
}

static FILE *open_doc(void)
{
	char path[PATH_MAX];
	FILE *f;

	/* the build dir is next to docs/ */
	snprintf(path, sizeof(path), "%s/../docs/protocol.md", td_bin(""));
	f = fopen(path, "r");
	if (!f)
		f = fopen("docs/protocol.md", "r");
	assert_non_null(f);
	return f;
}

/* Indented lines that are requests: {"id":N,"op":...}. */
static void test_doc_requests(void **state)
{
	char line[4096];
	int sent = 0;
	FILE *f;

	td_need(&D);
	f = open_doc();
	while (fgets(line, sizeof(line), f)) {
		json_t *req, *r;
		char *s = line;

		if (strncmp(s, "    {\"id\":", 10) || !strstr(s, "\"op\":"))
			continue;
		s[strcspn(s, "\n")] = '\0';
		while (*s == ' ')
			s++;
		req = json_loads(s, 0, NULL);
		assert_non_null(req);
		r = td_call(&D, "%s", s);
		if (!r || !json_is_true(json_object_get(r, "ok")))
			fail_msg("example not answered ok: %s", s);
		assert_true(json_equal(json_object_get(r, "id"), json_object_get(req, "id")));
		json_decref(r);
		json_decref(req);
		sent++;
	}
	fclose(f);
	assert_true(sent >= 8);
}

/* The shell examples under "From a shell" run as written. */
static void test_doc_shell_examples(void **state)
{
	char line[4096];
	bool in_shell = false;
	int ran = 0;
	FILE *f;

	td_need(&D);
	f = open_doc();
	while (fgets(line, sizeof(line), f)) {
		char cmd[8192], *s, *at;
		int st;

		if (!strncmp(line, "## From a shell", 15)) {
			in_shell = true;
			continue;
		}
		if (!in_shell || strncmp(line, "    ", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		s = line + 4;
		at = strstr(s, "/run/inuse/inuse.sock");
		assert_non_null(at);
		snprintf(cmd, sizeof(cmd), "%.*s%s%s >/dev/null", (int)(at - s), s, D.sock,
			 at + strlen("/run/inuse/inuse.sock"));
		st = system(cmd);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("shell example failed: %s", s);
		ran++;
	}
	fclose(f);
	assert_true(ran >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_doc_requests),
	    cmocka_unit_test(test_doc_shell_examples),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("docs/protocol.md examples", tests, group_setup,
					   group_teardown);
}
