/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* requests.c - check, verify and wait, with their answers as structs. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "inuse.h"
#include "lib/internal.h"
#include "lib/result.h"

static const char *const decisions[] = {"copy", "defer", "skip", "flag", "snapshot"};
#define NDECISIONS (int)(sizeof(decisions) / sizeof(decisions[0]))
static const char *const states[] = {"not_open", "open",	    "missing", "not_regular",
				     "error",	 "not_quiet", "quiet"};
#define NSTATES (int)(sizeof(states) / sizeof(states[0]))

const char *inuse_decision_name(enum inuse_decision d)
{
	return (unsigned)d < NDECISIONS ? decisions[d] : "?";
}

const char *inuse_state_name(enum inuse_state s)
{
	return (int)s >= 0 && (int)s < NSTATES ? states[s] : "?";
}

static int lookup(const char *s, const char *const *names, int n, int dflt)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return dflt;
}

size_t inuse_result__count(const struct inuse_result *r)
{
	return r->n;
}

const struct inuse_file *inuse_result__file(const struct inuse_result *r, size_t i)
{
	return i < r->n ? &r->files[i] : NULL;
}

int inuse_result__done(const struct inuse_result *r)
{
	return r->done;
}

const char *inuse_result__json(const struct inuse_result *r)
{
	/* a compact answer is given in the full form, made once */
	if (r->extra && !r->full)
		((struct inuse_result *)r)->full = inuse__rows_full(r);
	return r->full ? r->full : r->line;
}

void inuse_result__free(struct inuse_result *r)
{
	if (!r)
		return;
	json_decref(r->root);
	for (size_t i = 0; r->extra && i < r->n; i++)
		json_decref(r->extra[i]);
	free(r->extra);
	while (r->arena) {
		char *next;

		memcpy(&next, r->arena, sizeof(next));
		free(r->arena);
		r->arena = next;
	}
	free(r->full);
	free(r->when);
	free(r->raw);
	for (size_t i = 0; r->files && i < r->n; i++)
		if (r->files[i].fd >= 0)
			close(r->files[i].fd);
	for (size_t i = 0; r->names && i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	for (size_t i = 0; r->argvs && i < r->n; i++)
		free(r->argvs[i]);
	free(r->argvs);
	free(r->files);
	free(r->line);
	free(r);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

const char **inuse__method_argv(json_t *m)
{
	size_t n = json_array_size(m), i;
	const char **v;
	json_t *a;

	if (!json_is_array(m) || n == 0)
		return NULL;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return NULL;
	json_array_foreach(m, i, a)
	{
		if (!(v[i] = json_string_value(a)) || strlen(v[i]) != json_string_length(a)) {
			free(v);
			return NULL;
		}
	}
	return v;
}

int inuse__result_parse(char *line, size_t len, struct inuse_result **out)
{
	struct inuse_result *r = calloc(1, sizeof(*r));
	json_t *files, *f;
	size_t i;

	if (!r) {
		free(line);
		return -ENOMEM;
	}
	r->line = line;
	r->len = len;
	r->root = json_loadb(r->line, len, 0, NULL);
	if (!json_is_object(r->root)) {
		inuse_result__free(r);
		return -EPROTO;
	}
	if (!json_is_true(json_object_get(r->root, "ok"))) {
		const char *code = str(json_object_get(r->root, "error"), "code");
		int err = code && !strcmp(code, "refused")  ? -EPERM
			  : code && !strcmp(code, "failed") ? -EIO
			  : code && !strcmp(code, "busy")   ? -EBUSY
							    : -EREMOTEIO;

		inuse_result__free(r);
		return err;
	}
	files = json_object_get(r->root, "files");
	r->done = json_is_true(json_object_get(r->root, "done"));
	r->n = json_array_size(files);
	r->files = calloc(r->n ? r->n : 1, sizeof(*r->files));
	for (size_t k = 0; r->files && k < r->n; k++)
		r->files[k].fd = -1;
	r->names = calloc(r->n ? r->n : 1, sizeof(*r->names));
	r->argvs = calloc(r->n ? r->n : 1, sizeof(*r->argvs));
	if (!r->files || !r->names || !r->argvs) {
		inuse_result__free(r);
		return -ENOMEM;
	}
	json_array_foreach(files, i, f)
	{
		struct inuse_file *x = &r->files[i];

		x->path = str(f, "path");
		if (!x->path && json_is_array(json_object_get(f, "path"))) {
			/* a name that is not UTF-8 comes as its bytes */
			r->names[i] = jname_get(json_object_get(f, "path"), (size_t)1 << 20, NULL);
			x->path = r->names[i];
		}
		x->state = (enum inuse_state)lookup(str(f, "state"), states, NSTATES, INUSE_ERROR);
		x->decision =
		    (enum inuse_decision)lookup(str(f, "decision"), decisions, NDECISIONS, INUSE_FLAG);
		x->fallback =
		    (enum inuse_decision)lookup(str(f, "fallback"), decisions, NDECISIONS, INUSE_FLAG);
		x->reason = str(f, "reason");
		x->rule = str(f, "rule");
		x->token = str(f, "token");
		r->argvs[i] = inuse__method_argv(json_object_get(f, "method"));
		x->method_argv = r->argvs[i];
		x->retry_after = json_number_value(json_object_get(f, "retry_after"));
		x->defer_max = json_number_value(json_object_get(f, "defer_max"));
		x->nwriters = json_array_size(json_object_get(f, "writers"));
		x->consistent = json_is_true(json_object_get(f, "consistent"));
		x->fd = -1;
		x->size = (unsigned long long)json_integer_value(json_object_get(f, "size"));
		x->cloned = json_is_true(json_object_get(f, "cloned"));
	}
	*out = r;
	return 0;
}

/* Sends req (consumed), reads the answer and unpacks its "files". */
static int exchange(struct inuse_client *c, json_t *req, struct inuse_result **out)
{
	char *s = json_dumps(req, JSON_COMPACT), *line = NULL;
	size_t len = 0;
	int err;

	json_decref(req);
	if (!s)
		return -ENOMEM;
	err = inuse_client__call(c, s, strlen(s), &line, &len);
	free(s);
	if (err)
		return err;
	return inuse__result_parse(line, len, out);
}

static json_t *path_array(const char *const *paths, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *v = paths[i] ? jname_new(paths[i], strlen(paths[i])) : NULL;

		/* a path left out would shift every answer after it */
		if (!v || json_array_append_new(a, v)) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* A check or a verify in the compact form (rows), of paths[0..n) and,
 * for a verify, their tokens. */
struct rows_ask {
	const char *op;
	const char *const *paths;
	const char *const *tokens; /* verify: one per path; check: NULL */
	size_t n;
	bool stats; /* with the caller's own stat(2) of each path */
};

static int ask_add(const struct rows_ask *a, struct inuse_result *r, const char *line, size_t len,
		   size_t from, size_t m)
{
	return a->tokens ? inuse__vrows_add(r, line, len, a->paths, from, m)
			 : inuse__rows_add(r, line, len, a->paths, from, m);
}

/* Appends the request for the paths [from, from + m). */
static int ask_request(const struct rows_ask *a, struct strbuf *b, size_t from, size_t m)
{
	return inuse__rows_request(b, a->op, a->paths + from, m,
				   a->tokens ? a->tokens + from : NULL, a->stats);
}

/* The answer line (taken) to a request of paths [from, from + m) when
 * it is not rows: an error, or the full form (a daemon that does not know
 * the compact form). */
static int not_rows(const struct rows_ask *a, char *line, size_t len, size_t from, size_t m,
		    struct inuse_result **out)
{
	return inuse__rows_parse(line, len, a->paths + from, m, out);
}

/* One request for all n paths, in the compact form: no JSON tree built on
 * either side per path. */
static int ask_once(struct inuse_client *c, const struct rows_ask *a, struct inuse_result **out)
{
	struct strbuf b = {0};
	struct inuse_result *r;
	char *line = NULL;
	size_t len = 0;
	int err = ask_request(a, &b, 0, a->n);

	if (!err)
		err = inuse_client__call(c, b.buf, b.len, &line, &len);
	sb_free(&b);
	if (err)
		return err;
	if (!inuse__rows_answer(line, len))
		return not_rows(a, line, len, 0, a->n, out);
	r = inuse__rows_new(a->n);
	if (!r) {
		free(line);
		return -ENOMEM;
	}
	r->line = line;
	r->len = len;
	err = ask_add(a, r, line, len, 0, a->n);
	if (err) {
		inuse_result__free(r);
		return err;
	}
	*out = r;
	return 0;
}

/* Sends the request of part k of the paths. */
static int send_part(struct inuse_client *c, const struct rows_ask *a, size_t k)
{
	size_t from = k * CHECK_CHUNK, m = a->n - from < CHECK_CHUNK ? a->n - from : CHECK_CHUNK;
	struct strbuf b = {0};
	int err = ask_request(a, &b, from, m);

	if (!err)
		err = inuse__send_reading(c, b.buf, b.len);
	sb_free(&b);
	return err;
}

/*
 * Many paths: one request per CHECK_CHUNK, each sent (its paths stat'ed,
 * as root) while the daemon answers the one before, and each answer's
 * rows read while it answers the next, so that the two overlap. Each
 * answer is dropped once read (the result's text is made from what its
 * rows gave, on demand). An answer that is not rows (an error) is the
 * result, once the answer still due has been read.
 */
static int ask_in_parts(struct inuse_client *c, const struct rows_ask *a, struct inuse_result **out)
{
	size_t parts = (a->n + CHECK_CHUNK - 1) / CHECK_CHUNK;
	struct inuse_result *r = inuse__rows_new(a->n);
	int err = r ? send_part(c, a, 0) : -ENOMEM;

	for (size_t k = 0; !err && k < parts; k++) {
		size_t from = k * CHECK_CHUNK,
		       m = a->n - from < CHECK_CHUNK ? a->n - from : CHECK_CHUNK;
		bool next = k + 1 < parts;
		char *line = NULL;
		size_t len;

		err = next ? send_part(c, a, k + 1) : 0;
		if (!err)
			err = inuse_client__recv(c, &line, &len);
		if (err)
			break;
		if (!inuse__rows_answer(line, len)) {
			char *due = NULL;

			/* keep the connection in step: the next answer is read */
			if (next && inuse_client__recv(c, &due, NULL) == 0)
				free(due);
			inuse_result__free(r);
			err = not_rows(a, line, len, from, m, out);
			if (err)
				return err;
			/* the full form: a daemon without rows, asked at once */
			inuse_result__free(*out);
			*out = NULL;
			return ask_once(c, a, out);
		}
		/* what the result's text needs is kept from it: the answer
		 * is dropped (its block serves the next) */
		err = ask_add(a, r, line, len, from, m);
		free(line);
	}
	if (err) {
		inuse_result__free(r);
		return err;
	}
	*out = r;
	return 0;
}

static int ask(struct inuse_client *c, const struct rows_ask *a, struct inuse_result **out)
{
	if (!a->n)
		return -EINVAL;
	for (size_t i = 0; i < a->n; i++)
		if (!a->paths[i])
			return -EINVAL; /* a path left out would shift every answer after it */
	if (a->n > CHECK_CHUNK)
		return ask_in_parts(c, a, out);
	return ask_once(c, a, out);
}

int inuse_client__check(struct inuse_client *c, const char *const *paths, size_t n,
			struct inuse_result **out)
{
	/* as root (an admin to the daemon), with the caller's own stat(2) of
	 * each path, which spares the daemon its lookup of each */
	struct rows_ask a = {.op = "check", .paths = paths, .n = n, .stats = geteuid() == 0};

	return ask(c, &a, out);
}

int inuse_client__snapshot(struct inuse_client *c, const char *const *paths, size_t n,
			   struct inuse_result **out)
{
	struct inuse_result *r;
	json_t *req, *a;
	int err;

	if (!n || n > 16)
		return -EINVAL;
	a = path_array(paths, n);
	if (!a)
		return -ENOMEM;
	req = json_pack("{s:s, s:o}", "op", "snapshot", "paths", a);
	if (!req)
		return -ENOMEM;
	/* descriptors of an earlier answer would be taken for these */
	while ((err = inuse_client__take_fd(c)) >= 0)
		close(err);
	err = exchange(c, req, &r);
	if (err)
		return err;
	/* one descriptor per file that has a copy ("fd": its index), in order;
	 * a companion that did not exist has none */
	for (size_t i = 0; i < r->n; i++) {
		json_t *f = json_array_get(json_object_get(r->root, "files"), i);
		int fd;

		if (!json_is_integer(json_object_get(f, "fd")))
			continue;
		fd = inuse_client__take_fd(c);
		if (fd < 0) {
			inuse_result__free(r);
			return -EPROTO;
		}
		r->files[i].fd = fd;
	}
	*out = r;
	return 0;
}

/* verify in the full form ("files": objects of path and token). */
static int verify_files(struct inuse_client *c, const char *const *paths, const char *const *tokens,
			size_t n, struct inuse_result **out)
{
	json_t *files = json_array(), *req;

	if (!n || !files) {
		json_decref(files);
		return n ? -ENOMEM : -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *p = paths[i] ? jname_new(paths[i], strlen(paths[i])) : NULL;
		json_t *f =
		    p ? json_pack("{s:o, s:s}", "path", p, "token", tokens[i] ? tokens[i] : "")
		      : NULL;

		if (!f || json_array_append_new(files, f)) {
			json_decref(files);
			return -ENOMEM;
		}
	}
	req = json_pack("{s:s, s:o}", "op", "verify", "files", files);
	return req ? exchange(c, req, out) : -ENOMEM;
}

int inuse_client__verify(struct inuse_client *c, const char *const *paths,
			 const char *const *tokens, size_t n, struct inuse_result **out)
{
	/* in rows, as check (as root with the caller's own stat(2) of each
	 * path) */
	struct rows_ask a = {
	    .op = "verify", .paths = paths, .tokens = tokens, .n = n, .stats = geteuid() == 0};
	int err;

	if (!tokens)
		return -EINVAL;
	err = ask(c, &a, out);
	/* a daemon that does not know the compact verify refuses it */
	if (err == -EREMOTEIO)
		err = verify_files(c, paths, tokens, n, out);
	return err;
}

int inuse_client__wait(struct inuse_client *c, const char *const *paths, size_t n, double timeout,
		       double quiet, struct inuse_result **out)
{
	json_t *req, *a;

	if (!n || timeout < 0 || quiet < 0)
		return -EINVAL;
	a = path_array(paths, n);
	if (!a)
		return -ENOMEM;
	req = json_pack("{s:s, s:o, s:f, s:f}", "op", "wait", "paths", a, "timeout", timeout,
			"quiet", quiet);
	return req ? exchange(c, req, out) : -ENOMEM;
}
