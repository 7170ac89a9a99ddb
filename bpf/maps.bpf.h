/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* maps.bpf.h - maps and load-time settings of the inuse BPF object. */
#ifndef INUSE_MAPS_BPF_H
#define INUSE_MAPS_BPF_H

/* Tracked inodes: every regular file with a writer seen or found. The daemon
 * sizes it before load and is the only one that deletes from it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct inuse_key);
	__type(value, struct inuse_inode);
} inodes SEC(".maps");

/* Processes (tgid) that hold or may hold a tracked writer. Lifecycle events
 * (fork, exec, exit, close_range, dup2, munmap) are sent for these only. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} holders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, INUSE_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Per-CPU scratch: the path is built backwards in the first half. */
#define SCRATCH_SIZE 8192
#define SCRATCH_MASK (INUSE_PATH_MAX - 1)
struct scratch {
	char buf[SCRATCH_SIZE];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct inuse_ev_path_l);
} scan_rec_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_PROBE_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_probe_req);
} probe_req SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_PROBE_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_probe_res);
} probe_res SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_WALK_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_walk_req);
} walk_req SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_WALK_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_walk_res);
} walk_res SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_HASH_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_walk_req);
} hash_req SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_HASH_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_hash_res);
} hash_res SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_FDPROBE_BATCH);
	__type(key, __u32);
	__type(value, __s32);
} fdprobe_req SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_FDPROBE_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_fdprobe_res);
} fdprobe_res SEC(".maps");

/* Set by the daemon between open and load. */
const volatile __u64 wake_interval_ns = 2000000;
const volatile __u64 ring_wake_bytes = 1 << 20;
const volatile __u32 host_mntns = 0;
/* System call numbers of open, creat and openat2 (set by the daemon; -1:
 * none on this architecture). */
const volatile long nr_open = -1;
const volatile long nr_creat = -1;
const volatile long nr_openat2 = -1;
const volatile __u32 skip_magic[INUSE_SKIP_MAGIC_MAX] = {};

/* Last forced wake-up of the daemon (racy across CPUs by design: at worst
 * one extra wake-up). */
__u64 last_wake_ns = 0;

/* Rare events the daemon checks after every drain; in .bss, which it reads
 * through memory, without a syscall. */
__u64 lost_events = 0;
__u64 map_full_events = 0;

/* Written by the daemon (through memory): how many tracked files have
 * writers counted but no process known to hold them, and whether any file
 * is tracked at all. They switch the RELEASE and RENAME hints on. */
__u32 holderless_files = 0;
__u32 tracked_files = 0;
__u64 last_release_hint_ns = 0;
__u64 last_rename_hint_ns = 0;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline void note_lost(void)
{
	__sync_fetch_and_add(&lost_events, 1);
	stat_inc(INUSE_STAT_LOST);
}

#endif
