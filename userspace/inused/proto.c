// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/proto.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/fastreq.h"
#include "inused/history.h"
#include "inused/log.h"
#include "inused/ops.h"
#include "inused/request.h"

/* The dispatch table: the requests, by name, and their handlers. */
typedef void (*op_fn)(struct proto *p, struct conn *c, json_t *id, json_t *req);
const char *const proto_op_names[PROTO_OPS] = {"hello", "list",	     "stats",	  "check",
					       "wait",	"verify",    "subscribe", "snapshot",
					       "guard", "guard_end", "history",	  NULL};
static const op_fn ops[] = {op_hello,	  op_list,     op_stats, op_check,     op_wait,	  op_verify,
			    op_subscribe, op_snapshot, op_guard, op_guard_end, op_history};
#define OP_NR (int)(sizeof(ops) / sizeof(ops[0]))
_Static_assert(sizeof(ops) / sizeof(ops[0]) < PROTO_OPS, "PROTO_OPS too small");
const double proto_lat_bounds[PROTO_LAT_BUCKETS] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
						    0.005,   0.01,   0.025,   0.1,    0.5,   2.5};

/* An unknown op is named in the error up to this many bytes. */
#define OP_SHOWN_MAX 64

static int op_index(const char *name)
{
	int i = 0;

	while (i < OP_NR && strcmp(proto_op_names[i], name))
		i++;
	return i;
}

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

int proto_init(struct proto *p, struct tracker *t, struct server *srv, gid_t admin_gid,
	       const struct policy *pol)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->srv = srv;
	p->pol = pol;
	p->admin_gid = admin_gid;
	p->started_wall_ns = clock_real_ns();
	return token_key_init(&p->tk);
}

void proto_fini(struct proto *p)
{
	for (struct conn *c = p->srv ? p->srv->conns : NULL; c; c = c->next)
		proto_gone(p, c);
	proto_jobs_drop(p, NULL);
	op_wait_fini(p);
	op_guard_fini(p);
	history_free(&p->hist);
}

const char *proto_accept(void *ctx, struct conn *c)
{
	struct proto *p = ctx;

	c->admin = c->peer.uid == 0 || peer_in_group(&c->peer, p->admin_gid);
	return NULL;
}

void proto_set_admin_gid(struct proto *p, gid_t gid)
{
	p->admin_gid = gid;
	for (struct conn *c = p->srv->conns; c; c = c->next)
		c->admin = c->peer.uid == 0 || peer_in_group(&c->peer, gid);
}

/*
 * Counts the JSON values of a request line without parsing it (strings
 * skipped with their escapes), so that a line is not parsed into more
 * memory than PROTO_MAX_VALUES values take. An upper bound: every value
 * but the first follows a ',', '[', '{' or ':'.
 */
static size_t count_values(const char *s, size_t len)
{
	size_t n = 1;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"')
			in_str = true;
		else if (ch == ',' || ch == '[' || ch == '{' || ch == ':')
			n++;
	}
	return n;
}

/* The longest prefix of s[0..len) of at most max bytes that does not cut
 * a UTF-8 character (s is valid UTF-8: jansson checked it). */
static size_t utf8_prefix(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

static void unknown_op(struct proto *p, struct conn *c, json_t *id, json_t *opv)
{
	const char *op = json_string_value(opv);
	size_t len = json_string_length(opv), shown = utf8_prefix(op, len, OP_SHOWN_MAX);
	struct strbuf m = {0};

	sb_adds(&m, "unknown op ");
	jname_append(&m, op, strnlen(op, shown));
	if (shown < len)
		sb_adds(&m, " (cut)");
	proto_send_error(p, c, id, "unknown_op", m.buf ? m.buf : "unknown op");
	sb_free(&m);
}

void proto_line(void *ctx, struct conn *c, const char *line, size_t len)
{
	struct proto *p = ctx;
	struct fastreq fr;
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
	/* (the form's own values: the paths, a verify's tokens, and at most
	 * 9 more) */
	if (fastreq_check(line, len, PROTO_NAME_MAX, &fr) &&
	    (fr.verify ? 2 * fr.n : fr.n) + 9 <= PROTO_MAX_VALUES) {
		i = op_index(fr.verify ? "verify" : "check");
		p->st.by_op[i]++;
		t0 = clock_mono_ns();
		(fr.verify ? op_verify_fast : op_check_fast)(p, c, &fr);
		count_latency(p, i, clock_mono_ns() - t0);
		return;
	}
	if (count_values(line, len) > PROTO_MAX_VALUES) {
		char msg[128];

		snprintf(msg, sizeof(msg), "a request may hold at most %d JSON values",
			 PROTO_MAX_VALUES);
		proto_send_error(p, c, NULL, "bad_request", msg);
		return;
	}
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
		if (strlen(proto_op_names[i]) == json_string_length(opv) &&
		    !strcmp(op, proto_op_names[i]))
			break;
	if (i == OP_NR) {
		unknown_op(p, c, id, opv);
		json_decref(req);
		return;
	}
	p->st.by_op[i]++;
	t0 = clock_mono_ns();
	ops[i](p, c, id, req);
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

void proto_gone(void *ctx, struct conn *c)
{
	struct proto *p = ctx;

	proto_jobs_drop(p, c);
	op_wait_gone(p, c);
	op_subscribe_gone(p, c);
	op_guard_gone(p, c);
}
