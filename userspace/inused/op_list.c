// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* op_list.c - the "list" request: the table, filtered. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/proto_int.h"
#include "inused/render.h"

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
int proto_get_duration(json_t *v, uint64_t *ns)
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

void op_list(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct list_filter f = {.pid = -1, .uid = -1};
	json_t *v, *paths = json_object_get(req, "paths");
	struct tracker *t = p->t;
	bool admin = proto_is_admin(p, c);
	char *under = NULL;
	struct strbuf b = {0};
	size_t count = 0, np = 0;
	bool first = true;

	if ((v = json_object_get(req, "under"))) {
		under = norm_dir(json_string_value(v));
		if (!under) {
			proto_send_error(p, c, id, "bad_request", "\"under\" must be an absolute path");
			return;
		}
		f.under = under;
		f.under_len = strlen(under);
	}
	if ((v = json_object_get(req, "pid"))) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			proto_send_error(p, c, id, "bad_request", "\"pid\" must be a positive integer");
			goto out;
		}
		f.pid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "uid"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			proto_send_error(p, c, id, "bad_request", "\"uid\" must be a user id");
			goto out;
		}
		f.uid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "older_than")) && proto_get_duration(v, &f.older_ns)) {
		proto_send_error(p, c, id, "bad_request",
			   "\"older_than\" must be seconds or a duration like \"90s\"");
		goto out;
	}
	if (paths && !json_is_array(paths)) {
		proto_send_error(p, c, id, "bad_request", "\"paths\" must be an array of strings");
		goto out;
	}
	np = json_array_size(paths);
	for (size_t i = 0; i < np; i++) {
		if (!json_is_string(json_array_get(paths, i))) {
			proto_send_error(p, c, id, "bad_request", "\"paths\" must be an array of strings");
			goto out;
		}
	}

	tracker_sync(t);
	f.now_boot = clock_boot_ns();
	f.start_boot = t->start_boot_ns;

	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":true,\"files\":[");
	if (!paths) {
		table_for_each(&t->table, e)
		{
			if (!proto_visible(e, admin, c->cred.uid) || !matches(&f, e))
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
			int err;

			if (!proto_may_lookup(c, path))
				state = "error";
			else
				state = path_state_name(proto_path_state(p, path, &st, &e, &err));
			if (i)
				sb_add(&ps, ",", 1);
			add_path_state(&ps, path, state);
			sb_adds(&ps, e && proto_visible(e, admin, c->cred.uid) ? ",\"visible\":true}"
									  : "}");
			if (e && proto_visible(e, admin, c->cred.uid) && matches(&f, e)) {
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

