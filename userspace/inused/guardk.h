/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * guardk.h - the daemon's side of the guarded-job programs (bpf/guard.bpf.h):
 * job slots, their maps of reads, their processes, and the probe that
 * reads a file's state at the end of a read its job never closed.
 */
#ifndef INUSED_GUARDK_H
#define INUSED_GUARDK_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inuse_abi.h"

struct kernel;

/* Opens slot for a job of generation gen (nonzero): the slot's map of
 * reads (made on its first job, kept), the counters zeroed, the process
 * pid its first member (flags: INUSE_GUARD_*). Returns the map's fd
 * (>= 0, owned here) or -errno. */
int kguard_start(struct kernel *k, uint32_t slot, uint32_t gen, uint32_t pid, uint32_t flags);

/* Is pid a member of a running job? */
bool kguard_member(struct kernel *k, uint32_t pid);

/* Takes pid out of the job again (the answer to a start that failed
 * later). */
void kguard_untask(struct kernel *k, uint32_t pid);

/* Stops recording for slot: new reads, writes and members are not counted
 * from here on. */
void kguard_stop(struct kernel *k, uint32_t slot);

/* The slot's counters as the programs left them. */
void kguard_counters(const struct kernel *k, uint32_t slot, struct inuse_guard_job *out);

/* Frees the slot: empties its map (fd from kguard_start) and drops the
 * processes still listed as its members. */
void kguard_free(struct kernel *k, uint32_t slot, uint32_t gen, int reads_fd);

/* Calls fn for every read in the map (fd). 0 or -errno. */
typedef void (*kguard_read_fn)(void *ctx, const struct inuse_key *key,
			       const struct inuse_guard_read *r);
int kguard_reads(int reads_fd, kguard_read_fn fn, void *ctx);

/* The state now of n files (n <= INUSE_GUARD_PROBE_BATCH). */
int kguard_probe(struct kernel *k, const struct inuse_guard_probe_req *req,
		 struct inuse_guard_probe_res *res, size_t n);

#endif
