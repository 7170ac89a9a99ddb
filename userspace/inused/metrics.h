/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * metrics.h - Prometheus metrics over HTTP (libmicrohttpd), off unless
 * asked for, on a loopback address by default. The HTTP server runs in the
 * daemon's own event loop (no thread), so it reads the table safely.
 */
#ifndef INUSED_METRICS_H
#define INUSED_METRICS_H

#include <stdint.h>

#include "common/strbuf.h"
#include "inused/loop.h"

struct MHD_Daemon;

/* Writes the metrics text (exposition format 0.0.4) into b. */
typedef void (*metrics_render_fn)(void *ctx, struct strbuf *b);

struct metrics {
	struct MHD_Daemon *mhd;
	struct loop_watch w;
	metrics_render_fn render;
	void *ctx;
	uint64_t scrapes;
};

/* listen: "ADDR:PORT" (IPv4) or ":PORT" (127.0.0.1). 0 or -errno. */
int metrics_start(struct metrics *m, struct loop *l, const char *listen, metrics_render_fn fn,
		  void *ctx);
void metrics_stop(struct metrics *m, struct loop *l);

/* Lets the HTTP server work (timeouts of idle connections). Returns the
 * CLOCK_MONOTONIC time it wants to run again, or 0. */
uint64_t metrics_run(struct metrics *m, uint64_t now_mono);

/* Parses "ADDR:PORT" / ":PORT"; 0 or -EINVAL. */
int metrics_parse_listen(const char *s, uint32_t *addr_be, uint16_t *port);

#endif
