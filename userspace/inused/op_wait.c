// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_wait.c - "wait": answer when every given path is closed for writing,
 * or, with "quiet", not written for that long (open or not), or at the
 * timeout.
 *
 * Waiters are re-evaluated when the table changes (a file left it, or was
 * opened or written), not by polling; their deadlines and quiet periods
 * feed the event loop's timeout. The inodes they wait on are marked in the
 * kernel map, so that their closes wake the daemon at once.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/fault.h"
#include "inused/ops.h"
#include "inused/quiet.h"
#include "inused/render.h"
#include "inused/request.h"

#define MAX_WAITERS 4096
#define MAX_WAIT_NS (86400ULL * NSEC_PER_SEC)

struct wait_path {
	char *path;
	uint32_t dev; /* the key of the inode that holds the data */
	uint64_t ino;
	uint64_t sino; /* what stat(2) gives for the path */
	bool regular;
	const char *state; /* at the last evaluation */
};

struct waiter {
	struct waiter *prev, *next;
	struct conn *c;
	json_t *id;
	struct wait_path *p;
	size_t n;
	uint64_t start_mono;
	uint64_t deadline_mono;
	uint64_t quiet_ns;
	uint64_t recheck_mono; /* a quiet period ends then; 0: none */
};

/* Does another waiter wait on this inode? */
static bool watched_elsewhere(const struct proto *p, const struct waiter *self, uint32_t dev,
			      uint64_t ino)
{
	for (const struct waiter *w = p->waiters; w; w = w->next) {
		if (w == self)
			continue;
		for (size_t i = 0; i < w->n; i++)
			if (w->p[i].regular && w->p[i].dev == dev && w->p[i].ino == ino)
				return true;
	}
	return false;
}

static void waiter_free(struct proto *p, struct waiter *w)
{
	for (size_t i = 0; i < w->n; i++) {
		if (w->p[i].regular && table_find(&p->t->table, w->p[i].dev, w->p[i].ino) &&
		    !watched_elsewhere(p, w, w->p[i].dev, w->p[i].ino))
			kernel_set_watch(p->t->k, w->p[i].dev, w->p[i].ino, false);
		free(w->p[i].path);
	}
	if (w->prev)
		w->prev->next = w->next;
	else
		p->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	p->nwaiters--;
	free(w->p);
	json_decref(w->id);
	free(w);
}

/*
 * Where path i stands now. Returns true when it is free: not open for
 * writing, or, with a quiet period, not written for that long (a file that
 * stays open, such as a disk image, is free in its pauses); otherwise sets
 * *recheck_in when a quiet period may end.
 */
static bool path_free(struct proto *p, struct waiter *w, size_t i, uint64_t now_real,
		      uint64_t *recheck_in)
{
	struct wait_path *wp = &w->p[i];
	struct entry *e;
	struct stat st;
	uint64_t mt, since;

	if (FAULT(WAIT_EARLY)) {
		wp->state = "not_open";
		return true;
	}
	if (!wp->regular)
		return true; /* missing, not regular, an error: as looked up */
	if ((e = table_find(&p->t->table, wp->dev, wp->ino))) {
		/* open: free once quiet, when the client asked for quiet */
		uint64_t left = 0;

		if (w->quiet_ns && quiet_check(p->t, e, w->quiet_ns, &left) == QUIET_YES) {
			wp->state = "quiet";
			return true;
		}
		wp->state = "open";
		if (w->quiet_ns && left && (!*recheck_in || left < *recheck_in))
			*recheck_in = left;
		return false;
	}
	if (!w->quiet_ns) {
		wp->state = "not_open";
		return true;
	}
	if (stat(wp->path, &st) != 0 || st.st_ino != wp->sino) {
		wp->state = "not_open";
		return true; /* gone or replaced: nobody writes what we waited on */
	}
	mt = (uint64_t)st.st_mtim.tv_sec * NSEC_PER_SEC + (uint64_t)st.st_mtim.tv_nsec;
	since = now_real > mt ? now_real - mt : 0;
	if (since >= w->quiet_ns) {
		wp->state = "not_open";
		return true;
	}
	wp->state = "not_quiet";
	if (!*recheck_in || w->quiet_ns - since < *recheck_in)
		*recheck_in = w->quiet_ns - since;
	return false;
}

static void answer(struct proto *p, struct waiter *w, bool done, uint64_t now)
{
	struct strbuf b = {0};

	proto_add_id(&b, w->id);
	sb_printf(&b, ",\"ok\":true,\"done\":%s,\"waited\":%.6f,\"files\":[",
		  done ? "true" : "false", (double)(now - w->start_mono) / 1e9);
	for (size_t i = 0; i < w->n; i++) {
		sb_adds(&b, i ? ",{\"path\":" : "{\"path\":");
		render_name(&b, w->p[i].path);
		sb_printf(&b, ",\"state\":\"%s\"}", w->p[i].state);
	}
	sb_adds(&b, "]}\n");
	conn_send(w->c, b.buf, b.len);
	conn_release(w->c);
	sb_free(&b);
	p->st.waits[done ? 0 : 1]++;
}

/* Evaluates one waiter; answers and frees it when it is over. */
static void evaluate(struct proto *p, struct waiter *w, uint64_t now)
{
	uint64_t now_real = clock_real_ns(), recheck_in = 0;
	bool all = true;

	for (size_t i = 0; i < w->n; i++)
		all &= path_free(p, w, i, now_real, &recheck_in);
	if (all || now >= w->deadline_mono) {
		answer(p, w, all, now);
		waiter_free(p, w);
		return;
	}
	w->recheck_mono = recheck_in ? now + recheck_in : 0;
}

void op_wait(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	uint64_t timeout = 0, quiet = 0;
	struct namev paths;
	struct waiter *w;
	json_t *v;

	if (proto_get_paths(p, c, id, req, "paths", &paths))
		return;
	if (!(v = json_object_get(req, "timeout")) || proto_get_duration(v, &timeout) ||
	    timeout > MAX_WAIT_NS) {
		proto_send_error(p, c, id, "bad_request",
				 "\"timeout\" (seconds, at most a day) is required");
		namev_free(&paths);
		return;
	}
	if ((v = json_object_get(req, "quiet")) &&
	    (proto_get_duration(v, &quiet) || quiet > MAX_WAIT_NS)) {
		proto_send_error(p, c, id, "bad_request", "\"quiet\" must be seconds");
		namev_free(&paths);
		return;
	}
	if (p->nwaiters >= MAX_WAITERS) {
		proto_send_error(p, c, id, "busy", "too many waiting requests");
		namev_free(&paths);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->p = calloc(paths.n, sizeof(*w->p)))) {
		free(w);
		proto_send_error(p, c, id, "internal", "out of memory");
		namev_free(&paths);
		return;
	}
	tracker_sync(p->t);
	w->c = c;
	conn_hold(c);
	w->id = json_incref(id);
	w->quiet_ns = quiet;
	w->start_mono = clock_mono_ns();
	w->deadline_mono = w->start_mono + timeout;
	w->next = p->waiters;
	if (p->waiters)
		p->waiters->prev = w;
	p->waiters = w;
	p->nwaiters++;
	for (size_t i = 0; i < paths.n; i++) {
		struct wait_path *wp = &w->p[w->n++];
		struct entry *e = NULL;
		struct stat st;
		int err;
		enum path_state ps;

		wp->path = paths.v[i]; /* taken */
		paths.v[i] = NULL;
		ps = proto_may_lookup(c, wp->path) ? proto_path_state(p, wp->path, &st, &e, &err)
						   : PS_ERROR;
		wp->regular = ps == PS_OPEN || ps == PS_NOT_OPEN;
		wp->state = path_state_name(ps);
		if (wp->regular) {
			wp->dev = kdev_from_dev(st.st_dev);
			wp->ino = st.st_ino;
			wp->sino = st.st_ino;
		}
		if (e) {
			/* waited on by its key: a name through an overlay has
			 * its own identity */
			wp->dev = e->dev;
			wp->ino = e->ino;
			kernel_set_watch(p->t->k, wp->dev, wp->ino, true);
		}
	}
	namev_free(&paths);
	p->st.by_op_wait_started++;
	evaluate(p, w, clock_mono_ns());
}

void proto_waiters_changed(struct proto *p)
{
	uint64_t now = clock_mono_ns();
	struct waiter *w = p->waiters, *n;

	for (; w; w = n) {
		n = w->next;
		evaluate(p, w, now);
	}
}

uint64_t proto_waiters_timer(struct proto *p, uint64_t now)
{
	struct waiter *w = p->waiters, *n;
	uint64_t next = 0;

	for (; w; w = n) {
		n = w->next;
		if (now >= w->deadline_mono || (w->recheck_mono && now >= w->recheck_mono)) {
			evaluate(p, w, now);
			continue;
		}
	}
	for (w = p->waiters; w; w = w->next) {
		uint64_t at = w->deadline_mono;

		if (w->recheck_mono && w->recheck_mono < at)
			at = w->recheck_mono;
		if (!next || at < next)
			next = at;
	}
	return next;
}

void op_wait_gone(struct proto *p, struct conn *c)
{
	struct waiter *w = p->waiters, *n;

	for (; w; w = n) {
		n = w->next;
		if (w->c == c) {
			p->st.waits_abandoned++;
			waiter_free(p, w);
		}
	}
}
