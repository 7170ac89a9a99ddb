// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* recipe.c - what the recipes (tool_*.c) do alike: names as given, exclude
 * files, lists of names, a failed retry. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inuse-run/run.h"

char *name_as_given(const struct run *r, const struct source *s, const char *path)
{
	size_t n = strlen(s->given);
	char *o;

	while (n > 1 && s->given[n - 1] == '/')
		n--;
	if (asprintf(&o, "%.*s%s", (int)n, s->given, path + strlen(s->abs)) < 0)
		return NULL;
	return o;
}

int exclude_write(struct run *r, const char *base, bool named, const char *what,
		  int (*put)(FILE *f, const struct item *it))
{
	char *file;
	FILE *f;
	int n = 0;

	if (stage_dir(r) || asprintf(&file, "%s/%s", r->stage, base) < 0)
		return -1;
	f = fopen(file, "we");
	if (!f) {
		free(file);
		return -1;
	}
	for (size_t i = 0; i < r->nit; i++) {
		struct item *it = &r->it[i];

		if (it->kind < IT_EXCLUDED || (named && !it->name))
			continue;
		if (put(f, it)) {
			warn("%s cannot be written as %s: it is copied, and judged", it->path,
			     what);
			it->kind = IT_HELD;
			it->retry = false;
			continue;
		}
		n++;
	}
	if (fclose(f)) {
		free(file);
		return -1;
	}
	r->exclude_file = file;
	return n;
}

int exclude_option(struct run *r, int at, const char *prefix)
{
	char *opt;
	int err;

	if (asprintf(&opt, "%s%s", prefix, r->exclude_file) < 0)
		return -1;
	err = argv_insert(r, at, opt);
	free(opt);
	return err ? -1 : 0;
}

int list_add(char **list, size_t *len, const char *name)
{
	size_t n = strlen(name) + 1;
	char *nb = realloc(*list, *len + n);

	if (!nb)
		return -1;
	memcpy(nb + *len, name, n);
	*list = nb;
	*len += n;
	return 0;
}

char *list_write(struct run *r, const char *base, const char *list, size_t len)
{
	char *file;
	int fd;

	if (asprintf(&file, "%s/%s", r->stage, base) < 0)
		return NULL;
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, list, len) != (ssize_t)len || close(fd)) {
		free(file);
		return NULL;
	}
	return file;
}

void retry_failed(struct run *r)
{
	for (size_t i = 0; i < r->nit; i++)
		if (r->it[i].staged)
			r->it[i].out = OUT_FAILED;
}
