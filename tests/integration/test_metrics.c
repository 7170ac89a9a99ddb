// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_metrics.c - the Prometheus endpoint, scraped with a real HTTP client
 * (curl), its text checked by promtool; loopback by default; the example
 * alerting rules pass promtool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"

static struct tdaemon D;
static char listen_arg[32], url[64], dir[PATH_MAX];

static int group_setup(void **state)
{
	const char *args[] = {"--metrics", listen_arg, NULL};
	int port = 20000 + (int)(getpid() % 20000);

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(dir, "/var/tmp/inuse-metrics-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(listen_arg, sizeof(listen_arg), ":%d", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	return td_rmtree(dir);
}

#define sh td_sh

/* Value of the line that starts with name (exactly, then a space). */
static double value_of(const char *text, const char *name)
{
	char key[256];
	const char *at;

	snprintf(key, sizeof(key), "\n%s ", name);
	at = strstr(text, key);
	assert_non_null(at);
	return atof(at + strlen(key));
}

static void test_scrape_and_promtool(void **state)
{
	static char out[1 << 16];
	char path[PATH_MAX];
	int fd;

	td_need(&D);
	snprintf(path, sizeof(path), "%s/held", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(td_state_is(&D, path, "open"));
	assert_int_equal(sh(out, sizeof(out), "curl -sf %s/metrics", url), 0);
	assert_true(value_of(out, "inuse_files_open_for_writing") >= 1);
	assert_true(value_of(out, "inuse_writers") >= 1);
	assert_non_null(strstr(out, "inuse_requests_total{op=\"list\"}"));
	assert_non_null(
	    strstr(out, "inuse_request_duration_seconds_bucket{op=\"list\",le=\"+Inf\"}"));
	assert_non_null(strstr(out, "inuse_events_total{kind=\"open\"}"));
	/* the exposition format, as Prometheus itself reads it */
	if (sh(NULL, 0, "command -v promtool >/dev/null") != 0)
		td_skip_or_fail("promtool (prometheus) is not installed");
	assert_int_equal(sh(NULL, 0, "curl -sf %s/metrics | promtool check metrics", url), 0);
	close(fd);
}

static void test_not_found_and_loopback(void **state)
{
	char out[4096];

	td_need(&D);
	assert_int_equal(
	    sh(out, sizeof(out), "curl -s -o /dev/null -w '%%{http_code}' %s/nope", url), 0);
	assert_string_equal(out, "404");
	/* ":PORT" listens on 127.0.0.1 only */
	assert_int_equal(sh(out, sizeof(out), "ss -Hltn 'sport = %s'", listen_arg), 0);
	{
		char any[48], star[48];

		snprintf(any, sizeof(any), "0.0.0.0%s", listen_arg);
		snprintf(star, sizeof(star), "*%s", listen_arg);
		assert_non_null(strstr(out, "127.0.0.1"));
		assert_null(strstr(out, any));
		assert_null(strstr(out, star));
	}
}

static void test_example_rules(void **state)
{
	char cmd[PATH_MAX];

	if (sh(NULL, 0, "command -v promtool >/dev/null") != 0)
		td_skip_or_fail("promtool (prometheus) is not installed");
	snprintf(cmd, sizeof(cmd), "promtool check rules %s/../contrib/prometheus/inuse-alerts.yml",
		 td_bin(""));
	assert_int_equal(sh(NULL, 0, "%s >/dev/null", cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scrape_and_promtool),
	    cmocka_unit_test(test_not_found_and_loopback),
	    cmocka_unit_test(test_example_rules),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("metrics", tests, group_setup, group_teardown);
}
