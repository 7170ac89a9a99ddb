// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/guardk.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inuse.skel.h"
#include "inused/kernel.h"

static void sweep_tasks(struct kernel *k, uint32_t slot, uint32_t gen);

/* The slots in use: guard_active, guard_mask and guard_slots follow gen. */
static void publish(struct kernel *k)
{
	struct inuse_bpf__bss *b = k->skel->bss;
	uint64_t mask = 0;
	uint32_t n = 0, hi = 0;

	for (uint32_t i = 0; i < INUSE_GUARD_JOBS; i++) {
		if (!__atomic_load_n(&b->guard_job[i].gen, __ATOMIC_RELAXED))
			continue;
		mask |= 1ULL << i;
		n++;
		hi = i + 1;
	}
	__atomic_store_n(&b->guard_mask, mask, __ATOMIC_RELAXED);
	__atomic_store_n(&b->guard_slots, hi, __ATOMIC_RELAXED);
	__atomic_store_n(&b->guard_active, n, __ATOMIC_RELEASE);
	if (!n) {
		/* no job: the filter starts empty again, and every process
		 * still listed is of an ended job */
		for (size_t i = 0; i < sizeof(b->guard_bits) / sizeof(b->guard_bits[0]); i++)
			__atomic_store_n(&b->guard_bits[i], 0, __ATOMIC_RELAXED);
		sweep_tasks(k, 0, 0);
	}
}

/* A process joins: its bit in the members' filter first. */
static void mark(struct kernel *k, uint32_t pid)
{
	__atomic_fetch_or(&k->skel->bss->guard_bits[(pid / 64) % (INUSE_GUARD_BITS / 64)],
			  1ULL << (pid % 64), __ATOMIC_RELEASE);
}

/*
 * Each slot's map of reads is made on the slot's first job and kept: a
 * change of the outer map waits for every running program to finish (an
 * RCU grace period, milliseconds), which a job must not pay each time.
 * Jobs of a slot tell their reads apart by generation.
 */
static struct {
	const struct inuse_bpf *skel;
	int fd[INUSE_GUARD_JOBS];
} slots;

static int slot_map(struct kernel *k, uint32_t slot)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd;

	if (slots.skel != k->skel) {
		for (int i = 0; i < INUSE_GUARD_JOBS; i++) {
			if (slots.skel && slots.fd[i] > 0)
				close(slots.fd[i]);
			slots.fd[i] = -1;
		}
		slots.skel = k->skel;
	}
	if (slots.fd[slot] >= 0)
		return slots.fd[slot];
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "guard_job_reads", sizeof(struct inuse_key),
			    sizeof(struct inuse_guard_read), INUSE_GUARD_READS, &o);
	if (fd < 0)
		return -errno;
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.guard_reads), &slot, &fd, BPF_ANY)) {
		int err = -errno;

		close(fd);
		return err;
	}
	slots.fd[slot] = fd;
	return fd;
}

int kguard_start(struct kernel *k, uint32_t slot, uint32_t gen, uint32_t pid, uint32_t flags)
{
	struct inuse_guard_task t = {.slot = slot, .gen = gen, .flags = flags};
	struct inuse_bpf__bss *b;
	int fd, err;

	if (!k->skel)
		return -ENOSYS; /* no BPF programs: no guarded jobs */
	b = k->skel->bss;
	if (slot >= INUSE_GUARD_JOBS || !gen)
		return -EINVAL;
	fd = slot_map(k, slot);
	if (fd < 0)
		return fd;
	memset(&b->guard_job[slot], 0, sizeof(b->guard_job[slot]));
	b->guard_job[slot].members = 1;
	__atomic_store_n(&b->guard_job[slot].gen, gen, __ATOMIC_RELEASE);
	mark(k, pid);
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.guard_tasks), &pid, &t, BPF_ANY)) {
		err = -errno;
		__atomic_store_n(&b->guard_job[slot].gen, 0, __ATOMIC_RELEASE);
		return err;
	}
	publish(k);
	return fd;
}

bool kguard_member(struct kernel *k, uint32_t pid)
{
	struct inuse_guard_task t;

	if (!k->skel || bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.guard_tasks), &pid, &t))
		return false;
	return t.slot < INUSE_GUARD_JOBS && t.gen &&
	       __atomic_load_n(&k->skel->bss->guard_job[t.slot].gen, __ATOMIC_ACQUIRE) == t.gen;
}

void kguard_untask(struct kernel *k, uint32_t pid)
{
	if (k->skel)
		bpf_map_delete_elem(bpf_map__fd(k->skel->maps.guard_tasks), &pid);
}

void kguard_stop(struct kernel *k, uint32_t slot)
{
	if (!k->skel || slot >= INUSE_GUARD_JOBS)
		return;
	__atomic_store_n(&k->skel->bss->guard_job[slot].gen, 0, __ATOMIC_RELEASE);
	publish(k);
}

void kguard_counters(const struct kernel *k, uint32_t slot, struct inuse_guard_job *out)
{
	const struct inuse_guard_job *j;

	if (!k->skel) {
		memset(out, 0, sizeof(*out));
		return;
	}
	j = &k->skel->bss->guard_job[slot];
	out->gen = __atomic_load_n(&j->gen, __ATOMIC_ACQUIRE);
	out->reads = __atomic_load_n(&j->reads, __ATOMIC_RELAXED);
	out->clean = __atomic_load_n(&j->clean, __ATOMIC_RELAXED);
	out->dropped = __atomic_load_n(&j->dropped, __ATOMIC_RELAXED);
	out->members = __atomic_load_n(&j->members, __ATOMIC_RELAXED);
	out->joined = __atomic_load_n(&j->joined, __ATOMIC_RELAXED);
	out->unjoined = __atomic_load_n(&j->unjoined, __ATOMIC_RELAXED);
}

/* Deletes the processes still listed as members of (slot, gen); gen 0:
 * every process listed. */
static void sweep_tasks(struct kernel *k, uint32_t slot, uint32_t gen)
{
	int fd = bpf_map__fd(k->skel->maps.guard_tasks);
	uint32_t key, next, *prev = NULL;
	struct inuse_guard_task t;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &t) == 0 &&
		    (!gen || (t.slot == slot && t.gen == gen))) {
			bpf_map_delete_elem(fd, &key);
			prev = NULL; /* start again: the order may have changed */
			continue;
		}
		prev = &key;
	}
}

/* Deletes every record of the slot's map (the job is stopped). */
static void clear_reads(int fd)
{
	struct inuse_key key, next;

	while (bpf_map_get_next_key(fd, NULL, &next) == 0) {
		key = next;
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			break;
	}
}

void kguard_free(struct kernel *k, uint32_t slot, uint32_t gen, int reads_fd)
{
	if (!k->skel || slot >= INUSE_GUARD_JOBS)
		return;
	if (__atomic_load_n(&k->skel->bss->guard_job[slot].gen, __ATOMIC_ACQUIRE) == gen)
		kguard_stop(k, slot);
	if (reads_fd >= 0)
		clear_reads(reads_fd);
	sweep_tasks(k, slot, gen);
}

int kguard_reads(int reads_fd, kguard_read_fn fn, void *ctx)
{
	struct inuse_key key, next, *prev = NULL;
	struct inuse_guard_read r;

	/* the job is stopped: nothing is added or dropped meanwhile */
	while (bpf_map_get_next_key(reads_fd, prev, &next) == 0) {
		key = next;
		if (bpf_map_lookup_elem(reads_fd, &key, &r) == 0)
			fn(ctx, &key, &r);
		prev = &key;
	}
	return errno == ENOENT ? 0 : -errno;
}

int kguard_probe(struct kernel *k, const struct inuse_guard_probe_req *req,
		 struct inuse_guard_probe_res *res, size_t n)
{
	__u64 args[1] = {n};
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args, .ctx_size_in = sizeof(args));
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint32_t keys[INUSE_GUARD_PROBE_BATCH], count = (uint32_t)n;
	int reqfd, resfd;

	if (n == 0)
		return 0;
	if (!k->skel)
		return -ENOSYS; /* no BPF programs: nothing to read the inode with */
	reqfd = bpf_map__fd(k->skel->maps.guard_probe_req);
	resfd = bpf_map__fd(k->skel->maps.guard_probe_res);
	if (n > INUSE_GUARD_PROBE_BATCH)
		return -E2BIG;
	for (uint32_t i = 0; i < count; i++)
		keys[i] = i;
	if (bpf_map_update_batch(reqfd, keys, req, &count, &bo))
		return -errno;
	if (bpf_prog_test_run_opts(bpf_program__fd(k->skel->progs.guard_probe), &topts))
		return -errno;
	count = (uint32_t)n;
	if (bpf_map_lookup_batch(resfd, NULL, &(uint32_t){0}, keys, res, &count, &bo) &&
	    errno != ENOENT)
		return -errno;
	return count < n ? -EIO : 0;
}
