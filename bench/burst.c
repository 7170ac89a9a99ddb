// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * burst.c - exactness under a storm of opens and closes.
 *
 *   burst [--socket PATH] [--procs N] [--seconds T] [--held H] DIR
 *
 * N processes open and close files in DIR for writing as fast as they can
 * for T seconds, while this process holds H other files in DIR open for
 * writing and asks inused about them over and over: every answer other than
 * "open" is a wrong answer. When the storm ends, it lists DIR until the table
 * holds exactly the H held files again (the time to resynchronise) or 10 s
 * pass (every stale or missing file is then a wrong answer). Prints
 * "key value" lines: operations, events seen and lost, reconciliations, wrong
 * answers, resync time, and how many storm processes failed: a storm that
 * did not happen proves nothing, so then the exit status is 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "inuse.h"

static json_t *ask(struct inuse_client *c, const char *op, const char *under)
{
	json_t *req = json_pack("{s:s, s:i}", "op", op, "id", 1);
	char *s, *resp;
	json_t *r = NULL;

	if (under)
		json_object_set_new(req, "under", json_string(under));
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (s && !inuse_client__call(c, s, strlen(s), &resp, NULL)) {
		r = json_loads(resp, 0, NULL);
		free(resp);
	}
	free(s);
	if (!r || !json_is_true(json_object_get(r, "ok"))) {
		fprintf(stderr, "burst: %s failed\n", op);
		exit(2);
	}
	return r;
}

static long long stat_of(struct inuse_client *c, const char *key)
{
	json_t *r = ask(c, "stats", NULL);
	long long v = json_integer_value(json_object_get(r, key));

	json_decref(r);
	return v;
}

/* files listed under dir that are not held (stale), and held ones missing */
static size_t mismatches(struct inuse_client *c, const char *dir, size_t held, size_t *listed)
{
	json_t *r = ask(c, "list", dir), *fs = json_object_get(r, "files"), *f;
	size_t i, found = 0, stale = 0;

	json_array_foreach(fs, i, f)
	{
		const char *p = json_string_value(json_object_get(f, "path"));
		const char *base = p ? strrchr(p, '/') : NULL;

		if (base && !strncmp(base, "/held_", 6))
			found++;
		else
			stale++;
	}
	*listed = json_array_size(fs);
	json_decref(r);
	return stale + (held - found);
}

static void storm(const char *dir, int id, uint64_t until, long *ops)
{
	char path[PATH_MAX];
	long n = 0;

	for (;;) {
		for (int i = 0; i < 64; i++) {
			int fd;

			snprintf(path, sizeof(path), "%s/b%d_%d", dir, id, i);
			fd = open(path, O_WRONLY | O_CREAT, 0644);
			if (fd < 0)
				_exit(1);
			close(fd);
			n++;
		}
		if (clock_mono_ns() >= until)
			break;
	}
	*ops = n;
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
					   {"procs", required_argument, NULL, 'n'},
					   {"seconds", required_argument, NULL, 't'},
					   {"held", required_argument, NULL, 'H'},
					   {0}};
	struct inuse_client_opts o = {.sz = sizeof(o), .timeout_ms = 60000};
	long nprocs = 4, held = 16, *ops, total = 0, started = 0, failed = 0;
	double seconds = 10;
	unsigned long long checks = 0, wrong = 0;
	long long lost0, lost1, rec0, rec1, ev0, ev1;
	struct inuse_client *c;
	char **paths;
	uint64_t until, end, resync = 0;
	size_t listed = 0, bad = 0;
	const char *dir;
	int ch;

	while ((ch = getopt_long(argc, argv, "s:n:t:H:", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'n':
			nprocs = atol(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'H':
			held = atol(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc || nprocs <= 0 || held <= 0 || seconds <= 0) {
		fprintf(stderr, "usage: burst [--socket P] [--procs N] [--seconds T] [--held H] "
				"DIR\n");
		return 2;
	}
	dir = argv[optind];
	if (inuse_client__open(&o, &c)) {
		fprintf(stderr, "burst: cannot reach inused\n");
		return 2;
	}
	paths = calloc((size_t)held, sizeof(*paths));
	for (long i = 0; i < held; i++) {
		if (asprintf(&paths[i], "%s/held_%ld", dir, i) < 0 ||
		    open(paths[i], O_WRONLY | O_CREAT, 0644) < 0) {
			perror("burst: held file");
			return 2;
		}
	}
	/* the held files are in the table before the storm starts */
	while (mismatches(c, dir, (size_t)held, &listed))
		usleep(1000);
	lost0 = stat_of(c, "events_lost");
	rec0 = stat_of(c, "reconciliations");
	ev0 = stat_of(c, "kernel_events");
	ops = mmap(NULL, sizeof(long) * (size_t)nprocs, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	until = clock_mono_ns() + (uint64_t)(seconds * 1e9);
	for (long i = 0; i < nprocs; i++) {
		pid_t pid = fork();

		if (pid == 0)
			storm(dir, (int)i, until, &ops[i]);
		if (pid > 0)
			started++;
	}
	while (clock_mono_ns() < until) {
		struct inuse_result *r;

		if (inuse_client__check(c, (const char *const *)paths, (size_t)held, &r)) {
			fprintf(stderr, "burst: check failed\n");
			return 2;
		}
		for (size_t i = 0; i < inuse_result__count(r); i++) {
			checks++;
			if (inuse_result__file(r, i)->state != INUSE_OPEN)
				wrong++;
		}
		inuse_result__free(r);
	}
	for (int st; wait(&st) > 0;)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	end = clock_mono_ns();
	for (;;) {
		bad = mismatches(c, dir, (size_t)held, &listed);
		if (!bad) {
			resync = clock_mono_ns() - end;
			break;
		}
		if (clock_mono_ns() - end > 10 * NSEC_PER_SEC)
			break;
		usleep(500);
	}
	lost1 = stat_of(c, "events_lost");
	rec1 = stat_of(c, "reconciliations");
	ev1 = stat_of(c, "kernel_events");
	for (long i = 0; i < nprocs; i++)
		total += ops[i];
	printf("procs %ld\n", started);
	printf("failed_procs %ld\n", failed + (nprocs - started));
	printf("seconds %.1f\n", seconds);
	printf("open_close_ops %ld\n", total);
	printf("ops_per_s %.0f\n", (double)total / seconds);
	printf("events %lld\n", ev1 - ev0);
	printf("events_lost %lld\n", lost1 - lost0);
	printf("reconciliations %lld\n", rec1 - rec0);
	printf("checks %llu\n", checks);
	printf("wrong_during %llu\n", wrong);
	printf("wrong_after %zu\n", bad);
	printf("resync_ms %.2f\n", bad ? -1.0 : (double)resync / 1e6);
	inuse_client__free(c);
	for (long i = 0; i < held; i++)
		free(paths[i]);
	free(paths);
	return failed || started < nprocs || !total ? 1 : 0;
}
