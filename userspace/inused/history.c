// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

static size_t bucket(const struct history *h, uint32_t dev, uint64_t ino)
{
	return (size_t)(((ino * 0x9E3779B97F4A7C15ULL) >> 17) ^ dev) % h->nb;
}

int history_init(struct history *h, size_t max, uint64_t max_age_ns, uint64_t now)
{
	memset(h, 0, sizeof(*h));
	h->nb = max > 16 ? max : 16;
	h->b = calloc(h->nb, sizeof(*h->b));
	if (!h->b)
		return -ENOMEM;
	h->max = max;
	h->max_age_ns = max_age_ns;
	h->start_ns = now;
	return 0;
}

void history_fini(struct history *h)
{
	for (struct hist_rec *r = h->head, *n; r; r = n) {
		n = r->next;
		free(r->path);
		free(r);
	}
	free(h->b);
	memset(h, 0, sizeof(*h));
}

struct hist_rec *history_find(const struct history *h, uint32_t dev, uint64_t ino)
{
	for (struct hist_rec *r = h->b[bucket(h, dev, ino)]; r; r = r->hnext)
		if (r->dev == dev && r->ino == ino)
			return r;
	return NULL;
}

static void unlink_rec(struct history *h, struct hist_rec *r)
{
	struct hist_rec **pp = &h->b[bucket(h, r->dev, r->ino)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == r) {
			*pp = r->hnext;
			break;
		}
	if (r->prev)
		r->prev->next = r->next;
	else
		h->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		h->tail = r->prev;
	h->count--;
}

static void append(struct history *h, struct hist_rec *r)
{
	r->next = NULL;
	r->prev = h->tail;
	if (h->tail)
		h->tail->next = r;
	else
		h->head = r;
	h->tail = r;
}

/* Drops the oldest record; the history is not complete before its end. */
static void drop_oldest(struct history *h)
{
	struct hist_rec *r = h->head;

	if (!r)
		return;
	if (r->last_seen > h->lost_until)
		h->lost_until = r->last_seen;
	h->dropped++;
	unlink_rec(h, r);
	free(r->path);
	free(r);
}

/* The record of (dev, ino), made if new (the oldest dropped for room);
 * moved to the end of the list as the most recently seen. */
static struct hist_rec *get(struct history *h, uint32_t dev, uint64_t ino, uint64_t now)
{
	struct hist_rec *r = history_find(h, dev, ino);
	size_t b;

	if (r) {
		if (h->tail != r) {
			if (r->prev)
				r->prev->next = r->next;
			else
				h->head = r->next;
			r->next->prev = r->prev;
			append(h, r);
		}
		r->last_seen = now;
		return r;
	}
	while (h->count >= h->max && h->head)
		drop_oldest(h);
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->dev = dev;
	r->ino = ino;
	r->last_seen = now;
	b = bucket(h, dev, ino);
	r->hnext = h->b[b];
	h->b[b] = r;
	append(h, r);
	h->count++;
	return r;
}

static void set_path(struct hist_rec *r, const char *path)
{
	char *p;

	if (!path || (r->path && !strcmp(r->path, path)))
		return;
	p = strdup(path);
	if (!p)
		return;
	free(r->path);
	r->path = p;
}

void history_opened(struct history *h, uint32_t dev, uint64_t ino, const char *path, uint64_t since,
		    uint32_t uid, uint32_t pid, const char *comm)
{
	struct hist_rec *r = get(h, dev, ino, since);

	if (!r)
		return;
	set_path(r, path);
	r->open_since = since ? since : h->start_ns;
	r->uid = uid;
	r->pid = pid;
	if (comm)
		memcpy(r->comm, comm, strnlen(comm, sizeof(r->comm) - 1));
}

/* Adds [from, to] to r's spans, kept in order of from; when they are all
 * in use, the two with the smallest gap between them become one first. */
static void add_span(struct hist_rec *r, uint64_t from, uint64_t to)
{
	uint32_t i;

	if (r->nspans == HIST_SPANS) {
		uint64_t gap = UINT64_MAX;
		uint32_t best = 0;

		for (uint32_t k = 0; k + 1 < HIST_SPANS; k++) {
			uint64_t g = r->from[k + 1] > r->to[k] ? r->from[k + 1] - r->to[k] : 0;

			if (g < gap) {
				gap = g;
				best = k;
			}
		}
		if (r->to[best + 1] > r->to[best])
			r->to[best] = r->to[best + 1];
		for (uint32_t k = best + 1; k + 1 < HIST_SPANS; k++) {
			r->from[k] = r->from[k + 1];
			r->to[k] = r->to[k + 1];
		}
		r->nspans--;
	}
	for (i = r->nspans; i > 0 && r->from[i - 1] > from; i--) {
		r->from[i] = r->from[i - 1];
		r->to[i] = r->to[i - 1];
	}
	r->from[i] = from;
	r->to[i] = to;
	r->nspans++;
}

void history_closed(struct history *h, uint32_t dev, uint64_t ino, const char *path, uint64_t from,
		    uint64_t now, uint64_t last_write)
{
	struct hist_rec *r = get(h, dev, ino, now);

	if (!r)
		return;
	set_path(r, path);
	if (!from)
		from = r->open_since ? r->open_since : h->start_ns;
	add_span(r, from, now);
	r->open_since = 0;
	if (last_write > r->last_write)
		r->last_write = last_write;
}

void history_expire(struct history *h, uint64_t now)
{
	while (h->head && h->head->last_seen + h->max_age_ns < now && !h->head->open_since)
		drop_oldest(h);
}

bool hist_rec_meets(const struct hist_rec *r, uint64_t t1, uint64_t t2, uint64_t now)
{
	for (uint32_t i = 0; i < r->nspans; i++)
		if (r->from[i] <= t2 && r->to[i] >= t1)
			return true;
	return r->open_since && r->open_since <= t2 && now >= t1;
}

uint64_t history_kept_since(const struct history *h)
{
	return h->lost_until > h->start_ns ? h->lost_until : h->start_ns;
}

bool history_complete(const struct history *h, uint64_t t1)
{
	return t1 >= history_kept_since(h);
}

void history_note(struct history **hp, struct tracker *t, enum tracker_change what,
		  struct entry *e)
{
	uint64_t now = clock_boot_ns();

	if (!*hp) {
		struct history *h = calloc(1, sizeof(*h));

		if (!h || history_init(h, HIST_MAX_FILES, HIST_MAX_AGE_NS, t->start_boot_ns)) {
			free(h);
			return;
		}
		*hp = h;
	}
	history_expire(*hp, now);
	if (what == TC_OPENED) {
		history_opened(*hp, e->dev, e->ino, e->path,
			       e->first_open_ns ? e->first_open_ns : now, e->nw ? e->w[0].uid : 0,
			       e->nw ? e->w[0].pid : 0, e->nw ? e->w[0].comm : NULL);
		return;
	}
	/* names are resolved when first needed: the file's is kept now */
	tracker_resolve_names(t, e);
	history_closed(*hp, e->dev, e->ino, e->path, e->first_open_ns, now, e->last_write_ns);
}

void history_free(struct history **hp)
{
	if (!*hp)
		return;
	history_fini(*hp);
	free(*hp);
	*hp = NULL;
}
