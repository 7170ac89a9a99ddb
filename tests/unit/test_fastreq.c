// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_fastreq.c - a check request in libinuse's form is read without a
 * JSON tree (fastreq.h), and only that form: every variation (an id,
 * another order, spaces, an escape, a byte outside printable ASCII, a
 * name as bytes, an empty or too long name, stats with other characters,
 * anything after) is left to the JSON parser; what it takes, JSON reads
 * as the same request (tests/lib/fastreq_agree.h, also run by the request
 * fuzzer over every line).
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

#include "common/strbuf.h"
#include "fastreq_agree.h"
#include "inused/fastreq.h"
#include "inused/request.h"

static bool takes(const char *line, struct fastreq *r)
{
	return fastreq_check(line, strlen(line), PROTO_NAME_MAX, r);
}

static void test_the_form(void **state)
{
	static const char *const ok[] = {
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\",\"/b c\",\"rel\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/"
	    "a\"],\"stats\":\"fd00,1,81a4,0,0,0\"}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\",\"/b\"],\"stats\":\"!;-\"}",
	    /* stats the form takes and the stats parser refuses: refused later */
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":\"\"}",
	    /* a verify: one token a path */
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\",\"/b\"],\"tokens\":[\"2.x\",\"t "
	    "2\"]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[\"2.x\"],\"stats\":"
	    "\"!\"}",
	};
	struct fastreq r;
	struct namev nv;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!takes(ok[i], &r))
			fail_msg("not taken: %s", ok[i]);
		assert_true(fastreq_agrees(ok[i], strlen(ok[i])));
	}
	assert_true(takes(ok[0], &r));
	assert_int_equal(r.n, 3);
	assert_null(r.stats);
	assert_int_equal(fastreq_paths(&r, &nv), 0);
	assert_int_equal(nv.n, 3);
	assert_string_equal(nv.v[0], "/a");
	assert_string_equal(nv.v[1], "/b c");
	assert_string_equal(nv.v[2], "rel");
	assert_true(nv.bytes > 0);
	namev_free(&nv);
	assert_true(takes(ok[2], &r));
	assert_int_equal(r.stats_len, 3);
	assert_memory_equal(r.stats, "!;-", 3);
	assert_false(r.verify);
	assert_true(takes(ok[4], &r));
	assert_true(r.verify);
	assert_int_equal(r.n, 2);
	assert_int_equal(fastreq_tokens(&r, &nv), 0);
	assert_int_equal(nv.n, 2);
	assert_string_equal(nv.v[0], "2.x");
	assert_string_equal(nv.v[1], "t 2");
	namev_free(&nv);
}

static void test_other_forms_left_to_json(void **state)
{
	static const char *const other[] = {
	    "{\"id\":1,\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"]}",
	    "{\"compact\":true,\"op\":\"check\",\"paths\":[\"/a\"]}",
	    "{\"op\":\"check\", \"compact\":true,\"paths\":[\"/a\"]}",
	    "{\"op\":\"check\",\"compact\":false,\"paths\":[\"/a\"]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[\"x\",\"y\"]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\",\"/b\"],\"tokens\":[\"x\"]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[\"x\\\"\"]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[5]}",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[\"x\"]",
	    "{\"op\":\"verify\",\"compact\":true,\"paths\":[\"/"
	    "a\"],\"stats\":\"!\",\"tokens\":[\"x\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"tokens\":[\"x\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\\\"b\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\\u0041\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/\xc3\xa9\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\tb\"]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[[47,255]]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\",]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\" ]}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"]} ",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"]}}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"]",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":\"A\"}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":\"x\"}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":5}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":\"-\",\"x\":1}",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":\"-\"",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a\"],\"stats\":\"-",
	    "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/a",
	};
	struct strbuf b = {0};
	struct fastreq r;

	(void)state;
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (takes(other[i], &r))
			fail_msg("taken: %s", other[i]);
	/* a NUL inside a name */
	{
		static const char nul[] = "{\"op\":\"check\",\"compact\":true,\"paths\":[\"/\0\"]}";

		assert_false(fastreq_check(nul, sizeof(nul) - 1, PROTO_NAME_MAX, &r));
	}
	/* a name of the longest length taken, and one byte more */
	for (int extra = 0; extra < 2; extra++) {
		sb_reset(&b);
		sb_adds(&b, "{\"op\":\"check\",\"compact\":true,\"paths\":[\"");
		for (size_t i = 0; i < PROTO_NAME_MAX + (size_t)extra; i++)
			sb_add(&b, "a", 1);
		sb_adds(&b, "\"]}");
		assert_int_equal(fastreq_check(b.buf, b.len, PROTO_NAME_MAX, &r), extra == 0);
		assert_true(fastreq_agrees(b.buf, b.len));
	}
	sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_form),
	    cmocka_unit_test(test_other_forms_left_to_json),
	};

	return cmocka_run_group_tests_name("check requests read without a JSON tree", tests, NULL,
					   NULL);
}
