/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kernel.h - the daemon's side of the BPF programs: load and attach them,
 * drain the ring buffer, read writer counts, walk task fd tables and
 * mappings, and keep the kernel's inode and holder maps.
 */
#ifndef INUSED_KERNEL_H
#define INUSED_KERNEL_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inuse_abi.h"
#include "inused/corebtf.h"
#include "inused/progshare.h"

struct inuse_bpf;
struct ring_buffer;

struct kernel_opts {
	size_t max_files;	   /* size of the kernel inode map */
	size_t ring_bytes;	   /* ring buffer size, a power of two */
	uint64_t wake_interval_ns; /* at most one wake-up per this, under load */
	bool no_uring;		   /* do not load the io_uring program */
	bool full_btf;		   /* resolve CO-RE against all the kernel's types */
};

/* Called for every ring record; len is the record size. */
typedef void (*kernel_event_fn)(void *ctx, const struct inuse_ev *ev, size_t len);

/* Called for every scan record (SCAN or NAME; the path, if any, follows
 * the header and fits in len). */
typedef void (*kernel_scan_fn)(void *ctx, const struct inuse_ev *r, size_t len);

/* A kernel with no BPF programs loaded (zeroed: tests, fuzzing) has no
 * events, and every query of it fails with -ENODEV. */
struct kernel {
	struct inuse_bpf *skel;
	struct ring_buffer *rb;
	const unsigned long *ring_cons; /* the ring's positions, mapped read-only */
	const unsigned long *ring_prod;
	kernel_event_fn on_event;
	void *ctx;
	struct progshare share;	   /* programs attached for others of the same code */
	bool uring;		   /* io_uring program loaded */
	uint64_t scans;		   /* iterator runs */
	uint64_t probes;	   /* probe runs */
	struct corebtf_stats core; /* the types CO-RE was resolved against */
};

/* Mounts tracefs if it is not there. 0 or -errno. */
int kernel_mount_fs(void);

int kernel_open(struct kernel *k, const struct kernel_opts *o, kernel_event_fn fn, void *ctx);
void kernel_close(struct kernel *k);

/* The fd to poll for ring buffer data. */
int kernel_ring_fd(const struct kernel *k);

/* Processes every record in the ring. Returns how many, or -errno. */
int kernel_drain(struct kernel *k);

/* Whether the ring holds a record not yet consumed: committed, or reserved
 * by a program that has not committed it yet (a preempted hook). A record
 * committed without a wake-up is seen here; false with no BPF. */
bool kernel_ring_pending(const struct kernel *k);

/* Reads the writer count of n inodes (n <= INUSE_PROBE_BATCH). */
int kernel_probe(struct kernel *k, const struct inuse_probe_req *req, struct inuse_probe_res *res,
		 size_t n);

/* A ring record whose size and path length agree. */
bool kernel_record_ok(const struct inuse_ev *ev, size_t len);

/* Room for one scan record, aligned for its header. */
#define KERNEL_SCAN_REC_MAX (sizeof(struct inuse_ev) + INUSE_PATH_MAX)

/*
 * The complete scan records at the start of data[0..*len) (as an
 * iterator writes them: one after another, unaligned), each copied to rec
 * (KERNEL_SCAN_REC_MAX bytes, 8-byte aligned) and handed to fn; what is
 * left (a partial record) is moved to the start and *len updated. 0, or
 * -EPROTO at a record that is not a scan record.
 */
int kernel_scan_records(char *data, size_t *len, char *rec, kernel_scan_fn fn, void *ctx);

/* Walks the fd tables, io_uring file tables (and, if vmas, the mappings)
 * of one process (pid > 0) or of every process (pid == 0). */
int kernel_scan(struct kernel *k, uint32_t pid, bool vmas, kernel_scan_fn fn, void *ctx);

/* The current paths of n dentries (n <= INUSE_WALK_BATCH). */
int kernel_walk(struct kernel *k, const struct inuse_walk_req *req, struct inuse_walk_res *res,
		size_t n);

/* The current fingerprints of n dentries' paths (n <= INUSE_HASH_BATCH). */
int kernel_hashprobe(struct kernel *k, const struct inuse_walk_req *req, struct inuse_hash_res *res,
		     size_t n);

/* What the kernel knows of the files behind n of the daemon's own
 * descriptors (n <= INUSE_FDPROBE_BATCH). */
int kernel_fdprobe(struct kernel *k, const int32_t *fds, struct inuse_fdprobe_res *res, size_t n);

/* Tells the kernel side how many files have no known holder and whether
 * any file is tracked (switches the release and rename hints). */
void kernel_set_hints(struct kernel *k, uint32_t holderless, uint32_t tracked);

/* Kernel inode map. */
int kernel_forget(struct kernel *k, uint32_t dev, uint64_t ino);
int kernel_restore(struct kernel *k, uint32_t dev, uint64_t ino, uint64_t inode_ptr,
		   uint64_t mtime_ns);
int kernel_read_inode(struct kernel *k, uint32_t dev, uint64_t ino, struct inuse_inode *out);
int kernel_set_watch(struct kernel *k, uint32_t dev, uint64_t ino, bool watch);

/* Holder map. */
int kernel_holder_set(struct kernel *k, uint32_t pid, uint32_t flags);
int kernel_holder_del(struct kernel *k, uint32_t pid);

/* Events the kernel could not queue, and inodes its map had no room for,
 * since load (read from memory, no syscall). */
uint64_t kernel_lost(const struct kernel *k);
uint64_t kernel_map_full(const struct kernel *k);

/* Sums the per-CPU counters. */
int kernel_stats(struct kernel *k, uint64_t out[INUSE_STAT_NR]);

/* Names of the programs attached, for logs and tests. */
size_t kernel_attached(const struct kernel *k, const char **names, size_t max);

#endif
