// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inuse-wait - wait until files are no longer open for writing. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pathutil.h"
#include "common/timeutil.h"
#include "inuse.h"

enum { EXIT_FREE = 0, EXIT_TIMEOUT = 1, EXIT_ERR = 2 };

static const char usage[] =
    "Usage: inuse-wait [--timeout SECONDS] [--quiet SECONDS] PATH...\n"
    "Wait until no process has any of the PATHs open for writing (and, with\n"
    "--quiet, none was written for that long), as inused sees it.\n"
    "\n"
    "  -t, --timeout DUR   give up after DUR (seconds, or 90s, 5m; default 60)\n"
    "  -q, --quiet DUR     also wait until each file was not written for DUR\n"
    "  -s, --socket PATH   inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -v, --verbose       say what was waited for\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status: 0 when every PATH is free, 1 at the timeout (the files still\n"
    "open are named on stderr), 2 on error.\n";

static void die_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "inuse-wait: %s%s%s\nTry 'inuse-wait --help'.\n", msg, arg ? ": " : "",
		arg ? arg : "");
	exit(EXIT_ERR);
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
	    {"timeout", required_argument, NULL, 't'},
	    {"quiet", required_argument, NULL, 'q'},
	    {"socket", required_argument, NULL, 's'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
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
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("inuse-wait %s\n", INUSE_VERSION);
			return 0;
		case ':':
			die_usage("option needs a value", argv[optind - 1]);
			break;
		default:
			die_usage("unknown option", argv[optind - 1]);
		}
	}
	n = argc - optind;
	if (n <= 0)
		die_usage("no PATH given", NULL);
	paths = calloc((size_t)n, sizeof(*paths));
	for (int i = 0; paths && i < n; i++)
		if (!(paths[i] = path_absolute(argv[optind + i])))
			die_usage("bad path", argv[optind + i]);
	if (!paths)
		return EXIT_ERR;
	/* the daemon answers at the timeout: give the call a margin */
	o.timeout_ms = (int)(timeout / NSEC_PER_MSEC) + 10000;
	err = inuse_client__open(&o, &c);
	if (err) {
		fprintf(stderr, "inuse-wait: cannot reach inused at %s: %s\n",
			o.socket_path		   ? o.socket_path
			: getenv(INUSE_SOCKET_ENV) ? getenv(INUSE_SOCKET_ENV)
						   : INUSE_DEFAULT_SOCKET_PATH,
			strerror(-err));
		free_paths(paths, n);
		return EXIT_ERR;
	}
	err =
	    inuse_client__wait(c, paths, (size_t)n, (double)timeout / 1e9, (double)quiet / 1e9, &r);
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

		if (f->state == INUSE_ERROR) {
			fprintf(stderr, "inuse-wait: %s: cannot be checked\n", f->path);
			ret = EXIT_ERR;
		} else if (ret == EXIT_TIMEOUT && f->state == INUSE_OPEN) {
			fprintf(stderr, "inuse-wait: still open for writing: %s\n", f->path);
		} else if (ret == EXIT_TIMEOUT && f->state == INUSE_NOT_QUIET) {
			fprintf(stderr, "inuse-wait: still being written: %s\n", f->path);
		} else if (verbose) {
			fprintf(stderr, "inuse-wait: %s: %s\n", f->path,
				inuse_state_name(f->state));
		}
	}
	inuse_result__free(r);
	inuse_client__free(c);
	free_paths(paths, n);
	return ret;
}
