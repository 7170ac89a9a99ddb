// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_ring.c - the daemon sees a ring record that came without a
 * wake-up: kernel_ring_pending() is true while a record is in the ring
 * and not consumed, and false once it is drained. The daemon keeps
 * draining after a wake-up for as long as it is true (a hook preempted
 * between its reservation and its commit). Needs root and BPF: under
 * CI=true a machine that cannot load fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "inused/kernel.h"
#include "tdaemon.h"

static unsigned events;

static void on_event(void *ctx, const struct inuse_ev *ev, size_t len)
{
	(void)ctx;
	(void)ev;
	(void)len;
	events++;
}

/* Drains until nothing is pending (other processes write too). */
static void drain_all(struct kernel *k)
{
	for (int i = 0; i < 1000 && kernel_ring_pending(k); i++) {
		assert_true(kernel_drain(k) >= 0);
		if (kernel_ring_pending(k))
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	assert_false(kernel_ring_pending(k));
}

/* Whether the ring's fd was woken (a drained ring reads as not ready). */
static int ready(int ep)
{
	struct epoll_event e;

	return epoll_wait(ep, &e, 1, 0);
}

static void open_for_writing(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	close(fd);
}

static void test_record_without_wakeup(void **state)
{
	/* one wake-up per minute at most: the second open comes without one */
	struct kernel_opts o = {
	    .max_files = 1024, .ring_bytes = 1 << 20, .wake_interval_ns = 60000000000ull};
	char dir[] = "/tmp/inuse-ring-XXXXXX", path[64];
	struct kernel k;
	int ep;

	(void)state;
	if (geteuid() != 0)
		td_skip_or_fail("needs root to load BPF");
	if (kernel_open(&k, &o, on_event, NULL))
		td_skip_or_fail("cannot load the BPF programs");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, kernel_ring_fd(&k),
				   &(struct epoll_event){.events = EPOLLIN}),
			 0);

	open_for_writing(path); /* wakes, unless something else just did */
	drain_all(&k);
	assert_int_equal(ready(ep), 0);
	events = 0;
	open_for_writing(path); /* within the minute: no wake-up */
	assert_int_equal(ready(ep), 0);
	assert_true(kernel_ring_pending(&k));
	drain_all(&k);
	assert_true(events > 0);
	assert_false(kernel_ring_pending(&k));

	close(ep);
	unlink(path);
	rmdir(dir);
	kernel_close(&k);
	/* closed, or never opened: nothing pending, nothing mapped */
	assert_false(kernel_ring_pending(&k));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record_without_wakeup),
	};

	return cmocka_run_group_tests_name("ring records without a wake-up", tests, NULL, NULL);
}
