/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * table.h - the daemon's table of regular files open for writing, keyed by
 * inode identity (device, inode number), each with its writers.
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
	VIA_FD = 0,   /* an open file descriptor */
	VIA_MMAP = 1, /* a shared writable mapping */
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
	uint8_t via;
	bool seen; /* scratch mark for reconciliation */
	char comm[16];
};

/* entry->pflags */
#define PF_DELETED 0x1
#define PF_RENAMED 0x2
#define PF_FOREIGN_NS 0x4
#define PF_TRUNCATED 0x8
#define PF_NO_PATH 0x10

/* entry->state */
#define ES_SUSPECT 0x1  /* a writer may have gone: read the writer count */
#define ES_ORPHAN 0x2   /* counted writers, none known: look for them */
#define ES_UNKNOWN 0x4  /* looked, found no holder (in flight, io_uring, kernel) */

struct entry {
	uint64_t ino;
	uint32_t dev;
	uint32_t pflags;
	uint64_t inode_ptr;
	char *path;
	uint64_t first_open_ns; /* CLOCK_BOOTTIME; 0: before inused started */
	uint64_t last_write_ns; /* 0: no write seen */
	uint64_t write_gen;
	uint64_t open_gen;
	struct writer *w;
	uint32_t nw;
	uint32_t capw;
	uint32_t writers_dropped; /* writers that did not fit */
	uint32_t state;
	uint32_t recheck_step; /* backoff step of the next re-check */
	uint32_t last_closer;  /* pid whose close made it suspect */
	bool alert_firing;
	uint64_t alert_last_mono; /* when it was last alerted */
	uint64_t recheck_at;   /* CLOCK_MONOTONIC ns, 0: none scheduled */
	char *json;            /* cached rendering of the stable part */
	size_t json_len;
	struct entry *hnext;              /* hash chain */
	struct entry *prev, *next;        /* all entries, in insertion order */
};

struct table {
	struct entry **buckets;
	size_t nbuckets;
	size_t count;
	size_t max_files;
	uint32_t max_writers;
	uint64_t full_events; /* entries refused because the table was full */
	struct entry *head, *tail;
};

int table_init(struct table *t, size_t max_files, uint32_t max_writers);
void table_fini(struct table *t);

struct entry *table_find(const struct table *t, uint32_t dev, uint64_t ino);

/* Finds or adds; NULL (and full_events counted) when the table is full or
 * memory is short. *created tells which. */
struct entry *table_get(struct table *t, uint32_t dev, uint64_t ino, bool *created);

void table_remove(struct table *t, struct entry *e);

/* Sets the path (copied); 0 or -ENOMEM. */
int entry_set_path(struct entry *e, const char *path, size_t len);

/* Adds or updates the writer (pid, fd, via); returns it, or NULL when
 * max_writers is reached (counted in writers_dropped). */
struct writer *entry_add_writer(struct table *t, struct entry *e, const struct writer *w);

struct writer *entry_find_writer(struct entry *e, uint32_t pid, int32_t fd, uint8_t via);

/* Removes writer i (order not kept). */
void entry_del_writer(struct entry *e, uint32_t i);

/* Removes every writer of pid; returns how many. */
uint32_t entry_del_pid(struct entry *e, uint32_t pid);

bool entry_has_pid(const struct entry *e, uint32_t pid);

/* The cached rendering is stale. */
void entry_touch(struct entry *e);

#define table_for_each(t, e) for (struct entry *e = (t)->head; e; e = e->next)
#define table_for_each_safe(t, e, n)                                                               \
	for (struct entry *e = (t)->head, *n = e ? e->next : NULL; e; e = n, n = e ? e->next : NULL)

#endif
