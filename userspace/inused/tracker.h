/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tracker.h - turns kernel events into the table, and keeps it exact.
 *
 * Events say that a writer may have appeared or gone. They never remove a
 * file on their own: a file leaves the table only after the kernel's writer
 * count for its inode has been read as zero with the inode out of the
 * kernel map (so that no open can slip between the read and the removal).
 * Where an event cannot tell who still holds a file, the holder's fd table
 * and mappings are walked; where no holder is known at all, the count is
 * re-read with back-off and then every task is walked. See docs/design.md.
 */
#ifndef INUSED_TRACKER_H
#define INUSED_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "inused/cgroup.h"
#include "inused/kernel.h"
#include "inused/table.h"

struct tracker_stats {
	uint64_t events[INUSE_EV_WRITE + 1];
	uint64_t events_total;
	uint64_t probes;	 /* writer-count reads (inodes) */
	uint64_t removed;	 /* files that left the table */
	uint64_t kept;		 /* "maybe closed" that the count kept */
	uint64_t pid_scans;	 /* one process walked */
	uint64_t full_scans;	 /* every process walked */
	uint64_t reconciliations; /* full reconciliations (start, lost events, orphans) */
	uint64_t lost;		 /* events the kernel could not queue */
	uint64_t kernel_map_full;
	uint64_t rechecks;
	uint64_t path_fixes;	 /* paths updated after rename/unlink */
};

enum tracker_change {
	TC_OPENED, /* a file came into the table: its first writer */
	TC_CLOSED, /* a file is leaving the table: its writer count read 0 */
};

/* Told of every file that comes or goes (e stays valid during the call). */
typedef void (*tracker_notify_fn)(void *ctx, enum tracker_change what, struct entry *e);

struct tracker {
	struct table table;
	struct kernel *k;
	int64_t boot_to_real; /* add to CLOCK_BOOTTIME ns to get wall clock */
	uint64_t start_boot_ns;
	struct tracker_stats st;
	struct cgroup_cache cg;
	uint64_t changes; /* bumped when a file leaves the table */
	tracker_notify_fn notify;
	void *notify_ctx;

	uint64_t recheck_min; /* no entry's recheck_at is earlier; 0: none */
	struct entry **susp;  /* entries whose writer count must be read */
	size_t nsusp, capsusp;
	uint32_t *pids; /* processes whose fds must be walked */
	size_t npids, cappids;
	bool full_scan_wanted;
	uint64_t last_full_scan_mono;
	uint64_t lost_seen;
	uint64_t lost_reconciled; /* lost events a completed walk has made up for */
	struct entry *validate_cursor;
	uint32_t validate_gen;
};

int tracker_init(struct tracker *t, struct kernel *k, size_t max_files, uint32_t max_writers);
void tracker_fini(struct tracker *t);

/* The kernel event callback (kernel_event_fn). */
void tracker_on_event(void *ctx, const struct inuse_ev *ev, size_t len);

/* Walks every process and reads every count: used at start and after lost
 * events. */
int tracker_reconcile(struct tracker *t);

/* Drains the ring and settles what the events asked for: call before
 * answering anything. */
void tracker_sync(struct tracker *t);

/*
 * Does the table hold every inode the kernel map holds? True when no event
 * was lost since the last complete walk, no walk is pending and neither
 * the table nor the kernel map ran full: then an inode missing from the
 * table has no writer the hooks saw, and the kernel map need not be asked.
 */
bool tracker_table_trusted(const struct tracker *t);

/* A last word before answering "not open" for a file not in the table:
 * does the kernel map hold the inode, with writers counted? */
bool tracker_kernel_has(struct tracker *t, uint32_t dev, uint64_t ino);

/* Runs the re-checks that are due. Returns the CLOCK_MONOTONIC time of the
 * next one, or 0 for none. */
uint64_t tracker_timer(struct tracker *t, uint64_t now_mono);

/* Checks up to max stored paths against the file system, fixing renamed and
 * deleted ones. */
void tracker_validate_paths(struct tracker *t, unsigned int max);

/* Converts a CLOCK_BOOTTIME stamp to wall-clock ns (0 stays 0). */
uint64_t tracker_wall_ns(const struct tracker *t, uint64_t boot_ns);

#endif
