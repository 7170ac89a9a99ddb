/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fixture.h - the daemon's own code, run in a fuzzer: a tracker and table
 * over a kernel with no BPF loaded (kernel.h: every query fails, no
 * events), a protocol with a fixed policy, and one client connection whose
 * socket is real (a socketpair) and whose output the fuzzer reads from the
 * connection's buffer. No part of the daemon is replaced: only its inputs.
 */
#ifndef INUSE_FUZZ_FIXTURE_H
#define INUSE_FUZZ_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inused/kernel.h"
#include "inused/loop.h"
#include "inused/policy.h"
#include "inused/proto.h"
#include "inused/server.h"
#include "inused/tracker.h"

/* The files the table names and requests may ask about. */
#define FIXTURE_DIR "/tmp/inuse-fuzz-files"

struct fixture {
	struct loop loop;
	struct kernel k; /* zeroed: no BPF */
	struct tracker t;
	struct server srv;
	struct proto p;
	struct policy pol;
	struct conn *c;
	int peer_fd;  /* the client's end */
	char dir[64]; /* files the table names */
};

/* Sets the fixture up once (aborts on failure). */
struct fixture *fixture_get(void);

/* A client connection as uid (0: root; others are not admins). */
struct conn *fixture_client(struct fixture *f, uint32_t uid);
/* The client leaves: what it asked for is dropped, its state reset. */
void fixture_client_gone(struct fixture *f);

/* Adds a few entries (writers of uid 0 and 1000, names with any byte). */
void fixture_fill_table(struct fixture *f);
/* Empties the table. */
void fixture_clear_table(struct fixture *f);

/*
 * Checks the client's output: every complete line is a JSON object, an
 * answer beginning with {"id":…,"ok": (docs/protocol.md), or an event.
 * Aborts otherwise; then empties the output.
 */
void fixture_check_output(struct fixture *f);

#endif
