/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* guard.c - guarded jobs: "guard" and "guard_end" (docs/protocol.md). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jname.h"
#include "inuse.h"

struct inuse_guard_report {
	char *line;
	json_t *root;
	struct inuse_guard_file *files;
	char **names;
	size_t n;
	unsigned long long reads, dropped, unjoined, running;
};

/* Sends req, reads the answer: the parsed object, or NULL and *err. */
static json_t *ask(struct inuse_client *c, const char *req, char **line, int *err)
{
	json_t *root;
	size_t len;

	*line = NULL;
	*err = inuse_client__call(c, req, strlen(req), line, &len);
	if (*err)
		return NULL;
	root = json_loadb(*line, len, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		*err = -EPROTO;
		return NULL;
	}
	if (!json_is_true(json_object_get(root, "ok"))) {
		const char *code =
		    json_string_value(json_object_get(json_object_get(root, "error"), "code"));

		*err = code && !strcmp(code, "busy") ? -EBUSY : -EREMOTEIO;
		json_decref(root);
		return NULL;
	}
	return root;
}

int inuse_client__guard(struct inuse_client *c, unsigned int flags, unsigned long *job)
{
	char req[96], *line;
	json_t *root;
	int err;

	snprintf(req, sizeof(req), "{\"op\":\"guard\",\"id\":\"guard\",\"self\":%s}",
		 (flags & INUSE_GUARD_SELF) ? "true" : "false");
	root = ask(c, req, &line, &err);
	free(line);
	if (!root)
		return err;
	if (job)
		*job = (unsigned long)json_integer_value(json_object_get(root, "job"));
	json_decref(root);
	return 0;
}

static int flag(json_t *f, const char *k)
{
	return json_is_true(json_object_get(f, k));
}

int inuse_client__guard_end(struct inuse_client *c, struct inuse_guard_report **out)
{
	static const char req[] = "{\"op\":\"guard_end\",\"id\":\"guard_end\"}";
	struct inuse_guard_report *r = calloc(1, sizeof(*r));
	json_t *files, *f;
	size_t i;
	int err;

	if (!r)
		return -ENOMEM;
	r->root = ask(c, req, &r->line, &err);
	if (!r->root) {
		inuse_guard_report__free(r);
		return err;
	}
	r->reads = (unsigned long long)json_integer_value(json_object_get(r->root, "reads"));
	r->dropped = (unsigned long long)json_integer_value(json_object_get(r->root, "dropped"));
	r->unjoined = (unsigned long long)json_integer_value(json_object_get(r->root, "unjoined"));
	r->running = (unsigned long long)json_integer_value(json_object_get(r->root, "running"));
	files = json_object_get(r->root, "files");
	r->n = json_array_size(files);
	r->files = calloc(r->n ? r->n : 1, sizeof(*r->files));
	r->names = calloc(r->n ? r->n : 1, sizeof(*r->names));
	if (!r->files || !r->names) {
		inuse_guard_report__free(r);
		return -ENOMEM;
	}
	json_array_foreach(files, i, f)
	{
		struct inuse_guard_file *x = &r->files[i];
		json_t *p = json_object_get(f, "path");
		const char *dev = json_string_value(json_object_get(f, "dev"));

		x->path = json_string_value(p);
		if (!x->path && json_is_array(p))
			x->path = r->names[i] = jname_get(p, (size_t)1 << 20, NULL);
		if (dev)
			sscanf(dev, "%u:%u", &x->dev_major, &x->dev_minor);
		x->ino = (unsigned long long)json_integer_value(json_object_get(f, "ino"));
		x->state = json_string_value(json_object_get(f, "state"));
		x->reason = json_string_value(json_object_get(f, "reason"));
		x->torn = x->state && !strcmp(x->state, "torn");
		x->held = flag(f, "held");
		x->opened = flag(f, "opened");
		x->written = flag(f, "written") || flag(f, "written_before");
		x->mapped = flag(f, "mapped");
		x->closed = flag(f, "closed");
		x->read_from = json_number_value(json_object_get(f, "read_from"));
		x->read_to = json_number_value(json_object_get(f, "read_to"));
		x->mtime_at_read = json_number_value(json_object_get(f, "mtime_at_read"));
		x->size = (unsigned long long)json_integer_value(json_object_get(f, "size"));
	}
	*out = r;
	return 0;
}

size_t inuse_guard_report__count(const struct inuse_guard_report *r)
{
	return r->n;
}

const struct inuse_guard_file *inuse_guard_report__file(const struct inuse_guard_report *r,
							size_t i)
{
	return i < r->n ? &r->files[i] : NULL;
}

unsigned long long inuse_guard_report__reads(const struct inuse_guard_report *r)
{
	return r->reads;
}

unsigned long long inuse_guard_report__dropped(const struct inuse_guard_report *r)
{
	return r->dropped;
}

unsigned long long inuse_guard_report__unjoined(const struct inuse_guard_report *r)
{
	return r->unjoined;
}

unsigned long long inuse_guard_report__running(const struct inuse_guard_report *r)
{
	return r->running;
}

const char *inuse_guard_report__json(const struct inuse_guard_report *r)
{
	return r->line;
}

void inuse_guard_report__free(struct inuse_guard_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->names && i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	free(r->files);
	json_decref(r->root);
	free(r->line);
	free(r);
}
