/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* prom.h - the daemon's counters and gauges in Prometheus text format. */
#ifndef INUSED_PROM_H
#define INUSED_PROM_H

#include "common/strbuf.h"

struct tracker;
struct proto;
struct alerts;

struct prom_sources {
	struct tracker *t;
	struct proto *p;
	struct alerts *al;
};

/* metrics_render_fn; ctx is a struct prom_sources. */
void prom_render(void *ctx, struct strbuf *b);

#endif
