// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_timeutil.c - unit tests of userspace/common/timeutil.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/timeutil.h"

#define SEC NSEC_PER_SEC
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Durations that parse, with the nanoseconds they stand for. */
static void test_parse_duration_valid(void **state)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} cases[] = {
		{"90s", 90 * SEC},
		{"1.5s", 1500 * NSEC_PER_MSEC},
		{"2h", 2 * HOUR},
		{"1h30m", HOUR + 30 * MIN},
		{"250ms", 250 * NSEC_PER_MSEC},
		{"10", 10 * SEC},
		{"0", 0},
		{"0s", 0},
		{"3d", 3 * DAY},
		{"5us", 5000},
		{"7ns", 7},
		{"2min", 2 * MIN},
		{"1sec", SEC},
		{"2m", 2 * MIN},
		{"1d2h3m4s5ms", DAY + 2 * HOUR + 3 * MIN + 4 * SEC + 5 * NSEC_PER_MSEC},
		{"0.5h", 30 * MIN},
		{".5s", 500 * NSEC_PER_MSEC},
		{"18446744073709551615ns", UINT64_MAX},
		{"18446744073.709551615s", UINT64_MAX},
		{"213503d", 213503 * DAY},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 12345;
		int rc = parse_duration(cases[i].s, &ns);

		if (rc != 0 || ns != cases[i].ns)
			fail_msg("parse_duration(\"%s\") = %d, %llu ns; want 0, %llu ns", cases[i].s,
				 rc, (unsigned long long)ns, (unsigned long long)cases[i].ns);
	}
}

/* Strings that are not durations give -EINVAL and leave *ns alone. */
static void test_parse_duration_invalid(void **state)
{
	static const char *const cases[] = {
		"",	 "abc",	 "-1s", "1x",	"s",	 "1h-3m", "+5s", "1S",	   "1hh",
		"5 ",	 "ms",	 "inf", "nan",	"infs",	 "1h+3m", "1.2.3s",
		/* past what 64 bits of ns hold */
		"18446744073709551616ns", "18446744073.709551616s", "213504d", "300000000000d",
		"18446744073709551615ns1ns",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 12345;
		int rc = parse_duration(cases[i], &ns);

		if (rc != -EINVAL || ns != 12345)
			fail_msg("parse_duration(\"%s\") = %d, %llu ns; want -EINVAL, untouched",
				 cases[i], rc, (unsigned long long)ns);
	}
	assert_int_equal(parse_duration(NULL, &(uint64_t){0}), -EINVAL);
}

/* Decimal fractions give the exact nanoseconds, not one less (no truncation
 * of a product such as 1.001 * 1e9 = 1000999999.9999999). */
static void test_parse_duration_fraction_exact(void **state)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} cases[] = {
		{"1.001s", 1001000000ULL},
		{"1.003s", 1003000000ULL},
		{"1.001ms", 1001000ULL},
		{"1.001us", 1001ULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ns = 0;

		assert_int_equal(parse_duration(cases[i].s, &ns), 0);
		if (ns != cases[i].ns)
			fail_msg("parse_duration(\"%s\") = %llu ns; want %llu ns", cases[i].s,
				 (unsigned long long)ns, (unsigned long long)cases[i].ns);
	}
}

/* format_duration picks the unit by magnitude; the second part is 2 digits. */
static void test_format_duration(void **state)
{
	static const struct {
		uint64_t ns;
		const char *s;
	} cases[] = {
		{0, "0ms"},
		{999999, "0ms"},
		{NSEC_PER_MSEC, "1ms"},
		{999999999, "999ms"},
		{SEC, "1s"},
		{59 * SEC + 999999999, "59s"},
		{60 * SEC, "1m00s"},
		{12 * MIN, "12m00s"},
		{12 * MIN + 5 * SEC, "12m05s"},
		{59 * MIN + 59 * SEC, "59m59s"},
		{HOUR, "1h00m"},
		{2 * HOUR + 5 * MIN + 59 * SEC, "2h05m"},
		{23 * HOUR + 59 * MIN + 59 * SEC, "23h59m"},
		{DAY, "1d00h"},
		{3 * DAY + 4 * HOUR + 59 * MIN, "3d04h"},
		{400 * DAY + 23 * HOUR, "400d23h"},
		{UINT64_MAX, "213503d23h"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];

		memset(buf, 'X', sizeof(buf));
		format_duration(cases[i].ns, buf, sizeof(buf));
		if (strcmp(buf, cases[i].s) != 0)
			fail_msg("format_duration(%llu) = \"%s\"; want \"%s\"",
				 (unsigned long long)cases[i].ns, buf, cases[i].s);
	}
}

/* A small buffer gets a truncated, still terminated string. */
static void test_format_duration_small_buffer(void **state)
{
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	format_duration(12 * MIN + 34 * SEC, buf, 4);
	assert_string_equal(buf, "12m");
	assert_int_equal(buf[4], 'X');
}

/* Parsing what format_duration wrote gives back the rounded-down value. */
static void test_format_parse_round_trip(void **state)
{
	static const uint64_t cases[] = {0, 5 * SEC, 42 * SEC, 7 * MIN + 3 * SEC};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		uint64_t ns = 1;

		format_duration(cases[i], buf, sizeof(buf));
		assert_int_equal(parse_duration(buf, &ns), 0);
		assert_int_equal(ns, cases[i]);
	}
}

/* Clock sanity that holds whatever the timing: monotonic clocks do not go
 * back, boot time (monotonic plus suspend) read later is never behind
 * monotonic, and boot plus the offset is wall-clock time. */
static void test_clocks(void **state)
{
	uint64_t m1 = clock_mono_ns();
	uint64_t b1 = clock_boot_ns();
	uint64_t m2 = clock_mono_ns();
	uint64_t b2 = clock_boot_ns();
	int64_t off = clock_boot_to_real_offset();
	uint64_t r = clock_real_ns();
	uint64_t b3 = clock_boot_ns();
	int64_t diff;

	assert_true(m1 > 0);
	assert_true(m2 >= m1);
	assert_true(b2 >= b1);
	assert_true(b1 >= m1);
	assert_true(b2 >= m2);
	/* any machine running this test has a wall clock past 2001 */
	assert_true(r > 1000000000ULL * SEC);
	assert_true(off > 0);
	/* b3 + off estimates r; allow a generous minute for scheduling delays */
	diff = (int64_t)r - (int64_t)(b3 + (uint64_t)off);
	if (diff < 0)
		diff = -diff;
	assert_true(diff < (int64_t)(60 * SEC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duration_valid),
		cmocka_unit_test(test_parse_duration_invalid),
		cmocka_unit_test(test_parse_duration_fraction_exact),
		cmocka_unit_test(test_format_duration),
		cmocka_unit_test(test_format_duration_small_buffer),
		cmocka_unit_test(test_format_parse_round_trip),
		cmocka_unit_test(test_clocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
