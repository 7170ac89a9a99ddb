/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * loop.h - a small epoll loop. A watch ties an fd to a callback; the caller
 * owns the watch (usually embedded in its own object) and must keep it alive
 * until loop_del.
 */
#ifndef INUSED_LOOP_H
#define INUSED_LOOP_H

#include <stdint.h>

struct loop_watch;
typedef void (*loop_fn)(struct loop_watch *w, uint32_t events);

struct loop_watch {
	int fd;
	uint32_t events;
	loop_fn fn;
	void *data;
};

struct loop {
	int epfd;
};

int loop_init(struct loop *l);
void loop_fini(struct loop *l);
/* 0 or -errno. */
int loop_add(struct loop *l, struct loop_watch *w, int fd, uint32_t events, loop_fn fn, void *data);
int loop_mod(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct loop *l, struct loop_watch *w);
/* Waits up to timeout_ms (-1: no limit) and runs the callbacks of what is
 * ready. Returns how many ran, or -errno (EINTR is not an error: 0). */
int loop_run_once(struct loop *l, int timeout_ms);
/* The same with a timeout in nanoseconds (-1: no limit). */
int loop_run_once_ns(struct loop *l, int64_t timeout_ns);

#endif
