// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_options.c - unit tests of userspace/inused/options.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "inused/options.h"

#define MAX_ARGS 8
#define MAX_SAVED 512

/*
 * Every argument is a fresh strdup() kept until the end: options_parse keeps
 * pointers into argv (socket, group), and glibc's getopt remembers a pointer
 * into the previous argv across calls (options_parse resets optind to 1, not
 * 0), so argument memory must not be reused between calls.
 */
static char *saved[MAX_SAVED];
static size_t nsaved;
static char err[256];

static char *keep(const char *s)
{
	assert_true(nsaved < MAX_SAVED);
	saved[nsaved] = strdup(s);
	assert_non_null(saved[nsaved]);
	return saved[nsaved++];
}

static int free_saved(void **state)
{
	while (nsaved)
		free(saved[--nsaved]);
	return 0;
}

/* Runs options_parse on "inused" followed by the NULL-terminated args,
 * starting from the defaults. */
static int parse(struct options *o, const char *const *args)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	options_defaults(o);
	argv[argc++] = keep("inused");
	for (; args[argc - 1]; argc++) {
		assert_true(argc <= MAX_ARGS);
		argv[argc] = keep(args[argc - 1]);
	}
	argv[argc] = NULL;
	memset(err, 0, sizeof(err));
	return options_parse(o, argc, argv, err, sizeof(err));
}

/* Checks every field of two option sets. */
static void assert_options_equal(const struct options *a, const struct options *b)
{
	assert_string_equal(a->socket, b->socket);
	if (a->group || b->group) {
		assert_non_null(a->group);
		assert_non_null(b->group);
		assert_string_equal(a->group, b->group);
	}
	assert_int_equal(a->max_files, b->max_files);
	assert_int_equal(a->max_writers, b->max_writers);
	assert_int_equal(a->ring_bytes, b->ring_bytes);
	assert_int_equal(a->wake_interval_ns, b->wake_interval_ns);
	assert_int_equal(a->max_clients, b->max_clients);
	assert_int_equal(a->max_line, b->max_line);
	assert_int_equal(a->max_output, b->max_output);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->no_uring, b->no_uring);
	assert_int_equal(a->help, b->help);
	assert_int_equal(a->version, b->version);
}

/* The defaults documented in the usage text. */
static void test_defaults(void **state)
{
	struct options o;

	memset(&o, 0xa5, sizeof(o));
	options_defaults(&o);
	assert_string_equal(o.socket, INUSE_DEFAULT_SOCKET);
	assert_string_equal(o.socket, "/run/inuse/inuse.sock");
	assert_null(o.group);
	assert_int_equal(o.max_files, 131072);
	assert_int_equal(o.max_writers, 64);
	assert_int_equal(o.ring_bytes, 4 << 20);
	assert_int_equal(o.wake_interval_ns, 2 * NSEC_PER_MSEC);
	assert_int_equal(o.max_clients, 256);
	assert_int_equal(o.max_line, 8 << 20);
	assert_int_equal(o.max_output, 16 << 20);
	assert_int_equal(o.log_level, LOG_LVL_INFO);
	assert_false(o.no_uring);
	assert_false(o.help);
	assert_false(o.version);
}

/* No arguments: success, defaults untouched. */
static void test_no_args(void **state)
{
	static const char *const args[] = {NULL};
	struct options o, want;

	assert_int_equal(parse(&o, args), 0);
	options_defaults(&want);
	assert_options_equal(&o, &want);
}

enum field { F_MAXF, F_MAXW, F_RING, F_WAKE, F_MAXC, F_MAXR, F_MAXO, F_LOG, F_BOOL };

static void set_field(struct options *o, enum field f, uint64_t v)
{
	switch (f) {
	case F_MAXF: o->max_files = (size_t)v; break;
	case F_MAXW: o->max_writers = (uint32_t)v; break;
	case F_RING: o->ring_bytes = (size_t)v; break;
	case F_WAKE: o->wake_interval_ns = v; break;
	case F_MAXC: o->max_clients = (size_t)v; break;
	case F_MAXR: o->max_line = (size_t)v; break;
	case F_MAXO: o->max_output = (size_t)v; break;
	case F_LOG: o->log_level = (enum log_level)v; break;
	case F_BOOL: break;
	}
}

/* Each numeric or level option, in both spellings, at and inside its bounds,
 * sets its field and nothing else. */
static void test_valid_values(void **state)
{
	static const struct {
		const char *args[3];
		enum field f;
		uint64_t v;
	} cases[] = {
		{{"--max-files", "16"}, F_MAXF, 16},
		{{"--max-files=1000"}, F_MAXF, 1000},
		{{"--max-files", "1K"}, F_MAXF, 1024},
		{{"--max-files", "16M"}, F_MAXF, 16 << 20},
		{{"--max-writers", "1"}, F_MAXW, 1},
		{{"--max-writers=65535"}, F_MAXW, 65535},
		{{"--ring-size", "64K"}, F_RING, 64 << 10},
		{{"--ring-size", "8M"}, F_RING, 8 << 20},
		{{"--ring-size=1G"}, F_RING, 1 << 30},
		{{"--ring-size", "131072"}, F_RING, 131072},
		{{"--wake-interval", "5ms"}, F_WAKE, 5 * NSEC_PER_MSEC},
		{{"--wake-interval=0"}, F_WAKE, 0},
		{{"--wake-interval", "1s"}, F_WAKE, NSEC_PER_SEC},
		{{"--wake-interval", "500us"}, F_WAKE, 500000},
		{{"--max-clients", "1"}, F_MAXC, 1},
		{{"--max-clients=65536"}, F_MAXC, 65536},
		{{"--max-request", "1024"}, F_MAXR, 1024},
		{{"--max-request=1G"}, F_MAXR, 1 << 30},
		{{"--max-output", "4096"}, F_MAXO, 4096},
		{{"--max-output=4G"}, F_MAXO, (uint64_t)1 << 32},
		{{"--log-level", "error"}, F_LOG, LOG_LVL_ERR},
		{{"--log-level", "err"}, F_LOG, LOG_LVL_ERR},
		{{"--log-level=warning"}, F_LOG, LOG_LVL_WARN},
		{{"--log-level", "warn"}, F_LOG, LOG_LVL_WARN},
		{{"--log-level", "info"}, F_LOG, LOG_LVL_INFO},
		{{"-l", "debug"}, F_LOG, LOG_LVL_DEBUG},
		{{"-ldebug"}, F_LOG, LOG_LVL_DEBUG},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options o, want;
		int rc = parse(&o, cases[i].args);

		if (rc != 0)
			fail_msg("%s %s: rc %d (%s)", cases[i].args[0],
				 cases[i].args[1] ? cases[i].args[1] : "", rc, err);
		options_defaults(&want);
		set_field(&want, cases[i].f, cases[i].v);
		assert_options_equal(&o, &want);
	}
}

/* Flags and string options. */
static void test_flags_and_strings(void **state)
{
	static const struct {
		const char *args[3];
		const char *socket, *group;
		bool no_uring, help, version;
	} cases[] = {
		{{"--no-uring"}, NULL, NULL, true, false, false},
		{{"-h"}, NULL, NULL, false, true, false},
		{{"--help"}, NULL, NULL, false, true, false},
		{{"-V"}, NULL, NULL, false, false, true},
		{{"--version"}, NULL, NULL, false, false, true},
		{{"-hV"}, NULL, NULL, false, true, true},
		{{"-s", "/tmp/a.sock"}, "/tmp/a.sock", NULL, false, false, false},
		{{"--socket", "/x"}, "/x", NULL, false, false, false},
		{{"--socket=/run/y.sock"}, "/run/y.sock", NULL, false, false, false},
		{{"-s/z"}, "/z", NULL, false, false, false},
		{{"-g", "wheel"}, NULL, "wheel", false, false, false},
		{{"--group=adm"}, NULL, "adm", false, false, false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options o, want;
		int rc = parse(&o, cases[i].args);

		if (rc != 0)
			fail_msg("%s: rc %d (%s)", cases[i].args[0], rc, err);
		options_defaults(&want);
		if (cases[i].socket)
			want.socket = cases[i].socket;
		want.group = cases[i].group;
		want.no_uring = cases[i].no_uring;
		want.help = cases[i].help;
		want.version = cases[i].version;
		assert_options_equal(&o, &want);
	}
}

/* Several options together; a repeated option: the last one wins. */
static void test_combined(void **state)
{
	static const char *const args[] = {"--max-files", "100", "-l",		"debug",
					   "--no-uring",  "--max-files=200", NULL};
	struct options o;

	assert_int_equal(parse(&o, args), 0);
	assert_int_equal(o.max_files, 200);
	assert_int_equal(o.log_level, LOG_LVL_DEBUG);
	assert_true(o.no_uring);
	assert_int_equal(o.max_writers, 64);
}

/* Out-of-range or malformed values (given as --opt=value) are refused with a
 * message naming the option and the value. */
static void test_bad_values(void **state)
{
	static const char *const cases[] = {
		"--max-files=15",	 "--max-files=0",	 "--max-files=16777217",
		"--max-files=abc",	 "--max-files=",	 "--max-files=-5",
		"--max-writers=0",	 "--max-writers=65536",	 "--ring-size=3M",
		"--ring-size=32K",	 "--ring-size=2G",	 "--ring-size=0",
		"--ring-size=65537",	 "--ring-size=96K",	 "--wake-interval=2s",
		"--wake-interval=abc",	 "--wake-interval=-1ms", "--wake-interval=1001ms",
		"--max-clients=0",	 "--max-clients=65537",	 "--max-request=1023",
		"--max-request=2G",	 "--max-output=4095",	 "--max-output=5G",
		"--log-level=loud",	 "--log-level=",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = {cases[i], NULL};
		const char *eq = strchr(cases[i], '=');
		char name[64], value[64];
		struct options o;

		snprintf(name, sizeof(name), "%.*s", (int)(eq - cases[i]), cases[i]);
		snprintf(value, sizeof(value), "'%s'", eq + 1);
		if (parse(&o, args) != -EINVAL)
			fail_msg("%s accepted", cases[i]);
		if (!strstr(err, name) || !strstr(err, value))
			fail_msg("%s: message \"%s\" does not name %s and %s", cases[i], err, name,
				 value);
	}
}

/* With the value as a separate argument ("--ring-size 3M", the usual form),
 * the message must still name the option, not only the value. */
static void test_bad_value_separate_arg_names_option(void **state)
{
	static const struct {
		const char *opt, *val;
	} cases[] = {
		{"--ring-size", "3M"},
		{"--max-files", "abc"},
		{"--wake-interval", "2s"},
		{"-l", "loud"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[] = {cases[i].opt, cases[i].val, NULL};
		struct options o;

		assert_int_equal(parse(&o, args), -EINVAL);
		if (!strstr(err, cases[i].opt))
			fail_msg("%s %s: message \"%s\" does not name %s", cases[i].opt,
				 cases[i].val, err, cases[i].opt);
	}
}

/* A short option's bad value is blamed on that option, also after an earlier
 * call failed on another option (getopt's optopt is left over). */
static void test_bad_short_value_after_error(void **state)
{
	static const char *const first[][3] = {{"-x", NULL}, {"--socket", NULL}, {"-g", NULL}};
	static const char *const second[] = {"-l", "loud", NULL};

	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		struct options o;

		assert_int_equal(parse(&o, first[i]), -EINVAL);
		assert_int_equal(parse(&o, second), -EINVAL);
		assert_string_equal(err, "bad value 'loud' for -l");
	}
}

/* --socket must be absolute. */
static void test_socket_relative(void **state)
{
	static const char *const cases[][3] = {
		{"--socket", "inuse.sock", NULL},
		{"-s", "./x", NULL},
		{"--socket=run/x", NULL},
		{"--socket=", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options o;

		assert_int_equal(parse(&o, cases[i]), -EINVAL);
		assert_non_null(strstr(err, "--socket"));
		assert_non_null(strstr(err, "absolute"));
		assert_string_equal(o.socket, INUSE_DEFAULT_SOCKET);
	}
}

/* Unknown options and options missing their value: -EINVAL, and the message
 * names the option. */
static void test_unknown_and_missing(void **state)
{
	static const struct {
		const char *args[3];
		const char *msg;
	} cases[] = {
		{{"--bogus"}, "unknown option --bogus"},
		{{"--bogus=1"}, "unknown option --bogus=1"},
		{{"-x"}, "unknown option -x"},
		{{"--no-uring", "-q"}, "unknown option -q"},
		{{"--max-files"}, "option --max-files needs a value"},
		{{"--ring-size"}, "option --ring-size needs a value"},
		{{"--socket"}, "option --socket needs a value"},
		{{"--no-uring", "-s"}, "option -s needs a value"},
		{{"-l"}, "option -l needs a value"},
		{{"-g"}, "option -g needs a value"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options o;

		assert_int_equal(parse(&o, cases[i].args), -EINVAL);
		assert_string_equal(err, cases[i].msg);
	}
}

/* A stray (non-option) argument is refused, wherever it stands. */
static void test_stray_argument(void **state)
{
	static const char *const cases[][4] = {
		{"foo", NULL},
		{"--no-uring", "foo", NULL},
		{"foo", "--no-uring", NULL},
		{"--", "foo", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct options o;

		assert_int_equal(parse(&o, cases[i]), -EINVAL);
		assert_string_equal(err, "unexpected argument 'foo'");
	}
}

/* The message is cut to the buffer given, and terminated. */
static void test_error_buffer_small(void **state)
{
	char *argv[] = {keep("inused"), keep("--this-option-does-not-exist"), NULL};
	char small[8];
	struct options o;

	options_defaults(&o);
	memset(small, 'X', sizeof(small));
	assert_int_equal(options_parse(&o, 2, argv, small, sizeof(small)), -EINVAL);
	assert_string_equal(small, "unknown");
}

/* parse_size: plain numbers and K/M/G (powers of 1024), optional B or iB. */
static void test_parse_size_valid(void **state)
{
	static const struct {
		const char *s;
		size_t v;
	} cases[] = {
		{"0", 0},
		{"1", 1},
		{"4096", 4096},
		{"4K", 4096},
		{"4k", 4096},
		{"3M", 3 << 20},
		{"3m", 3 << 20},
		{"1G", 1 << 30},
		{"2g", (size_t)2 << 30},
		{"2KB", 2048},
		{"2KiB", 2048},
		{"1GiB", 1 << 30},
		{"5B", 5},
		{"0K", 0},
		{"16777216", 16777216},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t v = 777;

		if (parse_size(cases[i].s, &v) != 0 || v != cases[i].v)
			fail_msg("parse_size(\"%s\") gave %zu; want %zu", cases[i].s, v, cases[i].v);
	}
}

/* parse_size refuses what is not a size, leaving *out alone. */
static void test_parse_size_invalid(void **state)
{
	static const char *const cases[] = {
		"", "-1", "-0", "abc", "K", "1T", "1KX", "1Kb", "1 K", "1.5M", "1K ", "0x10",
		"18446744073709551616", /* past 64 bits */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t v = 777;

		if (parse_size(cases[i], &v) != -EINVAL || v != 777)
			fail_msg("parse_size(\"%s\") accepted, gave %zu", cases[i], v);
	}
	assert_int_equal(parse_size(NULL, &(size_t){0}), -EINVAL);
}

/* A suffix must not wrap a large number around to a small one. */
static void test_parse_size_suffix_overflow(void **state)
{
	static const char *const cases[] = {
		"17179869184G",	      /* 2^34 G = 2^64: wraps to 0 */
		"17179869185G",	      /* wraps to 1G */
		"18014398509481984K", /* 2^54 K = 2^64 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t v = 777;

		if (parse_size(cases[i], &v) == 0)
			fail_msg("parse_size(\"%s\") accepted, gave %zu", cases[i], v);
	}
}

/* Leading blanks must not smuggle in a minus sign (strtoull negates it). */
static void test_parse_size_blank_minus(void **state)
{
	size_t v = 777;

	if (parse_size(" -1", &v) == 0)
		fail_msg("parse_size(\" -1\") accepted, gave %zu", v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_no_args),
		cmocka_unit_test(test_valid_values),
		cmocka_unit_test(test_flags_and_strings),
		cmocka_unit_test(test_combined),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_value_separate_arg_names_option),
		cmocka_unit_test(test_bad_short_value_after_error),
		cmocka_unit_test(test_socket_relative),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_stray_argument),
		cmocka_unit_test(test_error_buffer_small),
		cmocka_unit_test(test_parse_size_valid),
		cmocka_unit_test(test_parse_size_invalid),
		cmocka_unit_test(test_parse_size_suffix_overflow),
		cmocka_unit_test(test_parse_size_blank_minus),
	};

	return cmocka_run_group_tests(tests, NULL, free_saved);
}
