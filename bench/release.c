// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * release.c - how soon inused says "not open" after the last writer of a
 * file lets go, for writers that no process holds: a loop device's backing
 * file (detached), an io_uring fixed file (ring closed), a file in flight
 * in a socket (socket closed); and, to compare, a plain close.
 *
 *   release --socket PATH --case close|loop|ring|socket [--rounds N] DIR
 *
 * Prints "<case>_ms <median>" and "<case>_max_ms <max>" of N rounds. The
 * state is polled with check requests, one every 200 us.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <liburing.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"

static struct inuse_client *cl;

static enum inuse_state state(const char *path)
{
	struct inuse_result *r;
	enum inuse_state s = INUSE_ERROR;

	if (inuse_client__check(cl, &path, 1, &r) == 0) {
		s = inuse_result__file(r, 0)->state;
		inuse_result__free(r);
	}
	return s;
}

/* ms from now until path is not open (or -1 after 10 s). */
static double until_released(const char *path, uint64_t t0)
{
	while (state(path) != INUSE_NOT_OPEN) {
		if (clock_mono_ns() - t0 > 10 * NSEC_PER_SEC)
			return -1;
		usleep(200);
	}
	return (double)(clock_mono_ns() - t0) / 1e6;
}

static void die(const char *what)
{
	fprintf(stderr, "release: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Sets up a writer of path held as the case says; returns an fd whose
 * close (or, for loop, a detach) releases it. */
static double one(const char *kind, const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	uint64_t t0;

	if (fd < 0)
		die(path);
	if (!strcmp(kind, "close")) {
		if (state(path) != INUSE_OPEN)
			die("not seen open");
		t0 = clock_mono_ns();
		close(fd);
		return until_released(path, t0);
	}
	if (!strcmp(kind, "loop")) {
		struct loop_config cfg = {.fd = (unsigned int)fd};
		int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), n, lfd;
		char dev[32];

		if (ftruncate(fd, 1 << 20) || ctl < 0)
			die("loop-control");
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		close(ctl);
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (n < 0 || lfd < 0 || ioctl(lfd, LOOP_CONFIGURE, &cfg))
			die(dev);
		close(fd); /* the loop device holds it now */
		if (state(path) != INUSE_OPEN)
			die("not seen open");
		t0 = clock_mono_ns();
		if (ioctl(lfd, LOOP_CLR_FD))
			die("LOOP_CLR_FD");
		close(lfd);
		return until_released(path, t0);
	}
	if (!strcmp(kind, "ring")) {
		struct io_uring ring;

		if (io_uring_queue_init(4, &ring, 0) || io_uring_register_files(&ring, &fd, 1))
			die("io_uring");
		close(fd); /* held by the ring only */
		if (state(path) != INUSE_OPEN)
			die("not seen open");
		t0 = clock_mono_ns();
		io_uring_queue_exit(&ring);
		return until_released(path, t0);
	}
	if (!strcmp(kind, "socket")) {
		char buf[CMSG_SPACE(sizeof(int))] = {0}, b = 'x';
		struct iovec iov = {&b, 1};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = buf,
				   .msg_controllen = sizeof(buf)};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			die("socketpair");
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		if (sendmsg(sv[0], &m, 0) != 1)
			die("sendmsg");
		close(fd); /* in flight only */
		if (state(path) != INUSE_OPEN)
			die("not seen open");
		t0 = clock_mono_ns();
		close(sv[0]);
		close(sv[1]);
		return until_released(path, t0);
	}
	fprintf(stderr, "release: unknown case %s\n", kind);
	exit(2);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
					   {"case", required_argument, NULL, 'c'},
					   {"rounds", required_argument, NULL, 'r'},
					   {0}};
	struct inuse_client_opts o = {.sz = sizeof(o)};
	const char *kind = "close";
	int rounds = 10, ch;
	double *ms;
	char path[4096];

	while ((ch = getopt_long(argc, argv, "s:c:r:", lo, NULL)) != -1) {
		if (ch == 's')
			o.socket_path = optarg;
		else if (ch == 'c')
			kind = optarg;
		else if (ch == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || rounds < 1)
		return 2;
	if (inuse_client__open(&o, &cl))
		die("inused");
	ms = calloc((size_t)rounds, sizeof(*ms));
	for (int i = 0; i < rounds; i++) {
		snprintf(path, sizeof(path), "%s/release-%s-%d", argv[optind], kind, i);
		ms[i] = one(kind, path);
		if (ms[i] < 0) {
			fprintf(stderr, "release: %s never released\n", path);
			return 1;
		}
		unlink(path);
	}
	qsort(ms, (size_t)rounds, sizeof(*ms), cmp);
	printf("%s_ms %.3f\n%s_max_ms %.3f\n", kind, ms[rounds / 2], kind, ms[rounds - 1]);
	inuse_client__free(cl);
	free(ms);
	return 0;
}
