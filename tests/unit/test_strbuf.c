// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_strbuf.c - unit tests of userspace/common/strbuf.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/strbuf.h"

/* Checks that b holds exactly the n bytes of want and is NUL-terminated. */
static void assert_sb(const struct strbuf *b, const char *want, size_t n)
{
	assert_int_equal(b->len, n);
	assert_non_null(b->buf);
	assert_memory_equal(b->buf, want, n);
	assert_int_equal(b->buf[n], '\0');
	assert_true(b->cap > b->len);
}

/* sb_add appends bytes (embedded NULs included) and keeps a terminating NUL. */
static void test_add(void **state)
{
	struct strbuf b = {0};

	assert_int_equal(sb_add(&b, "abc", 3), 0);
	assert_sb(&b, "abc", 3);
	assert_int_equal(sb_add(&b, "d\0e", 3), 0);
	assert_sb(&b, "abcd\0e", 6);
	assert_int_equal(sb_adds(&b, "fg"), 0);
	assert_sb(&b, "abcd\0efg", 8);
	sb_free(&b);
}

/* Adding nothing to an empty buffer still gives a valid empty string. */
static void test_add_empty(void **state)
{
	struct strbuf b = {0};

	assert_int_equal(sb_add(&b, "", 0), 0);
	assert_sb(&b, "", 0);
	assert_string_equal(b.buf, "");
	sb_free(&b);
}

/* sb_printf formats and appends, including past the first allocation. */
static void test_printf(void **state)
{
	struct strbuf b = {0};
	char big[1000];

	assert_int_equal(sb_printf(&b, "%d-%s", 42, "x"), 0);
	assert_sb(&b, "42-x", 4);
	assert_int_equal(sb_printf(&b, "%s", ""), 0);
	assert_sb(&b, "42-x", 4);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sb_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 4 + 1 + 999 + 1);
	assert_memory_equal(b.buf, "42-x[zzz", 8);
	assert_int_equal(b.buf[b.len - 1], ']');
	assert_int_equal(b.buf[b.len], '\0');
	sb_free(&b);
}

/* sb_add_u64 writes decimal numbers, the extremes included. */
static void test_add_u64(void **state)
{
	static const struct {
		uint64_t v;
		const char *s;
	} cases[] = {
		{0, "0"},
		{1, "1"},
		{9, "9"},
		{10, "10"},
		{1234567890, "1234567890"},
		{UINT64_MAX - 1, "18446744073709551614"},
		{UINT64_MAX, "18446744073709551615"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf b = {0};

		assert_int_equal(sb_adds(&b, "n="), 0);
		assert_int_equal(sb_add_u64(&b, cases[i].v), 0);
		assert_int_equal(b.len, 2 + strlen(cases[i].s));
		assert_string_equal(b.buf + 2, cases[i].s);
		sb_free(&b);
	}
}

/* sb_consume drops a prefix, and everything when asked for len or more. */
static void test_consume(void **state)
{
	struct strbuf b = {0};

	assert_int_equal(sb_adds(&b, "hello world"), 0);
	sb_consume(&b, 0);
	assert_sb(&b, "hello world", 11);
	sb_consume(&b, 6);
	assert_sb(&b, "world", 5);
	sb_consume(&b, 5);
	assert_sb(&b, "", 0);
	assert_int_equal(sb_adds(&b, "again"), 0);
	sb_consume(&b, 1000);
	assert_sb(&b, "", 0);
	sb_free(&b);
}

/* sb_consume and sb_reset are harmless on a never-used buffer. */
static void test_consume_reset_unallocated(void **state)
{
	struct strbuf b = {0};

	sb_consume(&b, 3);
	assert_int_equal(b.len, 0);
	assert_null(b.buf);
	sb_reset(&b);
	assert_int_equal(b.len, 0);
	assert_null(b.buf);
	sb_free(&b);
}

/* sb_reset empties the buffer but keeps its memory for reuse. */
static void test_reset(void **state)
{
	struct strbuf b = {0};
	size_t cap;

	assert_int_equal(sb_adds(&b, "some text"), 0);
	cap = b.cap;
	sb_reset(&b);
	assert_sb(&b, "", 0);
	assert_int_equal(b.cap, cap);
	assert_int_equal(sb_adds(&b, "xy"), 0);
	assert_sb(&b, "xy", 2);
	sb_free(&b);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

/* sb_reserve grows by doubling from 256, leaves len alone, and never shrinks. */
static void test_reserve_growth(void **state)
{
	static const struct {
		size_t len; /* bytes already in the buffer */
		size_t n;   /* bytes to reserve */
		size_t cap; /* capacity expected from an empty start */
	} cases[] = {
		{0, 0, 256},	 {0, 1, 256},	  {0, 255, 256},  {0, 256, 512},
		{100, 156, 512}, {100, 155, 256}, {0, 1000, 1024}, {0, 5000, 8192},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf b = {0};
		char fill[128];

		memset(fill, 'a', sizeof(fill));
		for (size_t k = 0; k < cases[i].len; k += sizeof(fill)) {
			size_t m = cases[i].len - k < sizeof(fill) ? cases[i].len - k : sizeof(fill);

			assert_int_equal(sb_add(&b, fill, m), 0);
		}
		assert_int_equal(sb_reserve(&b, cases[i].n), 0);
		assert_int_equal(b.len, cases[i].len);
		assert_int_equal(b.cap, cases[i].cap);
		assert_true(b.cap >= b.len + cases[i].n + 1);
		/* asking for less never shrinks */
		assert_int_equal(sb_reserve(&b, 0), 0);
		assert_int_equal(b.cap, cases[i].cap);
		sb_free(&b);
	}
}

/* Reserved room can be written into directly and then committed. */
static void test_reserve_then_write(void **state)
{
	struct strbuf b = {0};

	assert_int_equal(sb_adds(&b, "ab"), 0);
	assert_int_equal(sb_reserve(&b, 4000), 0);
	memset(b.buf + b.len, 'q', 4000);
	b.len += 4000;
	b.buf[b.len] = '\0';
	assert_int_equal(sb_adds(&b, "!"), 0);
	assert_int_equal(b.len, 4003);
	assert_int_equal(b.buf[0], 'a');
	assert_int_equal(b.buf[4001], 'q');
	assert_int_equal(b.buf[4002], '!');
	sb_free(&b);
}

/* A reservation too large to ever be met fails instead of wrapping around. */
static void test_reserve_huge(void **state)
{
	struct strbuf b = {0};

	assert_int_equal(sb_reserve(&b, SIZE_MAX / 2 + 1), -ENOMEM);
	assert_int_equal(sb_adds(&b, "abc"), 0);
	assert_int_equal(sb_reserve(&b, SIZE_MAX - 10), -ENOMEM);
	/* len + n + 1 wraps to a small number here */
	assert_int_equal(sb_reserve(&b, SIZE_MAX - 1), -ENOMEM);
	assert_int_equal(sb_reserve(&b, SIZE_MAX), -ENOMEM);
	assert_sb(&b, "abc", 3);
	sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_empty),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_add_u64),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_consume_reset_unallocated),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_reserve_growth),
		cmocka_unit_test(test_reserve_then_write),
		cmocka_unit_test(test_reserve_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
