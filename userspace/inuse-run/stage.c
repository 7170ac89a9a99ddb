// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * stage.c - consistent copies of the files to retry, laid out in the
 * staging directory under the names the tool gives them, so that the tool
 * takes them from there as if from the source: by the application's method
 * (a database's own copy), by a snapshot with the file's writers frozen
 * for a moment (the policy's "snapshot"), else by the copy loop (copy when
 * quiet or closed, verify, again until a copy verifies or the time is up).
 * A method or snapshot that fails falls back to a plain copy, flagged: a
 * file is never left out because its method failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdcopy.h"
#include "common/timeutil.h"
#include "inuse.h"
#include "inuse-run/run.h"

int stage_dir(struct run *r)
{
	char *t;

	if (r->stage)
		return 0;
	if (asprintf(&t, "%s/inuse-run.XXXXXX",
		     r->stage_parent ? r->stage_parent : getenv("TMPDIR") ?: "/var/tmp") < 0)
		return -1;
	if (!mkdtemp(t)) {
		warn("cannot make a staging directory %s: %s", t, strerror(errno));
		free(t);
		return -1;
	}
	r->stage = t;
	if (asprintf(&r->tree, "%s/tree", t) < 0 || mkdir(r->tree, 0700) != 0) {
		warn("cannot make a staging directory in %s: %s", t, strerror(errno));
		return -1;
	}
	return 0;
}

char *stage_path(struct run *r, const struct item *it)
{
	char *p;

	if (!it->name || stage_dir(r) ||
	    asprintf(&p, "%s/%s", r->tree, strip_slashes(it->name)) < 0)
		return NULL;
	return p;
}

/* mkdir -p of path's directory. */
static int make_parents(const char *path)
{
	char *d = strdup(path), *s;

	if (!d)
		return -1;
	for (s = strchr(d + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(d, 0700) != 0 && errno != EEXIST) {
			free(d);
			return -1;
		}
		*s = '/';
	}
	free(d);
	return 0;
}

/* Splits a method command line into words, as a shell would quote them
 * ('...', "...", \), without expanding anything. */
static int split_words(const char *s, struct vec *out)
{
	struct {
		char *b;
		size_t n;
	} w = {0};
	bool in_word = false;

	w.b = malloc(strlen(s) + 1);
	if (!w.b)
		return -1;
	for (;; s++) {
		if (*s == '\0' || *s == ' ' || *s == '\t' || *s == '\n') {
			if (in_word) {
				w.b[w.n] = '\0';
				if (vec_add(out, w.b))
					break;
				w.n = 0;
				in_word = false;
			}
			if (*s == '\0') {
				free(w.b);
				return 0;
			}
			continue;
		}
		in_word = true;
		if (*s == '\'') {
			while (*++s && *s != '\'')
				w.b[w.n++] = *s;
			if (!*s)
				break;
		} else if (*s == '"') {
			while (*++s && *s != '"') {
				if (*s == '\\' && strchr("\"\\$`", s[1]))
					s++;
				w.b[w.n++] = *s;
			}
			if (!*s)
				break;
		} else if (*s == '\\' && s[1]) {
			w.b[w.n++] = *++s;
		} else {
			w.b[w.n++] = *s;
		}
	}
	free(w.b);
	return -1;
}

/* word with {path} and {dest} replaced. */
static char *fill(const char *word, const char *path, const char *dest)
{
	size_t cap = strlen(word) + 1, n = 0;
	char *o;

	for (const char *s = strstr(word, "{"); s; s = strstr(s + 1, "{"))
		cap += strlen(path) + strlen(dest);
	if (!(o = malloc(cap)))
		return NULL;
	while (*word) {
		const char *v = !strncmp(word, "{path}", 6)   ? path
				: !strncmp(word, "{dest}", 6) ? dest
							      : NULL;

		if (v) {
			memcpy(o + n, v, strlen(v));
			n += strlen(v);
			word += 6;
		} else {
			o[n++] = *word++;
		}
	}
	o[n] = '\0';
	return o;
}

/* The item's method as an argument list, {path} and {dest} filled in. */
static int method_argv(const struct item *it, const char *dest, struct vec *out)
{
	struct vec words = {0};
	int err = 0;

	if (it->method_argv) {
		json_t *v;
		size_t i;

		json_array_foreach(it->method_argv, i, v) if (!json_is_string(v) ||
							      vec_add(&words, json_string_value(v)))
		    err = -1;
	} else if (split_words(it->method, &words)) {
		err = -1;
	}
	for (size_t i = 0; !err && i < words.n; i++) {
		char *f = fill(words.v[i], it->path, dest);

		err = !f || vec_add(out, f) ? -1 : 0;
		free(f);
	}
	vec_free(&words);
	return err || !out->n ? -1 : 0;
}

/* Owner, mode and times of src on dest (a method makes a file of its own). */
static void like_source(const char *src, const char *dest)
{
	struct stat st;
	struct timespec ts[2];

	if (stat(src, &st) != 0)
		return;
	if (chown(dest, st.st_uid, st.st_gid) != 0 && errno != EPERM)
		return;
	chmod(dest, st.st_mode & 07777);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	utimensat(AT_FDCWD, dest, ts, 0);
}

/* The application's copy of it into dest. The method writes a name of
 * its own (no character of the file's name reaches the method's text). */
static int by_method(struct run *r, struct item *it, const char *dest)
{
	static unsigned int seq;
	struct vec argv = {0};
	char *tmp;
	int st;

	if (asprintf(&tmp, "%s/.method-%u", r->stage, ++seq) < 0)
		return -1;
	unlink(tmp);
	if (method_argv(it, tmp, &argv)) {
		snprintf(it->detail, sizeof(it->detail), "its method cannot be read");
		free(tmp);
		return -1;
	}
	if (r->verbose)
		say_command("method", argv.v);
	st = spawn(argv.v, NULL, NULL, 0, NULL, 0);
	vec_free(&argv);
	if (st != 0 || access(tmp, F_OK) != 0 || rename(tmp, dest) != 0) {
		snprintf(it->detail, sizeof(it->detail), "its method failed (%s %d)",
			 st < 0 ? "could not run" : "status", st);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	like_source(it->path, dest);
	return 0;
}

/* A copy taken with the file's writers frozen for a moment (the policy's
 * "snapshot"), from the descriptor inused hands over. */
static int by_snapshot(struct run *r, struct item *it, const char *dest)
{
	const char *path = it->path;
	struct inuse_result *res;
	const struct inuse_file *f;
	int err = inuse_client__snapshot(r->c, &path, 1, &res), ret;

	if (err) {
		snprintf(it->detail, sizeof(it->detail), "its snapshot was refused or failed (%s)",
			 strerror(-err));
		return -1;
	}
	f = inuse_result__file(res, 0);
	ret = f && f->fd >= 0 ? fd_copy_file(f->fd, dest) : -1;
	inuse_result__free(res);
	if (ret) {
		snprintf(it->detail, sizeof(it->detail), "its snapshot could not be copied");
		unlink(dest);
		return -1;
	}
	like_source(it->path, dest);
	return 0;
}

/* The copy loop into dest, within timeout seconds. */
static int by_copy(struct run *r, struct item *it, const char *dest, double timeout, bool flag)
{
	struct inuse_copy_opts o = {.sz = sizeof(o),
				    .quiet = it->quiet > 0 ? it->quiet : r->quiet,
				    .timeout = timeout > 0.5 ? timeout : 0.5};
	struct inuse_copy_result res;
	char pre[sizeof(it->detail)];
	int err;

	snprintf(pre, sizeof(pre), "%s", it->detail);
	err = inuse_copy_file(r->c, it->path, dest, &o, &res);
	if (err) {
		snprintf(it->detail, sizeof(it->detail), "%s%scopy failed: %s", pre,
			 pre[0] ? "; " : "", err == -ENOENT ? "the file is gone" : strerror(-err));
		it->out = OUT_FAILED;
		return -1;
	}
	if (res.outcome == INUSE_COPY_FLAGGED || flag) {
		it->out = OUT_FLAGGED;
		if (res.outcome == INUSE_COPY_FLAGGED)
			snprintf(it->detail, sizeof(it->detail),
				 "%s%splain copy, %s (%u attempt%s in %.0fs)", pre,
				 pre[0] ? "; " : "", res.reason, res.attempts,
				 res.attempts == 1 ? "" : "s", timeout);
		else
			snprintf(it->detail, sizeof(it->detail), "%s; a plain copy instead", pre);
	} else {
		it->out = OUT_CONSISTENT;
		snprintf(it->detail, sizeof(it->detail), "a verified copy (%u attempt%s)",
			 res.attempts, res.attempts == 1 ? "" : "s");
	}
	return 0;
}

/* The policy's word on the torn files (methods, quiet periods): asked now. */
static void ask_policy(struct run *r)
{
	for (size_t i = 0; i < r->nit; i++) {
		struct item *it = &r->it[i];
		const char *p = it->path;
		struct inuse_result *res;
		json_t *a, *f, *m;

		if (!it->retry || it->kind != IT_TORN)
			continue;
		if (inuse_client__check(r->c, &p, 1, &res))
			continue;
		a = json_loads(inuse_result__json(res), 0, NULL);
		f = json_array_get(json_object_get(a, "files"), 0);
		m = json_object_get(f, "method");
		if (json_is_string(m))
			it->method = strdup(json_string_value(m));
		else if (json_is_array(m))
			it->method_argv = json_incref(m);
		it->quiet = json_number_value(json_object_get(f, "quiet"));
		it->defer_max = json_number_value(json_object_get(f, "defer_max"));
		it->take_as_is =
		    !strcmp(json_string_value(json_object_get(f, "decision")) ?: "", "flag");
		it->snapshot =
		    !strcmp(json_string_value(json_object_get(f, "decision")) ?: "", "snapshot");
		json_decref(a);
		inuse_result__free(res);
	}
}

int stage_items(struct run *r)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)(r->max_wait * 1e9);
	size_t left = 0;

	for (size_t i = 0; i < r->nit; i++)
		left += r->it[i].retry;
	if (!left)
		return 0;
	if (stage_dir(r))
		return -1;
	ask_policy(r);
	/* methods and snapshots first (they do not wait), then the copy
	 * loops, each given its share of what is left of the time */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->nit; i++) {
			struct item *it = &r->it[i];
			bool has_method = it->method || it->method_argv;
			bool quick = has_method || it->snapshot; /* neither waits */
			uint64_t now = clock_mono_ns();
			double budget;
			char *dest;

			if (!it->retry || quick != (pass == 0))
				continue;
			budget = now < deadline ? (double)(deadline - now) / 1e9 / (double)left : 0;
			if (it->defer_max > 0 && it->defer_max < budget)
				budget = it->defer_max; /* the policy's limit */
			if (it->take_as_is)
				budget = 0; /* the policy takes it as it comes: one copy */
			left--;
			dest = stage_path(r, it);
			if (!dest || make_parents(dest)) {
				it->out = OUT_FAILED;
				snprintf(it->detail, sizeof(it->detail), "cannot stage a copy");
				free(dest);
				continue;
			}
			info(r, "retrying %s", it->path);
			if (has_method && by_method(r, it, dest) == 0) {
				it->out = OUT_METHOD;
				snprintf(it->detail, sizeof(it->detail), "copied by its method");
			} else if (it->snapshot && by_snapshot(r, it, dest) == 0) {
				it->out = OUT_SNAPSHOT;
				snprintf(it->detail, sizeof(it->detail),
					 "a snapshot, its writers frozen for a moment");
			} else if (by_copy(r, it, dest, budget, has_method || it->snapshot) != 0) {
				free(dest);
				continue;
			}
			it->staged = dest;
		}
	}
	return 0;
}
