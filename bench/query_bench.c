// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * query_bench.c - the cost of asking inused: a batched check of N paths
 * against plain stat(2) of the same paths (interleaved runs, medians), and
 * the round trip of a single-path check (p50, p99), and the time from a
 * writer's close(2) to the answer of a client waiting on that file (p50, p99).
 *
 *   query_bench [--socket PATH] [--files N] [--runs R] [--singles S]
 *               [--releases W] [--prepare] DIR
 *
 * --prepare only creates the N files (do it before inused starts, or the
 * daemon is still busy with their creation while it is measured).
 *
 * Prints one "key value" line per result, for bench/run.
 *
 * DIR must exist; N files are created in it (and left for later runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/timeutil.h"
#include "inuse.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(size_t)(p * (double)(n - 1))];
}

/*
 * One release: a child opens PATH for writing; the client asks inused to wait
 * for it; the child notes the time and closes; the answer's arrival time
 * minus the close time is the release latency.
 */
static int release_once(struct inuse_client *c, const char *path, uint64_t *out)
{
	int go[2], back[2], fd, err = -1;
	uint64_t t0 = 0, t1;
	char *req, *resp;
	json_t *j;
	pid_t pid;

	if (pipe(go) || pipe(back))
		return -1;
	pid = fork();
	if (pid == 0) {
		char ch;

		close(go[1]);
		close(back[0]);
		fd = open(path, O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || write(back[1], "r", 1) != 1 || read(go[0], &ch, 1) != 1)
			_exit(1);
		t0 = clock_mono_ns();
		close(fd);
		if (write(back[1], &t0, sizeof(t0)) != sizeof(t0))
			_exit(1);
		/* stay until the answer came: only the close is measured */
		(void)!read(go[0], &ch, 1);
		_exit(0);
	}
	{
		char ch;

		if (pid < 0 || read(back[0], &ch, 1) != 1)
			goto out;
	}
	j = json_pack("{s:s, s:i, s:[s], s:f}", "op", "wait", "id", 7, "paths", path, "timeout",
		      10.0);
	req = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!req || inuse_client__send(c, req, strlen(req))) {
		free(req);
		goto out;
	}
	free(req);
	/* let the daemon take the waiter in before the close */
	usleep(3000);
	if (write(go[1], "g", 1) != 1 || inuse_client__recv(c, &resp, NULL))
		goto out;
	t1 = clock_mono_ns();
	if (read(back[0], &t0, sizeof(t0)) != sizeof(t0)) {
		free(resp);
		goto out;
	}
	j = json_loads(resp, 0, NULL);
	free(resp);
	if (json_is_true(json_object_get(j, "done"))) {
		*out = t1 - t0;
		err = 0;
	} else {
		fprintf(stderr, "query_bench: the wait was not released\n");
	}
	json_decref(j);
out:
	close(go[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	close(go[0]);
	close(back[0]);
	close(back[1]);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
					   {"files", required_argument, NULL, 'n'},
					   {"runs", required_argument, NULL, 'r'},
					   {"singles", required_argument, NULL, 'q'},
					   {"releases", required_argument, NULL, 'w'},
					   {"prepare", no_argument, NULL, 'P'},
					   {0}};
	struct inuse_client_opts o = {.sz = sizeof(o), .timeout_ms = 120000};
	size_t n = 100000, runs = 5, singles = 2000, releases = 200;
	struct inuse_client *c;
	uint64_t *t_stat, *t_check, *t_single, *t_release;
	char **paths;
	int ch, err, prepare = 0;

	while ((ch = getopt_long(argc, argv, "s:n:r:q:w:P", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = strtoul(optarg, NULL, 10);
			break;
		case 'q':
			singles = strtoul(optarg, NULL, 10);
			break;
		case 'w':
			releases = strtoul(optarg, NULL, 10);
			break;
		case 'P':
			prepare = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc || !n || !runs || !singles || !releases) {
		fprintf(stderr, "usage: query_bench [--socket P] [--files N] [--runs R] "
				"[--singles S] [--releases W] DIR\n");
		return 2;
	}
	paths = calloc(n, sizeof(*paths));
	t_stat = calloc(runs, sizeof(uint64_t));
	t_check = calloc(runs, sizeof(uint64_t));
	t_single = calloc(singles, sizeof(uint64_t));
	t_release = calloc(releases, sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&paths[i], "%s/f%07zu", argv[optind], i) < 0)
			return 2;
		if (access(paths[i], F_OK)) {
			int fd = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

			if (fd < 0) {
				perror(paths[i]);
				return 2;
			}
			close(fd);
		}
	}
	if (prepare)
		goto out; /* the files are there */
	err = inuse_client__open(&o, &c);
	if (err) {
		fprintf(stderr, "query_bench: cannot reach inused: %s\n", strerror(-err));
		return 2;
	}
	for (size_t r = 0; r < runs; r++) {
		struct inuse_result *res;
		struct stat st;
		uint64_t t0 = clock_mono_ns();

		for (size_t i = 0; i < n; i++)
			if (stat(paths[i], &st))
				return 2;
		t_stat[r] = clock_mono_ns() - t0;
		t0 = clock_mono_ns();
		err = inuse_client__check(c, (const char *const *)paths, n, &res);
		t_check[r] = clock_mono_ns() - t0;
		if (err || inuse_result__count(res) != n) {
			fprintf(stderr, "query_bench: check failed: %s\n", strerror(-err));
			return 2;
		}
		inuse_result__free(res);
	}
	for (size_t i = 0; i < singles; i++) {
		struct inuse_result *res;
		const char *p = paths[i % n];
		uint64_t t0 = clock_mono_ns();

		if (inuse_client__check(c, &p, 1, &res))
			return 2;
		t_single[i] = clock_mono_ns() - t0;
		inuse_result__free(res);
	}
	for (size_t i = 0; i < releases; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/release", argv[optind]);
		if (release_once(c, path, &t_release[i]))
			return 2;
	}
	{
		double st = (double)pct(t_stat, runs, 0.5) / (double)n;
		double ck = (double)pct(t_check, runs, 0.5) / (double)n;

		printf("paths %zu\n", n);
		printf("check_ns_per_path %.0f\n", ck);
		printf("stat_ns_per_path %.0f\n", st);
		printf("check_per_stat %.2f\n", ck / st);
		printf("single_p50_us %.1f\n", (double)pct(t_single, singles, 0.5) / 1e3);
		printf("single_p99_us %.1f\n", (double)pct(t_single, singles, 0.99) / 1e3);
		printf("release_p50_us %.1f\n", (double)pct(t_release, releases, 0.5) / 1e3);
		printf("release_p99_us %.1f\n", (double)pct(t_release, releases, 0.99) / 1e3);
	}
	inuse_client__free(c);
out:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(t_stat);
	free(t_check);
	free(t_single);
	free(t_release);
	return 0;
}
