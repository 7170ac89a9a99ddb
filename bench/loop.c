// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * loop.c - what one operation costs a process, for the overhead benchmark.
 *
 *   loop OP N DIR
 *
 * OP is openw (open O_WRONLY + close), pwrite (4 KiB pwrite into one file),
 * openr (open O_RDONLY + 4 KiB read + close) or getppid (a trivial syscall).
 * Runs N/10 untimed operations, then N timed ones, and prints ns per
 * operation.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[4096];

static int op_openw(const char *path, int fd)
{
	int f = open(path, O_WRONLY);

	(void)fd;
	return f < 0 ? -1 : close(f);
}

static int op_pwrite(const char *path, int fd)
{
	(void)path;
	return pwrite(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) ? 0 : -1;
}

static int op_openr(const char *path, int fd)
{
	int f = open(path, O_RDONLY);

	(void)fd;
	if (f < 0 || read(f, buf, sizeof(buf)) < 0)
		return -1;
	return close(f);
}

static int op_getppid(const char *path, int fd)
{
	(void)path;
	(void)fd;
	return getppid() > 0 ? 0 : -1;
}

static const struct {
	const char *name;
	int (*fn)(const char *path, int fd);
} ops[] = {
    {"openw", op_openw}, {"pwrite", op_pwrite}, {"openr", op_openr}, {"getppid", op_getppid}};

int main(int argc, char **argv)
{
	int (*fn)(const char *, int) = NULL;
	struct timespec a, b;
	char path[4096];
	long n;
	int fd;

	if (argc != 4 || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: loop openw|pwrite|openr|getppid N DIR\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(argv[1], ops[i].name))
			fn = ops[i].fn;
	if (!fn) {
		fprintf(stderr, "loop: unknown operation %s\n", argv[1]);
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	snprintf(path, sizeof(path), "%s/loop-%s", argv[3], argv[1]);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		perror(path);
		return 2;
	}
	if (strcmp(argv[1], "pwrite")) {
		close(fd);
		fd = -1;
	}
	for (long i = 0; i < n / 10; i++)
		if (fn(path, fd))
			goto fail;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		if (fn(path, fd))
			goto fail;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n",
	       ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n);
	return 0;
fail:
	perror(argv[1]);
	return 1;
}
