// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * query_bench.c - the cost of asking inused: a batched check of N paths
 * against plain stat(2) of the same paths (interleaved runs, medians), and
 * the round trip of a single-path check (p50, p99).
 *
 *   query_bench [--socket PATH] [--files N] [--runs R] [--singles S] DIR
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
#include <unistd.h>

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

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
					   {"files", required_argument, NULL, 'n'},
					   {"runs", required_argument, NULL, 'r'},
					   {"singles", required_argument, NULL, 'q'},
					   {0}};
	struct inuse_client_opts o = {.sz = sizeof(o), .timeout_ms = 120000};
	size_t n = 100000, runs = 5, singles = 2000;
	struct inuse_client *c;
	uint64_t *t_stat, *t_check, *t_single;
	char **paths;
	int ch, err;

	while ((ch = getopt_long(argc, argv, "s:n:r:q:", lo, NULL)) != -1) {
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
		default:
			return 2;
		}
	}
	if (optind >= argc || !n || !runs || !singles) {
		fprintf(stderr, "usage: query_bench [--socket P] [--files N] [--runs R] "
				"[--singles S] DIR\n");
		return 2;
	}
	paths = calloc(n, sizeof(*paths));
	t_stat = calloc(runs, sizeof(uint64_t));
	t_check = calloc(runs, sizeof(uint64_t));
	t_single = calloc(singles, sizeof(uint64_t));
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
	{
		double st = (double)pct(t_stat, runs, 0.5) / (double)n;
		double ck = (double)pct(t_check, runs, 0.5) / (double)n;

		printf("batched check of %zu paths: %.0f ns/path; stat(2): %.0f ns/path; "
		       "ratio %.2f stat calls per path (median of %zu interleaved runs)\n",
		       n, ck, st, ck / st, runs);
		printf("single check round trip: p50 %.1f us, p99 %.1f us (%zu calls)\n",
		       (double)pct(t_single, singles, 0.5) / 1e3,
		       (double)pct(t_single, singles, 0.99) / 1e3, singles);
	}
	inuse_client__free(c);
	return 0;
}
