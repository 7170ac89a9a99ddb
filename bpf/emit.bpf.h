/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * emit.bpf.h - ring buffer records and the wake-up policy.
 *
 * Records are submitted without waking the daemon, except: when the daemon
 * has not been woken for wake_interval_ns (so an event after a quiet spell
 * is seen at once and a burst costs one wake-up per interval), when the
 * ring holds more than ring_wake_bytes, or when the inode is watched by a
 * client waiting on it. A record that follows others still in the ring
 * reads no clock for that (wake_flags_after).
 */
#ifndef INUSE_EMIT_BPF_H
#define INUSE_EMIT_BPF_H

static __always_inline __u64 wake_flags(__u64 now, bool urgent)
{
	if (!urgent && now - last_wake_ns < wake_interval_ns &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < ring_wake_bytes)
		return BPF_RB_NO_WAKEUP;
	last_wake_ns = now;
	stat_inc(INUSE_STAT_WAKEUPS);
	return BPF_RB_FORCE_WAKEUP;
}

/* When the current process started (its leader's boot-time start). */
static __always_inline __u64 task_start_ns(void)
{
	return KTASK()->group_leader->start_boottime;
}

/* Who (pid and process start) and when; the writer's identity (uid,
 * cgroup, command) only when full is set: OPEN needs it, a close or a hint does not. */
static __always_inline void ev_fill(struct inuse_ev *e, __u32 type, __u64 now, bool full)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	__builtin_memset(e, 0, sizeof(*e));
	e->type = type;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->ts_ns = now;
	e->fd = -1;
	e->start_ns = task_start_ns();
	if (full) {
		e->uid = (__u32)bpf_get_current_uid_gid();
		e->cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	}
}

/*
 * The policy for a record that found others in the ring when it began
 * (queued: the bytes between the daemon's position and the producer's,
 * read before its own reservation): no wake-up of its own, and no clock
 * read for one. The drain that takes those records is to come (a wake-up
 * or a tail drain is due for every record in the ring, and a drain that
 * finds records, or one reserved and not yet committed, arms the next), so
 * it, or the one after it, takes this one too. Otherwise, as wake_flags,
 * with the time read now if the record has none (a close: a TSC read, 40-50
 * ns in a VM, on every close of a writer).
 */
static __always_inline __u64 wake_flags_after(__u64 queued, __u64 now, bool urgent)
{
	if (!urgent && queued && queued < ring_wake_bytes)
		return BPF_RB_NO_WAKEUP;
	return wake_flags(now ? now : bpf_ktime_get_boot_ns(), urgent);
}

/* A record without a path; about the current task. now: its time, for
 * the records whose time the daemon reads (a write); 0 for the others (a
 * close, a hint, fork, exec, exit: their ts_ns is 0). */
static __always_inline int emit_simple(__u32 type, __u32 aux, const struct inuse_key *k,
				       __u64 inode_ptr, int fd, bool urgent, __u64 now)
{
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	struct inuse_ev *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		note_lost();
		return -1;
	}
	/* FORK and EXEC name a process whose command the daemon shows */
	ev_fill(e, type, now, type == INUSE_EV_FORK || type == INUSE_EV_EXEC);
	e->aux = aux;
	e->fd = fd;
	e->inode_ptr = inode_ptr;
	if (k) {
		e->ino = k->ino;
		e->dev = k->dev;
	}
	stat_inc(INUSE_STAT_EVENTS);
	bpf_ringbuf_submit(e, wake_flags_after(queued, now, urgent));
	return 0;
}

#endif
