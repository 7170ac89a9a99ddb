// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inuse-copy - a consistent copy of a file that may stay open for writing. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/fdcopy.h"
#include "common/jname.h"
#include "common/pathutil.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inuse.h"

enum { EXIT_CONSISTENT = 0, EXIT_FLAGGED = 1, EXIT_ERR = 2, EXIT_MISSING = 3 };

static const char usage[] =
    "Usage: inuse-copy [OPTION]... SRC DEST\n"
    "Copy SRC to DEST (a file, or a directory to copy into) so that the copy is\n"
    "consistent: wait until SRC is closed or quiet (open, but not written for a\n"
    "while), copy it, ask inused whether it was written meanwhile, and again\n"
    "until a copy is consistent or the time is up; then keep the last copy and\n"
    "say it may be inconsistent (flagged).\n"
    "\n"
    "  -q, --quiet DUR     copy once SRC went unwritten for DUR, open or not\n"
    "                      (default 2s; 0: only once it is closed)\n"
    "  -t, --timeout DUR   give up waiting after DUR (default 5m)\n"
    "  -n, --attempts N    copy at most N times (default: until the timeout)\n"
    "  -S, --snapshot      then, rather than flag the last copy, ask inused for a\n"
    "                      snapshot (its writers frozen for a moment; the policy\n"
    "                      must say snapshot for SRC)\n"
    "  -s, --socket PATH   inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status: 0 consistent copy, 1 copied but flagged (may be inconsistent),\n"
    "2 error, 3 SRC does not exist.\n";

static void die_usage(const char *msg, const char *arg)
{
	cli_usage_error("inuse-copy", EXIT_ERR, msg, arg);
}

/* The copy loop's last step: a snapshot from inused, written to dest. */
static int snapshot_copy(void *ctx, const char *src, const char *dest)
{
	struct inuse_client *c = *(struct inuse_client **)ctx;
	struct inuse_result *r;
	const struct inuse_file *f;
	int ret;

	if (inuse_client__snapshot(c, &src, 1, &r))
		return -1;
	f = inuse_result__file(r, 0);
	ret = f && f->fd >= 0 ? fd_copy_file(f->fd, dest) : -1;
	inuse_result__free(r);
	return ret;
}

static const char *shown(const char *s, struct strbuf *b)
{
	sb_reset(b);
	name_display(b, s, strlen(s));
	return b->buf;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"quiet", required_argument, NULL, 'q'},	{"timeout", required_argument, NULL, 't'},
	    {"attempts", required_argument, NULL, 'n'}, {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},		{"version", no_argument, NULL, 'V'},
	    {"snapshot", no_argument, NULL, 'S'},	{0},
	};
	struct inuse_client_opts co = {.sz = sizeof(co), .timeout_ms = 60000};
	struct inuse_copy_opts o = {.sz = sizeof(o), .quiet = 2, .timeout = 300};
	struct inuse_copy_result res;
	static struct inuse_client *c;
	struct strbuf a = {0}, b = {0};
	char *src, *dest;
	struct stat st;
	uint64_t ns;
	int ch, err, ret = EXIT_CONSISTENT;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":q:t:n:s:ShV", lo, NULL)) != -1) {
		switch (ch) {
		case 'q':
			if (parse_duration(optarg, &ns))
				die_usage("bad quiet period", optarg);
			o.quiet = (double)ns / 1e9;
			break;
		case 't':
			if (parse_duration(optarg, &ns) || ns > 86400 * NSEC_PER_SEC)
				die_usage("bad timeout", optarg);
			o.timeout = (double)ns / 1e9;
			break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v <= 0)
				die_usage("bad number of attempts", optarg);
			o.max_attempts = (unsigned int)v;
			break;
		}
		case 's':
			co.socket_path = optarg;
			break;
		case 'S':
			o.fallback = snapshot_copy;
			o.fallback_ctx = &c;
			break;
		default: /* -h, -V, or wrong */
			cli_other_option(ch, "inuse-copy", usage, EXIT_ERR, argv);
		}
	}
	if (argc - optind != 2)
		die_usage("need SRC and DEST", NULL);
	src = path_absolute(argv[optind]);
	if (!src)
		die_usage("bad path", argv[optind]);
	if (stat(argv[optind + 1], &st) == 0 && S_ISDIR(st.st_mode)) {
		const char *base = strrchr(src, '/') + 1;

		if (asprintf(&dest, "%s/%s", argv[optind + 1], base) < 0)
			dest = NULL;
	} else {
		dest = strdup(argv[optind + 1]);
	}
	if (!dest) {
		ret = EXIT_ERR;
		goto out;
	}
	err = inuse_client__open(&co, &c);
	if (err) {
		fprintf(stderr, "inuse-copy: cannot reach inused: %s\n", strerror(-err));
		ret = EXIT_ERR;
		goto out;
	}
	err = inuse_copy_file(c, src, dest, &o, &res);
	inuse_client__free(c);
	if (err == -ENOENT) {
		fprintf(stderr, "inuse-copy: %s: no such file\n", shown(src, &a));
		ret = EXIT_MISSING;
	} else if (err) {
		fprintf(stderr, "inuse-copy: %s: %s\n", shown(src, &a),
			err == -EINVAL ? "not a regular file" : strerror(-err));
		ret = EXIT_ERR;
	} else if (res.outcome == INUSE_COPY_FALLBACK) {
		printf("snapshot %s -> %s (its writers frozen for a moment, after %u attempts)\n",
		       shown(src, &a), shown(dest, &b), res.attempts);
	} else if (res.outcome == INUSE_COPY_FLAGGED) {
		printf("flagged %s -> %s: %s (%u attempts in %.1fs)\n", shown(src, &a),
		       shown(dest, &b), res.reason, res.attempts, res.waited);
		ret = EXIT_FLAGGED;
	} else {
		printf("consistent %s -> %s (%u attempts)\n", shown(src, &a), shown(dest, &b),
		       res.attempts);
	}
out:
	sb_free(&a);
	sb_free(&b);
	free(src);
	free(dest);
	return ret;
}
