// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_iterread.c - reading an iterator's output on a second thread
 * (iterread.h): every byte reaches the caller, in order, on the caller's
 * thread, with the reader held back when the caller is slow; the caller
 * can stop early without a hang; a read error is returned. A pipe stands
 * in for the iterator: the reading is the same read(2) loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inused/iterread.h"

/* More than all the chunks hold at once: the reader must wait for room. */
#define TOTAL ((size_t)ITERREAD_CHUNK * ITERREAD_CHUNKS * 3 + 12345)

static unsigned char byte_at(size_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

struct writer {
	int fd;
	size_t total;
};

static void *write_all(void *arg)
{
	struct writer *w = arg;
	unsigned char buf[4099];
	size_t off = 0;

	while (off < w->total) {
		size_t n = w->total - off < sizeof(buf) ? w->total - off : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(off + i);
		n = (size_t)write(w->fd, buf, n);
		if ((ssize_t)n <= 0)
			break; /* the reader stopped early */
		off += n;
	}
	close(w->fd);
	return NULL;
}

struct taker {
	pthread_t self;
	size_t seen;
	size_t stop_after; /* 0: never */
	bool wrong_thread, wrong_byte;
	unsigned calls;
};

static int take(void *ctx, const char *buf, size_t len)
{
	struct taker *t = ctx;

	if (!pthread_equal(pthread_self(), t->self))
		t->wrong_thread = true;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] != byte_at(t->seen + i))
			t->wrong_byte = true;
	t->seen += len;
	/* slow on purpose now and then: the reader fills every chunk */
	if (++t->calls % 7 == 0)
		usleep(2000);
	return t->stop_after && t->seen >= t->stop_after ? 42 : 0;
}

static void run(bool threaded, size_t stop_after, int *ret, struct taker *t)
{
	struct writer w = {.total = TOTAL};
	pthread_t th;
	int p[2];

	assert_int_equal(pipe(p), 0);
	w.fd = p[1];
	assert_int_equal(pthread_create(&th, NULL, write_all, &w), 0);
	memset(t, 0, sizeof(*t));
	t->self = pthread_self();
	t->stop_after = stop_after;
	*ret = iterread(p[0], threaded, take, t);
	close(p[0]); /* a writer still writing gets EPIPE and ends */
	pthread_join(th, NULL);
}

static void test_every_byte_in_order(void **state)
{
	struct taker t;
	int ret;

	(void)state;
	for (int threaded = 0; threaded <= 1; threaded++) {
		run(threaded, 0, &ret, &t);
		assert_int_equal(ret, 0);
		assert_int_equal(t.seen, TOTAL);
		assert_false(t.wrong_byte);
		assert_false(t.wrong_thread);
	}
}

static void test_caller_stops_early(void **state)
{
	struct taker t;
	int ret;

	(void)state;
	for (int threaded = 0; threaded <= 1; threaded++) {
		run(threaded, ITERREAD_CHUNK + 1, &ret, &t);
		assert_int_equal(ret, 42);
		assert_true(t.seen >= ITERREAD_CHUNK + 1);
		assert_true(t.seen < TOTAL);
		assert_false(t.wrong_byte);
	}
}

static void test_read_error(void **state)
{
	struct taker t = {.self = pthread_self()};
	int fd = open("/", O_RDONLY | O_DIRECTORY);

	(void)state;
	assert_true(fd >= 0);
	/* read(2) of a directory: EISDIR */
	assert_int_equal(iterread(fd, true, take, &t), -EISDIR);
	assert_int_equal(iterread(fd, false, take, &t), -EISDIR);
	assert_int_equal(t.seen, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_byte_in_order),
	    cmocka_unit_test(test_caller_stops_early),
	    cmocka_unit_test(test_read_error),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("iterator reads", tests, NULL, NULL);
}
