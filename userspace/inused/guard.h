/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * guard.h - what a guarded job's read of a file tells: whether, between the
 * job's open and close of it, another process held it open for writing,
 * opened it for writing, or wrote it, and so whether the copy the job made
 * may be torn. Pure functions of the kernel's records (bpf/guard.bpf.h).
 *
 * Writes are known from the write hook's count, and from the file's own
 * size and modification time at the open and at the close: every write
 * moves the modification time, except one that falls within the same
 * timestamp tick as the write before it (coarse timestamps). Such a write
 * can hide only when the file was written less than a tick before the read
 * began and its times were not queried since (a later write then takes a
 * fine-grained time on file systems with multigrain timestamps): that case
 * is counted as written. A writer through a shared writable mapping can
 * store into pages that are already dirty without any of this moving: a
 * read of a file so mapped at its open or close is counted as mapped.
 */
#ifndef INUSED_GUARD_H
#define INUSED_GUARD_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "inuse_abi.h"

/* A timestamp tick and then some: a write less than this before a read
 * began may share its time with a write during the read. */
#define GUARD_TICK_NS (20 * 1000000ULL)

struct guard_verdict {
	bool closed;  /* the job closed it (else: the state at the job's end) */
	bool gone;    /* not closed, and the file is gone: its end is unknown */
	bool held;    /* another process had it open for writing */
	bool opened;  /* a writer opened it during the read */
	bool written; /* written during the read */
	bool recent;  /* written just before the read, by a writer holding it */
	bool mapped;  /* shared writable mappings of it existed */
	bool changed; /* its metadata changed, not its data */
	bool torn;    /* the copy may be torn */
	const char *reason;
};

/*
 * Judges read r. end: the file's state at the job's end, for a read the
 * job did not close (NULL: the file is gone); ignored for a closed read.
 * boot_to_real: added to CLOCK_BOOTTIME stamps gives wall-clock time.
 */
void guard_judge(const struct inuse_guard_read *r, const struct inuse_guard_snap *end,
		 int64_t boot_to_real, struct guard_verdict *v);

/* "torn", "held" or "changed": the state a reported read is in. */
const char *guard_state(const struct guard_verdict *v);

#endif
