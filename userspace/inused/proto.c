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

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/render.h"

enum op { OP_HELLO, OP_LIST, OP_STATS, OP_NR };
static const char *const op_names[OP_NR] = {"hello", "list", "stats"};

void proto_init(struct proto *p, struct tracker *t, struct server *srv, gid_t admin_gid)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->srv = srv;
	p->admin_gid = admin_gid;
	p->started_wall_ns = clock_real_ns();
}

/* Appends the request id, as given, or null. */
static void add_id(struct strbuf *b, json_t *id)
{
	char *s = id ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	sb_adds(b, "{\"id\":");
	sb_adds(b, s ? s : "null");
	free(s);
}

static void send_error(struct proto *p, struct conn *c, json_t *id, const char *code,
		       const char *msg)
{
	struct strbuf b = {0};
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	char *es = e ? json_dumps(e, JSON_COMPACT) : NULL;

	p->st.errors++;
	add_id(&b, id);
	sb_adds(&b, ",\"ok\":false,\"error\":");
	sb_adds(&b, es ? es : "{\"code\":\"internal\",\"message\":\"out of memory\"}");
	sb_adds(&b, "}\n");
	conn_send(c, b.buf, b.len);
	sb_free(&b);
	free(es);
	json_decref(e);
}

static void send_obj(struct conn *c, json_t *id, json_t *body)
{
	struct strbuf b = {0};
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(16));

	add_id(&b, id);
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

static bool is_admin(const struct proto *p, const struct conn *c)
{
	if (c->cred.uid == 0)
		return true;
	if (p->admin_gid == (gid_t)-1)
		return false;
	return c->cred.gid == p->admin_gid || pid_in_group(c->cred.pid, p->admin_gid);
}

/* May this client see the entry's name and writers? */
static bool visible(const struct entry *e, bool admin, uid_t uid)
{
	if (admin)
		return true;
	for (uint32_t i = 0; i < e->nw; i++)
		if (e->w[i].uid == uid)
			return true;
	return false;
}

struct list_filter {
	const char *under;
	size_t under_len;
	long long pid;	     /* -1: any */
	long long uid;	     /* -1: any */
	uint64_t older_ns;   /* 0: any */
	uint64_t now_boot;
	uint64_t start_boot;
};

static bool matches(const struct list_filter *f, const struct entry *e)
{
	if (f->under) {
		if (!e->path || strncmp(e->path, f->under, f->under_len))
			return false;
		if (e->path[f->under_len] != '/' && e->path[f->under_len] != '\0' &&
		    !(f->under_len == 1 && f->under[0] == '/'))
			return false;
	}
	if (f->pid >= 0 || f->uid >= 0) {
		bool any = false;

		for (uint32_t i = 0; i < e->nw && !any; i++)
			any = (f->pid < 0 || e->w[i].pid == f->pid) &&
			      (f->uid < 0 || e->w[i].uid == f->uid);
		if (!any)
			return false;
	}
	if (f->older_ns) {
		uint64_t since = e->first_open_ns ? e->first_open_ns : f->start_boot;

		if (f->now_boot < since || f->now_boot - since < f->older_ns)
			return false;
	}
	return true;
}

/* Reads a duration given as seconds (number) or text ("90s", "2h"). */
static int get_duration(json_t *v, uint64_t *ns)
{
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (d < 0 || d > 1e10)
			return -EINVAL;
		*ns = (uint64_t)(d * 1e9);
		return 0;
	}
	if (json_is_string(v))
		return parse_duration(json_string_value(v), ns);
	return -EINVAL;
}

/* Normalizes an absolute directory for prefix matching ("/a/b/" -> "/a/b"). */
static char *norm_dir(const char *s)
{
	char *d;
	size_t n;

	if (!s || s[0] != '/')
		return NULL;
	d = strdup(s);
	if (!d)
		return NULL;
	n = strlen(d);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = '\0';
	return d;
}

static void add_path_state(struct strbuf *b, const char *path, const char *state)
{
	json_t *o = json_pack("{s:s, s:s}", "path", path, "state", state);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s) {
		sb_add(b, s, strlen(s) - 1);
		free(s);
	}
	json_decref(o);
}

static void op_list(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct list_filter f = {.pid = -1, .uid = -1};
	json_t *v, *paths = json_object_get(req, "paths");
	struct tracker *t = p->t;
	bool admin = is_admin(p, c);
	char *under = NULL;
	struct strbuf b = {0};
	size_t count = 0, np = 0;
	bool first = true;

	if ((v = json_object_get(req, "under"))) {
		under = norm_dir(json_string_value(v));
		if (!under) {
			send_error(p, c, id, "bad_request", "\"under\" must be an absolute path");
			return;
		}
		f.under = under;
		f.under_len = strlen(under);
	}
	if ((v = json_object_get(req, "pid"))) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			send_error(p, c, id, "bad_request", "\"pid\" must be a positive integer");
			goto out;
		}
		f.pid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "uid"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			send_error(p, c, id, "bad_request", "\"uid\" must be a user id");
			goto out;
		}
		f.uid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "older_than")) && get_duration(v, &f.older_ns)) {
		send_error(p, c, id, "bad_request",
			   "\"older_than\" must be seconds or a duration like \"90s\"");
		goto out;
	}
	if (paths && !json_is_array(paths)) {
		send_error(p, c, id, "bad_request", "\"paths\" must be an array of strings");
		goto out;
	}
	np = json_array_size(paths);
	for (size_t i = 0; i < np; i++) {
		if (!json_is_string(json_array_get(paths, i))) {
			send_error(p, c, id, "bad_request", "\"paths\" must be an array of strings");
			goto out;
		}
	}

	tracker_sync(t);
	f.now_boot = clock_boot_ns();
	f.start_boot = t->start_boot_ns;

	add_id(&b, id);
	sb_adds(&b, ",\"ok\":true,\"files\":[");
	if (!paths) {
		table_for_each(&t->table, e)
		{
			if (!visible(e, admin, c->cred.uid) || !matches(&f, e))
				continue;
			if (!first)
				sb_add(&b, ",", 1);
			first = false;
			render_entry(t, e, &b);
			count++;
		}
		sb_adds(&b, "]");
	} else {
		struct strbuf ps = {0};

		sb_adds(&ps, ",\"paths\":[");
		for (size_t i = 0; i < np; i++) {
			const char *path = json_string_value(json_array_get(paths, i));
			const char *state;
			struct entry *e = NULL;
			struct stat st;

			if (stat(path, &st) != 0) {
				state = errno == ENOENT || errno == ENOTDIR ? "missing" : "error";
			} else if (!S_ISREG(st.st_mode)) {
				state = "not_regular";
			} else {
				uint32_t kd = kdev_from_dev(st.st_dev);

				e = table_find(&t->table, kd, st.st_ino);
				state = e || tracker_kernel_has(t, kd, st.st_ino) ? "open"
										  : "not_open";
			}
			if (i)
				sb_add(&ps, ",", 1);
			add_path_state(&ps, path, state);
			sb_adds(&ps, e && visible(e, admin, c->cred.uid) ? ",\"visible\":true}"
									  : "}");
			if (e && visible(e, admin, c->cred.uid) && matches(&f, e)) {
				if (!first)
					sb_add(&b, ",", 1);
				first = false;
				render_entry(t, e, &b);
				count++;
			}
		}
		sb_adds(&ps, "]");
		sb_adds(&b, "]");
		sb_add(&b, ps.buf, ps.len);
		sb_free(&ps);
	}
	sb_printf(&b, ",\"count\":%zu,\"table_full\":%s,\"complete\":%s}\n", count,
		  t->table.full_events || t->st.kernel_map_full ? "true" : "false",
		  admin ? "true" : "false");
	conn_send(c, b.buf, b.len);
out:
	sb_free(&b);
	free(under);
}

static void op_hello(struct proto *p, struct conn *c, json_t *id)
{
	json_t *o = json_pack("{s:i, s:s, s:[s,s,s], s:f, s:i, s:b}", "protocol",
			      INUSE_PROTOCOL_VERSION, "version", INUSE_VERSION, "features", "hello",
			      "list", "stats", "started", (double)p->started_wall_ns / 1e9, "pid",
			      (int)getpid(), "admin", is_admin(p, c));

	send_obj(c, id, o);
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
	send_obj(c, id, o);
	json_decref(o);
}

void proto_line(void *ctx, struct conn *c, const char *line, size_t len)
{
	struct proto *p = ctx;
	json_error_t jerr;
	json_t *req, *id, *opv;
	const char *op;
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
		send_error(p, c, NULL, "bad_json", msg);
		return;
	}
	if (!json_is_object(req)) {
		send_error(p, c, NULL, "bad_request", "a request must be a JSON object");
		json_decref(req);
		return;
	}
	id = json_object_get(req, "id");
	opv = json_object_get(req, "op");
	op = json_string_value(opv);
	if (!op) {
		send_error(p, c, id, "bad_request", "\"op\" (a string) is missing");
		json_decref(req);
		return;
	}
	for (i = 0; i < OP_NR; i++)
		if (!strcmp(op, op_names[i]))
			break;
	if (i < OP_NR)
		p->st.by_op[i]++;
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
	default: {
		char msg[160];

		snprintf(msg, sizeof(msg), "unknown op \"%.100s\"", op);
		send_error(p, c, id, "unknown_op", msg);
	}
	}
	json_decref(req);
}

void proto_oversize(void *ctx, struct conn *c)
{
	struct proto *p = ctx;
	char msg[128];

	snprintf(msg, sizeof(msg), "request line longer than %zu bytes; skipped",
		 p->srv->o.max_line);
	send_error(p, c, NULL, "line_too_long", msg);
}
