// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_clientstat.c - the "stats" member of check (clientstat.h): each
 * record read exactly, and every malformed string refused: a record count
 * that is not the path count, a field missing or extra, a digit that is
 * not lowercase hexadecimal, a number of more than 16 digits, a mode
 * beyond 32 bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "inused/clientstat.h"

static int parse(const char *s, size_t n, struct client_stat *out)
{
	const char *why = NULL;
	int err = client_stats_parse(s, strlen(s), n, out, &why);

	assert_true(err == 0 ? why == NULL : why != NULL);
	return err;
}

static void test_records(void **state)
{
	struct client_stat cs[3];

	(void)state;
	assert_int_equal(parse("fd00,ffffffffffffffff,81a4,0,1,abcdef0123456789;!;-", 3, cs), 0);
	assert_int_equal(cs[0].kind, CS_STAT);
	assert_true(cs[0].dev == 0xfd00 && cs[0].ino == UINT64_MAX && cs[0].mode == 0100644);
	assert_true(cs[0].size == 0 && cs[0].mtime_ns == 1 &&
		    cs[0].ctime_ns == 0xabcdef0123456789ull);
	assert_int_equal(cs[1].kind, CS_MISSING);
	assert_int_equal(cs[2].kind, CS_ASK);
	assert_int_equal(parse("-", 1, cs), 0);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "",				   /* no record */
	    "-;",			   /* an empty one after */
	    ";-",			   /* before */
	    "-;-",			   /* two for one path */
	    "1,2,3,4,5",		   /* a field missing */
	    "1,2,3,4,5,6,7",		   /* one too many */
	    "1,2,3,4,5,",		   /* an empty field */
	    "1,2,3,4,5,G",		   /* not hexadecimal */
	    "1,2,3,4,5,A",		   /* not lowercase */
	    "1,2,3,4,5,-1",		   /* no sign */
	    "1,2,3,4,5, 6",		   /* no space */
	    "1,2,100000000,4,5,6",	   /* a mode beyond 32 bits */
	    "1,2,3,4,5,10000000000000000", /* 17 digits */
	    "--",			   /* a record of two */
	    "!x",
	};
	struct client_stat cs[2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], 1, cs) == 0)
			fail_msg("taken: \"%s\"", bad[i]);
	/* a NUL inside is not the end */
	assert_int_not_equal(client_stats_parse("-\0-", 3, 1, cs, &(const char *){NULL}), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records),
	    cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("check's stats records", tests, NULL, NULL);
}
