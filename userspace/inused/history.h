/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * history.h - which files were open for writing, and when: for backups run
 * by agents that cannot be wrapped, "what was written between T1 and T2?".
 *
 * Every file that comes into the table gets a record (its first writer,
 * its name); every time it leaves, the span it was open for writing is
 * added. A record keeps HIST_SPANS spans; past that the two closest are
 * merged (the answer may then say a file was open a little longer than it
 * was, never shorter). Bounded: at most max records (the oldest go first)
 * and none older than max_age; what was dropped is remembered as a time
 * before which the history is not complete.
 */
#ifndef INUSED_HISTORY_H
#define INUSED_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inused/tracker.h"

#define HIST_SPANS	4
#define HIST_MAX_FILES	65536
#define HIST_MAX_AGE_NS (24ULL * 3600 * 1000000000ULL)

struct hist_rec {
	uint64_t ino;
	uint32_t dev;
	uint32_t uid; /* of its first writer */
	uint32_t pid;
	char comm[16];
	char *path;	     /* the host path last known, NULL: none */
	uint64_t open_since; /* CLOCK_BOOTTIME: open now since then; 0: not open */
	uint64_t from[HIST_SPANS], to[HIST_SPANS]; /* spans it was open, by from */
	uint32_t nspans;
	uint64_t last_write; /* CLOCK_BOOTTIME, 0: none seen */
	uint64_t last_seen;  /* the end of its latest span (or its open) */
	struct hist_rec *hnext, *prev, *next;
};

struct history {
	struct hist_rec **b;
	size_t nb;
	struct hist_rec *head, *tail; /* by last_seen: oldest first */
	size_t count, max;
	uint64_t max_age_ns;
	uint64_t start_ns;   /* the history begins here (CLOCK_BOOTTIME) */
	uint64_t lost_until; /* spans ending before this may have been dropped */
	uint64_t dropped;
};

/* 0 or -ENOMEM. */
int history_init(struct history *h, size_t max, uint64_t max_age_ns, uint64_t now);
void history_fini(struct history *h);

/* A file came into the table (opened) at since. */
void history_opened(struct history *h, uint32_t dev, uint64_t ino, const char *path, uint64_t since,
		    uint32_t uid, uint32_t pid, const char *comm);
/* It left at now, open since from (0: unknown, since the history began). */
void history_closed(struct history *h, uint32_t dev, uint64_t ino, const char *path, uint64_t from,
		    uint64_t now, uint64_t last_write);
/* Drops records last seen before now - max age. */
void history_expire(struct history *h, uint64_t now);

struct hist_rec *history_find(const struct history *h, uint32_t dev, uint64_t ino);
/* Was r open for writing at some time in [t1, t2] (now: for its open span)? */
bool hist_rec_meets(const struct hist_rec *r, uint64_t t1, uint64_t t2, uint64_t now);
/* Does the history hold everything from t1 on? */
bool history_complete(const struct history *h, uint64_t t1);
/* The earliest time from which the history is complete. */
uint64_t history_kept_since(const struct history *h);

/* The daemon's hook: a file came into the table or is leaving it. *hp is
 * made on first use. */
void history_note(struct history **hp, struct tracker *t, enum tracker_change what,
		  struct entry *e);

/* Frees *hp (made by history_note), NULL after. */
void history_free(struct history **hp);

#define history_for_each(h, r) for (struct hist_rec *r = (h)->head; r; r = r->next)

#endif
