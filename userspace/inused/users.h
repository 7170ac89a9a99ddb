/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * users.h - what each user (uid) holds of the daemon: connections, waits,
 * paths waited on, subscriptions, and bytes (requests read and not yet
 * answered, answers and events not yet taken by its clients, the paths of
 * requests being answered). Each is bounded per user, so that one user
 * cannot take what the others need; root is not bounded per user and has
 * room reserved in every global bound.
 */
#ifndef INUSED_USERS_H
#define INUSED_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct user_usage {
	uid_t uid;
	uint32_t conns;
	uint32_t waits;
	size_t wait_paths;
	uint32_t subs;
	size_t bytes;
	bool over;     /* bytes reached the bound: its clients are paused */
	uint32_t refs; /* connections pointing here */
	struct user_usage *next;
};

/* Bounds per user; 0: none. */
struct user_limits {
	uint32_t conns;	   /* per user */
	uint32_t waits;	   /* per user */
	size_t wait_paths; /* per user */
	uint32_t subs;	   /* per user */
	size_t bytes;	   /* per user */
};

#define USERS_BUCKETS 256

struct users {
	struct user_usage *b[USERS_BUCKETS];
	struct user_limits lim;
	size_t nusers;
};

void users_init(struct users *u, const struct user_limits *lim);
void users_fini(struct users *u);

/* The usage record of uid (created, referenced); NULL when out of memory. */
struct user_usage *users_ref(struct users *u, uid_t uid);
/* Drops a reference; the record goes with the last one. */
void users_unref(struct users *u, struct user_usage *x);

/* Is x (not root) at its bound of that kind? Root never is. */
bool users_conns_full(const struct users *u, const struct user_usage *x);
bool users_waits_full(const struct users *u, const struct user_usage *x, size_t more_paths);
bool users_subs_full(const struct users *u, const struct user_usage *x);

/* Adds (or with a negative delta removes) bytes. Returns true when the
 * user went from over its bound to under it (its clients may go on). */
bool users_charge(struct users *u, struct user_usage *x, long long delta);
/* Has the user (not root) reached its byte bound? */
static inline bool users_bytes_over(const struct user_usage *x)
{
	return x && x->over;
}

/* Global bounds with room reserved for root: may one more be taken by
 * uid, when n of max are taken? */
bool users_global_room(uid_t uid, size_t n, size_t max);

#endif
