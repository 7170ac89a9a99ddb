// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inused/fault.h"

static size_t hash_key(uint32_t dev, uint64_t ino, size_t nbuckets)
{
	uint64_t h = ino * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)dev * 0xC2B2AE3D27D4EB4FULL);

	h ^= h >> 29;
	return (size_t)(h & (nbuckets - 1));
}

int table_init(struct table *t, size_t max_files, uint32_t max_writers)
{
	size_t n = 64;

	memset(t, 0, sizeof(*t));
	if (max_files == 0 || max_writers == 0)
		return -EINVAL;
	while (n < max_files && n < ((size_t)1 << 30))
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->nbuckets = n;
	t->max_files = max_files;
	t->max_writers = max_writers;
	return 0;
}

static void entry_free(struct entry *e)
{
	free(e->path);
	free(e->w);
	free(e->json);
	free(e);
}

void table_fini(struct table *t)
{
	struct entry *e = t->head, *n;

	for (; e; e = n) {
		n = e->next;
		entry_free(e);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct entry *table_find(const struct table *t, uint32_t dev, uint64_t ino)
{
	struct entry *e;

	if (!t->buckets)
		return NULL;
	for (e = t->buckets[hash_key(dev, ino, t->nbuckets)]; e; e = e->hnext)
		if (e->ino == ino && e->dev == dev)
			return e;
	return NULL;
}

struct entry *table_get(struct table *t, uint32_t dev, uint64_t ino, bool *created)
{
	struct entry *e = table_find(t, dev, ino);
	size_t b;

	if (created)
		*created = false;
	if (e)
		return e;
	if (t->count >= t->max_files && !FAULT(NO_TABLE_LIMIT)) {
		t->full_events++;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		t->full_events++;
		return NULL;
	}
	e->dev = dev;
	e->ino = ino;
	b = hash_key(dev, ino, t->nbuckets);
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	e->prev = t->tail;
	if (t->tail)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
	t->count++;
	if (created)
		*created = true;
	return e;
}

void table_remove(struct table *t, struct entry *e)
{
	struct entry **pp = &t->buckets[hash_key(e->dev, e->ino, t->nbuckets)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	t->count--;
	entry_free(e);
}

int entry_set_path(struct entry *e, const char *path, size_t len)
{
	char *p = malloc(len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, path, len);
	p[len] = '\0';
	free(e->path);
	e->path = p;
	e->pflags &= ~PF_NO_PATH;
	entry_touch(e);
	return 0;
}

struct writer *entry_find_writer(struct entry *e, uint32_t pid, int32_t fd, uint8_t via)
{
	for (uint32_t i = 0; i < e->nw; i++)
		if (e->w[i].pid == pid && e->w[i].fd == fd && e->w[i].via == via)
			return &e->w[i];
	return NULL;
}

struct writer *entry_add_writer(struct table *t, struct entry *e, const struct writer *w)
{
	struct writer *cur = entry_find_writer(e, w->pid, w->fd, w->via);

	entry_touch(e);
	if (cur) {
		uint64_t since = cur->since_ns;

		*cur = *w;
		/* a re-seen handle keeps the earliest known time */
		if (since && (!w->since_ns || since < w->since_ns))
			cur->since_ns = since;
		return cur;
	}
	if (e->nw >= t->max_writers) {
		e->writers_dropped++;
		return NULL;
	}
	if (e->nw == e->capw) {
		uint32_t cap = e->capw ? e->capw * 2 : 2;
		struct writer *nw;

		if (cap > t->max_writers)
			cap = t->max_writers;
		nw = realloc(e->w, cap * sizeof(*nw));
		if (!nw) {
			e->writers_dropped++;
			return NULL;
		}
		e->w = nw;
		e->capw = cap;
	}
	e->w[e->nw] = *w;
	return &e->w[e->nw++];
}

void entry_del_writer(struct entry *e, uint32_t i)
{
	if (i >= e->nw)
		return;
	e->w[i] = e->w[e->nw - 1];
	e->nw--;
	entry_touch(e);
}

uint32_t entry_del_pid(struct entry *e, uint32_t pid)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->nw;) {
		if (e->w[i].pid == pid) {
			entry_del_writer(e, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

bool entry_has_pid(const struct entry *e, uint32_t pid)
{
	for (uint32_t i = 0; i < e->nw; i++)
		if (e->w[i].pid == pid)
			return true;
	return false;
}

void entry_touch(struct entry *e)
{
	free(e->json);
	e->json = NULL;
	e->json_len = 0;
}
