// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * procscan.c - the fastest way to list files open for writing without inuse:
 * two threads walk /proc/PID/fd; lstat(2) of each link gives the open mode
 * (the link's owner-write bit is set when the file is open for writing), and
 * only those are followed with stat(2) and readlink(2). Prints "PID PATH" per
 * writer of a regular file. A peer for the listing benchmark.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NTHREADS 2

struct worker {
	int id;
	char *out;
	size_t len, cap;
};

static void append(struct worker *w, const char *s, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 4096;
		w->out = realloc(w->out, w->cap);
		if (!w->out)
			abort();
	}
	memcpy(w->out + w->len, s, n);
	w->len += n;
}

static void scan_pid(struct worker *w, const char *pid)
{
	char dir[64], link[128], target[4096], line[4200];
	struct dirent *de;
	struct stat st;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		ssize_t n;
		int len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		if (lstat(link, &st) || !(st.st_mode & S_IWUSR))
			continue;
		if (stat(link, &st) || !S_ISREG(st.st_mode))
			continue;
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		len = snprintf(line, sizeof(line), "%s %s\n", pid, target);
		append(w, line, (size_t)len);
	}
	closedir(d);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct dirent *de;
	DIR *d = opendir("/proc");
	long i = 0;

	if (!d)
		return NULL;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && i++ % NTHREADS == w->id)
			scan_pid(w, de->d_name);
	closedir(d);
	return NULL;
}

int main(void)
{
	struct worker w[NTHREADS] = {0};
	pthread_t t[NTHREADS];

	for (int i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		pthread_create(&t[i], NULL, run, &w[i]);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		fwrite(w[i].out, 1, w[i].len, stdout);
		free(w[i].out);
	}
	return 0;
}
