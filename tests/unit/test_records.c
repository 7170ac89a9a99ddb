// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_records.c - the records of walks as the daemon takes them from an
 * iterator: one after another, each as long as its path, so at any
 * alignment. kernel_scan_records must hand each over whole and aligned,
 * keep a partial one for the next read, and refuse what is not a walk's
 * record. (Under `make test SANITIZE=1`, UBSan checks every access: a
 * record read where it lies would be a misaligned load.) And the times
 * that listings write for every file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "inused/kernel.h"
#include "inused/render.h"

struct got {
	int n;
	uint64_t ino[16];
	char path[16][64];
};

static void on_rec(void *ctx, const struct inuse_ev *r, size_t len)
{
	struct got *g = ctx;

	assert_int_equal((uintptr_t)r % 8, 0);
	assert_int_equal(len, sizeof(*r) + r->path_len);
	assert_true(g->n < 16);
	g->ino[g->n] = r->ino; /* read through the pointer handed over */
	memcpy(g->path[g->n], (const char *)(r + 1), r->path_len < 63 ? r->path_len : 63);
	g->n++;
}

/* A stream of records with paths of odd lengths, at an odd offset. */
static size_t build(char *buf, size_t off, int n)
{
	size_t at = off;

	for (int i = 0; i < n; i++) {
		struct inuse_ev h;
		char path[32];
		int pl = snprintf(path, sizeof(path), "/p%0*d", i + 1, i); /* 3, 4, 5... bytes */

		memset(&h, 0, sizeof(h));
		h.type = i % 3 == 2 ? INUSE_EV_NAME : INUSE_EV_SCAN;
		h.ino = 1000 + (uint64_t)i;
		h.evflags = INUSE_EVF_PATH;
		h.path_len = (uint32_t)pl;
		memcpy(buf + at, &h, sizeof(h));
		memcpy(buf + at + sizeof(h), path, (size_t)pl);
		at += sizeof(h) + (size_t)pl;
	}
	return at - off;
}

static void test_unaligned_records(void **state)
{
	static _Alignas(8) char rec[KERNEL_SCAN_REC_MAX];
	char *mem = malloc(8192);
	struct got g = {0};

	assert_non_null(mem);
	for (size_t off = 1; off < 8; off += 2) {
		char *buf = mem + off; /* the iterator's buffer, misaligned */
		size_t len = build(buf, 0, 6), part;

		memset(&g, 0, sizeof(g));
		/* first all but the last 10 bytes: five whole records, then the
		 * sixth once the rest has come */
		part = len - 10;
		assert_int_equal(kernel_scan_records(buf, &part, rec, on_rec, &g), 0);
		assert_int_equal(g.n, 5);
		assert_true(part > 0 && part < sizeof(struct inuse_ev) + 10);
		/* what was kept (the sixth's beginning, moved to the start)
		 * and the 10 bytes read next: the sixth whole */
		{
			char full[4096];
			size_t total = build(full, 0, 6);

			memcpy(buf, full + total - part - 10, part + 10);
			part += 10;
		}
		assert_int_equal(kernel_scan_records(buf, &part, rec, on_rec, &g), 0);
		assert_int_equal(part, 0);
		assert_int_equal(g.n, 6);
		for (int i = 0; i < 6; i++)
			assert_int_equal(g.ino[i], 1000 + (uint64_t)i);
		assert_string_equal(g.path[5], "/p000005");
	}
	free(mem);
}

static void test_not_a_walk_record(void **state)
{
	static _Alignas(8) char rec[KERNEL_SCAN_REC_MAX];
	char buf[512];
	struct inuse_ev h;
	struct got g = {0};
	size_t len;

	memset(&h, 0, sizeof(h));
	h.type = INUSE_EV_OPEN; /* a ring record: not from a walk */
	memcpy(buf + 3, &h, sizeof(h));
	len = sizeof(h);
	assert_int_equal(kernel_scan_records(buf + 3, &len, rec, on_rec, &g), -EPROTO);
	assert_int_equal(g.n, 0);
	h.type = INUSE_EV_SCAN;
	h.path_len = INUSE_PATH_MAX; /* longer than any */
	memcpy(buf + 3, &h, sizeof(h));
	len = sizeof(h);
	assert_int_equal(kernel_scan_records(buf + 3, &len, rec, on_rec, &g), -EPROTO);
	assert_int_equal(g.n, 0);
}

/* Ring records are checked before the tracker reads them. */
static void test_ring_record_check(void **state)
{
	struct inuse_ev h;

	memset(&h, 0, sizeof(h));
	h.type = INUSE_EV_OPEN;
	assert_true(kernel_record_ok(&h, sizeof(h)));
	assert_false(kernel_record_ok(&h, sizeof(h) - 1));
	h.evflags = INUSE_EVF_PATH;
	h.path_len = 10;
	assert_false(kernel_record_ok(&h, sizeof(h) + 9));
	assert_true(kernel_record_ok(&h, sizeof(h) + 10));
	h.path_len = 0;
	assert_false(kernel_record_ok(&h, sizeof(h) + 10));
	h.path_len = INUSE_PATH_MAX;
	assert_false(kernel_record_ok(&h, sizeof(h) + INUSE_PATH_MAX));
}

/* Times as "seconds.microseconds", every digit of the fraction written,
 * null for 0. */
static void test_render_time(void **state)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
	    {0, "null"},
	    {1, "0.000000"},
	    {999, "0.000000"},
	    {1000, "0.000001"},
	    {1000000000ULL, "1.000000"},
	    {1796060694910767123ULL, "1796060694.910767"},
	    {1796060694000010999ULL, "1796060694.000010"},
	    {UINT64_MAX, "18446744073.709551"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf b = {0};

		assert_int_equal(render_time(&b, cases[i].ns), 0);
		assert_int_equal(b.len, strlen(cases[i].text));
		assert_memory_equal(b.buf, cases[i].text, b.len);
		sb_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unaligned_records),
	    cmocka_unit_test(test_not_a_walk_record),
	    cmocka_unit_test(test_ring_record_check),
	    cmocka_unit_test(test_render_time),
	};

	return cmocka_run_group_tests_name("walk and ring records", tests, NULL, NULL);
}
