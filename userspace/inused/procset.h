/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * procset.h - the processes of one listing, each named once.
 *
 * A listing asked for with "processes":true gives each writer's pid and
 * what belongs to its open, and the identity of the process (command,
 * user, cgroup) once, in the answer's "processes" member (docs/protocol.md).
 * The identity a pid gets is the one its first writer shown carries; a
 * later writer of the same pid that carries another one (the process
 * changed its user or its name between two opens) keeps its own members.
 * Memory: one record per distinct pid shown, at most the table's writers.
 */
#ifndef INUSED_PROCSET_H
#define INUSED_PROCSET_H

#include <stddef.h>
#include <stdint.h>

#include "inused/table.h"

/* A writer's process as a listing names it; comm zero-padded after its
 * end, so that two are the same exactly when their bytes are. */
struct proc_id {
	uint32_t pid;
	uint32_t uid;
	uint64_t cgroup_id;
	char comm[16];
};

_Static_assert(sizeof(struct proc_id) == 32, "no padding: compared by its bytes");

void proc_id_of(const struct writer *w, struct proc_id *p);

struct procset {
	struct proc_id *v; /* in the order first shown */
	size_t n, cap;
	size_t last;	/* the record noted last */
	uint32_t *slot; /* open addressing: index + 1, 0 empty */
	size_t nslot;	/* a power of two, at least twice n */
};

/* p is its pid's identity in s: true (the pid added with it when new),
 * false (it differs, or memory ran out: the writer is then shown in full,
 * which is never wrong). */
bool procset_note(struct procset *s, const struct proc_id *p);

/* The same test, without adding. */
bool procset_same(const struct procset *s, const struct proc_id *p);

/* Bytes held, for the client's account. */
size_t procset_bytes(const struct procset *s);

void procset_free(struct procset *s);

#endif
