// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_bench.c - a smoke run of the benchmark suite (bench/run --smoke), so
 * that it cannot rot: every section runs against the real daemon and the
 * real peers, and the answers it checks must be right. No timing is judged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdaemon.h"

static json_t *load_result(const char *dir)
{
	char pat[PATH_MAX];
	json_t *r = NULL;
	glob_t g;

	snprintf(pat, sizeof(pat), "%s/smoke-*.json", dir);
	if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc)
		r = json_load_file(g.gl_pathv[g.gl_pathc - 1], 0, NULL);
	globfree(&g);
	return r;
}

static void test_bench_smoke(void **state)
{
	char *top = realpath(td_bin(".."), NULL), *build = realpath(td_bin("."), NULL);
	char results[] = "/tmp/inuse-bench-smoke-XXXXXX";
	char work[] = "/var/tmp/inuse-bench-work-XXXXXX"; /* its own: runs may overlap */
	json_t *r, *x;
	size_t i;
	int rc;

	alarm(600);
	if (geteuid() != 0) {
		if (td_must_run())
			fail_msg("the benchmark suite needs root");
		skip();
	}
	assert_non_null(top);
	assert_non_null(build);
	assert_non_null(mkdtemp(results));
	assert_non_null(mkdtemp(work));
	/* the programs of the build this test belongs to (build-san too) */
	rc = td_sh(NULL, 0, "cd %s && INUSE_BUILD=%s bench/run --smoke --work %s --results %s >&2",
		   top, build, work, results);
	assert_int_equal(rc, 0);
	r = load_result(results);
	assert_non_null(r);

	/* every section produced its numbers */
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "overhead"), "rows")),
			 4);
	assert_true(json_number_value(json_object_get(json_object_get(r, "pgbench"), "none_tps")) >
		    0);
	assert_true(json_number_value(json_object_get(json_object_get(r, "queries"), "paths")) > 0);
	assert_true(json_number_value(json_object_get(json_object_get(r, "start"), "rss_mib")) > 0);

	/* each listing candidate found every file (or every holder, for fuser) */
	assert_int_equal(json_array_size(json_object_get(r, "listing")), 2);
	json_array_foreach(json_object_get(r, "listing"), i, x)
	{
		const char *k;
		json_t *v;

		json_object_foreach(json_object_get(x, "wrong"), k, v)
		{
			if (json_integer_value(v))
				fail_msg("listing %s: %s gave a wrong count",
					 json_string_value(json_object_get(x, "size")), k);
		}
	}
	/* the burst: the storm happened (no storm process failed, opens and
	 * closes done, checks asked during it), no wrong answer, the table
	 * came back; on the 64K ring, events were lost and reconciled (or
	 * the lost-events case was not tested) */
	assert_int_equal(json_array_size(json_object_get(r, "burst")), 2);
	json_array_foreach(json_object_get(r, "burst"), i, x)
	{
		const char *ring = json_string_value(json_object_get(x, "ring")) ?: "?";
		const char *why = td_burst_problem(x, !strcmp(ring, "64K"));

		if (why)
			fail_msg("burst on the %s ring: %s", ring, why);
	}
	/* a guarded job: each operation measured in every condition */
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "guard"), "rows")), 2);
	json_array_foreach(json_object_get(json_object_get(r, "guard"), "rows"), i, x)
	{
		assert_true(json_number_value(json_object_get(x, "job")) > 0);
		assert_true(json_number_value(json_object_get(x, "in_job")) > 0);
	}
	/* each backup tool ran, plain and guarded */
	{
		json_t *tools = json_object_get(json_object_get(r, "tools"), "tools");
		static const char *const names[] = {"tar", "rsync", "borg", "restic"};

		for (size_t k = 0; k < 4; k++) {
			json_t *t = json_object_get(tools, names[k]);

			if (!t)
				fail_msg("bench tools: no %s", names[k]);
			assert_true(json_number_value(json_object_get(t, "plain_ms")) > 0);
			assert_true(json_number_value(json_object_get(t, "inuse_run_ms")) > 0);
		}
	}
	json_decref(r);
	td_rmtree(results);
	td_rmtree(work);
	free(top);
	free(build);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bench_smoke),
	};

	td_filter_tests();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
