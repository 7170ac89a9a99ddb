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
 * re-read with back-off, and again whenever something on the machine
 * closes a file or exits, and then every task is walked.
 *
 * Names: the kernel reports each name as a path within its file system;
 * the tracker turns it into a path of the host's mount namespace (mounts.h)
 * and keeps it true across renames (re-walked from the kernel's dentry) and
 * mount changes. See docs/design.md.
 */
#ifndef INUSED_TRACKER_H
#define INUSED_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "inused/cgroup.h"
#include "inused/kernel.h"
#include "inused/mounts.h"
#include "inused/table.h"

struct tracker_stats {
	uint64_t events[INUSE_EV_SCAN + 1];
	uint64_t events_total;
	uint64_t probes;	  /* writer-count reads (inodes) */
	uint64_t removed;	  /* files that left the table */
	uint64_t kept;		  /* "maybe closed" that the count kept */
	uint64_t pid_scans;	  /* one process walked */
	uint64_t full_scans;	  /* every process walked */
	uint64_t reconciliations; /* full reconciliations (start, lost events, orphans) */
	uint64_t lost;		  /* events the kernel could not queue */
	uint64_t kernel_map_full;
	uint64_t rechecks;
	uint64_t path_fixes;  /* names updated after a rename or unlink */
	uint64_t path_checks; /* names checked against the file system */
	uint64_t fd_probes;   /* paths asked of the kernel through a descriptor */
	uint64_t mount_reloads;
};

enum tracker_change {
	TC_OPENED, /* a file came into the table: its first writer */
	TC_CLOSED, /* a file is leaving the table: its writer count read 0 */
};

/* Told of every file that comes or goes (e stays valid during the call). */
typedef void (*tracker_notify_fn)(void *ctx, enum tracker_change what, struct entry *e);

/* A name to walk from the kernel's dentry. */
struct name_req {
	struct entry *e;
	unsigned int slot;
	uint32_t flags; /* INUSE_WALK_* */
	uint64_t dentry_ptr;
	uint64_t inode_ptr;
};

struct tracker {
	struct table table;
	struct kernel *k;
	struct mounts mounts;
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
	struct entry *holderless; /* those entries, linked by hl_next */
	uint32_t nholderless;	  /* entries with writers counted, none known */
	struct name_req *names;	  /* names to walk (the kernel sends dentries) */
	size_t nnames, capnames;
	struct entry **born; /* new files not announced yet (names first) */
	size_t nborn, capborn;
	uint64_t paths_check_at; /* CLOCK_MONOTONIC: check every name then; 0: none */
	uint64_t last_paths_check;
	struct entry *validate_cursor;
};

/* max_files, max_writers: table bounds; mountinfo: NULL for the daemon's
 * own (a test seam). */
int tracker_init(struct tracker *t, struct kernel *k, size_t max_files, uint32_t max_writers,
		 const char *mountinfo);
void tracker_fini(struct tracker *t);

/* The kernel event callback (kernel_event_fn). */
void tracker_on_event(void *ctx, const struct inuse_ev *ev, size_t len);

/* One record of a walk (SCAN or NAME, aligned, its path within len), as
 * a walk of pid (0: every process) hands it: a seam for tests and
 * fuzzing. */
void tracker_scan_record(struct tracker *t, uint32_t pid, const struct inuse_ev *r, size_t len);

/* Walks every process and reads every count: used at start and after lost
 * events. */
int tracker_reconcile(struct tracker *t);

/* Drains the ring and settles what the events asked for: call before
 * answering anything. After lost events it walks every process before it
 * returns, so that no answer lists a writer that is gone. */
void tracker_sync(struct tracker *t);

/* The same from the event loop: walks of every process after lost events
 * are rate-limited. */
void tracker_sync_background(struct tracker *t);

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

/*
 * The kernel's own answer for a file the caller opened with O_PATH (fd in
 * the daemon's table): its writer count, whatever name led to it. Returns
 * 1 when it has writers, 0 when not, -errno when it cannot tell. *key gets
 * the identity of the inode that holds the data.
 */
int tracker_fd_writers(struct tracker *t, int fd, uint32_t *dev, uint64_t *ino);

/* Runs the re-checks that are due. Returns the CLOCK_MONOTONIC time of the
 * next one, or 0 for none. */
uint64_t tracker_timer(struct tracker *t, uint64_t now_mono);

/* Checks up to max names against the file system (all of them when a
 * rename was reported), fixing renamed and deleted ones. */
void tracker_validate_paths(struct tracker *t, unsigned int max);

/* Finds the host paths of e's names not resolved against the current
 * mount table (names are resolved on first need). */
void tracker_resolve_names(struct tracker *t, struct entry *e);

/* The mount table changed: read it again; names are resolved again on
 * their next use. */
void tracker_mounts_changed(struct tracker *t);

/* The same, now, if the mount table changed and the event loop has not
 * yet been told (a lookup that follows a mount is answered with it). */
void tracker_mounts_sync(struct tracker *t);

/* Reads the modification time of n entries from the kernel, counting a
 * changed one as a write (file systems whose writes no hook sees). */
void tracker_refresh_writes(struct tracker *t, struct entry *const *e, size_t n);

/* A modification time (ns since the epoch) seen for e by a stat. */
void tracker_note_mtime(struct tracker *t, struct entry *e, uint64_t mtime_ns);

/* Converts a CLOCK_BOOTTIME stamp to wall-clock ns (0 stays 0). */
uint64_t tracker_wall_ns(const struct tracker *t, uint64_t boot_ns);

#endif
