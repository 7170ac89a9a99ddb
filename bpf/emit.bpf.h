/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * emit.bpf.h - ring buffer records and the wake-up policy.
 *
 * Records are submitted without waking the daemon, except: when the daemon
 * has not been woken for wake_interval_ns (so an event after a quiet spell
 * is seen at once and a burst costs one wake-up per interval), when the
 * ring holds more than ring_wake_bytes, or when the inode is watched by a
 * client waiting on it.
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

/* A record without a path; about the current task. */
static __always_inline int emit_simple(__u32 type, __u32 aux, const struct inuse_key *k,
				       __u64 inode_ptr, int fd, bool urgent)
{
	__u64 now = bpf_ktime_get_boot_ns();
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
	bpf_ringbuf_submit(e, wake_flags(now, urgent));
	return 0;
}

#endif
