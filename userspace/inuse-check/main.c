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

/* A line of a tokens file: {"path":P,"token":T} (P a string, or its
 * bytes when it is not UTF-8). */
static int token_line(FILE *out, const char *path, const char *token)
{
	static struct strbuf b;
	int err;

	sb_reset(&b);
	err = sb_adds(&b, "{\"path\":") | jname_append(&b, path, strlen(path)) |
	      sb_adds(&b, ",\"token\":") | jname_append(&b, token, strlen(token)) |
	      sb_adds(&b, "}\n");
	return err || fwrite(b.buf, 1, b.len, out) != b.len ? -1 : 0;
}

/* The path and token of a line of a tokens file written by token_line:
 * read as it was written when both are plain strings (no escape), by
 * JSON otherwise. 0, or -1 when it is not such a line. */
static int token_read(const char *line, size_t len, char **path, char **token)
{
	static const char pre[] = "{\"path\":\"", mid[] = "\",\"token\":\"", post[] = "\"}";
	const char *p = line, *end = line + len, *q, *r;
	json_t *o;

	while (end > p && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if ((size_t)(end - p) > sizeof(pre) && !memcmp(p, pre, sizeof(pre) - 1) &&
	    (q = memchr(p + sizeof(pre) - 1, '"', (size_t)(end - p) - (sizeof(pre) - 1))) &&
	    !memchr(p, '\\', (size_t)(end - p)) && (size_t)(end - q) >= sizeof(mid) - 1 &&
	    !memcmp(q, mid, sizeof(mid) - 1) &&
	    (r = memchr(q + sizeof(mid) - 1, '"', (size_t)(end - q) - (sizeof(mid) - 1))) &&
	    (size_t)(end - r) == sizeof(post) - 1 && !memcmp(r, post, sizeof(post) - 1) &&
	    q > p + sizeof(pre) - 1 && !memchr(p, '\0', (size_t)(end - p))) {
		const char *ps = p + sizeof(pre) - 1, *ts = q + sizeof(mid) - 1;

		/* control characters would be escaped, other bytes than
		 * UTF-8 given as an array: not this form */
		for (const char *c = ps; c < r; c++)
			if ((unsigned char)*c < 0x20)
				goto json;
		if (!utf8_valid(ps, (size_t)(q - ps)))
			goto json;
		*path = strndup(ps, (size_t)(q - ps));
		*token = strndup(ts, (size_t)(r - ts));
		return *path && *token ? 0 : -1;
	}
json:
	o = json_loadb(line, len, 0, NULL);
	*path = o ? jname_get(json_object_get(o, "path"), (size_t)1 << 20, NULL) : NULL;
	*token = json_is_string(json_object_get(o, "token"))
		     ? strdup(json_string_value(json_object_get(o, "token")))
		     : NULL;
	json_decref(o);
	return *path && *token ? 0 : -1;
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
			if (tokens && f->token && token_line(tokens, path, f->token)) {
				inuse_result__free(r);
				return EXIT_ERR;
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
	for (ssize_t len; (len = getline(&line, &cap, in)) > 0;) {
		char *p = NULL, *t = NULL;

		if (token_read(line, (size_t)len, &p, &t)) {
			fprintf(stderr, "inuse-check: %s: not a tokens file\n", file);
			free(p);
			free(t);
			fclose(in);
			return EXIT_ERR;
		}
		if (add(&files, p) || add(&toks, t)) {
			fprintf(stderr, "inuse-check: %s\n", strerror(ENOMEM));
			fclose(in);
			return EXIT_ERR;
		}
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
