/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * freeze.h - taking the writers of a file out of the way for a moment, and
 * never leaving them frozen.
 *
 * A writer alone in its cgroup (v2) with other writers of the same files
 * only is frozen by its cgroup (cgroup.freeze, invisible to it and to its
 * parent); any other writer is stopped with SIGSTOP (its parent may notice).
 * Either way the freeze is confirmed (cgroup.events "frozen 1", every thread
 * stopped) before it counts, and undone on every path out. What is frozen
 * is written to a small state file first, so that a daemon killed during a
 * freeze thaws it at its next start.
 */
#ifndef INUSED_FREEZE_H
#define INUSED_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FREEZE_MAX_UNITS 64

enum freeze_how {
	FREEZE_AUTO = 0,   /* cgroup where the writer is alone in it, else signal */
	FREEZE_CGROUP = 1, /* the writer's cgroup, whoever else is in it */
	FREEZE_SIGNAL = 2, /* SIGSTOP of the writers */
};

struct freeze_unit {
	bool cgroup;	  /* a cgroup (path) or a process (pid) */
	char path[512];	  /* cgroup directory, for cgroup units */
	pid_t pid;	  /* for process units */
	uint64_t start;	  /* the process's start time (clock ticks), pid reuse */
	bool was_stopped; /* already stopped by someone else: left alone */
	bool done;	  /* frozen (stopped) by freeze_do */
};

struct freezer {
	char cg_root[256]; /* where cgroup2 is mounted */
	char state_file[512];
	pid_t self;	   /* never frozen: the daemon */
	char self_cg[512]; /* the daemon's cgroup */
	uint64_t freezes, thaws, refused, recovered;
};

struct freeze {
	struct freeze_unit u[FREEZE_MAX_UNITS];
	size_t n;
	uint64_t started_ns; /* CLOCK_MONOTONIC, when the first unit froze */
	uint64_t frozen_ns;  /* when every unit was confirmed frozen */
};

/* Which cgroups must never be frozen, besides the built-in ones (the root,
 * init.scope, the daemon's, the client's): glob patterns on cgroup paths. */
struct freeze_rules {
	enum freeze_how how;
	char *const *never; /* NULL-terminated, or NULL */
	pid_t client;	    /* the requester: never frozen, nor its cgroup */
};

/* state_file: where frozen units are recorded (NULL: the default under
 * /run/inuse). 0 or -errno. */
int freezer_init(struct freezer *fz, const char *state_file);

/* Thaws what a previous daemon left frozen (its state file); returns how
 * many units it thawed. */
int freezer_recover(struct freezer *fz);

/*
 * Plans the freeze of pids (the writers, n of them, with their start times
 * in CLOCK_BOOTTIME ns, 0: not known) into f, after the units it already
 * has (start with a zeroed f). Refuses (-EPERM, why set) a writer that must
 * not be frozen: pid 1, the daemon, the client, a cgroup that the rules or
 * the built-in list forbid. -E2BIG: too many units.
 */
int freeze_plan(struct freezer *fz, const struct freeze_rules *r, const pid_t *pids,
		const uint64_t *starts, size_t n, struct freeze *f, const char **why);

/* Is pid frozen by f (itself, or through its cgroup)? */
bool freeze_holds(const struct freezer *fz, const struct freeze *f, pid_t pid);

/* Freezes f's units not frozen yet and waits until every one is confirmed,
 * at most until deadline (CLOCK_MONOTONIC ns). On failure everything is
 * thawed again and -errno returned (-ETIMEDOUT: not confirmed in time). */
int freeze_do(struct freezer *fz, struct freeze *f, uint64_t deadline, const char **why);

/* Thaws f's units (every one, whatever fails) and clears the state file.
 * Safe to call twice. */
void freeze_undo(struct freezer *fz, struct freeze *f);

/* A process's start time in clock ticks since boot (/proc/PID/stat), 0
 * when it is gone. */
uint64_t proc_start_ticks(pid_t pid);

#endif
