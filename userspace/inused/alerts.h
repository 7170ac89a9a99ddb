/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * alerts.h - files held open for writing too long. One alert when a file
 * crosses its threshold, again every re-alert interval while it stays,
 * and one "resolved" when it closes. Each goes to the log (journald when
 * running under systemd, stderr otherwise), to an optional hook command
 * (run with the facts in its environment, killed at its timeout, never
 * waited for), and to the event stream.
 */
#ifndef INUSED_ALERTS_H
#define INUSED_ALERTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "inused/policy.h"
#include "inused/table.h"

struct tracker;

#define ALERT_MAX_HOOKS 16

/* Called for each alert or resolution (the stream). */
typedef void (*alert_sink_fn)(void *ctx, const char *kind, struct entry *e, uint64_t age_ns);

struct hook_run {
	pid_t pid;
	uint64_t deadline_mono;
};

struct alerts {
	const struct policy *pol;
	struct tracker *t;
	alert_sink_fn sink;
	void *sink_ctx;
	bool journal; /* log through journald */
	struct hook_run hooks[ALERT_MAX_HOOKS];
	uint64_t fired, resolved, hooks_run, hooks_killed, hooks_failed, hooks_dropped;
	uint64_t firing; /* files with an alert now */
};

void alerts_init(struct alerts *a, struct tracker *t, const struct policy *pol);

/* Checks every file against its threshold; returns the CLOCK_MONOTONIC
 * time of the next check, or 0 when alerts are off. */
uint64_t alerts_tick(struct alerts *a, uint64_t now_mono);

/* A file is leaving the table: resolves its alert, if any. */
void alerts_closed(struct alerts *a, struct entry *e);

/* Reaps finished hooks and kills those past their timeout. Returns the
 * next deadline, or 0. */
uint64_t alerts_reap(struct alerts *a, uint64_t now_mono);

/* Kills and reaps every hook still running (at exit). */
void alerts_fini(struct alerts *a);

#endif
