// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_corebtf.c - CO-RE resolved against the kernel's type table cut
 * short (corebtf.h) gives the very programs that the whole table gives:
 * the BPF object is loaded both ways and every program's relocated
 * instructions are compared (the file descriptors of maps aside). Needs
 * root and BPF: under CI=true a machine that cannot load fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "inused/corebtf.h"
#include "inused/kernel.h"
/* after kernel.h: the skeleton uses the record layout it includes */
#include "inuse.skel.h"
#include "tdaemon.h"

static void on_event(void *ctx, const struct inuse_ev *ev, size_t len)
{
	(void)ctx;
	(void)ev;
	(void)len;
}

static bool map_ref(const struct bpf_insn *in)
{
	return in->code == (BPF_LD | BPF_IMM | BPF_DW) &&
	       (in->src_reg == BPF_PSEUDO_MAP_FD || in->src_reg == BPF_PSEUDO_MAP_VALUE ||
		in->src_reg == BPF_PSEUDO_MAP_IDX || in->src_reg == BPF_PSEUDO_MAP_IDX_VALUE);
}

/* The programs of a and b, instruction by instruction; returns how many
 * were compared. */
static int same_programs(struct inuse_bpf *a, struct inuse_bpf *b)
{
	struct bpf_program *pa;
	int compared = 0;

	bpf_object__for_each_program(pa, a->obj)
	{
		struct bpf_program *pb =
		    bpf_object__find_program_by_name(b->obj, bpf_program__name(pa));
		const struct bpf_insn *ia, *ib;
		size_t n;

		assert_non_null(pb);
		assert_int_equal(bpf_program__autoload(pa), bpf_program__autoload(pb));
		if (!bpf_program__autoload(pa))
			continue;
		n = bpf_program__insn_cnt(pa);
		assert_int_equal(n, bpf_program__insn_cnt(pb));
		ia = bpf_program__insns(pa);
		ib = bpf_program__insns(pb);
		assert_non_null(ia);
		assert_non_null(ib);
		for (size_t i = 0; i < n; i++) {
			if (map_ref(&ia[i]) && i + 1 < n) {
				/* the map's fd differs, the rest may not */
				assert_int_equal(ia[i].src_reg, ib[i].src_reg);
				assert_int_equal(ia[i + 1].imm, ib[i + 1].imm);
				i++;
				continue;
			}
			if (memcmp(&ia[i], &ib[i], sizeof(ia[i])))
				fail_msg(
				    "%s: instruction %zu differs: code %#x imm %d off %d against "
				    "code %#x imm %d off %d",
				    bpf_program__name(pa), i, ia[i].code, ia[i].imm, ia[i].off,
				    ib[i].code, ib[i].imm, ib[i].off);
		}
		compared++;
	}
	return compared;
}

static void test_same_programs(void **state)
{
	struct kernel_opts o = {
	    .max_files = 1024, .ring_bytes = 1 << 16, .wake_interval_ns = 1000000};
	struct kernel cut, full;

	(void)state;
	if (geteuid() != 0 || !corebtf_usable())
		td_skip_or_fail(geteuid() != 0
				    ? "needs root to load BPF"
				    : "the kernel has module types: the copy is not used");
	if (kernel_open(&cut, &o, on_event, NULL))
		td_skip_or_fail("cannot load the BPF programs");
	o.full_btf = true;
	assert_int_equal(kernel_open(&full, &o, on_event, NULL), 0);
	/* the copy was used, and is cut short */
	assert_true(cut.core.kept > 0);
	assert_true(cut.core.kept < cut.core.kernel_types);
	assert_true(cut.core.reached > 0 && cut.core.reached <= cut.core.kept);
	assert_int_equal(full.core.kept, 0);
	assert_int_equal(cut.uring, full.uring);
	assert_true(same_programs(cut.skel, full.skel) > 10);
	kernel_close(&cut);
	kernel_close(&full);
}

/* An object with no types of the kernel's names: nothing to write. */
static void test_nothing_to_reach(void **state)
{
	struct corebtf_stats st;
	struct btf *b = btf__new_empty();
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(b);
	assert_non_null(f);
	assert_true(btf__add_struct(b, "inuse_no_such_kernel_type", 4) > 0);
	assert_int_not_equal(corebtf_write(b, fileno(f), &st), 0);
	btf__free(b);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_programs),
	    cmocka_unit_test(test_nothing_to_reach),
	};

	return cmocka_run_group_tests_name("CO-RE against the kernel's types cut short", tests,
					   NULL, NULL);
}
