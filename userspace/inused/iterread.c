// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/iterread.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

struct chunk {
	size_t len;
	char data[ITERREAD_CHUNK];
};

/* Chunks [tail, head) are filled and not yet taken; the reader fills
 * chunk head % ITERREAD_CHUNKS while fewer than ITERREAD_CHUNKS are. */
struct pipeline {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *c[ITERREAD_CHUNKS];
	unsigned head, tail;
	bool done; /* the reader filled its last chunk */
	bool stop; /* the caller wants no more */
	int err;   /* the reader's, once done */
	int fd;
};

/* Fills c from fd. Returns 1 at the end of the output, 0 when c is full,
 * -errno on an error. */
static int fill(int fd, struct chunk *c)
{
	c->len = 0;
	while (c->len < sizeof(c->data)) {
		ssize_t n = read(fd, c->data + c->len, sizeof(c->data) - c->len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOENT || errno == ESRCH)
				return 1;
			return -errno;
		}
		if (n == 0)
			return 1;
		c->len += (size_t)n;
	}
	return 0;
}

static void *reader(void *arg)
{
	struct pipeline *p = arg;

	for (;;) {
		struct chunk *c;
		int r;

		pthread_mutex_lock(&p->mu);
		while (p->head - p->tail == ITERREAD_CHUNKS && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop) {
			p->done = true;
			pthread_cond_broadcast(&p->cv);
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		c = p->c[p->head % ITERREAD_CHUNKS];
		pthread_mutex_unlock(&p->mu);

		r = fill(p->fd, c);

		pthread_mutex_lock(&p->mu);
		if (r >= 0 && c->len)
			p->head++;
		if (r != 0) {
			p->err = r < 0 ? r : 0;
			p->done = true;
		}
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (r != 0)
			return NULL;
	}
}

static int read_inline(int fd, iterread_fn fn, void *ctx)
{
	struct chunk *c = malloc(sizeof(*c));
	int r, ret = 0;

	if (!c)
		return -ENOMEM;
	do {
		r = fill(fd, c);
		if (r < 0) {
			ret = r;
			break;
		}
		if (c->len)
			ret = fn(ctx, c->data, c->len);
	} while (r == 0 && !ret);
	free(c);
	return ret;
}

static int read_threaded(int fd, iterread_fn fn, void *ctx)
{
	struct pipeline p = {.fd = fd};
	sigset_t all, old;
	pthread_t th;
	int ret = 0, err;

	for (unsigned i = 0; i < ITERREAD_CHUNKS; i++) {
		p.c[i] = malloc(sizeof(struct chunk));
		if (!p.c[i]) {
			while (i--)
				free(p.c[i]);
			return read_inline(fd, fn, ctx);
		}
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	/* signals stay with the daemon's own thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&th, NULL, reader, &p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ret = read_inline(fd, fn, ctx);
		goto out;
	}
	for (;;) {
		struct chunk *c;

		pthread_mutex_lock(&p.mu);
		while (p.head == p.tail && !p.done)
			pthread_cond_wait(&p.cv, &p.mu);
		if (p.head == p.tail) {
			ret = p.err;
			pthread_mutex_unlock(&p.mu);
			break;
		}
		c = p.c[p.tail % ITERREAD_CHUNKS];
		pthread_mutex_unlock(&p.mu);

		ret = fn(ctx, c->data, c->len);

		pthread_mutex_lock(&p.mu);
		p.tail++;
		if (ret)
			p.stop = true;
		pthread_cond_broadcast(&p.cv);
		pthread_mutex_unlock(&p.mu);
		if (ret)
			break;
	}
	pthread_join(th, NULL);
out:
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	for (unsigned i = 0; i < ITERREAD_CHUNKS; i++)
		free(p.c[i]);
	return ret;
}

int iterread(int fd, bool threaded, iterread_fn fn, void *ctx)
{
	return threaded ? read_threaded(fd, fn, ctx) : read_inline(fd, fn, ctx);
}
