// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* op_list.c - the "list" request: the table, filtered. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/jname.h"
#include "common/timeutil.h"
#include "inused/ops.h"
#include "inused/render.h"
#include "inused/request.h"

struct list_filter {
	struct tracker *t;
	struct under under;
	bool has_under;
	long long pid;	   /* -1: any */
	long long uid;	   /* -1: any */
	uint64_t older_ns; /* 0: any */
	uint64_t now_boot;
	uint64_t start_boot;
};

static bool matches(const struct list_filter *f, struct entry *e)
{
	if (f->has_under && !under_matches(f->t, &f->under, e))
		return false;
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

/* Reads the filters of a list request; sends the error and returns -EINVAL
 * for a bad one. */
static int get_filter(struct proto *p, struct conn *c, json_t *id, json_t *req,
		      struct list_filter *f)
{
	json_t *v;

	if ((v = json_object_get(req, "under"))) {
		char *dir = jname_get(v, PATH_MAX, NULL);
		int err = dir ? under_init(p->t, dir, &f->under) : -EINVAL;

		free(dir);
		if (err) {
			proto_send_error(p, c, id, "bad_request",
					 "\"under\" must be an absolute path");
			return -EINVAL;
		}
		f->has_under = true;
	}
	if ((v = json_object_get(req, "pid"))) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			proto_send_error(p, c, id, "bad_request",
					 "\"pid\" must be a positive integer");
			return -EINVAL;
		}
		f->pid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "uid"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			proto_send_error(p, c, id, "bad_request", "\"uid\" must be a user id");
			return -EINVAL;
		}
		f->uid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "older_than")) && proto_get_duration(v, &f->older_ns)) {
		proto_send_error(p, c, id, "bad_request",
				 "\"older_than\" must be seconds or a duration like \"90s\"");
		return -EINVAL;
	}
	return 0;
}

/* Files on file systems whose writes no hook sees: their modification
 * times are read before they are shown. */
static void refresh_writes(struct tracker *t, struct entry **v, size_t n)
{
	struct entry **m = malloc((n ? n : 1) * sizeof(*m));
	size_t k = 0;

	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		if (v[i]->pflags & PF_MTIME)
			m[k++] = v[i];
	tracker_refresh_writes(t, m, k);
	free(m);
}

void op_list(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct list_filter f = {.t = p->t, .pid = -1, .uid = -1};
	json_t *jpaths = json_object_get(req, "paths");
	struct tracker *t = p->t;
	bool admin = proto_is_admin(p, c);
	struct strbuf b = {0};
	struct namev paths = {0};
	struct entry **shown = NULL;
	size_t count = 0;

	if (get_filter(p, c, id, req, &f))
		goto out;
	if (jpaths && proto_get_paths(p, c, id, req, "paths", &paths))
		goto out;

	tracker_sync(t);
	f.now_boot = clock_boot_ns();
	f.start_boot = t->start_boot_ns;
	shown = malloc((t->table.count + paths.n + 1) * sizeof(*shown));
	if (!shown) {
		proto_send_error(p, c, id, "internal", "out of memory");
		goto out;
	}
	if (!jpaths) {
		table_for_each(&t->table, e) if (proto_visible(e, admin, c->cred.uid) &&
						 matches(&f, e)) shown[count++] = e;
	}

	proto_add_id(&b, id);
	if (jpaths) {
		sb_adds(&b, ",\"ok\":true,\"paths\":[");
		for (size_t i = 0; i < paths.n; i++) {
			const char *path = paths.v[i];
			enum path_state ps = PS_ERROR;
			struct entry *e = NULL;
			struct stat st;
			int err = EACCES;
			bool vis;

			if (proto_may_lookup(c, path))
				ps = proto_path_state(p, path, &st, &e, &err);
			vis = e && proto_visible(e, admin, c->cred.uid);
			sb_adds(&b, i ? ",{\"path\":" : "{\"path\":");
			render_name(&b, path);
			sb_printf(&b, ",\"state\":\"%s\"%s", path_state_name(ps),
				  vis ? ",\"visible\":true" : "");
			if (ps == PS_ERROR) {
				sb_adds(&b, ",\"error\":");
				proto_add_str(&b, strerror(err));
			}
			sb_adds(&b, "}");
			if (vis && matches(&f, e)) {
				bool dup = false;

				for (size_t k = 0; k < count && !dup; k++)
					dup = shown[k] == e;
				if (!dup)
					shown[count++] = e;
			}
		}
		sb_adds(&b, "],\"files\":[");
	} else {
		sb_adds(&b, ",\"ok\":true,\"files\":[");
	}
	refresh_writes(t, shown, count);
	for (size_t i = 0; i < count; i++) {
		if (i)
			sb_add(&b, ",", 1);
		render_entry(t, shown[i], &b);
	}
	sb_printf(&b, "],\"count\":%zu,\"table_full\":%s,\"complete\":%s}\n", count,
		  t->table.full_events || t->st.kernel_map_full ? "true" : "false",
		  admin ? "true" : "false");
	conn_send(c, b.buf, b.len);
out:
	free(shown);
	sb_free(&b);
	namev_free(&paths);
	if (f.has_under)
		under_free(&f.under);
}
