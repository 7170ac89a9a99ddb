// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/quiet.h"

#include "common/timeutil.h"
#include "inused/guardk.h"

enum quiet quiet_check(struct tracker *t, struct entry *e, uint64_t quiet_ns, uint64_t *left)
{
	struct inuse_guard_probe_req rq = {e->inode_ptr, e->ino, e->dev, 0};
	struct inuse_guard_probe_res rs;
	struct inuse_inode v;
	uint64_t now = clock_real_ns(), last;

	*left = 0;
	if (kguard_probe(t->k, &rq, &rs, 1) || (rs.flags & INUSE_PROBE_GONE))
		return QUIET_UNKNOWN;
	if (rs.snap.mmap_writable)
		return QUIET_UNKNOWN;
	/* a modification time in the future tells nothing */
	last = rs.snap.mtime_ns <= now ? rs.snap.mtime_ns : 0;
	if (kernel_read_inode(t->k, e->dev, e->ino, &v) == 0 && v.last_write_ns &&
	    tracker_wall_ns(t, v.last_write_ns) > last)
		last = tracker_wall_ns(t, v.last_write_ns);
	tracker_note_mtime(t, e, rs.snap.mtime_ns);
	if (now >= last && now - last >= quiet_ns)
		return QUIET_YES;
	*left = now >= last ? quiet_ns - (now - last) : quiet_ns;
	return QUIET_NO;
}
