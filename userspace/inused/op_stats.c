// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* op_stats.c - "hello" (who answers, what it can do) and "stats" (the
 * daemon's counters). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inused/alerts.h"
#include "inused/ops.h"
#include "inused/policy.h"
#include "inused/request.h"

struct counter {
	const char *name;
	uint64_t v;
};

/* Appends the counters as members "a":1,... each after a comma, but for
 * the very first of an object (*first, then cleared). */
static void add_members(struct strbuf *b, bool *first, const struct counter *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sb_printf(b, "%s\"%s\":%llu", *first ? "" : ",", c[i].name,
			  (unsigned long long)c[i].v);
		*first = false;
	}
}

/* Appends "name":{the counters} as a member. */
static void add_group(struct strbuf *b, bool *first, const char *name, const struct counter *c,
		      size_t n)
{
	bool f = true;

	sb_printf(b, "%s\"%s\":{", *first ? "" : ",", name);
	*first = false;
	add_members(b, &f, c, n);
	sb_adds(b, "}");
}

void op_hello(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct strbuf b = {0};

	proto_add_id(&b, id);
	sb_printf(&b, ",\"ok\":true,\"protocol\":%d,\"version\":\"%s\",\"features\":[",
		  INUSE_PROTOCOL_VERSION, INUSE_VERSION);
	for (int i = 0; proto_op_names[i]; i++)
		sb_printf(&b, "%s\"%s\"", i ? "," : "", proto_op_names[i]);
	sb_adds(&b, "],\"names\":\"bytes\",\"started\":");
	sb_printf(&b, "%.6f,\"pid\":%d,\"admin\":%s}\n", (double)p->started_wall_ns / 1e9,
		  (int)getpid(), c->admin ? "true" : "false");
	conn_send(c, b.buf, b.len);
	sb_free(&b);
}

/* A client that is not an admin: the files its own processes write, and
 * nothing of the rest of the machine. */
static void own_stats(struct proto *p, struct conn *c, json_t *id)
{
	size_t files = 0, writers = 0;
	struct strbuf b = {0};

	table_for_each(&p->t->table, e)
	{
		if (!proto_visible(e, false, c->peer.uid))
			continue;
		files++;
		for (uint32_t i = 0; i < e->nw; i++)
			writers += e->w[i].uid == c->peer.uid;
	}
	proto_add_id(&b, id);
	sb_printf(&b, ",\"ok\":true,\"files\":%zu,\"writers\":%zu,\"complete\":false}\n", files,
		  writers);
	conn_send(c, b.buf, b.len);
	sb_free(&b);
}

void op_stats(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct tracker *t = p->t;
	uint64_t ks[INUSE_STAT_NR] = {0};
	size_t writers = 0;
	struct strbuf b = {0};

	tracker_sync(t);
	if (!c->admin) {
		own_stats(p, c, id);
		return;
	}
	kernel_stats(t->k, ks);
	table_for_each(&t->table, e) writers += e->nw;
	{
		const struct counter top[] = {
		    {"files", t->table.count},
		    {"writers", writers},
		    {"max_files", t->table.max_files},
		    {"table_full_events", t->table.full_events},
		    {"events_total", t->st.events_total},
		    {"events_lost", ks[INUSE_STAT_LOST]},
		    {"kernel_events", ks[INUSE_STAT_EVENTS]},
		    {"kernel_map_full", ks[INUSE_STAT_MAP_FULL]},
		    {"wakeups", ks[INUSE_STAT_WAKEUPS]},
		    {"discovered", ks[INUSE_STAT_DISCOVERED]},
		    {"reconciliations", t->st.reconciliations},
		    {"count_reads", t->st.probes},
		    {"removed", t->st.removed},
		    {"pid_scans", t->st.pid_scans},
		    {"full_scans", t->st.full_scans},
		    {"rechecks", t->st.rechecks},
		    {"path_checks", t->st.path_checks},
		    {"path_fixes", t->st.path_fixes},
		    {"fd_probes", t->st.fd_probes},
		    {"mount_reloads", t->st.mount_reloads},
		    {"holderless", t->nholderless},
		    {"clients", p->srv->nconns},
		};
		const struct counter ev[] = {
		    {"open", t->st.events[INUSE_EV_OPEN]},
		    {"close", t->st.events[INUSE_EV_CLOSE]},
		    {"hint", t->st.events[INUSE_EV_HINT]},
		    {"fork", t->st.events[INUSE_EV_FORK]},
		    {"exec", t->st.events[INUSE_EV_EXEC]},
		    {"exit", t->st.events[INUSE_EV_EXIT]},
		    {"discover", t->st.events[INUSE_EV_DISCOVER]},
		    {"write", t->st.events[INUSE_EV_WRITE]},
		    {"name", t->st.events[INUSE_EV_NAME]},
		};
		const struct counter rq[] = {
		    {"errors", p->st.errors},
		    {"verified_consistent", p->st.verified[0]},
		    {"verified_inconsistent", p->st.verified[1]},
		    {"waits_done", p->st.waits[0]},
		    {"waits_timed_out", p->st.waits[1]},
		    {"waits_abandoned", p->st.waits_abandoned},
		    {"waiting", p->nwaiters},
		    {"subscribers", p->nsubscribers},
		    {"events_sent", p->st.events_sent},
		    {"events_dropped", p->st.events_dropped},
		};
		struct counter ops[PROTO_OPS], dec[DEC_NR];
		size_t nops = 0;

		for (; nops < PROTO_OPS && proto_op_names[nops]; nops++)
			ops[nops] = (struct counter){proto_op_names[nops], p->st.by_op[nops]};
		for (int i = 0; i < DEC_NR; i++)
			dec[i] =
			    (struct counter){decision_name((enum decision)i), p->st.by_decision[i]};

		bool first = false, rfirst = true;

		proto_add_id(&b, id);
		sb_adds(&b, ",\"ok\":true");
		add_members(&b, &first, top, sizeof(top) / sizeof(top[0]));
		add_group(&b, &first, "events", ev, sizeof(ev) / sizeof(ev[0]));
		sb_adds(&b, ",\"requests\":{");
		add_members(&b, &rfirst, ops, nops);
		add_members(&b, &rfirst, rq, sizeof(rq) / sizeof(rq[0]));
		add_group(&b, &rfirst, "decisions", dec, DEC_NR);
		if (p->al) {
			const struct counter al[] = {
			    {"firing", p->al->firing},
			    {"fired", p->al->fired},
			    {"resolved", p->al->resolved},
			    {"hooks_run", p->al->hooks_run},
			    {"hooks_killed", p->al->hooks_killed},
			    {"hooks_failed", p->al->hooks_failed},
			};

			add_group(&b, &rfirst, "alerts", al, sizeof(al) / sizeof(al[0]));
		}
		sb_printf(&b, "},\"uring_hook\":%s,\"complete\":true}\n",
			  t->k->uring ? "true" : "false");
	}
	conn_send(c, b.buf, b.len);
	sb_free(&b);
}
