// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_wait.c - "wait": answer when every given path is closed for writing,
 * or, with "quiet", not written for that long (open or not: a file that
 * stays open, such as a disk image, is free in its pauses), or at the
 * timeout.
 *
 * The paths are looked up (with the client's rights) over turns of the
 * event loop; then the waiter is registered. Each waited inode is in an
 * index, so a file that comes into or leaves the table updates the count
 * of open paths of just the waiters on it, and a waiter is evaluated in
 * full only when that count reaches zero, at its deadline, or when a
 * quiet period ends: the cost of a change is what waits on that file, not
 * every path of every waiter. The inodes waited on are marked in the
 * kernel map, so that their closes wake the daemon at once.
 *
 * Bounds: waits and waited paths per user, waits in all (room kept for
 * root), users.h.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/fault.h"
#include "inused/creds.h"
#include "inused/ops.h"
#include "inused/quiet.h"
#include "inused/render.h"
#include "inused/request.h"

#define MAX_WAITERS  4096
#define MAX_WAIT_NS  (86400ULL * NSEC_PER_SEC)
#define WIDX_BUCKETS 4096

struct wait_path {
	char *path;
	uint32_t dev; /* the key of the inode that holds the data */
	uint64_t ino;
	uint64_t sino; /* what stat(2) gives for the path */
	bool regular;
	bool open;	   /* in the table, as last seen */
	const char *state; /* at the last evaluation */
	struct waiter *w;
	struct wait_path *hnext; /* index chain */
};

struct waiter {
	struct waiter *prev, *next;
	struct conn *c;
	json_t *id;
	struct wait_path *p;
	size_t n;
	size_t nopen; /* paths open as last seen */
	bool dirty;   /* one of its files left the table */
	bool registered;
	uint64_t start_mono;
	uint64_t deadline_mono;
	uint64_t quiet_ns;
	uint64_t recheck_mono; /* a quiet period ends then; 0: none */
	/* the lookup, over turns */
	struct job j;
	size_t looked; /* paths looked up so far */
};

struct wait_index {
	struct wait_path *b[WIDX_BUCKETS];
};

static size_t widx_hash(uint32_t dev, uint64_t ino)
{
	return (size_t)(((ino * 0x9E3779B97F4A7C15ULL) >> 20) ^ dev) % WIDX_BUCKETS;
}

static void widx_add(struct proto *p, struct wait_path *wp)
{
	size_t h = widx_hash(wp->dev, wp->ino);

	wp->hnext = p->widx->b[h];
	p->widx->b[h] = wp;
}

static void widx_del(struct proto *p, struct wait_path *wp)
{
	struct wait_path **pp = &p->widx->b[widx_hash(wp->dev, wp->ino)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == wp) {
			*pp = wp->hnext;
			return;
		}
	}
}

/* Does another waiter wait on this inode? */
static bool watched_elsewhere(const struct proto *p, const struct waiter *self, uint32_t dev,
			      uint64_t ino)
{
	for (const struct wait_path *wp = p->widx->b[widx_hash(dev, ino)]; wp; wp = wp->hnext)
		if (wp->w != self && wp->dev == dev && wp->ino == ino)
			return true;
	return false;
}

static void waiter_free(struct proto *p, struct waiter *w)
{
	struct user_usage *u = w->c->u;

	for (size_t i = 0; i < w->n; i++) {
		struct wait_path *wp = &w->p[i];

		if (w->registered && wp->regular) {
			if (table_find(&p->t->table, wp->dev, wp->ino) &&
			    !watched_elsewhere(p, w, wp->dev, wp->ino))
				kernel_set_watch(p->t->k, wp->dev, wp->ino, false);
			widx_del(p, wp);
		}
		free(wp->path);
	}
	if (w->registered) {
		if (w->prev)
			w->prev->next = w->next;
		else
			p->waiters = w->next;
		if (w->next)
			w->next->prev = w->prev;
	}
	p->nwaiters--;
	if (u) {
		u->waits--;
		u->wait_paths -= w->n;
	}
	free(w->p);
	json_decref(w->id);
	free(w);
}

/* Modification times (ns) of the waiter's open-free paths, read with the
 * client's rights; 0 where the path no longer names what was waited on. */
static void read_mtimes(const struct waiter *w, uint64_t *mt)
{
	bool as_client = creds_enter(&w->c->peer) == 0;

	for (size_t i = 0; i < w->n; i++) {
		const struct wait_path *wp = &w->p[i];
		struct stat st;
		int fd;

		mt[i] = 0;
		if (!as_client || !wp->regular || wp->open)
			continue;
		fd = open(wp->path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_ino == wp->sino &&
		    faccessat(fd, "", R_OK, AT_EMPTY_PATH | AT_EACCESS) == 0)
			mt[i] = (uint64_t)st.st_mtim.tv_sec * NSEC_PER_SEC +
				(uint64_t)st.st_mtim.tv_nsec;
		close(fd);
	}
	if (as_client)
		creds_leave();
}

/*
 * Where each path stands now (from the table itself, not the counts).


 */
static bool all_free(struct proto *p, struct waiter *w, uint64_t *recheck_in)
{
	uint64_t now_real = clock_real_ns(), *mt = NULL;
	bool all = true, busy = false;

	w->nopen = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct wait_path *wp = &w->p[i];
		struct entry *e;
		uint64_t left = 0;

		if (!wp->regular) {
			wp->state = wp->state ? wp->state : "not_regular";
			continue;
		}
		e = table_find(&p->t->table, wp->dev, wp->ino);
		if (FAULT(WAIT_EARLY))
			e = NULL;
		wp->open = e != NULL;
		wp->state = wp->open ? "open" : "not_open";
		w->nopen += wp->open;
		if (!e)
			continue;
		/* open: free once quiet, when the client asked for quiet */
		if (w->quiet_ns && quiet_check(p->t, e, w->quiet_ns, &left) == QUIET_YES) {
			wp->state = "quiet";
			continue;
		}
		busy = true;
		if (left && (!*recheck_in || left < *recheck_in))
			*recheck_in = left;
	}
	if (busy)
		return false;
	if (!w->quiet_ns)
		return true;
	mt = calloc(w->n, sizeof(*mt));
	if (!mt)
		return false; /* tried again at the next change or the deadline */
	read_mtimes(w, mt);
	for (size_t i = 0; i < w->n; i++) {
		struct wait_path *wp = &w->p[i];
		uint64_t since;

		/* gone or replaced: nobody writes what was waited on */
		if (!wp->regular || !mt[i])
			continue;
		since = now_real > mt[i] ? now_real - mt[i] : 0;
		if (since >= w->quiet_ns)
			continue;
		wp->state = "not_quiet";
		all = false;
		if (!*recheck_in || w->quiet_ns - since < *recheck_in)
			*recheck_in = w->quiet_ns - since;
	}
	free(mt);
	return all;
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

/* Evaluates one waiter in full; answers and frees it when it is over. */
static void evaluate(struct proto *p, struct waiter *w, uint64_t now)
{
	uint64_t recheck_in = 0;
	bool all = all_free(p, w, &recheck_in);

	w->dirty = false;
	if (all || now >= w->deadline_mono) {
		answer(p, w, all, now);
		waiter_free(p, w);
		return;
	}
	w->recheck_mono = recheck_in ? now + recheck_in : 0;
}

/* The lookup done: the waiter joins the index and the list. */
static void waiter_register(struct proto *p, struct waiter *w)
{
	for (size_t i = 0; i < w->n; i++) {
		struct wait_path *wp = &w->p[i];

		wp->w = w;
		if (!wp->regular)
			continue;
		widx_add(p, wp);
		if (wp->open)
			kernel_set_watch(p->t->k, wp->dev, wp->ino, true);
	}
	w->registered = true;
	w->next = p->waiters;
	if (p->waiters)
		p->waiters->prev = w;
	p->waiters = w;
	conn_hold(w->c); /* the answer comes later */
	p->st.by_op_wait_started++;
	evaluate(p, w, clock_mono_ns());
}

static bool wait_step(struct proto *p, struct job *jb)
{
	struct waiter *w = (struct waiter *)((char *)jb - offsetof(struct waiter, j));
	struct path_res res[PROTO_LOOKUP_BATCH];
	size_t n;

	tracker_sync(p->t);
	for (size_t done = 0; done < JOB_TURN && w->looked < w->n; done += n) {
		char *paths[PROTO_LOOKUP_BATCH];

		n = w->n - w->looked;
		if (n > PROTO_LOOKUP_BATCH)
			n = PROTO_LOOKUP_BATCH;
		for (size_t i = 0; i < n; i++)
			paths[i] = w->p[w->looked + i].path;
		proto_paths_state(p, jb->c, paths, n, res);
		for (size_t i = 0; i < n; i++) {
			struct wait_path *wp = &w->p[w->looked + i];

			wp->regular = res[i].ps == PS_OPEN || res[i].ps == PS_NOT_OPEN;
			wp->state = path_state_name(res[i].ps);
			if (wp->regular) {
				wp->dev = kdev_from_dev(res[i].st.st_dev);
				wp->ino = res[i].st.st_ino;
				wp->sino = res[i].st.st_ino;
			}
			if (res[i].e) {
				/* waited on by its key: a name through an
				 * overlay has its own identity */
				wp->dev = res[i].e->dev;
				wp->ino = res[i].e->ino;
				wp->open = true;
			}
		}
		w->looked += n;
	}
	if (w->looked < w->n)
		return false;
	/* the job's part is over: from here the waiter is answered by
	 * events and timers (registered when the job ends) */
	w->id = json_incref(jb->id);
	return true;
}

/* The job ends: its lookup done (the waiter is registered, and maybe
 * answered at once), or the client went away meanwhile (it goes too). */
static void wait_job_free(struct proto *p, struct job *jb)
{
	struct waiter *w = (struct waiter *)((char *)jb - offsetof(struct waiter, j));

	if (!jb->done) {
		waiter_free(p, w);
		return;
	}
	w->start_mono = clock_mono_ns();
	w->deadline_mono += w->start_mono;
	waiter_register(p, w);
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
	if (!users_global_room(c->peer.uid, p->nwaiters, MAX_WAITERS)) {
		proto_send_error(p, c, id, "busy", "too many waiting requests");
		namev_free(&paths);
		return;
	}
	if (users_waits_full(&p->srv->users, c->u, paths.n)) {
		proto_send_error(p, c, id, "busy",
				 "too many waiting requests (or paths waited on) of this user");
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
	if (!p->widx && !(p->widx = calloc(1, sizeof(*p->widx)))) {
		free(w->p);
		free(w);
		proto_send_error(p, c, id, "internal", "out of memory");
		namev_free(&paths);
		return;
	}
	w->c = c;
	w->quiet_ns = quiet;
	w->deadline_mono = timeout; /* from the start, once looked up */
	for (size_t i = 0; i < paths.n; i++) {
		w->p[i].path = paths.v[i]; /* taken */
		paths.v[i] = NULL;
	}
	w->n = paths.n;
	p->nwaiters++;
	c->u->waits++;
	c->u->wait_paths += w->n;
	w->j.step = wait_step;
	w->j.free = wait_job_free;
	w->j.bytes = paths.bytes + w->n * sizeof(*w->p);
	namev_free(&paths);
	proto_job_start(p, c, id, &w->j);
}

void op_wait_notify(struct proto *p, bool opened, const struct entry *e)
{
	if (!p->widx)
		return;
	for (struct wait_path *wp = p->widx->b[widx_hash(e->dev, e->ino)]; wp; wp = wp->hnext) {
		if (wp->dev != e->dev || wp->ino != e->ino || wp->open == opened)
			continue;
		wp->open = opened;
		if (opened) {
			wp->w->nopen++;
		} else if (wp->w->nopen && !--wp->w->nopen) {
			wp->w->dirty = true;
		}
	}
}

void proto_waiters_changed(struct proto *p)
{
	uint64_t now = clock_mono_ns();
	struct waiter *w = p->waiters, *n;

	for (; w; w = n) {
		n = w->next;
		if (w->dirty)
			evaluate(p, w, now);
	}
}

uint64_t proto_waiters_timer(struct proto *p, uint64_t now)
{
	struct waiter *w = p->waiters, *n;
	uint64_t next = 0;

	for (; w; w = n) {
		n = w->next;
		if (w->dirty || now >= w->deadline_mono ||
		    (w->recheck_mono && now >= w->recheck_mono)) {
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

void op_wait_fini(struct proto *p)
{
	while (p->waiters)
		waiter_free(p, p->waiters);
	free(p->widx);
	p->widx = NULL;
}
