// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_jname.c - unit tests of userspace/common/jname.c: every name
 * written with jname_append reads back (JSON, then jname_get) as the
 * same bytes, whatever they are; a name of plain printable ASCII is
 * written as it is; no control byte is written raw.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/jname.h"
#include "common/strbuf.h"

/* name[0..len) written after some text, then read back. */
static void round_trip(const char *name, size_t len)
{
	struct strbuf b = {0};
	json_t *j;
	char *back;
	size_t n = 0;

	assert_int_equal(sb_adds(&b, "["), 0);
	assert_int_equal(jname_append(&b, name, len), 0);
	assert_int_equal(sb_adds(&b, "]"), 0);
	for (size_t i = 0; i < b.len; i++)
		assert_true((unsigned char)b.buf[i] >= 0x20 && b.buf[i] != 0x7f);
	j = json_loadb(b.buf, b.len, 0, NULL);
	assert_non_null(j);
	back = jname_get(json_array_get(j, 0), 4096, &n);
	assert_non_null(back);
	assert_int_equal(n, len);
	assert_memory_equal(back, name, len);
	free(back);
	json_decref(j);
	sb_free(&b);
}

static void test_every_byte(void **state)
{
	for (int c = 1; c < 256; c++) {
		char name[4] = {'a', (char)c, 'z', 0};

		round_trip(name, 3);
		round_trip(name + 1, 1);
	}
}

static void test_plain_as_is(void **state)
{
	struct strbuf b = {0};

	assert_int_equal(jname_append(&b, "/var/lib/db-1.sqlite~", 21), 0);
	assert_string_equal(b.buf, "\"/var/lib/db-1.sqlite~\"");
	sb_reset(&b);
	assert_int_equal(jname_append(&b, "a\"b\\c", 5), 0);
	assert_string_equal(b.buf, "\"a\\\"b\\\\c\"");
	sb_reset(&b);
	/* valid UTF-8 as a string, anything else as bytes */
	assert_int_equal(jname_append(&b, "\xc3\xa9", 2), 0);
	assert_string_equal(b.buf, "\"\xc3\xa9\"");
	sb_reset(&b);
	assert_int_equal(jname_append(&b, "\xff/", 2), 0);
	assert_string_equal(b.buf, "[255,47]");
	sb_free(&b);
}

/* Names of random bytes, mostly ASCII with a few others, at every
 * position. */
static void test_mixed(void **state)
{
	static const unsigned char some[] = {'"',  '\\', '\n', 0x01, 0x7f, 0x80,
					     0xc3, 0xa9, 0xe2, 0x80, 0xae, 0xff};
	uint32_t x = 2463534242u;

	for (int k = 0; k < 20000; k++) {
		char name[40];
		size_t len = 1 + k % 39;

		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			name[i] =
			    x % 4 ? (char)(' ' + x % 95) : (char)some[(x >> 8) % sizeof(some)];
		}
		round_trip(name, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_byte),
	    cmocka_unit_test(test_plain_as_is),
	    cmocka_unit_test(test_mixed),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("names as JSON", tests, NULL, NULL);
}
