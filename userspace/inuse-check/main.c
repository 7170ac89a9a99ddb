// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inuse-check - check before a copy and verify after it, from the shell. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cli.h"
#include "common/jname.h"
#include "common/pathutil.h"
#include "common/strbuf.h"
#include "inuse.h"

enum { EXIT_OK = 0, EXIT_NOT_OK = 1, EXIT_ERR = 2, EXIT_MISSING = 3 };

/* Paths per call: libinuse asks a call's paths in parts that overlap with
 * the daemon's work, so a call of many parts costs less per path. */
#define BATCH 8192

static const char usage[] =
    "Usage: inuse-check [OPTION]... PATH...\n"
    "       inuse-check --verify FILE\n"
    "Before copying: ask inused what to do with each file (copy, defer, skip,\n"
    "flag; a directory stands for every regular file under it), one line per\n"
    "file: DECISION REASON PATH. With --tokens FILE, keep what --verify needs.\n"
    "After copying: --verify FILE says, for each file, whether it was opened\n"
    "for writing, written or replaced since it was checked: consistent or\n"
    "changed, REASON, PATH.\n"
    "\n"
    "  -t, --tokens FILE   write each file's check token to FILE (JSON lines)\n"
    "  -v, --verify FILE   verify the files of FILE (made by --tokens)\n"
    "  -j, --json          print inused's answers instead\n"
    "  -s, --socket PATH   inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -h, --help          show this help and exit\n"
    "  -V, --version       show the version and exit\n"
    "\n"
    "Exit status, check: 0 every file may be copied now (copy); 1 some may not\n"
    "(defer, skip or flag: open for writing); 3 a PATH does not exist (and the\n"
    "others may be copied); 2 error. Verify: 0 every copy is consistent; 1 a file\n"
    "was opened, written or replaced since its check; 3 a file is gone (and the\n"
    "others are consistent); 2 error.\n";

struct list {
	char **v;
	size_t n, cap;
};

static struct list files;

static void die_usage(const char *msg, const char *arg)
{
	cli_usage_error("inuse-check", EXIT_ERR, msg, arg);
}

static int add(struct list *l, char *s)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **n = realloc(l->v, cap * sizeof(*n));

		if (!n)
			return -1;
		l->v = n;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char *p;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	p = strdup(path);
	return p && add(&files, p) == 0 ? 0 : -1;
}

static const char *shown(const char *s, struct strbuf *b)
{
	sb_reset(b);
	name_display(b, s, strlen(s));
	return b->buf;
}

/* The worse of two statuses: error, then not ok, then missing. */
static int worse(int a, int b)
{
	static const int rank[] = {
	    [EXIT_OK] = 0, [EXIT_MISSING] = 1, [EXIT_NOT_OK] = 2, [EXIT_ERR] = 3};

	return rank[b] > rank[a] ? b : a;
}

/* Whether a batch of n was answered, one answer a file (else says why, as
 * op, or mismatch when the count is wrong); with json, the answer printed
 * as it came. */
static bool answered(const char *op, int err, struct inuse_result *r, size_t n,
		     const char *mismatch, bool json)
{
	if (err || inuse_result__count(r) != n) {
		fprintf(stderr, "inuse-check: %s: %s\n", op, err ? strerror(-err) : mismatch);
		if (!err)
			inuse_result__free(r);
		return false;
	}
	if (json)
		puts(inuse_result__json(r));
	return true;
}

static int do_check(struct inuse_client *c, FILE *tokens, bool json)
{
	struct strbuf b = {0};
	int ret = EXIT_OK;

	for (size_t off = 0; off < files.n; off += BATCH) {
		size_t n = files.n - off < BATCH ? files.n - off : BATCH;
		struct inuse_result *r;
		int err = inuse_client__check(c, (const char *const *)files.v + off, n, &r);

		if (!answered("check", err, r, n, "answers do not match the paths", json))
			return EXIT_ERR;
		for (size_t i = 0; i < n; i++) {
			const struct inuse_file *f = inuse_result__file(r, i);
			const char *path = files.v[off + i];

			if (f->state == INUSE_MISSING)
				ret = worse(ret, EXIT_MISSING);
			else if (f->state == INUSE_ERROR)
				ret = worse(ret, EXIT_ERR);
			else if (f->decision != INUSE_COPY)
				ret = worse(ret, EXIT_NOT_OK);
			if (!json)
				printf("%s %s %s\n", inuse_decision_name(f->decision),
				       f->reason ? f->reason : "-", shown(path, &b));
			if (tokens && f->token) {
				json_t *o =
				    json_pack("{s:o, s:s}", "path", jname_new(path, strlen(path)),
					      "token", f->token);
				char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;

				if (!line) {
					json_decref(o);
					inuse_result__free(r);
					return EXIT_ERR;
				}
				fprintf(tokens, "%s\n", line);
				free(line);
				json_decref(o);
			}
		}
		inuse_result__free(r);
	}
	sb_free(&b);
	return ret;
}

static int do_verify(struct inuse_client *c, const char *file, bool json)
{
	FILE *in = fopen(file, "re");
	struct list toks = {0};
	struct strbuf b = {0};
	char *line = NULL;
	size_t cap = 0;
	int ret = EXIT_OK;

	if (!in) {
		fprintf(stderr, "inuse-check: %s: %s\n", file, strerror(errno));
		return EXIT_ERR;
	}
	while (getline(&line, &cap, in) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		char *p = o ? jname_get(json_object_get(o, "path"), (size_t)1 << 20, NULL) : NULL;
		const char *t = json_string_value(json_object_get(o, "token"));

		if (!p || !t || add(&files, p) || add(&toks, strdup(t))) {
			fprintf(stderr, "inuse-check: %s: not a tokens file\n", file);
			json_decref(o);
			fclose(in);
			return EXIT_ERR;
		}
		json_decref(o);
	}
	free(line);
	fclose(in);
	for (size_t off = 0; off < files.n; off += BATCH) {
		size_t n = files.n - off < BATCH ? files.n - off : BATCH;
		struct inuse_result *r;
		int err = inuse_client__verify(c, (const char *const *)files.v + off,
					       (const char *const *)toks.v + off, n, &r);

		if (!answered("verify", err, r, n, "answers do not match the files", json))
			return EXIT_ERR;
		for (size_t i = 0; i < n; i++) {
			const struct inuse_file *f = inuse_result__file(r, i);
			const char *why = f->reason ? f->reason : "-";

			if (!f->consistent)
				ret = worse(ret, !strcmp(why, "missing")     ? EXIT_MISSING
						 : !strcmp(why, "bad_token") ? EXIT_ERR
						 : !strcmp(why, "error")     ? EXIT_ERR
									     : EXIT_NOT_OK);
			if (!json)
				printf("%s %s %s\n", f->consistent ? "consistent" : "changed", why,
				       shown(files.v[off + i], &b));
		}
		inuse_result__free(r);
	}
	for (size_t i = 0; i < toks.n; i++)
		free(toks.v[i]);
	free(toks.v);
	sb_free(&b);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"tokens", required_argument, NULL, 't'},
	    {"verify", required_argument, NULL, 'v'},
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	struct inuse_client_opts o = {.sz = sizeof(o), .timeout_ms = 120000};
	const char *tokens = NULL, *verify = NULL;
	struct inuse_client *c;
	FILE *tf = NULL;
	bool json = false;
	int ch, err, ret;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":t:v:js:hV", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			tokens = optarg;
			break;
		case 'v':
			verify = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		default: /* -h, -V, or wrong */
			cli_other_option(ch, "inuse-check", usage, EXIT_ERR, argv);
		}
	}
	if (verify && (optind < argc || tokens))
		die_usage("--verify takes no PATH and no --tokens", NULL);
	if (!verify && optind >= argc)
		die_usage("no PATH given", NULL);
	for (int i = optind; i < argc; i++) {
		char *p = path_absolute(argv[i]);
		struct stat st;

		if (!p)
			die_usage("bad path", argv[i]);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (nftw(p, walk_one, 32, FTW_PHYS) != 0) {
				fprintf(stderr, "inuse-check: %s: %s\n", argv[i], strerror(errno));
				return EXIT_ERR;
			}
			free(p);
		} else if (add(&files, p)) {
			return EXIT_ERR;
		}
	}
	if (tokens && !(tf = fopen(tokens, "we"))) {
		fprintf(stderr, "inuse-check: %s: %s\n", tokens, strerror(errno));
		return EXIT_ERR;
	}
	err = inuse_client__open(&o, &c);
	if (err) {
		fprintf(stderr, "inuse-check: cannot reach inused: %s\n", strerror(-err));
		return EXIT_ERR;
	}
	ret = verify ? do_verify(c, verify, json) : do_check(c, tf, json);
	inuse_client__free(c);
	if (tf && fclose(tf) != 0) {
		fprintf(stderr, "inuse-check: %s: %s\n", tokens, strerror(errno));
		ret = EXIT_ERR;
	}
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	return ret;
}
