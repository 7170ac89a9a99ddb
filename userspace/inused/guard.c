// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/guard.h"

#include <string.h>

void guard_judge(const struct inuse_guard_read *r, const struct inuse_guard_snap *end,
		 int64_t boot_to_real, struct guard_verdict *v)
{
	const struct inuse_guard_snap *o = &r->open, *e;
	int64_t open_wall = (int64_t)o->ns + boot_to_real;

	memset(v, 0, sizeof(*v));
	v->closed = r->open_now <= 0 && r->close.ns != 0;
	e = v->closed ? &r->close : end;
	v->gone = !e;
	v->held = o->writecount > 0 || (e && e->writecount > 0);
	v->opened = r->wopens > 0;
	v->mapped = o->mmap_writable > 0 || (e && e->mmap_writable > 0);
	v->written = r->writes > 0 || (e && (e->size != o->size || e->mtime_ns != o->mtime_ns));
	v->recent = !v->written && o->writecount > 0 && !o->ctime_queried &&
		    open_wall >= (int64_t)o->mtime_ns &&
		    (uint64_t)(open_wall - (int64_t)o->mtime_ns) < GUARD_TICK_NS;
	v->changed = e && !v->written && e->ctime_ns != o->ctime_ns;
	v->torn = v->gone || v->written || v->recent || v->opened || v->mapped;
	v->reason = v->gone	 ? "gone"
		    : v->written ? "written"
		    : v->recent	 ? "written_before"
		    : v->opened	 ? "opened"
		    : v->mapped	 ? "mapped"
		    : v->held	 ? "held"
		    : v->changed ? "changed"
				 : "clean";
}

const char *guard_state(const struct guard_verdict *v)
{
	if (v->torn)
		return "torn";
	if (v->held)
		return "held";
	return v->changed ? "changed" : "clean";
}
