// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inuse-wait - wait until files are no longer open for writing. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cli.h"
#include "common/jname.h"
#include "common/pathutil.h"
#include "common/timeutil.h"
#include "inuse.h"

enum { EXIT_FREE = 0, EXIT_TIMEOUT = 1, EXIT_ERR = 2, EXIT_MISSING = 3 };

static const char usage[] =
    "Usage: inuse-wait [--timeout SECONDS] [--quiet SECONDS] PATH...\n"
    "Wait until no process has any of the PATHs open for writing, as inused\n"
    "sees it; with --quiet, until each was not written for that long, open or\n"
    "not (a file that never closes, such as a disk image, is free in its\n"
    "pauses). A directory stands for the files under it that are open for\n"
    "writing when inuse-wait starts.\n"
    "\n"
    "  -t, --timeout DUR   give up after DUR (seconds, or 90s, 5m; default 60)\n"
    "  -q, --quiet DUR     free once each file was not written for DUR\n"
    "  -s, --socket PATH   inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -v, --verbose       say what was waited for\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status: 0 when every PATH is free, 1 at the timeout (the files still\n"
    "open are named on stderr), 3 when a PATH does not exist (and the others\n"
    "are free), 2 on error (a PATH that is neither a file nor a directory).\n";

/* The files under dir that are open for writing now, appended to *paths. */
static int add_open_under(struct inuse_client *c, const char *dir, const char ***paths, int *n)
{
	json_t *req = json_pack("{s:s, s:s, s:o}", "op", "list", "id", "under", "under",
				jname_new(dir, strlen(dir)));
	char *reqs = req ? json_dumps(req, JSON_COMPACT) : NULL, *line = NULL;
	json_t *resp = NULL, *f;
	size_t len, i;
	int err;

	json_decref(req);
	err = reqs ? inuse_client__call(c, reqs, strlen(reqs), &line, &len) : -ENOMEM;
	free(reqs);
	if (!err && !(resp = json_loadb(line, len, 0, NULL)))
		err = -EPROTO;
	if (!err && !json_is_true(json_object_get(resp, "ok")))
		err = -EREMOTEIO;
	json_array_foreach(json_object_get(resp, "files"), i, f)
	{
		char *p = err ? NULL : jname_get(json_object_get(f, "path"), (size_t)1 << 20, NULL);
		const char **np;

		if (!p)
			continue; /* a file no name reaches: waited for by no path */
		np = realloc(*paths, (size_t)(*n + 1) * sizeof(**paths));
		if (!np) {
			free(p);
			err = -ENOMEM;
			continue;
		}
		*paths = np;
		(*paths)[(*n)++] = p;
	}
	json_decref(resp);
	free(line);
	return err;
}

static void die_usage(const char *msg, const char *arg)
{
	cli_usage_error("inuse-wait", EXIT_ERR, msg, arg);
}

static void free_paths(const char **paths, int n)
{
	for (int i = 0; i < n; i++)
		free((char *)paths[i]);
	free(paths);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"timeout", required_argument, NULL, 't'}, {"quiet", required_argument, NULL, 'q'},
		{"socket", required_argument, NULL, 's'},  {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},	   {"version", no_argument, NULL, 'V'},
		{0},
	};
	struct inuse_client_opts o = {.sz = sizeof(o)};
	uint64_t timeout = 60 * NSEC_PER_SEC, quiet = 0;
	struct inuse_client *c = NULL;
	struct inuse_result *r = NULL;
	const char **paths;
	int ch, n, err, ret;
	bool verbose = false;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":t:q:s:vhV", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (parse_duration(optarg, &timeout) || timeout > 86400 * NSEC_PER_SEC)
				die_usage("bad timeout", optarg);
			break;
		case 'q':
			if (parse_duration(optarg, &quiet) || quiet > 86400 * NSEC_PER_SEC)
				die_usage("bad quiet period", optarg);
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		default: /* -h, -V, or wrong */
			cli_other_option(ch, "inuse-wait", usage, EXIT_ERR, argv);
		}
	}
	if (argc - optind <= 0)
		die_usage("no PATH given", NULL);
	paths = NULL;
	n = 0;
	/* the daemon answers at the timeout: give the call a margin */
	o.timeout_ms = (int)(timeout / NSEC_PER_MSEC) + 10000;
	err = inuse_client__open(&o, &c);
	if (err) {
		fprintf(stderr, "inuse-wait: cannot reach inused at %s: %s\n",
			o.socket_path ? o.socket_path
			: getenv(INUSE_SOCKET_ENV) ? getenv(INUSE_SOCKET_ENV)
						    : INUSE_DEFAULT_SOCKET_PATH,
			strerror(-err));
		return EXIT_ERR;
	}
	for (int i = optind; i < argc; i++) {
		char *p = path_absolute(argv[i]);
		struct stat st;
		const char **np;

		if (!p)
			die_usage("bad path", argv[i]);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			err = add_open_under(c, p, &paths, &n);
			free(p);
			if (err) {
				fprintf(stderr, "inuse-wait: %s: %s\n", argv[i],
					err == -EBUSY ? "inused is busy; try again later"
						      : strerror(-err));
				inuse_client__free(c);
				free_paths(paths, n);
				return EXIT_ERR;
			}
			continue;
		}
		np = realloc(paths, (size_t)(n + 1) * sizeof(*paths));
		if (!np) {
			free(p);
			free_paths(paths, n);
			inuse_client__free(c);
			return EXIT_ERR;
		}
		paths = np;
		paths[n++] = p;
	}
	if (n == 0) {
		if (verbose)
			fprintf(stderr, "inuse-wait: nothing open for writing there\n");
		inuse_client__free(c);
		return EXIT_FREE;
	}
	err = inuse_client__wait(c, paths, (size_t)n, (double)timeout / 1e9, (double)quiet / 1e9,
				 &r);
	if (err) {
		fprintf(stderr, "inuse-wait: %s\n",
			err == -EREMOTEIO ? "inused refused the request"
			: err == -EBUSY
			    ? "inused is busy (too many clients or waits); try again later"
			    : strerror(-err));
		inuse_client__free(c);
		free_paths(paths, n);
		return EXIT_ERR;
	}
	ret = inuse_result__done(r) ? EXIT_FREE : EXIT_TIMEOUT;
	for (size_t i = 0; i < inuse_result__count(r); i++) {
		const struct inuse_file *f = inuse_result__file(r, i);

		if (f->state == INUSE_ERROR || f->state == INUSE_NOT_REGULAR) {
			fprintf(stderr, "inuse-wait: %s: %s\n", f->path,
				f->state == INUSE_ERROR ? "cannot be checked" : "not a regular file");
			ret = EXIT_ERR;
		} else if (f->state == INUSE_MISSING) {
			fprintf(stderr, "inuse-wait: %s: no such file\n", f->path);
			if (ret == EXIT_FREE)
				ret = EXIT_MISSING;
		} else if (ret == EXIT_TIMEOUT && f->state == INUSE_OPEN) {
			fprintf(stderr, "inuse-wait: still open for writing: %s\n", f->path);
		} else if (ret == EXIT_TIMEOUT && f->state == INUSE_NOT_QUIET) {
			fprintf(stderr, "inuse-wait: still being written: %s\n", f->path);
		} else if (verbose) {
			fprintf(stderr, "inuse-wait: %s: %s\n", f->path, inuse_state_name(f->state));
		}
	}
	inuse_result__free(r);
	inuse_client__free(c);
	free_paths(paths, n);
	return ret;
}
