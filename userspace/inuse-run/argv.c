// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* argv.c - the command line: arguments, sources, helper vectors. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pathutil.h"
#include "inuse-run/run.h"

int argv_insert(struct run *r, int at, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -1;
	if (r->argc + 2 > r->cap) {
		int cap = r->cap ? r->cap * 2 : 16;
		char **n = realloc(r->argv, (size_t)cap * sizeof(*n));

		if (!n) {
			free(d);
			return -1;
		}
		r->argv = n;
		r->cap = cap;
	}
	memmove(r->argv + at + 1, r->argv + at, (size_t)(r->argc - at + 1) * sizeof(*r->argv));
	r->argv[at] = d;
	r->argc++;
	return 0;
}

int source_add(struct run *r, const char *given, const char *cwd)
{
	struct source *n, *s;
	char *joined = NULL, *abs;
	struct stat st;

	if (given[0] != '/' && cwd) {
		if (asprintf(&joined, "%s/%s", cwd, given) < 0)
			return -1;
	}
	abs = realpath(joined ? joined : given, NULL);
	if (!abs) {
		/* the tool will say it is missing: nothing of it to guard */
		if (r->verbose)
			warn("%s: %s (not a source)", joined ? joined : given, strerror(errno));
		free(joined);
		return 0;
	}
	free(joined);
	n = realloc(r->src, (r->nsrc + 1) * sizeof(*n));
	if (!n) {
		free(abs);
		return -1;
	}
	r->src = n;
	s = &r->src[r->nsrc++];
	memset(s, 0, sizeof(*s));
	s->given = strdup(given);
	s->abs = abs;
	s->cwd = cwd ? strdup(cwd) : NULL;
	s->dir = stat(abs, &st) == 0 && S_ISDIR(st.st_mode);
	s->slash = given[0] && given[strlen(given) - 1] == '/';
	return s->given ? 0 : -1;
}

int vec_add(struct vec *v, const char *s)
{
	if (v->n + 2 > v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		char **n = realloc(v->v, cap * sizeof(*n));

		if (!n)
			return -1;
		v->v = n;
		v->cap = cap;
	}
	if (!(v->v[v->n] = strdup(s)))
		return -1;
	v->v[++v->n] = NULL;
	return 0;
}

int vec_addf(struct vec *v, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, err;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	err = vec_add(v, s);
	free(s);
	return err;
}

void vec_free(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	memset(v, 0, sizeof(*v));
}

bool opt_in(const char *arg, const char *const *list)
{
	size_t n = strcspn(arg, "=");

	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(arg, *list, n))
			return true;
	return false;
}

bool path_below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

const char *strip_slashes(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

char *abs_path(const char *p)
{
	char *cwd, *o;

	if (p[0] == '/')
		return strdup(p);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&o, "%s/%s", cwd, p) < 0)
		o = NULL;
	free(cwd);
	return o;
}
