// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_subscribe.c - "subscribe": a stream of events (a file opened for
 * writing, a file closed) as JSON lines, filtered by directory and kind,
 * with the access rules of the other requests: a client that is not an
 * admin gets the opening of a file while one of its processes writes it,
 * and its closing when one of its processes wrote it while it was open
 * (the writers are gone by then: the table remembers who wrote).
 *
 * A subscriber that does not keep up is not given unbounded memory: past
 * SUB_MAX_PENDING unread bytes its events are dropped and counted, and the
 * next event it gets is preceded by {"event":"lost","count":N}.
 */
#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "common/jname.h"
#include "inused/ops.h"
#include "inused/request.h"
#include "inused/render.h"

#define SUB_MAX_PENDING (256 * 1024)
#define MAX_SUBSCRIBERS 256

enum { KIND_OPEN = 1, KIND_CLOSE = 2, KIND_ALERT = 4 };

struct subscriber {
	struct subscriber *prev, *next;
	struct conn *c;
	struct under under;
	bool has_under;
	unsigned int kinds;
	uint64_t lost;
};

static void sub_free(struct proto *p, struct subscriber *s)
{
	if (s->c->u)
		s->c->u->subs--;
	if (s->prev)
		s->prev->next = s->next;
	else
		p->subscribers = s->next;
	if (s->next)
		s->next->prev = s->prev;
	p->nsubscribers--;
	if (s->has_under)
		under_free(&s->under);
	free(s);
}

/* Queues line (with its newline) unless the subscriber is too far behind. */
static void deliver(struct proto *p, struct subscriber *s, const char *line, size_t len)
{
	if (conn_pending(s->c) + len > SUB_MAX_PENDING || users_bytes_over(s->c->u)) {
		s->lost++;
		p->st.events_dropped++;
		return;
	}
	if (s->lost) {
		char m[64];
		int n = snprintf(m, sizeof(m), "{\"event\":\"lost\",\"count\":%llu}\n",
				 (unsigned long long)s->lost);

		conn_send(s->c, m, (size_t)n);
		s->lost = 0;
	}
	conn_send(s->c, line, len);
	p->st.events_sent++;
}

/* Streams one event about e to the subscribers that want it. leaving: e
 * is leaving the table (close, resolved): its writers are gone. */
static void stream(struct proto *p, unsigned int kind, const char *name, struct entry *e,
		   uint64_t age_ns, bool leaving)
{
	struct strbuf b = {0};

	for (struct subscriber *s = p->subscribers; s; s = s->next) {
		bool vis = leaving ? proto_visible_closed(e, s->c->admin, s->c->peer.uid)
				   : proto_visible(e, s->c->admin, s->c->peer.uid);

		if (!(s->kinds & kind) || (s->has_under && !under_matches(p->t, &s->under, e)) ||
		    !vis)
			continue;
		if (!b.len) {
			sb_printf(&b, "{\"event\":\"%s\",\"time\":", name);
			render_time(&b, clock_real_ns());
			if (kind == KIND_ALERT)
				sb_printf(&b, ",\"age\":%.3f", (double)age_ns / 1e9);
			sb_adds(&b, ",\"file\":");
			render_entry(p->t, e, 0, NULL, &b);
			sb_adds(&b, "}\n");
		}
		deliver(p, s, b.buf, b.len);
	}
	sb_free(&b);
}

void proto_notify(void *ctx, enum tracker_change what, struct entry *e)
{
	op_wait_notify(ctx, what == TC_OPENED, e);
	if (what == TC_OPENED)
		stream(ctx, KIND_OPEN, "open", e, 0, false);
	else
		stream(ctx, KIND_CLOSE, "close", e, 0, true);
}

void proto_alert(void *ctx, const char *kind, struct entry *e, uint64_t age_ns)
{
	/* "resolved" is sent as the file leaves the table */
	stream(ctx, KIND_ALERT, kind, e, age_ns, !strcmp(kind, "resolved"));
}

void op_subscribe(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	json_t *v = json_object_get(req, "under"), *kinds = json_object_get(req, "kinds"), *k;
	struct subscriber *s;
	size_t i;

	if (!users_global_room(c->peer.uid, p->nsubscribers, MAX_SUBSCRIBERS)) {
		proto_send_error(p, c, id, "busy", "too many subscribers");
		return;
	}
	if (users_subs_full(&p->srv->users, c->u)) {
		proto_send_error(p, c, id, "busy", "too many subscriptions of this user");
		return;
	}
	for (s = p->subscribers; s; s = s->next) {
		if (s->c == c) {
			proto_send_error(p, c, id, "bad_request", "already subscribed");
			return;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return;
	}
	if (v) {
		char *u = jname_get(v, PATH_MAX, NULL);
		int err = u ? under_init(p->t, u, &s->under) : -EINVAL;

		free(u);
		if (err) {
			free(s);
			proto_send_error(p, c, id, "bad_request",
					 "\"under\" must be an absolute path");
			return;
		}
		s->has_under = true;
	}
	if (kinds) {
		json_array_foreach(kinds, i, k)
		{
			const char *n = json_string_value(k);

			if (n && !strcmp(n, "open"))
				s->kinds |= KIND_OPEN;
			else if (n && !strcmp(n, "close"))
				s->kinds |= KIND_CLOSE;
			else if (n && !strcmp(n, "alert"))
				s->kinds |= KIND_ALERT;
			else
				break;
		}
		if (!json_is_array(kinds) || i < json_array_size(kinds) || !s->kinds) {
			if (s->has_under)
				under_free(&s->under);
			free(s);
			proto_send_error(
			    p, c, id, "bad_request",
			    "\"kinds\" must be a list of \"open\", \"close\", \"alert\"");
			return;
		}
	} else {
		s->kinds = KIND_OPEN | KIND_CLOSE | KIND_ALERT;
	}
	/* what happened before is applied first: the answer comes before the
	 * first event it streams */
	tracker_sync(p->t);
	s->c = c;
	c->u->subs++;
	s->next = p->subscribers;
	if (p->subscribers)
		p->subscribers->prev = s;
	p->subscribers = s;
	p->nsubscribers++;
	/* a stream: kept open until the client goes, even half-closed */
	conn_hold(c);
	{
		json_t *o = json_pack("{s:b}", "subscribed", 1);

		proto_send_obj(c, id, o);
		json_decref(o);
	}
}

void op_subscribe_gone(struct proto *p, struct conn *c)
{
	struct subscriber *s = p->subscribers, *n;

	for (; s; s = n) {
		n = s->next;
		if (s->c == c)
			sub_free(p, s);
	}
}
