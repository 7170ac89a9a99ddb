// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * inuse.bpf.c - the kernel side of inuse.
 *
 * Sees regular files opened for writing (syscall exit of the open family and
 * io_uring opens), the ways a writer can go away (close, dup2/dup3 over an
 * fd, close_range, exec, exit, munmap, io_uring close), write activity
 * (writeback_mark_inode_dirty, off the syscall path), and walks task fd
 * tables and mappings for the daemon's scans. The kernel's own writer count
 * (inode->i_writecount) is read by the "probe" program, which the daemon runs
 * on demand; it is the truth every "closed" answer is checked against.
 * See docs/design.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inuse_abi.h"
#include "maps.bpf.h"
#include "filter.bpf.h"
#include "path.bpf.h"
#include "emit.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define K_O_ACCMODE 3
#define K_O_WRONLY 1
#define K_O_RDWR 2
#define K_O_CREAT 0100
#define K_O_TRUNC 01000

static __always_inline void holder_add(__u32 tgid, __u32 why)
{
	__u32 *v = bpf_map_lookup_elem(&holders, &tgid);

	if (v) {
		if (!(*v & why))
			__sync_fetch_and_or(v, why);
		return;
	}
	bpf_map_update_elem(&holders, &tgid, &why, BPF_NOEXIST);
}

static __always_inline bool is_holder(__u32 tgid)
{
	return bpf_map_lookup_elem(&holders, &tgid) != NULL;
}

static __always_inline __u32 cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool foreign_ns(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return host_mntns && BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum) != host_mntns;
}

/*
 * A file was installed at fd in the current task's table by an open. Called
 * at syscall exit, so a failed open costs only the first test.
 */
#define FLAGS_UNKNOWN 0x80000000u /* io_uring: the flags are not at hand */

static __always_inline int on_open(long ret, __u32 open_flags, __u32 evflags)
{
	struct inuse_inode *st, fresh = {};
	struct inuse_key key;
	struct inuse_ev hdr;
	struct dentry *dentry;
	struct inode *inode;
	struct file *f;
	bool urgent = false, want_path = true;
	__u32 zero = 0, tgid;
	struct scratch *s;
	__u64 now;
	int off;

	if (ret < 0)
		return 0;
	/* a read-only open is never a writer: done before touching the file */
	if (!(open_flags & FLAGS_UNKNOWN) && (open_flags & K_O_ACCMODE) == 0)
		return 0;
	open_flags &= ~FLAGS_UNKNOWN;
	f = fd_file((int)ret);
	if (!file_is_writer(f))
		return 0;
	tgid = cur_tgid();
	inode = BPF_CORE_READ(f, f_inode);
	dentry = BPF_CORE_READ(f, f_path.dentry);
	inode_key(inode, &key);
	now = bpf_ktime_get_boot_ns();

	st = bpf_map_lookup_elem(&inodes, &key);
	if (st) {
		__sync_fetch_and_add(&st->open_gen, 1);
		urgent = st->watch != 0;
		want_path = st->dentry_ptr != (__u64)dentry;
	} else {
		fresh.inode_ptr = (__u64)inode;
		fresh.dentry_ptr = (__u64)dentry;
		fresh.first_open_ns = now;
		fresh.open_gen = 1;
		if (bpf_map_update_elem(&inodes, &key, &fresh, BPF_NOEXIST) == 0)
			evflags |= INUSE_EVF_NEW_INODE;
		else if (!bpf_map_lookup_elem(&inodes, &key))
		{
			__sync_fetch_and_add(&map_full_events, 1);
			stat_inc(INUSE_STAT_MAP_FULL);
		}
	}
	holder_add(tgid, INUSE_HOLDER_FD);

	ev_fill(&hdr, INUSE_EV_OPEN, now, true);
	hdr.ino = key.ino;
	hdr.dev = key.dev;
	hdr.fd = (int)ret;
	hdr.inode_ptr = (__u64)inode;
	hdr.f_flags = BPF_CORE_READ(f, f_flags);
	hdr.f_mode = BPF_CORE_READ(f, f_mode);
	hdr.open_flags = open_flags;
	if (want_path && foreign_ns())
		evflags |= INUSE_EVF_FOREIGN_NS;

	if (!want_path) {
		struct inuse_ev *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

		if (!e) {
			note_lost();
			return 0;
		}
		*e = hdr;
		e->evflags = evflags;
		stat_inc(INUSE_STAT_EVENTS);
		bpf_ringbuf_submit(e, wake_flags(now, urgent));
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	off = walk_path(BPF_CORE_READ(f, f_path.mnt), dentry, s->buf, &evflags);
	hdr.evflags = evflags | INUSE_EVF_PATH;
	emit_with_path(&hdr, s->buf, off, urgent);
	return 0;
}

/* The flags the opener passed, read from the saved user registers. */
static __always_inline struct pt_regs *user_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return on_open(ctx->ret, (__u32)PT_REGS_PARM3_SYSCALL(user_regs()), 0);
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return on_open(ctx->ret, (__u32)PT_REGS_PARM2_SYSCALL(user_regs()), 0);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return on_open(ctx->ret, K_O_WRONLY | K_O_CREAT | K_O_TRUNC, 0);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	struct open_how *how;
	__u64 flags = 0;

	if (ctx->ret < 0)
		return 0;
	how = (struct open_how *)PT_REGS_PARM3_SYSCALL(user_regs());
	bpf_probe_read_user(&flags, sizeof(flags), &how->flags);
	return on_open(ctx->ret, (__u32)flags, 0);
}

SEC("tracepoint/syscalls/sys_exit_open_by_handle_at")
int exit_open_by_handle_at(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0)
		return 0;
	return on_open(ctx->ret, (__u32)PT_REGS_PARM3_SYSCALL(user_regs()), 0);
}

/* fd is about to be dropped from the current table: if it is a writer of a
 * tracked inode, tell the daemon, which then reads the writer count. */
static __always_inline int on_fd_drop(int fd)
{
	struct inuse_inode *st;
	struct inuse_key key;
	struct inode *inode;
	struct file *f;

	f = fd_file(fd);
	if (!f || !(BPF_CORE_READ(f, f_mode) & K_FMODE_WRITE))
		return 0;
	inode = BPF_CORE_READ(f, f_inode);
	inode_key(inode, &key);
	st = bpf_map_lookup_elem(&inodes, &key);
	if (!st)
		return 0;
	emit_simple(INUSE_EV_CLOSE, 0, &key, (__u64)inode, fd, st->watch != 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct trace_event_raw_sys_enter *ctx)
{
	return on_fd_drop((int)ctx->args[0]);
}

/* dup2/dup3 close what newfd held. */
SEC("tracepoint/syscalls/sys_enter_dup2")
int enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == ctx->args[1])
		return 0;
	return on_fd_drop((int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return on_fd_drop((int)ctx->args[1]);
}

/* close_range may drop many fds: the daemon re-checks the holder. */
SEC("tracepoint/syscalls/sys_exit_close_range")
int exit_close_range(struct trace_event_raw_sys_exit *ctx)
{
	if (is_holder(cur_tgid()))
		emit_simple(INUSE_EV_HINT, INUSE_HINT_CLOSE_RANGE, NULL, 0, -1, false);
	return 0;
}

/* A shared writable mapping may have been the last writer. */
SEC("tracepoint/syscalls/sys_exit_munmap")
int exit_munmap(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tgid = cur_tgid();
	__u32 *v = bpf_map_lookup_elem(&holders, &tgid);

	if (v && (*v & INUSE_HOLDER_MMAP))
		emit_simple(INUSE_EV_HINT, INUSE_HINT_MUNMAP, NULL, 0, -1, false);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;

	if (ptgid == ctgid || !is_holder(ptgid))
		return 0; /* a thread, or nothing inherited */
	holder_add(ctgid, INUSE_HOLDER_FD);
	emit_simple(INUSE_EV_FORK, ctgid, NULL, 0, -1, false);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p)
{
	if (is_holder(p->tgid))
		emit_simple(INUSE_EV_EXEC, 0, NULL, 0, -1, false);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter != 0 || !is_holder(tgid))
		return 0; /* other threads still hold the fd table */
	bpf_map_delete_elem(&holders, &tgid);
	emit_simple(INUSE_EV_EXIT, 0, NULL, 0, -1, false);
	return 0;
}

/*
 * Write activity, off the syscall path: an inode got dirty. Tracked inodes
 * get their write time and generation; an untracked regular file that the
 * kernel counts writers for was opened by a path no hook sees (an io_uring
 * fixed file, a kernel-internal open): it is added and reported.
 */
SEC("tp_btf/writeback_mark_inode_dirty")
int BPF_PROG(on_dirty, struct inode *inode, int flags)
{
	struct inuse_inode *st, fresh = {};
	struct inuse_key key;
	__u64 now;

	if (!inode_tracked_kind(inode))
		return 0;
	inode_key(inode, &key);
	now = bpf_ktime_get_boot_ns();
	st = bpf_map_lookup_elem(&inodes, &key);
	if (st) {
		st->last_write_ns = now;
		__sync_fetch_and_add(&st->write_gen, 1);
		stat_inc(INUSE_STAT_WRITES);
		if (now - st->write_emit_ns >= INUSE_WRITE_EVENT_NS || st->watch) {
			st->write_emit_ns = now;
			emit_simple(INUSE_EV_WRITE, 0, &key, (__u64)inode, -1, st->watch != 0);
		}
		return 0;
	}
	if (BPF_CORE_READ(inode, i_writecount.counter) <= 0)
		return 0;
	fresh.inode_ptr = (__u64)inode;
	fresh.first_open_ns = now;
	fresh.last_write_ns = now;
	fresh.write_gen = 1;
	if (bpf_map_update_elem(&inodes, &key, &fresh, BPF_NOEXIST) != 0)
		return 0;
	stat_inc(INUSE_STAT_DISCOVERED);
	emit_simple(INUSE_EV_DISCOVER, 0, &key, (__u64)inode, -1, false);
	return 0;
}

/* io_uring: opens that install an fd, and closes, never pass the syscall
 * hooks. Optional: the daemon turns it off where the tracepoint differs. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(on_uring_complete, void *ctx_, struct io_kiocb *req, struct io_uring_cqe *cqe)
{
	__u8 op = BPF_CORE_READ(req, opcode);
	int res;

	if (op == IORING_OP_CLOSE) {
		if (is_holder(cur_tgid()))
			emit_simple(INUSE_EV_HINT, INUSE_HINT_URING_CLOSE, NULL, 0, -1, false);
		return 0;
	}
	if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2)
		return 0;
	res = BPF_CORE_READ(cqe, res);
	return on_open(res, FLAGS_UNKNOWN, INUSE_EVF_URING);
}

/* ---- scans, run by the daemon through BPF iterators ---- */

static __always_inline int scan_emit(struct seq_file *seq, struct task_struct *task,
				     struct file *f, int fd)
{
	struct inuse_inode fresh = {};
	struct inuse_scan_rec *r;
	struct inuse_key key;
	struct inode *inode;
	struct scratch *s;
	__u32 zero = 0, evflags = 0, tgid, len;
	int off;

	r = bpf_map_lookup_elem(&scan_rec_map, &zero);
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!r || !s)
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	inode = BPF_CORE_READ(f, f_inode);
	inode_key(inode, &key);
	fresh.inode_ptr = (__u64)inode;
	fresh.dentry_ptr = (__u64)BPF_CORE_READ(f, f_path.dentry);
	fresh.open_gen = 1;
	fresh.first_open_ns = bpf_ktime_get_boot_ns(); /* found now: a new lifetime */
	bpf_map_update_elem(&inodes, &key, &fresh, BPF_NOEXIST);
	holder_add(tgid, fd >= 0 ? INUSE_HOLDER_FD : INUSE_HOLDER_MMAP);

	r->ino = key.ino;
	r->dev = key.dev;
	r->fd = fd;
	r->tgid = tgid;
	r->uid = BPF_CORE_READ(task, cred, uid.val);
	r->inode_ptr = (__u64)inode;
	r->cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	r->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	r->f_flags = BPF_CORE_READ(f, f_flags);
	r->f_mode = BPF_CORE_READ(f, f_mode);
	BPF_CORE_READ_STR_INTO(&r->comm, task, group_leader, comm);
	if (host_mntns && BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum) != host_mntns)
		evflags |= INUSE_EVF_FOREIGN_NS;
	off = walk_path(BPF_CORE_READ(f, f_path.mnt), BPF_CORE_READ(f, f_path.dentry), s->buf,
			&evflags);
	len = INUSE_PATH_MAX - off;
	r->evflags = evflags | INUSE_EVF_PATH;
	r->path_len = len;
	bpf_probe_read_kernel(r->path, len & SCRATCH_MASK, s->buf + (off & SCRATCH_MASK));
	bpf_seq_write(seq, r, INUSE_SCAN_HDR + (len & SCRATCH_MASK));
	return 0;
}

SEC("iter/task_file")
int scan_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *f = ctx->file;

	if (!task || !f)
		return 0;
	if (task->pid != task->tgid)
		return 0; /* threads share the leader's table */
	if (!file_is_writer(f))
		return 0;
	return scan_emit(ctx->meta->seq, task, f, ctx->fd);
}

/* A mapping holds its file: if that file was opened for writing, the
 * kernel counts it as a writer until the mapping goes, shared or not. */
SEC("iter/task_vma")
int scan_vmas(struct bpf_iter__task_vma *ctx)
{
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct file *f;

	if (!task || !vma)
		return 0;
	f = BPF_CORE_READ(vma, vm_file);
	if (!file_is_writer(f))
		return 0;
	return scan_emit(ctx->meta->seq, task, f, -1);
}

/*
 * The kernel's writer count of up to INUSE_PROBE_BATCH inodes, run on demand
 * with BPF_PROG_TEST_RUN (args[0] = how many). An inode pointer is trusted
 * only while the inode there still has the same identity: once the last
 * writer is gone the inode may be freed, and then nobody writes it.
 */
SEC("raw_tp")
int probe(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 n = ctx->args[0];

	for (__u32 i = 0; i < INUSE_PROBE_BATCH && i < n; i++) {
		struct inuse_probe_req *rq;
		struct inuse_probe_res *rs;
		struct inode *inode;
		__u64 ino = 0;
		struct super_block *sb = NULL;
		__u32 dev = 0;
		__u32 key = i;

		rq = bpf_map_lookup_elem(&probe_req, &key);
		rs = bpf_map_lookup_elem(&probe_res, &key);
		if (!rq || !rs)
			break;
		inode = (struct inode *)rq->inode_ptr;
		rs->writecount = 0;
		rs->nlink = 0;
		rs->flags = INUSE_PROBE_GONE;
		if (!inode)
			continue;
		if (bpf_probe_read_kernel(&ino, sizeof(ino), &inode->i_ino) ||
		    bpf_probe_read_kernel(&sb, sizeof(sb), &inode->i_sb) || !sb ||
		    bpf_probe_read_kernel(&dev, sizeof(dev), &sb->s_dev))
			continue;
		if (ino != rq->ino || dev != rq->dev)
			continue;
		rs->flags = 0;
		bpf_probe_read_kernel(&rs->writecount, sizeof(rs->writecount),
				      &inode->i_writecount.counter);
		bpf_probe_read_kernel(&rs->nlink, sizeof(rs->nlink), &inode->i_nlink);
	}
	return 0;
}
