/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proto.h - the requests of the socket protocol (docs/protocol.md): one
 * JSON object per line in, one per line out, ids echoed.
 */
#ifndef INUSED_PROTO_H
#define INUSED_PROTO_H

#include <stdint.h>
#include <sys/types.h>

#include "inused/policy.h"
#include "inused/server.h"
#include "inused/token.h"
#include "inused/tracker.h"

#define INUSE_PROTOCOL_VERSION 1

struct policy;
struct alerts;
struct freezer;
struct waiter;
struct subscriber;
struct job;
struct wait_index;
struct guards;
struct history;

/* At most this many JSON values in one request line (its parsed form is
 * bounded with it). */
#define PROTO_MAX_VALUES 262144

#define PROTO_OPS	  16
#define PROTO_LAT_BUCKETS 12
/* Upper bounds (seconds) of the request latency histogram. */
extern const double proto_lat_bounds[PROTO_LAT_BUCKETS];
/* Names of the requests, by index of by_op (NULL past the last). */
extern const char *const proto_op_names[PROTO_OPS];

struct proto_stats {
	uint64_t requests;
	uint64_t lat_count[PROTO_OPS][PROTO_LAT_BUCKETS + 1]; /* last: +Inf */
	double lat_sum[PROTO_OPS];
	uint64_t by_op[PROTO_OPS];
	uint64_t errors;
	uint64_t by_decision[DEC_NR]; /* enum decision */
	uint64_t verified[2];	 /* consistent, not */
	uint64_t waits[2];	 /* answered done, timed out */
	uint64_t waits_abandoned;
	uint64_t by_op_wait_started;
	uint64_t events_sent;	 /* stream events queued to subscribers */
	uint64_t events_dropped; /* not queued: the subscriber was behind */
	uint64_t snapshots[3];	 /* taken, refused, failed */
	uint64_t snapshot_bytes;
	uint64_t freeze_count[PROTO_LAT_BUCKETS + 1]; /* freeze durations, last: +Inf */
	double freeze_sum;
};

struct proto {
	struct tracker *t;
	struct server *srv;
	const struct policy *pol;
	const struct alerts *al; /* NULL: none */
	gid_t admin_gid;	 /* members see every file; (gid_t)-1: root only */
	uint64_t started_wall_ns;
	struct proto_stats st;
	struct token_key tk; /* drawn at start: tokens of an earlier start expire */
	struct waiter *waiters;
	size_t nwaiters;
	struct wait_index *widx; /* waited paths by inode */
	uint64_t seen_changes;	 /* tracker changes the waiters were evaluated at */
	struct subscriber *subscribers;
	size_t nsubscribers;
	struct freezer *fz;	/* snapshots; NULL: none */
	struct job *jobs;	/* requests answered over several turns */
	size_t njobs;
	struct guards *guards;	/* guarded jobs (op_guard.c); NULL: none yet */
	struct history *hist;	/* files open for writing, and when (history.h) */
};

/* 0, or -errno when no random key can be drawn. */
int proto_init(struct proto *p, struct tracker *t, struct server *srv, gid_t admin_gid,
	       const struct policy *pol);
/* Frees what the protocol holds (jobs, waits, subscriptions). */
void proto_fini(struct proto *p);

/* server_accept_fn: decides, once, whether the client is an admin. */
const char *proto_accept(void *ctx, struct conn *c);

/* The admin group changed (a reload): every client is judged again from
 * the credentials it connected with. */
void proto_set_admin_gid(struct proto *p, gid_t gid);

/* Runs a turn of every request being answered over several turns (whose
 * client takes its output). Returns true when some can run again at once
 * (the loop must not sleep). */
bool proto_run_jobs(struct proto *p);

/* Frees what the protocol holds (guarded jobs, history), at exit. */
void proto_fini(struct proto *p);

/* The table changed: answer the waiters that are now free. */
void proto_waiters_changed(struct proto *p);
/* Deadlines and quiet periods: answers those due; returns the next time
 * (CLOCK_MONOTONIC) one is, or 0. */
uint64_t proto_waiters_timer(struct proto *p, uint64_t now);
/* server_gone_fn: a client went away; its waits and subscription are
 * dropped. */
void proto_gone(void *ctx, struct conn *c);

/* tracker_notify_fn: a file came or went; streamed to subscribers. */
void proto_notify(void *ctx, enum tracker_change what, struct entry *e);
/* alert_sink_fn: an alert ("alert") or its end ("resolved"), streamed. */
void proto_alert(void *ctx, const char *kind, struct entry *e, uint64_t age_ns);

/* server_line_fn / server_oversize_fn */
void proto_line(void *ctx, struct conn *c, const char *line, size_t len);
void proto_oversize(void *ctx, struct conn *c);

#endif
