/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * table.h - the daemon's table of regular files open for writing, keyed by
 * inode identity (device and inode number as stat(2) gives them for the
 * inode that holds the data), each with its writers and its names.
 *
 * Indexes: by key, by alias key (the identity stat(2) gives for another
 * name of the same data, an overlay's merged file), and by writer pid, so
 * that what a process does costs what it holds, not the table.
 *
 * Memory is bounded: at most max_files entries and max_writers writers per
 * entry; what does not fit is counted, never dropped silently.
 */
#ifndef INUSED_TABLE_H
#define INUSED_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum writer_via {
	VIA_FD = 0,    /* an open file descriptor */
	VIA_MMAP = 1,  /* a mapping */
	VIA_URING = 2, /* an io_uring fixed-file slot (fd is the slot) */
};

struct writer {
	uint32_t pid; /* thread group id */
	int32_t fd;   /* -1 for a mapping */
	uint32_t uid;
	uint32_t f_flags;
	uint32_t open_flags;
	uint32_t f_mode;
	uint64_t cgroup_id;
	uint64_t since_ns; /* CLOCK_BOOTTIME; 0: before inused started */
	uint64_t start_ns; /* the process's start, CLOCK_BOOTTIME (pid reuse) */
	uint8_t via;
	bool seen; /* scratch mark for reconciliation */
	char comm[16];
};

/* One name of an entry's data: a path within a file system, and that path
 * in the host's mount namespace when the file system is mounted there. */
struct ename {
	char *fs_path;	     /* NULL: slot unused */
	char *host_path;     /* NULL: not reachable in the host's namespace */
	uint64_t dentry_ptr; /* the dentry the path was walked from */
	uint64_t inode_ptr;  /* the inode that dentry names */
	uint64_t mounts_gen; /* mount table generation host_path was resolved at */
	uint64_t name_hash;  /* the path's fingerprint (INUSE_NAME_HASH), 0: none */
	int mount_id;	     /* the mount host_path goes through, 0: none */
	uint64_t alias_ino;  /* stat identity of host_path when it is not the */
	uint32_t alias_dev;  /* entry's own (an overlay's merged file); 0: none */
	uint32_t sb_dev;     /* device of the file system fs_path is in */
	uint32_t flags;	     /* NF_* */
};

/* ename slots */
#define NAME_OPENED 0 /* the name writers opened (the latest one, hard links) */
#define NAME_UPPER  1 /* an overlay file's upper-layer file */
#define ENTRY_NAMES 2

/* ename->flags */
#define NF_TRUNC    0x1 /* longer than the kernel walks: fs_path is its tail */
#define NF_UNLINKED 0x2 /* the name was deleted */
#define NF_DETACHED 0x4 /* the walk did not reach the file system's root */

/* Users remembered per entry (who may see it leave the table). */
#define ENTRY_UIDS 8

/* entry->pflags */
#define PF_DELETED    0x1
#define PF_RENAMED    0x2  /* renamed (or moved) since it was first seen */
#define PF_FOREIGN_NS 0x4  /* opened from another mount namespace */
#define PF_TRUNCATED  0x8  /* the name is longer than the kernel walks */
#define PF_NO_PATH    0x10 /* no name known yet */
#define PF_UNMOUNTED  0x20 /* no name is reachable in the host's namespace */
#define PF_MTIME      0x40 /* writes are seen by the modification time only */
#define PF_STALE      0x80 /* the name shown could not be confirmed */

/* entry->state */
#define ES_SUSPECT 0x1	/* a writer may have gone: read the writer count */
#define ES_ORPHAN  0x2	/* counted writers, none known: look for them */
#define ES_UNKNOWN 0x4	/* looked, found no holder (in flight, io_uring, kernel) */
#define ES_NAME	   0x8	/* a name of it waits to be walked */
#define ES_BORN	   0x10 /* new, not announced to the stream yet */

struct entry {
	/* what a listing reads of every entry, in its first 64 bytes */
	uint64_t ino;
	uint32_t dev;
	uint32_t pflags;
	char *json; /* cached rendering of the stable part */
	uint32_t json_len;
	uint8_t json_form;	/* the cached rendering's form (RENDER_*, render.h) */
	bool dead;		/* removed, kept while the table is pinned (table_pin) */
	uint64_t json_gen;	/* the mount table's generation it was rendered at */
	uint64_t last_write_ns; /* CLOCK_BOOTTIME; 0: no write seen */
	uint64_t write_gen;
	uint64_t open_gen;
	/* the rest */
	struct entry *next; /* all entries, in insertion order */
	uint64_t seq;	    /* order of insertion in the table */
	struct writer *w;
	uint32_t nw;
	uint32_t capw;
	uint64_t inode_ptr;
	const char *path; /* the name shown: one of names[].host_path, or NULL */
	struct ename names[ENTRY_NAMES];
	uint64_t first_open_ns;	   /* CLOCK_BOOTTIME; 0: before inused started */
	uint64_t mtime_ns;	   /* modification time last seen, ns since the epoch */
	uint32_t writers_dropped;  /* writers that did not fit */
	uint32_t uids[ENTRY_UIDS]; /* users whose processes wrote it while open */
	uint32_t nuids;		   /* (the first ENTRY_UIDS of them) */
	uint32_t state;
	uint32_t recheck_step; /* backoff step of the next re-check */
	uint32_t last_closer;  /* pid whose close made it suspect */
	bool alert_firing;
	int32_t alert_rule;		 /* alerts.c: the rule its path matched (-1: */
	uint64_t alert_rule_gen;	 /* the default), in policy alert_rule_gen; 0: none */
	uint64_t alert_last_mono;	 /* when it was last alerted */
	uint64_t recheck_at;		 /* CLOCK_MONOTONIC ns, 0: none scheduled */
	struct entry *hl_prev, *hl_next; /* holder-less entries (tracker.c) */
	struct entry *hnext;		 /* hash chain */
	struct entry *prev;
	size_t ord; /* its slot in the table's order array */
};

_Static_assert(offsetof(struct entry, open_gen) + sizeof(uint64_t) <= 64,
	       "a listing's fields of an entry fit in 64 bytes");

/* A slot of the order array: an entry and its seq (kept when the entry is
 * removed, so that the array stays sorted by seq with holes in it). */
struct ordslot {
	struct entry *e; /* NULL: removed */
	uint64_t seq;
};

struct alias;
struct pidnode;

struct table {
	struct entry **buckets;
	size_t nbuckets;
	size_t count;
	size_t max_files;
	uint32_t max_writers;
	uint64_t full_events; /* entries refused because the table was full */
	uint64_t removals;    /* entries freed while the table was pinned, or
			       * removed while it was not: a pointer to an entry
			       * taken when it was at this value is valid (the
			       * entry perhaps dead) as long as it still is */
	uint32_t pins;	      /* table_pin() */
	struct entry *dead;   /* removed while pinned, linked by hnext */
	size_t ndead;
	uint64_t seq; /* of the last entry inserted */
	struct entry *head, *tail;
	/* the same entries in an array, in seq order, for walks that must not
	 * chase one pointer per entry (a listing: the addresses are known
	 * ahead, so many entries are fetched from memory at once) */
	struct ordslot *ord;
	size_t nord, capord, ord_holes;
	uint64_t ord_gen;	 /* bumped when slots move (compaction) */
	struct alias **abuckets; /* alias key -> entry */
	size_t nabuckets;
	size_t naliases;
	struct pidnode **pbuckets; /* writer pid -> entries */
	size_t npbuckets;
	struct pidnode **ubuckets; /* writer uid -> entries */
	size_t nubuckets;
	bool ubroken; /* memory was short for it: not used */
	/* first opens along the seq order, for walks that end at a time
	 * (table_opened_after): the latest of an entry added, how far one
	 * fell below the latest before it, and the last entry added without
	 * one (found by a walk) after one with */
	uint64_t fo_latest, fo_disorder;
	uint64_t fo_late_none_seq, fo_none_prev;
};

int table_init(struct table *t, size_t max_files, uint32_t max_writers);
void table_fini(struct table *t);

struct entry *table_find(const struct table *t, uint32_t dev, uint64_t ino);

/* By key, or else by alias key. */
struct entry *table_find_any(const struct table *t, uint32_t dev, uint64_t ino);

/* Finds or adds; NULL (and full_events counted) when the table is full or
 * memory is short. *created tells which. An entry added has no first open
 * until table_set_first_open gives it one. */
struct entry *table_get(struct table *t, uint32_t dev, uint64_t ino, bool *created);

/* The first open (boot ns; 0: not known) of e, which table_get has just
 * added: before any other entry is added. */
void table_set_first_open(struct table *t, struct entry *e, uint64_t ns);

/* Whether every entry from e on, in seq order, was first opened after
 * cutoff (boot ns), one without a first open counting as opened at start
 * (the daemon's start, before every first open): a walk for files open
 * since before cutoff ends there. */
bool table_opened_after(const struct table *t, const struct entry *e, uint64_t cutoff,
			uint64_t start);

void table_remove(struct table *t, struct entry *e);

/* While the table is pinned, an entry removed from it is not freed: it is
 * marked dead and kept, its next pointer as it was, so that a reader
 * holding pointers into the table (a listing answered in turns) can go on
 * from it; at most TABLE_DEAD_MAX such (past that, removals free and
 * count). Unpinned by as many calls, the dead are freed. */
/* The index of the first slot of the order array whose seq is >= seq
 * (t->nord: none). */
size_t table_ord_from(const struct table *t, uint64_t seq);

#define TABLE_DEAD_MAX 4096
void table_pin(struct table *t);
void table_unpin(struct table *t);

/* Sets name slot i of e (paths copied; fs_path NULL clears the slot). The
 * host path and alias are reset: they are resolved later. 0 or -ENOMEM. */
int entry_set_name(struct table *t, struct entry *e, unsigned int i, const char *fs_path,
		   size_t len, uint32_t sb_dev, uint64_t dentry_ptr, uint64_t inode_ptr,
		   uint32_t flags);

/* Sets the host path of name slot i (copied, NULL: none) and its alias key
 * (dev 0: none), and e->path. 0 or -ENOMEM. */
int entry_set_host(struct table *t, struct entry *e, unsigned int i, const char *host,
		   uint32_t alias_dev, uint64_t alias_ino);

/* Adds or updates the writer (pid, fd, via); returns it, or NULL when
 * max_writers is reached (counted in writers_dropped). */
struct writer *entry_add_writer(struct table *t, struct entry *e, const struct writer *w);

struct writer *entry_find_writer(struct entry *e, uint32_t pid, int32_t fd, uint8_t via);

/* Removes writer i (order not kept). */
void entry_del_writer(struct table *t, struct entry *e, uint32_t i);

/* Removes every writer of pid; returns how many. */
uint32_t entry_del_pid(struct table *t, struct entry *e, uint32_t pid);

bool entry_has_pid(const struct entry *e, uint32_t pid);

/* The entries with a writer of pid: *n of them, in no order, valid until
 * the table changes. */
struct entry *const *table_pid_entries(const struct table *t, uint32_t pid, size_t *n);

/* The entries with a writer of user uid, in no order; *n is SIZE_MAX when
 * the index could not be kept (memory was short): walk the table. */
struct entry *const *table_uid_entries(const struct table *t, uint32_t uid, size_t *n);

/* The cached rendering is stale. */
void entry_touch(struct entry *e);

#define table_for_each(t, e) for (struct entry *e = (t)->head; e; e = e->next)
#define table_for_each_safe(t, e, n)                                                               \
	for (struct entry *e = (t)->head, *n = e ? e->next : NULL; e; e = n, n = e ? e->next : NULL)

#endif
