// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* test_guard.c - what a guarded read tells (guard.h), and the history of
 * files open for writing (history.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "inused/guard.h"
#include "inused/history.h"

#define MS 1000000ULL
#define S  1000000000ULL

/* A read from t=10 s to t=11 s (boottime) of an 8 KiB file last written
 * at wall 1000 s; boottime 0 is wall 1000 s - 5 s. */
static const int64_t boot_to_real = (int64_t)(995 * S);

static struct inuse_guard_read quiet_read(void)
{
	struct inuse_guard_read r = {0};

	r.open = (struct inuse_guard_snap){
	    .ns = 10 * S, .size = 8192, .mtime_ns = 1000 * S, .ctime_ns = 1000 * S};
	r.close = r.open;
	r.close.ns = 11 * S;
	r.open_now = 0;
	r.opens = 1;
	return r;
}

static void test_clean(void **state)
{
	struct inuse_guard_read r = quiet_read();
	struct guard_verdict v;

	guard_judge(&r, NULL, boot_to_real, &v);
	assert_false(v.torn);
	assert_false(v.held);
	assert_true(v.closed);
	assert_string_equal(v.reason, "clean");
	assert_string_equal(guard_state(&v), "clean");
}

static void test_written(void **state)
{
	struct inuse_guard_read r;
	struct guard_verdict v;

	/* the write hook counted a write */
	r = quiet_read();
	r.writes = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.torn);
	assert_string_equal(v.reason, "written");
	/* the modification time moved (a write no hook saw) */
	r = quiet_read();
	r.close.mtime_ns += 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.written);
	/* the size moved */
	r = quiet_read();
	r.close.size = 0;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.written);
	assert_string_equal(guard_state(&v), "torn");
}

static void test_held_and_opened(void **state)
{
	struct inuse_guard_read r = quiet_read();
	struct guard_verdict v;

	r.open.writecount = 1;
	r.close.writecount = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.held);
	assert_false(v.torn);
	assert_string_equal(v.reason, "held");
	assert_string_equal(guard_state(&v), "held");
	/* held at the close only: a writer came */
	r = quiet_read();
	r.close.writecount = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.held);
	/* opened for writing meanwhile, closed again */
	r = quiet_read();
	r.wopens = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.torn);
	assert_string_equal(v.reason, "opened");
}

static void test_mapped(void **state)
{
	struct inuse_guard_read r = quiet_read();
	struct guard_verdict v;

	r.open.writecount = 1;
	r.open.mmap_writable = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.torn);
	assert_string_equal(v.reason, "mapped");
}

/* A write less than a tick before the read, by a writer holding the file:
 * one in the same tick during the read would not move the time. */
static void test_written_just_before(void **state)
{
	struct inuse_guard_read r = quiet_read();
	struct guard_verdict v;

	r.open.writecount = 1;
	r.close.writecount = 1;
	/* the read began at wall 1005 s: written 2 ms before */
	r.open.mtime_ns = r.close.mtime_ns = 1005 * S - 2 * MS;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.recent);
	assert_true(v.torn);
	assert_string_equal(v.reason, "written_before");
	/* times queried since (multigrain): the next write would show */
	r.open.ctime_queried = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_false(v.torn);
	/* no writer: nobody could write in that tick */
	r = quiet_read();
	r.open.mtime_ns = r.close.mtime_ns = 1005 * S - 2 * MS;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_false(v.torn);
	/* written long before */
	r.open.writecount = r.close.writecount = 1;
	r.open.mtime_ns = r.close.mtime_ns = 1005 * S - GUARD_TICK_NS - 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_false(v.torn);
}

/* Not closed by the job: judged at its end, or gone. */
static void test_not_closed(void **state)
{
	struct inuse_guard_read r = quiet_read();
	struct inuse_guard_snap end = r.open;
	struct guard_verdict v;

	r.open_now = 1;
	r.close.ns = 0;
	end.ns = 20 * S;
	guard_judge(&r, &end, boot_to_real, &v);
	assert_false(v.closed);
	assert_false(v.torn);
	end.mtime_ns++;
	guard_judge(&r, &end, boot_to_real, &v);
	assert_true(v.torn);
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.gone);
	assert_true(v.torn);
	assert_string_equal(v.reason, "gone");
	/* the close snapshot of a read still open is not its end */
	r = quiet_read();
	r.open_now = 1;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_true(v.gone);
}

static void test_changed(void **state)
{
	struct inuse_guard_read r = quiet_read();
	struct guard_verdict v;

	r.close.ctime_ns++;
	guard_judge(&r, NULL, boot_to_real, &v);
	assert_false(v.torn);
	assert_true(v.changed);
	assert_string_equal(guard_state(&v), "changed");
}

/* ---- history ---- */

static void test_history_spans(void **state)
{
	struct history h;
	struct hist_rec *r;

	assert_int_equal(history_init(&h, 8, 3600 * S, 100 * S), 0);
	history_opened(&h, 1, 10, "/a", 110 * S, 0, 5, "w");
	r = history_find(&h, 1, 10);
	assert_non_null(r);
	/* open now */
	assert_true(hist_rec_meets(r, 200 * S, 300 * S, 400 * S));
	assert_false(hist_rec_meets(r, 100 * S, 105 * S, 400 * S));
	history_closed(&h, 1, 10, "/a", 110 * S, 120 * S, 115 * S);
	assert_true(hist_rec_meets(r, 100 * S, 110 * S, 400 * S));
	assert_true(hist_rec_meets(r, 119 * S, 130 * S, 400 * S));
	assert_false(hist_rec_meets(r, 121 * S, 300 * S, 400 * S));
	assert_int_equal(r->last_write, 115 * S);
	/* more spans than kept: the closest merge, the others stay exact */
	history_closed(&h, 1, 10, "/a", 130 * S, 131 * S, 0);
	history_closed(&h, 1, 10, "/a", 132 * S, 133 * S, 0);
	history_closed(&h, 1, 10, "/a", 200 * S, 201 * S, 0);
	history_closed(&h, 1, 10, "/a", 300 * S, 301 * S, 0);
	assert_int_equal(r->nspans, HIST_SPANS);
	/* the spans, in order: 110-120, 130-133 (merged), 200-201, 300-301 */
	{
		static const uint64_t want[HIST_SPANS][2] = {
		    {110, 120}, {130, 133}, {200, 201}, {300, 301}};

		for (int k = 0; k < HIST_SPANS; k++) {
			assert_int_equal(r->from[k], want[k][0] * S);
			assert_int_equal(r->to[k], want[k][1] * S);
		}
	}
	/* one more, out of order, over and over: never more than kept */
	for (int k = 0; k < 20; k++) {
		history_closed(&h, 1, 10, "/a", (50 + k) * S, (50 + k) * S + 1, 0);
		assert_int_equal(r->nspans, HIST_SPANS);
		for (int j = 0; j + 1 < HIST_SPANS; j++)
			assert_true(r->from[j] <= r->from[j + 1]);
	}
	assert_int_equal(r->from[0], 50 * S);
	assert_int_equal(r->to[HIST_SPANS - 1], 301 * S);
	assert_true(hist_rec_meets(r, 131 * S + 1, 132 * S - 1, 400 * S)); /* merged gap */
	assert_true(hist_rec_meets(r, 300 * S, 300 * S, 400 * S));
	assert_true(hist_rec_meets(r, 110 * S, 110 * S, 400 * S));
	assert_false(hist_rec_meets(r, 302 * S, 399 * S, 400 * S));
	history_fini(&h);
}

static void test_history_bounds(void **state)
{
	struct history h;

	assert_int_equal(history_init(&h, 3, 100 * S, 0), 0);
	assert_true(history_complete(&h, 0));
	for (uint64_t i = 1; i <= 5; i++)
		history_closed(&h, 1, i, "/f", i * S, i * S + 1, 0);
	/* the two oldest went: nothing before their end is sure */
	assert_int_equal(h.count, 3);
	assert_null(history_find(&h, 1, 1));
	assert_null(history_find(&h, 1, 2));
	assert_non_null(history_find(&h, 1, 5));
	assert_false(history_complete(&h, 1 * S));
	assert_true(history_complete(&h, 3 * S));
	/* by age */
	history_expire(&h, 104 * S);
	assert_null(history_find(&h, 1, 3));
	assert_non_null(history_find(&h, 1, 4));
	assert_false(history_complete(&h, 3 * S));
	/* a record seen again moves to the end: the oldest is another */
	history_closed(&h, 1, 4, "/f", 50 * S, 60 * S, 0);
	history_closed(&h, 1, 6, "/f", 61 * S, 62 * S, 0);
	history_closed(&h, 1, 7, "/f", 63 * S, 64 * S, 0);
	assert_non_null(history_find(&h, 1, 4));
	assert_null(history_find(&h, 1, 5));
	history_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_written),
	    cmocka_unit_test(test_held_and_opened),
	    cmocka_unit_test(test_mapped),
	    cmocka_unit_test(test_written_just_before),
	    cmocka_unit_test(test_not_closed),
	    cmocka_unit_test(test_changed),
	    cmocka_unit_test(test_history_spans),
	    cmocka_unit_test(test_history_bounds),
	};

	return cmocka_run_group_tests_name("guard and history", tests, NULL, NULL);
}
