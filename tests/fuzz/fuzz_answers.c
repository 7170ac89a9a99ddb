// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_answers - what libinuse takes from the daemon: a byte stream
 * split into answer lines (read from a real socket, in the pieces the
 * daemon's writes would come in), each parsed into a result (files,
 * states, decisions, tokens, methods as argument lists, names as strings
 * or byte arrays; "busy" as -EBUSY). Invariants: the count is the files
 * array's size, every string is as long as the result says it is and
 * readable, a method is NULL-terminated; no crash, no leak. The same
 * bytes as the compact answer of a check (rows, and the full text made
 * from them), and of a verify.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inuse.h"
#include "lib/internal.h"
#include "lib/result.h"
#include "../lib/rows_agree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(const char *s)
{
	if (s)
		sink += strlen(s);
}

/* r was parsed from text[0..len) (which may hold NUL bytes). */
static void check_result(struct inuse_result *r, const char *text, size_t len)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	size_t n = inuse_result__count(r);

	if (n != json_array_size(json_object_get(root, "files")))
		abort();
	json_decref(root);
	for (size_t i = 0; i < n; i++) {
		const struct inuse_file *f = inuse_result__file(r, i);

		if (!f)
			abort();
		touch(f->path);
		touch(f->reason);
		touch(f->rule);
		touch(f->token);
		touch(inuse_state_name(f->state));
		touch(inuse_decision_name(f->decision));
		for (size_t a = 0; f->method_argv && f->method_argv[a]; a++)
			touch(f->method_argv[a]);
	}
	if (inuse_result__file(r, n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inuse_client *c;
	int sp[2];

	/* the line as one answer */
	{
		char *line = malloc(size + 1);
		struct inuse_result *r;

		if (!line)
			return 0;
		memcpy(line, data, size);
		line[size] = '\0';
		if (inuse__result_parse(line, size, &r) == 0) {
			check_result(r, (const char *)data, size);
			inuse_result__free(r);
		}
	}
	/* the line as the compact answer (rows) to a check of n paths */
	{
		static const char *const paths[4] = {"/a", "/b/c", "/d\xff", "/e"};
		char *line = malloc(size + 1);
		struct inuse_result *r;
		size_t n = size % 5;

		if (!line)
			return 0;
		memcpy(line, data, size);
		line[size] = '\0';
		if (!rows_agree(line, size, paths, n))
			abort(); /* the quick way of reading rows differs */
		if (inuse__rows_parse(line, size, paths, n, &r) == 0) {
			/* rows: one per path; a full answer: its own count */
			for (size_t i = 0; i < inuse_result__count(r); i++) {
				const struct inuse_file *f = inuse_result__file(r, i);

				touch(f->path);
				touch(f->reason);
				touch(f->rule);
				touch(f->token);
				for (size_t a = 0; f->method_argv && f->method_argv[a]; a++)
					touch(f->method_argv[a]);
			}
			touch(inuse_result__json(r));
			inuse_result__free(r);
		}
	}
	/* the line as the compact answer to a verify of n paths */
	{
		static const char *const paths[4] = {"/a", "/b/c", "/d\xff", "/e"};
		size_t n = size % 5;
		struct inuse_result *r = n ? inuse__rows_new(n) : NULL;

		if (r && inuse__vrows_add(r, (const char *)data, size, paths, 0, n) == 0) {
			for (size_t i = 0; i < n; i++) {
				const struct inuse_file *f = inuse_result__file(r, i);

				touch(f->path);
				touch(f->reason);
				if (f->consistent != !strcmp(f->reason, "unchanged"))
					abort();
			}
			r->line = malloc(size + 1);
			if (r->line) {
				memcpy(r->line, data, size);
				r->line[size] = '\0';
				r->len = size;
				touch(inuse_result__json(r));
			}
		}
		inuse_result__free(r);
	}
	/* the bytes as a stream of answers on a socket */
	if (size > 100000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		return 0;
	if (write(sp[1], data, size) != (ssize_t)size) {
		close(sp[0]);
		close(sp[1]);
		return 0;
	}
	close(sp[1]);
	if (inuse__client_from_fd(sp[0], 1000, 4096, &c)) {
		close(sp[0]);
		return 0;
	}
	for (int i = 0; i < 1000; i++) {
		struct inuse_result *r;
		char *line = NULL;
		size_t len = 0;
		int err = inuse_client__recv(c, &line, &len);

		if (err) {
			if (err != -ECONNRESET && err != -EMSGSIZE)
				abort();
			break;
		}
		char *copy;

		if (strlen(line) > len)
			abort();
		copy = malloc(len + 1);
		if (!copy)
			abort();
		memcpy(copy, line, len + 1);
		if (inuse__result_parse(line, len, &r) == 0) {
			check_result(r, copy, len);
			inuse_result__free(r);
		}
		free(copy);
	}
	inuse_client__free(c);
	return 0;
}
