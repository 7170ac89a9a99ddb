// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/prom.h"

#include "common/timeutil.h"
#include "inused/alerts.h"
#include "inused/policy.h"
#include "inused/proto.h"
#include "inused/tracker.h"

static void head(struct strbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct strbuf *b, const char *name, const char *type, const char *help,
		double v)
{
	head(b, name, type, help);
	sb_printf(b, "%s %.17g\n", name, v);
}

void prom_render(void *ctx, struct strbuf *b)
{
	static const char *const ev_names[] = {NULL,	 "open",     "close", "hint", "fork",
					       "exec",	 "exit",     "discover", "write"};
	struct prom_sources *s = ctx;
	struct tracker *t = s->t;
	struct proto *p = s->p;
	uint64_t now = clock_boot_ns(), oldest = 0;
	size_t writers = 0;

	tracker_sync(t);
	table_for_each(&t->table, e)
	{
		uint64_t since = e->first_open_ns ? e->first_open_ns : t->start_boot_ns;

		writers += e->nw;
		if (now > since && now - since > oldest)
			oldest = now - since;
	}
	one(b, "inuse_files_open_for_writing", "gauge",
	    "Regular files open for writing now.", (double)t->table.count);
	one(b, "inuse_writers", "gauge", "Writers (process and fd or mapping) known now.",
	    (double)writers);
	one(b, "inuse_oldest_open_for_writing_seconds", "gauge",
	    "How long the file open for writing the longest has been (0: none).",
	    (double)oldest / 1e9);
	one(b, "inuse_alerts_firing", "gauge", "Files held open for writing past their threshold.",
	    s->al ? (double)s->al->firing : 0);
	one(b, "inuse_table_full", "gauge", "1 when the table or the kernel map ran full.",
	    t->table.full_events || t->st.kernel_map_full ? 1 : 0);
	head(b, "inuse_events_total", "counter", "Kernel events seen, by kind.");
	for (int k = 1; k <= INUSE_EV_WRITE; k++)
		sb_printf(b, "inuse_events_total{kind=\"%s\"} %llu\n", ev_names[k],
			  (unsigned long long)t->st.events[k]);
	one(b, "inuse_events_lost_total", "counter",
	    "Events the kernel could not queue (each starts a reconciliation).", (double)t->st.lost);
	one(b, "inuse_reconciliations_total", "counter",
	    "Walks of every process to rebuild the table's writers.",
	    (double)t->st.reconciliations);
	one(b, "inuse_writer_count_reads_total", "counter",
	    "Reads of the kernel's writer count of an inode.", (double)t->st.probes);
	if (s->al) {
		one(b, "inuse_alerts_total", "counter", "Alerts sent (first and repeated).",
		    (double)s->al->fired);
		one(b, "inuse_alerts_resolved_total", "counter", "Alerted files that closed.",
		    (double)s->al->resolved);
		one(b, "inuse_alert_hooks_killed_total", "counter",
		    "Alert hooks killed at their timeout.", (double)s->al->hooks_killed);
	}
	head(b, "inuse_requests_total", "counter", "Socket requests, by kind.");
	for (int i = 0; proto_op_names[i]; i++)
		sb_printf(b, "inuse_requests_total{op=\"%s\"} %llu\n", proto_op_names[i],
			  (unsigned long long)p->st.by_op[i]);
	one(b, "inuse_request_errors_total", "counter", "Requests answered with an error.",
	    (double)p->st.errors);
	head(b, "inuse_decisions_total", "counter", "Backup decisions of check, by decision.");
	for (int d = 0; d < DEC_NR; d++)
		sb_printf(b, "inuse_decisions_total{decision=\"%s\"} %llu\n",
			  decision_name((enum decision)d), (unsigned long long)p->st.by_decision[d]);
	head(b, "inuse_request_duration_seconds", "histogram",
	     "Time to handle a request (a wait: until it is parked), by kind.");
	for (int i = 0; proto_op_names[i]; i++) {
		uint64_t cum = 0;

		for (int k = 0; k <= PROTO_LAT_BUCKETS; k++) {
			cum += p->st.lat_count[i][k];
			if (k < PROTO_LAT_BUCKETS)
				sb_printf(b,
					  "inuse_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} "
					  "%llu\n",
					  proto_op_names[i], proto_lat_bounds[k],
					  (unsigned long long)cum);
			else
				sb_printf(b,
					  "inuse_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} "
					  "%llu\n",
					  proto_op_names[i], (unsigned long long)cum);
		}
		sb_printf(b, "inuse_request_duration_seconds_sum{op=\"%s\"} %.9f\n",
			  proto_op_names[i], p->st.lat_sum[i]);
		sb_printf(b, "inuse_request_duration_seconds_count{op=\"%s\"} %llu\n",
			  proto_op_names[i], (unsigned long long)cum);
	}
	head(b, "inuse_snapshots_total", "counter", "Snapshot requests, by outcome.");
	{
		static const char *const outcome[] = {"taken", "refused", "failed"};

		for (int k = 0; k < 3; k++)
			sb_printf(b, "inuse_snapshots_total{outcome=\"%s\"} %llu\n", outcome[k],
				  (unsigned long long)p->st.snapshots[k]);
	}
	one(b, "inuse_snapshot_bytes_total", "counter", "Bytes of snapshot copies handed out.",
	    (double)p->st.snapshot_bytes);
	head(b, "inuse_freeze_duration_seconds", "histogram",
	     "How long writers were frozen for a snapshot (freeze to thaw).");
	{
		uint64_t cum = 0;

		for (int k = 0; k <= PROTO_LAT_BUCKETS; k++) {
			cum += p->st.freeze_count[k];
			if (k < PROTO_LAT_BUCKETS)
				sb_printf(b, "inuse_freeze_duration_seconds_bucket{le=\"%g\"} %llu\n",
					  proto_lat_bounds[k], (unsigned long long)cum);
			else
				sb_printf(b, "inuse_freeze_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
					  (unsigned long long)cum);
		}
		sb_printf(b, "inuse_freeze_duration_seconds_sum %.9f\n", p->st.freeze_sum);
		sb_printf(b, "inuse_freeze_duration_seconds_count %llu\n", (unsigned long long)cum);
	}
}
