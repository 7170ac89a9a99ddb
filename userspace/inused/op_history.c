// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_history.c - "history": every file that was open for writing (and so
 * could be written) at any time between "from" and "to", optionally
 * "under" a directory: the files open now, and the history of those that
 * were (history.h). "covered" says whether the history reaches back to
 * "from"; "kept_since" is how far it does; "complete", as in "list",
 * whether the client sees every file.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/jname.h"
#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/history.h"
#include "inused/mounts.h"
#include "inused/ops.h"
#include "inused/render.h"
#include "inused/request.h"

/* A wall-clock time (Unix seconds) as CLOCK_BOOTTIME ns. */
static int get_time(json_t *v, const struct tracker *t, uint64_t *boot)
{
	double s;
	int64_t b;

	if (!json_is_number(v))
		return -EINVAL;
	s = json_number_value(v);
	if (s < 0 || s > 1e11)
		return -EINVAL;
	b = (int64_t)(s * 1e9) - t->boot_to_real;
	*boot = b > 0 ? (uint64_t)b : 0;
	return 0;
}

static bool visible_rec(const struct hist_rec *r, bool admin, uid_t uid)
{
	return admin || r->uid == uid;
}

static void render_span(struct strbuf *b, const struct tracker *t, uint64_t from, uint64_t to)
{
	sb_adds(b, "[");
	render_time(b, tracker_wall_ns(t, from));
	sb_adds(b, ",");
	if (to)
		render_time(b, tracker_wall_ns(t, to));
	else
		sb_adds(b, "null");
	sb_adds(b, "]");
}

/* before_start: open since before the daemon started (its first span
 * begins no later than shown). */
static void render_rec(struct strbuf *b, struct tracker *t, const struct hist_rec *r,
		       const char *path, bool open_now, bool before_start)
{
	sb_adds(b, "{\"path\":");
	render_name(b, path);
	sb_printf(b,
		  ",\"dev\":\"%u:%u\",\"ino\":%llu,\"open_now\":%s,\"opened_before_start\":%s,"
		  "\"spans\":[",
		  kdev_major(r->dev), kdev_minor(r->dev), (unsigned long long)r->ino,
		  open_now ? "true" : "false", before_start ? "true" : "false");
	for (uint32_t i = 0; i < r->nspans; i++) {
		if (i)
			sb_adds(b, ",");
		render_span(b, t, r->from[i], r->to[i]);
	}
	if (r->open_since) {
		if (r->nspans)
			sb_adds(b, ",");
		render_span(b, t, r->open_since, 0);
	}
	sb_adds(b, "],\"last_write\":");
	render_time(b, tracker_wall_ns(t, r->last_write));
	sb_printf(b, ",\"first_writer\":{\"pid\":%u,\"uid\":%u,\"comm\":", r->pid, r->uid);
	render_name(b, r->comm[0] ? r->comm : NULL);
	sb_adds(b, "}}");
}

void op_history(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct tracker *t = p->t;
	struct history *h = p->hist;
	bool admin = proto_is_admin(p, c), has_under = false;
	uint64_t t1, t2, now = clock_boot_ns(), kept;
	struct under u = {0};
	struct strbuf b = {0};
	size_t count = 0;
	json_t *v;

	if (get_time(json_object_get(req, "from"), t, &t1) ||
	    ((v = json_object_get(req, "to")) ? get_time(v, t, &t2) : ((t2 = now), 0)) || t2 < t1) {
		proto_send_error(p, c, id, "bad_request",
				 "\"from\" and \"to\" must be Unix times, from before to");
		return;
	}
	if ((v = json_object_get(req, "under"))) {
		char *dir = jname_get(v, PATH_MAX, NULL);
		int err = dir ? under_init(t, dir, &u) : -EINVAL;

		free(dir);
		if (err) {
			proto_send_error(p, c, id, "bad_request",
					 "\"under\" must be an absolute path");
			return;
		}
		has_under = true;
	}
	tracker_sync(t);
	if (h)
		history_expire(h, now);
	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":true,\"files\":[");
	/* what the history holds */
	if (h)
		history_for_each(h, r)
		{
			struct entry *e = table_find(&t->table, r->dev, r->ino);
			const char *path;

			if (e)
				tracker_resolve_names(t, e);
			path = e && e->path ? e->path : r->path;

			if (!visible_rec(r, admin, c->peer.uid) || !hist_rec_meets(r, t1, t2, now))
				continue;
			if (has_under && (!path || !path_under(path, u.host, u.host_len)) &&
			    !(e && under_matches(t, &u, e)))
				continue;
			if (count++)
				sb_adds(&b, ",");
			render_rec(&b, t, r, path, e != NULL, false);
		}
	/* files open since before the history began */
	table_for_each(&t->table, e)
	{
		struct hist_rec fake = {.dev = e->dev, .ino = e->ino};

		if (h && history_find(h, e->dev, e->ino))
			continue;
		if (!proto_visible(e, admin, c->peer.uid) || (has_under && !under_matches(t, &u, e)))
			continue;
		fake.open_since = e->first_open_ns ? e->first_open_ns : t->start_boot_ns;
		if (!hist_rec_meets(&fake, t1, t2, now))
			continue;
		tracker_resolve_names(t, e);
		if (e->nw) {
			fake.pid = e->w[0].pid;
			fake.uid = e->w[0].uid;
			memcpy(fake.comm, e->w[0].comm, sizeof(fake.comm));
		}
		fake.last_write = e->last_write_ns;
		if (count++)
			sb_adds(&b, ",");
		render_rec(&b, t, &fake, e->path, true, !e->first_open_ns);
	}
	kept = h ? history_kept_since(h) : t->start_boot_ns;
	sb_printf(&b, "],\"count\":%zu,\"complete\":%s,\"covered\":%s,\"kept_since\":", count,
		  admin ? "true" : "false", t1 >= kept ? "true" : "false");
	render_time(&b, tracker_wall_ns(t, kept));
	sb_printf(&b, ",\"retention\":{\"files\":%u,\"seconds\":%llu}}\n", HIST_MAX_FILES,
		  (unsigned long long)(HIST_MAX_AGE_NS / 1000000000ULL));
	conn_send(c, b.buf, b.len);
	sb_free(&b);
	if (has_under)
		under_free(&u);
}
