// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/proto_int.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/alerts.h"
#include "inused/fault.h"
#include "inused/policy.h"
#include "inused/render.h"

enum op { OP_HELLO, OP_LIST, OP_STATS, OP_CHECK, OP_WAIT, OP_VERIFY, OP_SUBSCRIBE, OP_NR };
const char *const proto_op_names[PROTO_OPS] = {"hello", "list",   "stats",     "check",
					       "wait",  "verify", "subscribe", NULL};
#define op_names proto_op_names
const double proto_lat_bounds[PROTO_LAT_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005,
						    0.001,   0.0025, 0.005,   0.01,
						    0.025,   0.1,    0.5,     2.5};

/* Counts one request's handling time in its op's histogram. */
static void count_latency(struct proto *p, int op, uint64_t ns)
{
	double s = (double)ns / 1e9;
	int b = 0;

	while (b < PROTO_LAT_BUCKETS && s > proto_lat_bounds[b])
		b++;
	p->st.lat_count[op][b]++;
	p->st.lat_sum[op] += s;
}

void proto_init(struct proto *p, struct tracker *t, struct server *srv, gid_t admin_gid,
		const struct policy *pol)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->srv = srv;
	p->pol = pol;
	p->admin_gid = admin_gid;
	p->started_wall_ns = clock_real_ns();
}

/* Appends the request id, as given, or null. */
void proto_add_id(struct strbuf *b, json_t *id)
{
	char *s = id ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	sb_adds(b, "{\"id\":");
	sb_adds(b, s ? s : "null");
	free(s);
}

void proto_send_error(struct proto *p, struct conn *c, json_t *id, const char *code,
		      const char *msg)
{
	struct strbuf b = {0};
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	char *es = e ? json_dumps(e, JSON_COMPACT) : NULL;

	p->st.errors++;
	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":false,\"error\":");
	sb_adds(&b, es ? es : "{\"code\":\"internal\",\"message\":\"out of memory\"}");
	sb_adds(&b, "}\n");
	conn_send(c, b.buf, b.len);
	sb_free(&b);
	free(es);
	json_decref(e);
}

void proto_add_json(struct strbuf *b, bool first, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(16)) : NULL;

	if (!first)
		sb_add(b, ",", 1);
	sb_adds(b, s ? s : "null");
	free(s);
	json_decref(o);
}

void proto_add_str(struct strbuf *b, const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	size_t avail = b->cap > b->len ? b->cap - b->len - 1 : 0, n = 0;

	if (j) {
		n = json_dumpb(j, avail ? b->buf + b->len : NULL, avail, JSON_ENCODE_ANY);
		if (n > avail && sb_reserve(b, n) == 0)
			n = json_dumpb(j, b->buf + b->len, n, JSON_ENCODE_ANY);
		else if (n > avail)
			n = 0;
		json_decref(j);
	}
	if (!n) {
		sb_adds(b, "null");
		return;
	}
	b->len += n;
	b->buf[b->len] = '\0';
}

void proto_send_obj(struct conn *c, json_t *id, json_t *body)
{
	struct strbuf b = {0};
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(16));

	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":true");
	if (s && strlen(s) > 2) {
		sb_adds(&b, ",");
		sb_add(&b, s + 1, strlen(s) - 1); /* the body's members and its } */
	} else {
		sb_adds(&b, "}");
	}
	sb_adds(&b, "\n");
	conn_send(c, b.buf, b.len);
	sb_free(&b);
	free(s);
}

const char *path_state_name(enum path_state s)
{
	static const char *const n[] = {"not_open", "open", "missing", "not_regular", "error"};

	return n[s];
}

enum path_state proto_path_state(struct proto *p, const char *path, struct stat *st,
				 struct entry **e, int *err)
{
	struct tracker *t = p->t;
	uint32_t kd;

	*e = NULL;
	*err = 0;
	if (stat(path, st) != 0) {
		*err = errno;
		return errno == ENOENT || errno == ENOTDIR ? PS_MISSING : PS_ERROR;
	}
	if (!S_ISREG(st->st_mode))
		return PS_NOT_REGULAR;
	kd = kdev_from_dev(st->st_dev);
	*e = table_find(&t->table, kd, st->st_ino);
	if (FAULT(LAG) && *e && (*e)->first_open_ns + 300 * NSEC_PER_MSEC > clock_boot_ns())
		*e = NULL;
	if (*e || (!tracker_table_trusted(t) && tracker_kernel_has(t, kd, st->st_ino)))
		return PS_OPEN;
	return PS_NOT_OPEN;
}

/* May uid/gid search directory st? (mode bits only) */
static bool can_search(const struct stat *st, uid_t uid, gid_t gid)
{
	if (st->st_uid == uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

bool proto_may_lookup(const struct conn *c, const char *path)
{
	char dir[PATH_MAX];
	size_t n;

	if (c->cred.uid == 0)
		return true;
	if (path[0] != '/' || strlen(path) >= sizeof(dir))
		return false;
	for (const char *s = path + 1; (s = strchr(s, '/')); s++) {
		struct stat st;

		n = (size_t)(s - path);
		memcpy(dir, path, n);
		dir[n] = '\0';
		if (stat(dir, &st) != 0)
			return true; /* the lookup fails for the client too: "missing" */
		if (S_ISDIR(st.st_mode) && !can_search(&st, c->cred.uid, c->cred.gid))
			return false;
	}
	return stat("/", &(struct stat){0}) == 0;
}

/* Is gid among the supplementary groups of the client process? */
static bool pid_in_group(pid_t pid, gid_t gid)
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *s, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		for (s = line + 7;; s = end) {
			unsigned long g = strtoul(s, &end, 10);

			if (end == s)
				break;
			if ((gid_t)g == gid)
				found = true;
		}
		break;
	}
	fclose(f);
	return found;
}

bool proto_is_admin(const struct proto *p, const struct conn *c)
{
	if (c->cred.uid == 0)
		return true;
	if (p->admin_gid == (gid_t)-1)
		return false;
	return c->cred.gid == p->admin_gid || pid_in_group(c->cred.pid, p->admin_gid);
}

/* May this client see the entry's name and writers? */
bool proto_visible(const struct entry *e, bool admin, uid_t uid)
{
	if (FAULT(LEAK))
		return true;
	if (admin)
		return true;
	for (uint32_t i = 0; i < e->nw; i++)
		if (e->w[i].uid == uid)
			return true;
	return false;
}

static void op_hello(struct proto *p, struct conn *c, json_t *id)
{
	json_t *o = json_pack("{s:i, s:s, s:[s,s,s,s,s,s,s], s:f, s:i, s:b}", "protocol",
			      INUSE_PROTOCOL_VERSION, "version", INUSE_VERSION, "features", "hello",
			      "list", "stats", "check", "wait", "verify", "subscribe", "started", (double)p->started_wall_ns / 1e9, "pid",
			      (int)getpid(), "admin", proto_is_admin(p, c));

	proto_send_obj(c, id, o);
	json_decref(o);
}

static void op_stats(struct proto *p, struct conn *c, json_t *id)
{
	struct tracker *t = p->t;
	uint64_t ks[INUSE_STAT_NR] = {0};
	size_t writers = 0;
	json_t *o, *ev, *req;

	tracker_sync(t);
	kernel_stats(t->k, ks);
	table_for_each(&t->table, e) writers += e->nw;
	ev = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "open",
		       (json_int_t)t->st.events[INUSE_EV_OPEN], "close",
		       (json_int_t)t->st.events[INUSE_EV_CLOSE], "hint",
		       (json_int_t)t->st.events[INUSE_EV_HINT], "fork",
		       (json_int_t)t->st.events[INUSE_EV_FORK], "exec",
		       (json_int_t)t->st.events[INUSE_EV_EXEC], "exit",
		       (json_int_t)t->st.events[INUSE_EV_EXIT], "discover",
		       (json_int_t)t->st.events[INUSE_EV_DISCOVER], "write",
		       (json_int_t)t->st.events[INUSE_EV_WRITE]);
	req = json_object();
	for (int i = 0; i < OP_NR; i++)
		json_object_set_new(req, op_names[i], json_integer((json_int_t)p->st.by_op[i]));
	json_object_set_new(req, "errors", json_integer((json_int_t)p->st.errors));
	{
		json_t *dec = json_object();

		for (int i = 0; i < 4; i++)
			json_object_set_new(dec, decision_name((enum decision)i),
					    json_integer((json_int_t)p->st.by_decision[i]));
		json_object_set_new(req, "decisions", dec);
		json_object_set_new(req, "verified_consistent",
				    json_integer((json_int_t)p->st.verified[0]));
		json_object_set_new(req, "verified_inconsistent",
				    json_integer((json_int_t)p->st.verified[1]));
		json_object_set_new(req, "waits_done", json_integer((json_int_t)p->st.waits[0]));
		json_object_set_new(req, "waits_timed_out",
				    json_integer((json_int_t)p->st.waits[1]));
		json_object_set_new(req, "waits_abandoned",
				    json_integer((json_int_t)p->st.waits_abandoned));
		json_object_set_new(req, "waiting", json_integer((json_int_t)p->nwaiters));
		json_object_set_new(req, "subscribers", json_integer((json_int_t)p->nsubscribers));
		json_object_set_new(req, "events_sent", json_integer((json_int_t)p->st.events_sent));
		json_object_set_new(req, "events_dropped",
				    json_integer((json_int_t)p->st.events_dropped));
		if (p->al)
			json_object_set_new(
				req, "alerts",
				json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "firing",
					  (json_int_t)p->al->firing, "fired",
					  (json_int_t)p->al->fired, "resolved",
					  (json_int_t)p->al->resolved, "hooks_run",
					  (json_int_t)p->al->hooks_run, "hooks_killed",
					  (json_int_t)p->al->hooks_killed, "hooks_failed",
					  (json_int_t)p->al->hooks_failed));
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:I, s:I, s:I, s:o, s:I, s:b}",
		      "files", (json_int_t)t->table.count, "writers", (json_int_t)writers,
		      "max_files", (json_int_t)t->table.max_files, "table_full_events",
		      (json_int_t)t->table.full_events, "events", ev, "events_total",
		      (json_int_t)t->st.events_total, "events_lost", (json_int_t)ks[INUSE_STAT_LOST],
		      "kernel_events", (json_int_t)ks[INUSE_STAT_EVENTS], "kernel_map_full",
		      (json_int_t)ks[INUSE_STAT_MAP_FULL], "wakeups",
		      (json_int_t)ks[INUSE_STAT_WAKEUPS], "reconciliations",
		      (json_int_t)t->st.reconciliations, "count_reads", (json_int_t)t->st.probes,
		      "removed", (json_int_t)t->st.removed, "pid_scans",
		      (json_int_t)t->st.pid_scans, "full_scans", (json_int_t)t->st.full_scans,
		      "rechecks", (json_int_t)t->st.rechecks, "path_fixes",
		      (json_int_t)t->st.path_fixes, "discovered",
		      (json_int_t)ks[INUSE_STAT_DISCOVERED], "requests", req, "clients",
		      (json_int_t)p->srv->nconns, "uring_hook", t->k->uring);
	proto_send_obj(c, id, o);
	json_decref(o);
}

void proto_line(void *ctx, struct conn *c, const char *line, size_t len)
{
	struct proto *p = ctx;
	json_error_t jerr;
	json_t *req, *id, *opv;
	const char *op;
	uint64_t t0;
	int i;

	p->st.requests++;
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return; /* blank lines are allowed between requests */
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req) {
		char msg[256];

		snprintf(msg, sizeof(msg), "not valid JSON at column %d: %s", jerr.column,
			 jerr.text);
		proto_send_error(p, c, NULL, "bad_json", msg);
		return;
	}
	if (!json_is_object(req)) {
		proto_send_error(p, c, NULL, "bad_request", "a request must be a JSON object");
		json_decref(req);
		return;
	}
	id = json_object_get(req, "id");
	opv = json_object_get(req, "op");
	op = json_string_value(opv);
	if (!op) {
		proto_send_error(p, c, id, "bad_request", "\"op\" (a string) is missing");
		json_decref(req);
		return;
	}
	for (i = 0; i < OP_NR; i++)
		if (!strcmp(op, op_names[i]))
			break;
	if (i < OP_NR)
		p->st.by_op[i]++;
	t0 = clock_mono_ns();
	switch (i) {
	case OP_HELLO:
		op_hello(p, c, id);
		break;
	case OP_LIST:
		op_list(p, c, id, req);
		break;
	case OP_STATS:
		op_stats(p, c, id);
		break;
	case OP_CHECK:
		op_check(p, c, id, req);
		break;
	case OP_WAIT:
		op_wait(p, c, id, req);
		break;
	case OP_VERIFY:
		op_verify(p, c, id, req);
		break;
	case OP_SUBSCRIBE:
		op_subscribe(p, c, id, req);
		break;
	default: {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown op \"%.100s\"", op);
		proto_send_error(p, c, id, "unknown_op", msg);
	}
	}
	if (i < OP_NR)
		count_latency(p, i, clock_mono_ns() - t0);
	json_decref(req);
}

void proto_oversize(void *ctx, struct conn *c)
{
	struct proto *p = ctx;
	char msg[128];

	snprintf(msg, sizeof(msg), "request line longer than %zu bytes; skipped",
		 p->srv->o.max_line);
	proto_send_error(p, c, NULL, "line_too_long", msg);
}
