// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_request - request lines through the daemon's whole path: the
 * line handler (size bound, JSON, dispatch), every request handler
 * (hello, list, stats, check, wait, verify, subscribe), lookups of the
 * paths named (with the client's credentials: the client is root or
 * not, as the first byte says), answers written over turns. Invariants:
 * every line the client gets is a JSON object, every answer begins with
 * its id and "ok"; no crash, no leak (the client leaves after each input,
 * dropping what it asked for); a line read without a JSON tree
 * (fastreq.h) is the request JSON reads.
 *
 * Input: [uid selector] then request lines separated by newlines.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fastreq_agree.h"
#include "fixture.h"

#define MAX_LINES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool filled;
	struct fixture *f = fixture_get();
	struct conn *c;
	size_t off = 1, lines = 0;

	if (!filled) {
		fixture_fill_table(f);
		filled = true;
	}
	if (size < 1)
		return 0;
	/* root, an admin-group member's uid does not matter: 0 or 1000 */
	c = fixture_client(f, data[0] & 1 ? 1000 : 0);
	while (off < size && lines++ < MAX_LINES) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;

		/* as the server hands lines over: those of a busy client wait */
		for (int turns = 0; c->busy && turns < 100000; turns++) {
			proto_run_jobs(&f->p);
			fixture_check_output(f);
		}
		if (!fastreq_agrees((const char *)data + off, len))
			abort();
		proto_line(&f->p, c, (const char *)data + off, len);
		fixture_check_output(f);
		off += len + 1;
	}
	for (int turns = 0; c->busy && turns < 100000; turns++) {
		proto_run_jobs(&f->p);
		fixture_check_output(f);
	}
	/* waits due now are answered (timeout 0) */
	proto_waiters_timer(&f->p, UINT64_MAX);
	fixture_check_output(f);
	fixture_client_gone(f);
	return 0;
}
