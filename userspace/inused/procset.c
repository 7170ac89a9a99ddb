// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/procset.h"

#include <stdlib.h>
#include <string.h>

static size_t pid_hash(uint32_t pid, size_t mask)
{
	return (size_t)(((uint64_t)pid * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

void proc_id_of(const struct writer *w, struct proc_id *p)
{
	size_t n = strnlen(w->comm, sizeof(w->comm));

	p->pid = w->pid;
	p->uid = w->uid;
	p->cgroup_id = w->cgroup_id;
	memcpy(p->comm, w->comm, n);
	memset(p->comm + n, 0, sizeof(p->comm) - n);
}

static bool same_id(const struct proc_id *a, const struct proc_id *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The slot of pid, or of the empty place it would take. */
static size_t find(const struct procset *s, uint32_t pid)
{
	size_t mask = s->nslot - 1, h = pid_hash(pid, mask);

	while (s->slot[h] && s->v[s->slot[h] - 1].pid != pid)
		h = (h + 1) & mask;
	return h;
}

static int grow(struct procset *s)
{
	size_t nslot = s->nslot ? s->nslot * 2 : 256, cap = nslot / 2;
	uint32_t *slot = calloc(nslot, sizeof(*slot));
	struct proc_id *v = realloc(s->v, cap * sizeof(*v));

	if (!slot || !v || nslot > UINT32_MAX) {
		free(slot);
		if (v)
			s->v = v;
		return -1;
	}
	free(s->slot);
	s->v = v;
	s->cap = cap;
	s->slot = slot;
	s->nslot = nslot;
	for (size_t i = 0; i < s->n; i++)
		s->slot[find(s, s->v[i].pid)] = (uint32_t)i + 1;
	return 0;
}

bool procset_note(struct procset *s, const struct proc_id *p)
{
	size_t h;

	/* files come in the table's order, a process's mostly together */
	if (s->n && same_id(&s->v[s->last], p))
		return true;
	if (s->n == s->cap && grow(s))
		return false;
	h = find(s, p->pid);
	if (s->slot[h]) {
		s->last = s->slot[h] - 1;
		return same_id(&s->v[s->last], p);
	}
	s->last = s->n;
	s->v[s->n++] = *p;
	s->slot[h] = (uint32_t)s->n;
	return true;
}

bool procset_same(const struct procset *s, const struct proc_id *p)
{
	size_t h;

	if (!s->nslot)
		return false;
	h = find(s, p->pid);
	return s->slot[h] && same_id(&s->v[s->slot[h] - 1], p);
}

size_t procset_bytes(const struct procset *s)
{
	return s->cap * sizeof(*s->v) + s->nslot * sizeof(*s->slot);
}

void procset_free(struct procset *s)
{
	free(s->v);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
