// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/users.h"

#include <stdlib.h>
#include <string.h>

void users_init(struct users *u, const struct user_limits *lim)
{
	memset(u, 0, sizeof(*u));
	u->lim = *lim;
}

void users_fini(struct users *u)
{
	for (size_t i = 0; i < USERS_BUCKETS; i++) {
		while (u->b[i]) {
			struct user_usage *x = u->b[i];

			u->b[i] = x->next;
			free(x);
		}
	}
	u->nusers = 0;
}

static size_t bucket(uid_t uid)
{
	return (size_t)((uint32_t)uid * 2654435761u >> 24) % USERS_BUCKETS;
}

struct user_usage *users_ref(struct users *u, uid_t uid)
{
	size_t b = bucket(uid);
	struct user_usage *x;

	for (x = u->b[b]; x; x = x->next) {
		if (x->uid == uid) {
			x->refs++;
			return x;
		}
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->uid = uid;
	x->refs = 1;
	x->next = u->b[b];
	u->b[b] = x;
	u->nusers++;
	return x;
}

void users_unref(struct users *u, struct user_usage *x)
{
	struct user_usage **pp;

	if (!x || --x->refs)
		return;
	for (pp = &u->b[bucket(x->uid)]; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			free(x);
			u->nusers--;
			return;
		}
	}
}

bool users_conns_full(const struct users *u, const struct user_usage *x)
{
	return x->uid != 0 && u->lim.conns && x->conns >= u->lim.conns;
}

bool users_waits_full(const struct users *u, const struct user_usage *x, size_t more_paths)
{
	return x->uid != 0 &&
	       ((u->lim.waits && x->waits >= u->lim.waits) ||
		(u->lim.wait_paths && x->wait_paths + more_paths > u->lim.wait_paths));
}

bool users_subs_full(const struct users *u, const struct user_usage *x)
{
	return x->uid != 0 && u->lim.subs && x->subs >= u->lim.subs;
}

bool users_charge(struct users *u, struct user_usage *x, long long delta)
{
	bool was;

	if (!x)
		return false;
	if (delta < 0 && (size_t)-delta > x->bytes)
		x->bytes = 0;
	else
		x->bytes = (size_t)((long long)x->bytes + delta);
	was = x->over;
	x->over = x->uid != 0 && u->lim.bytes && x->bytes >= u->lim.bytes;
	return was && !x->over;
}

bool users_global_room(uid_t uid, size_t n, size_t max)
{
	/* 1/16 of each bound, at least one, is root's */
	size_t reserve = max / 16 ? max / 16 : 1;

	if (uid == 0)
		return n < max;
	return n + reserve < max;
}
