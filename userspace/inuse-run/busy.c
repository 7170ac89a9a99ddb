// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * busy.c - before the run: the files under the sources that are open for
 * writing, and what the policy says of each (check). A file the policy
 * lets be copied as it is (closed by now, quiet, or "flag") stays in the
 * run, where the guard judges its copy; one to defer, to copy by the
 * application's method or by a frozen snapshot, is left out and retried;
 * one to skip is left out and named. A database copied by method takes its -wal, -shm and -journal
 * with it: they are left out too (a stale one beside a fresh copy is a
 * corrupt restore).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jname.h"
#include "inuse.h"
#include "inuse-run/run.h"

/* Paths per check (asked by libinuse in overlapping parts). */
#define CHECK_BATCH 8192

static const char *const companions[] = {"-wal", "-shm", "-journal"};

struct paths {
	char **v;
	size_t n, cap;
};

static int paths_add(struct paths *p, char *s)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i], s)) {
			free(s);
			return 0;
		}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		char **n = realloc(p->v, cap * sizeof(*n));

		if (!n) {
			free(s);
			return -1;
		}
		p->v = n;
		p->cap = cap;
	}
	p->v[p->n++] = s;
	return 0;
}

/* One request, its answer parsed. */
static json_t *ask(struct run *r, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT), *line = NULL;
	json_t *a = NULL;
	size_t len;
	int err;

	json_decref(req);
	err = s ? inuse_client__call(r->c, s, strlen(s), &line, &len) : -ENOMEM;
	free(s);
	if (!err)
		a = json_loadb(line, len, 0, NULL);
	free(line);
	if (!a || !json_is_true(json_object_get(a, "ok"))) {
		warn("inused refused to list the busy files: %s",
		     err ? strerror(-err)
			 : json_string_value(json_object_get(json_object_get(a, "error"),
							     "message"))
			       ?: "bad answer");
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The files open for writing under (or at) source s. */
static int open_files(struct run *r, const struct source *s, struct paths *out)
{
	json_t *req = json_pack("{s:s, s:s}", "op", "list", "id", "busy"), *a, *f;
	size_t i;

	if (!req)
		return -1;
	if (s->dir)
		json_object_set_new(req, "under", jname_new(s->abs, strlen(s->abs)));
	else
		json_object_set_new(req, "paths",
				    json_pack("[o]", jname_new(s->abs, strlen(s->abs))));
	if (!(a = ask(r, req)))
		return -1;
	json_array_foreach(json_object_get(a, "files"), i, f)
	{
		char *p = jname_get(json_object_get(f, "path"), (size_t)1 << 20, NULL);

		if (!p)
			continue; /* no name reaches it from here: not under a source */
		if (!path_below(p, s->abs)) {
			free(p);
			continue;
		}
		if (paths_add(out, p)) {
			json_decref(a);
			return -1;
		}
	}
	json_decref(a);
	return 0;
}

static void add_companions(struct run *r, const struct item *db)
{
	char *p, *dbpath = strdup(db->path);
	struct stat st;

	if (!dbpath)
		return;
	for (size_t i = 0; i < sizeof(companions) / sizeof(companions[0]); i++) {
		struct item *c;

		if (asprintf(&p, "%s%s", dbpath, companions[i]) < 0)
			break;
		if (lstat(p, &st) != 0) {
			free(p);
			continue;
		}
		c = item_find(r, p);
		if (!c)
			c = item_add(r, p, IT_COMPANION);
		if (c) {
			c->kind = IT_COMPANION;
			c->retry = false;
			free(c->companion_of);
			c->companion_of = strdup(dbpath);
			snprintf(c->why, sizeof(c->why),
				 "beside a database copied by its method: left out with it");
		}
		free(p);
	}
	free(dbpath);
}

/* What the policy says of one busy file (f: its check answer). */
static void decide(struct run *r, const char *path, json_t *f)
{
	const char *decision = json_string_value(json_object_get(f, "decision")) ?: "";
	const char *reason = json_string_value(json_object_get(f, "reason")) ?: "";
	const char *rule = json_string_value(json_object_get(f, "rule")) ?: "default";
	json_t *m = json_object_get(f, "method");
	struct item *it;

	if (!strcmp(decision, "copy") && strcmp(reason, "method"))
		return; /* closed by now, or quiet: the tool copies it */
	if (!strcmp(decision, "flag"))
		return; /* the policy takes the copy as it comes: the guard judges it */
	it = item_find(r, path);
	if (it && it->kind == IT_COMPANION)
		return; /* goes with its database */
	if (!it && !(it = item_add(r, path, IT_EXCLUDED)))
		return;
	if (!strcmp(decision, "skip")) {
		it->kind = IT_SKIPPED;
		snprintf(it->why, sizeof(it->why), "open for writing; policy rule %s says skip",
			 rule);
		return;
	}
	it->kind = IT_EXCLUDED;
	it->retry = r->retry;
	it->snapshot = !strcmp(decision, "snapshot");
	it->quiet = json_number_value(json_object_get(f, "quiet"));
	it->defer_max = json_number_value(json_object_get(f, "defer_max"));
	if (json_is_string(m)) {
		it->method = strdup(json_string_value(m));
	} else if (json_is_array(m)) {
		it->method_argv = json_incref(m);
	}
	if (it->method || it->method_argv) {
		snprintf(it->why, sizeof(it->why),
			 "open for writing; policy rule %s copies it by its method", rule);
		add_companions(r, it);
	} else {
		snprintf(it->why, sizeof(it->why), "open for writing; policy rule %s says %s", rule,
			 decision);
	}
}

int busy_find(struct run *r)
{
	struct paths p = {0};
	int ret = -1;

	for (size_t i = 0; i < r->nsrc; i++)
		if (open_files(r, &r->src[i], &p))
			goto out;
	for (size_t off = 0; off < p.n; off += CHECK_BATCH) {
		size_t n = p.n - off < CHECK_BATCH ? p.n - off : CHECK_BATCH;
		struct inuse_result *res;
		json_t *a, *files;
		int err = inuse_client__check(r->c, (const char *const *)p.v + off, n, &res);

		if (err) {
			warn("check: %s", strerror(-err));
			goto out;
		}
		a = json_loads(inuse_result__json(res), 0, NULL);
		files = json_object_get(a, "files");
		if (json_array_size(files) != n) {
			warn("check: %zu answers for %zu files", json_array_size(files), n);
			json_decref(a);
			inuse_result__free(res);
			goto out;
		}
		for (size_t k = 0; k < n; k++)
			decide(r, p.v[off + k], json_array_get(files, k));
		json_decref(a);
		inuse_result__free(res);
	}
	ret = 0;
out:
	for (size_t i = 0; i < p.n; i++)
		free(p.v[i]);
	free(p.v);
	return ret;
}
