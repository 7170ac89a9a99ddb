// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "inused/fault.h"

struct alias {
	uint64_t ino;
	uint32_t dev;
	struct entry *e;
	struct alias *next;
};

/* A writer pid's (or user's) entries, in an array (in no order), with a
 * set of their places by entry pointer (open addressing, linear probing, 0
 * free, else place + 1), so that linking and unlinking an entry cost the
 * same whatever the process holds. */
struct pidnode {
	uint32_t pid; /* or uid */
	uint32_t n, cap;
	struct entry **ents;
	uint32_t *slots; /* nslots: a power of two, at least twice cap */
	uint32_t nslots;
	struct pidnode *next;
};

static size_t hash_key(uint32_t dev, uint64_t ino, size_t nbuckets)
{
	uint64_t h = ino * 0x9E3779B97F4A7C15ULL ^ ((uint64_t)dev * 0xC2B2AE3D27D4EB4FULL);

	h ^= h >> 29;
	return (size_t)(h & (nbuckets - 1));
}

static size_t hash_pid(uint32_t pid, size_t nbuckets)
{
	uint64_t h = (uint64_t)pid * 0x9E3779B97F4A7C15ULL;

	return (size_t)((h >> 32) & (nbuckets - 1));
}

static void idx_free(struct pidnode **buckets, size_t nb)
{
	for (size_t i = 0; buckets && i < nb; i++) {
		for (struct pidnode *p = buckets[i], *pn; p; p = pn) {
			pn = p->next;
			free(p->ents);
			free(p->slots);
			free(p);
		}
	}
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
	t->nabuckets = 1024;
	t->abuckets = calloc(t->nabuckets, sizeof(*t->abuckets));
	t->npbuckets = 4096;
	t->pbuckets = calloc(t->npbuckets, sizeof(*t->pbuckets));
	t->nubuckets = 256;
	t->ubuckets = calloc(t->nubuckets, sizeof(*t->ubuckets));
	if (!t->buckets || !t->abuckets || !t->pbuckets || !t->ubuckets) {
		free(t->buckets);
		free(t->abuckets);
		free(t->pbuckets);
		free(t->ubuckets);
		memset(t, 0, sizeof(*t));
		return -ENOMEM;
	}
	t->nbuckets = n;
	t->max_files = max_files;
	t->max_writers = max_writers;
	return 0;
}

static void entry_free(struct entry *e)
{
	for (int i = 0; i < ENTRY_NAMES; i++) {
		free(e->names[i].fs_path);
		free(e->names[i].host_path);
	}
	free(e->w);
	free(e->json);
	free(e);
}

static void free_dead(struct table *t);

void table_fini(struct table *t)
{
	struct entry *e = t->head, *n;

	for (; e; e = n) {
		n = e->next;
		entry_free(e);
	}
	free_dead(t);
	for (size_t i = 0; t->abuckets && i < t->nabuckets; i++) {
		for (struct alias *a = t->abuckets[i], *an; a; a = an) {
			an = a->next;
			free(a);
		}
	}
	idx_free(t->pbuckets, t->npbuckets);
	idx_free(t->ubuckets, t->nubuckets);
	free(t->buckets);
	free(t->abuckets);
	free(t->pbuckets);
	free(t->ubuckets);
	free(t->ord);
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

struct entry *table_find_any(const struct table *t, uint32_t dev, uint64_t ino)
{
	struct entry *e = table_find(t, dev, ino);

	if (e || !t->naliases)
		return e;
	for (struct alias *a = t->abuckets[hash_key(dev, ino, t->nabuckets)]; a; a = a->next)
		if (a->ino == ino && a->dev == dev)
			return a->e;
	return NULL;
}

static void alias_del(struct table *t, uint32_t dev, uint64_t ino, const struct entry *e)
{
	struct alias **pp = &t->abuckets[hash_key(dev, ino, t->nabuckets)];

	for (; *pp; pp = &(*pp)->next) {
		struct alias *a = *pp;

		if (a->dev == dev && a->ino == ino && a->e == e) {
			*pp = a->next;
			free(a);
			t->naliases--;
			return;
		}
	}
}

static int alias_add(struct table *t, uint32_t dev, uint64_t ino, struct entry *e)
{
	size_t b = hash_key(dev, ino, t->nabuckets);
	struct alias *a;

	for (a = t->abuckets[b]; a; a = a->next) {
		if (a->dev == dev && a->ino == ino) {
			a->e = e; /* the newer name wins */
			return 0;
		}
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->dev = dev;
	a->ino = ino;
	a->e = e;
	a->next = t->abuckets[b];
	t->abuckets[b] = a;
	t->naliases++;
	return 0;
}

static struct pidnode *idx_find(struct pidnode *const *buckets, size_t nb, uint32_t key)
{
	struct pidnode *p;

	for (p = buckets[hash_pid(key, nb)]; p; p = p->next)
		if (p->pid == key)
			return p;
	return NULL;
}

static size_t ent_slot(const struct entry *e, uint32_t nslots)
{
	return (size_t)(((uintptr_t)e >> 4) * 0x9E3779B97F4A7C15ULL >> 20) & (nslots - 1);
}

/* The slot of e, or the free slot where it would go. */
static size_t slot_of(const struct pidnode *p, const struct entry *e)
{
	size_t i = ent_slot(e, p->nslots);

	while (p->slots[i] && p->ents[p->slots[i] - 1] != e)
		i = (i + 1) & (p->nslots - 1);
	return i;
}

static int pidnode_grow(struct pidnode *p)
{
	uint32_t cap = p->cap ? p->cap * 2 : 4, ns = cap * 2;
	struct entry **ents = realloc(p->ents, cap * sizeof(*ents));
	uint32_t *slots;

	if (!ents)
		return -ENOMEM;
	p->ents = ents;
	slots = calloc(ns, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	free(p->slots);
	p->slots = slots;
	p->nslots = ns;
	p->cap = cap;
	for (uint32_t k = 0; k < p->n; k++)
		p->slots[slot_of(p, p->ents[k])] = k + 1;
	return 0;
}

/* e linked under key; false when memory is short (and it is not). */
static bool idx_link(struct pidnode **buckets, size_t nb, uint32_t key, struct entry *e)
{
	struct pidnode *p = idx_find(buckets, nb, key);
	size_t i;

	if (!p) {
		size_t b = hash_pid(key, nb);

		p = calloc(1, sizeof(*p));
		if (!p)
			return false;
		p->pid = key;
		p->next = buckets[b];
		buckets[b] = p;
	}
	if (p->n && p->slots[slot_of(p, e)])
		return true; /* there */
	if (p->n == p->cap && pidnode_grow(p))
		return false;
	i = slot_of(p, e);
	p->ents[p->n++] = e;
	p->slots[i] = p->n;
	return true;
}

static void pid_link(struct table *t, uint32_t pid, struct entry *e)
{
	/* memory short: per-pid lookups then miss, callers fall back */
	(void)idx_link(t->pbuckets, t->npbuckets, pid, e);
}

/* The user index has every entry or is not used (ubroken): a listing by
 * user must not miss one. */
static void uid_link(struct table *t, uint32_t uid, struct entry *e)
{
	if (!idx_link(t->ubuckets, t->nubuckets, uid, e))
		t->ubroken = true;
}

/* Empties slot i; the places after it in its run move up where their
 * probe allows (no tombstones). */
static void slot_clear(struct pidnode *p, size_t i)
{
	size_t m = p->nslots - 1, j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & m;
		if (!p->slots[j])
			break;
		k = ent_slot(p->ents[p->slots[j] - 1], p->nslots);
		/* may the place at j move to i: is i cyclically between its
		 * home k and j? */
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			p->slots[i] = p->slots[j];
			i = j;
		}
	}
	p->slots[i] = 0;
}

static void idx_unlink(struct pidnode **buckets, size_t nb, uint32_t key, const struct entry *e)
{
	struct pidnode **pp = &buckets[hash_pid(key, nb)];

	for (; *pp; pp = &(*pp)->next) {
		struct pidnode *p = *pp;

		if (p->pid != key)
			continue;
		if (p->n) {
			size_t i = slot_of(p, e);

			if (p->slots[i]) {
				uint32_t k = p->slots[i] - 1;

				slot_clear(p, i);
				/* the last one takes its place */
				if (k != --p->n) {
					p->ents[k] = p->ents[p->n];
					p->slots[slot_of(p, p->ents[k])] = k + 1;
				}
			}
		}
		if (!p->n) {
			*pp = p->next;
			free(p->ents);
			free(p->slots);
			free(p);
		}
		return;
	}
}

static void pid_unlink(struct table *t, uint32_t pid, const struct entry *e)
{
	idx_unlink(t->pbuckets, t->npbuckets, pid, e);
}

static bool entry_has_uid(const struct entry *e, uint32_t uid)
{
	for (uint32_t i = 0; i < e->nw; i++)
		if (e->w[i].uid == uid)
			return true;
	return false;
}

/* uid no longer e's if no writer of it is left. */
static void uid_unlink_unless(struct table *t, uint32_t uid, const struct entry *e)
{
	if (!entry_has_uid(e, uid))
		idx_unlink(t->ubuckets, t->nubuckets, uid, e);
}

struct entry *const *table_pid_entries(const struct table *t, uint32_t pid, size_t *n)
{
	struct pidnode *p = idx_find(t->pbuckets, t->npbuckets, pid);

	*n = p ? p->n : 0;
	return p ? p->ents : NULL;
}

struct entry *const *table_uid_entries(const struct table *t, uint32_t uid, size_t *n)
{
	struct pidnode *p;

	if (t->ubroken)
		return *n = SIZE_MAX, NULL;
	p = idx_find(t->ubuckets, t->nubuckets, uid);
	*n = p ? p->n : 0;
	return p ? p->ents : NULL;
}

/* Slots of removed entries dropped from the order array; the others
 * keep their order. */
static void ord_compact(struct table *t)
{
	size_t j = 0;

	for (size_t i = 0; i < t->nord; i++) {
		if (!t->ord[i].e)
			continue;
		t->ord[j] = t->ord[i];
		t->ord[j].e->ord = j;
		j++;
	}
	t->nord = j;
	t->ord_holes = 0;
	t->ord_gen++;
}

/* Room for one more slot. 0 or -ENOMEM. */
static int ord_reserve(struct table *t)
{
	struct ordslot *n;
	size_t cap;

	if (t->nord < t->capord)
		return 0;
	if (t->ord_holes) {
		ord_compact(t);
		return 0;
	}
	cap = t->capord ? t->capord * 2 : 1024;
	n = realloc(t->ord, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	t->ord = n;
	t->capord = cap;
	return 0;
}

size_t table_ord_from(const struct table *t, uint64_t seq)
{
	size_t lo = 0, hi = t->nord;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->ord[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void table_set_first_open(struct table *t, struct entry *e, uint64_t ns)
{
	e->first_open_ns = ns;
	/* one without, before any with (the start's walk), is in order: it
	 * counts as opened at the start */
	if ((ns || !t->fo_latest) && t->fo_late_none_seq == e->seq)
		t->fo_late_none_seq = t->fo_none_prev;
	if (!ns)
		return;
	if (ns >= t->fo_latest)
		t->fo_latest = ns;
	else if (t->fo_latest - ns > t->fo_disorder)
		t->fo_disorder = t->fo_latest - ns; /* records taken out of time order */
}

bool table_opened_after(const struct table *t, const struct entry *e, uint64_t cutoff,
			uint64_t start)
{
	/* one without a first open from e on, added after one with, and
	 * counting as opened at the start: it may be older than cutoff */
	if (e->seq <= t->fo_late_none_seq && start <= cutoff)
		return false;
	/* without one: later ones are at least the start */
	if (!e->first_open_ns)
		return start > cutoff;
	/* each later one is at least the latest before it less the disorder,
	 * so at least e's less the disorder */
	return e->first_open_ns > cutoff && e->first_open_ns - cutoff > t->fo_disorder;
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
	e = ord_reserve(t) ? NULL : calloc(1, sizeof(*e));
	if (!e) {
		t->full_events++;
		return NULL;
	}
	e->seq = ++t->seq;
	/* without a first open until it is given one */
	t->fo_none_prev = t->fo_late_none_seq;
	t->fo_late_none_seq = e->seq;
	e->ord = t->nord++;
	t->ord[e->ord] = (struct ordslot){.e = e, .seq = e->seq};
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
	for (int i = 0; i < ENTRY_NAMES; i++)
		if (e->names[i].alias_dev)
			alias_del(t, e->names[i].alias_dev, e->names[i].alias_ino, e);
	for (uint32_t i = 0; i < e->nw; i++) {
		pid_unlink(t, e->w[i].pid, e);
		idx_unlink(t->ubuckets, t->nubuckets, e->w[i].uid, e);
	}
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	t->ord[e->ord].e = NULL;
	if (++t->ord_holes >= 1024 && t->ord_holes * 2 >= t->nord)
		ord_compact(t);
	t->count--;
	if (t->pins && t->ndead < TABLE_DEAD_MAX) {
		e->dead = true;
		e->hnext = t->dead;
		t->dead = e;
		t->ndead++;
		return;
	}
	t->removals++;
	entry_free(e);
}

void table_pin(struct table *t)
{
	t->pins++;
}

static void free_dead(struct table *t)
{
	for (struct entry *e = t->dead, *n; e; e = n) {
		n = e->hnext;
		entry_free(e);
	}
	t->dead = NULL;
	t->ndead = 0;
}

void table_unpin(struct table *t)
{
	if (t->pins && --t->pins == 0)
		free_dead(t);
}

/* e->path: the host path of the name writers opened, else of the upper
 * file, else none. */
static void entry_pick_path(struct entry *e)
{
	const char *p = NULL;

	for (int i = 0; i < ENTRY_NAMES && !p; i++)
		p = e->names[i].host_path;
	e->path = p;
	e->alert_rule_gen = 0; /* the rule goes by the path */
}

int entry_set_name(struct table *t, struct entry *e, unsigned int i, const char *fs_path,
		   size_t len, uint32_t sb_dev, uint64_t dentry_ptr, uint64_t inode_ptr,
		   uint32_t flags)
{
	struct ename *n;
	char *p = NULL;

	if (i >= ENTRY_NAMES)
		return -EINVAL;
	n = &e->names[i];
	if (fs_path) {
		p = malloc(len + 1);
		if (!p)
			return -ENOMEM;
		memcpy(p, fs_path, len);
		p[len] = '\0';
	}
	entry_set_host(t, e, i, NULL, 0, 0);
	free(n->fs_path);
	n->fs_path = p;
	n->sb_dev = sb_dev;
	n->dentry_ptr = dentry_ptr;
	n->inode_ptr = inode_ptr;
	n->flags = flags;
	n->mounts_gen = 0;
	entry_touch(e);
	return 0;
}

int entry_set_host(struct table *t, struct entry *e, unsigned int i, const char *host,
		   uint32_t alias_dev, uint64_t alias_ino)
{
	struct ename *n;
	char *h = NULL;

	if (i >= ENTRY_NAMES)
		return -EINVAL;
	n = &e->names[i];
	if (host && !(h = strdup(host)))
		return -ENOMEM;
	if (n->alias_dev && (n->alias_dev != alias_dev || n->alias_ino != alias_ino))
		alias_del(t, n->alias_dev, n->alias_ino, e);
	free(n->host_path);
	n->host_path = h;
	n->alias_dev = 0;
	n->alias_ino = 0;
	if (alias_dev && (alias_dev != e->dev || alias_ino != e->ino) &&
	    alias_add(t, alias_dev, alias_ino, e) == 0) {
		n->alias_dev = alias_dev;
		n->alias_ino = alias_ino;
	}
	entry_pick_path(e);
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

/* Remembers that uid's processes wrote e (who may see it leave). */
static void note_uid(struct entry *e, uint32_t uid)
{
	for (uint32_t i = 0; i < e->nuids; i++)
		if (e->uids[i] == uid)
			return;
	if (e->nuids < ENTRY_UIDS)
		e->uids[e->nuids++] = uid;
}

struct writer *entry_add_writer(struct table *t, struct entry *e, const struct writer *w)
{
	struct writer *cur = entry_find_writer(e, w->pid, w->fd, w->via);

	entry_touch(e);
	note_uid(e, w->uid);
	if (cur) {
		uint64_t since = cur->since_ns;
		uint32_t uid = cur->uid;

		*cur = *w;
		/* a re-seen handle keeps the earliest known time */
		if (since && (!w->since_ns || since < w->since_ns))
			cur->since_ns = since;
		if (uid != w->uid) {
			uid_link(t, w->uid, e);
			uid_unlink_unless(t, uid, e);
		}
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
	pid_link(t, w->pid, e);
	uid_link(t, w->uid, e);
	return &e->w[e->nw++];
}

void entry_del_writer(struct table *t, struct entry *e, uint32_t i)
{
	uint32_t pid, uid;

	if (i >= e->nw)
		return;
	pid = e->w[i].pid;
	uid = e->w[i].uid;
	e->w[i] = e->w[e->nw - 1];
	e->nw--;
	entry_touch(e);
	if (!entry_has_pid(e, pid))
		pid_unlink(t, pid, e);
	uid_unlink_unless(t, uid, e);
}

uint32_t entry_del_pid(struct table *t, struct entry *e, uint32_t pid)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < e->nw;) {
		if (e->w[i].pid == pid) {
			entry_del_writer(t, e, i);
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
