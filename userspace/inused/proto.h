/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proto.h - the requests of the socket protocol (docs/protocol.md): one
 * JSON object per line in, one per line out, ids echoed.
 */
#ifndef INUSED_PROTO_H
#define INUSED_PROTO_H

#include <stdint.h>
#include <sys/types.h>

#include "inused/server.h"
#include "inused/tracker.h"

#define INUSE_PROTOCOL_VERSION 1

struct proto_stats {
	uint64_t requests;
	uint64_t by_op[8];
	uint64_t errors;
};

struct proto {
	struct tracker *t;
	struct server *srv;
	gid_t admin_gid; /* members see every file; (gid_t)-1: root only */
	uint64_t started_wall_ns;
	struct proto_stats st;
};

void proto_init(struct proto *p, struct tracker *t, struct server *srv, gid_t admin_gid);

/* server_line_fn / server_oversize_fn */
void proto_line(void *ctx, struct conn *c, const char *line, size_t len);
void proto_oversize(void *ctx, struct conn *c);

#endif
