// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * inuse.bpf.c - the kernel side of inuse.
 *
 * Sees regular files opened for writing (syscall exit of the open family and
 * io_uring opens, fixed-file slots included), the ways a writer can go away
 * (close, dup2/dup3 over an fd, close_range, exec, exit, munmap, io_uring
 * close), write activity (writeback_mark_inode_dirty, off the syscall
 * path), renames, and walks task fd tables, io_uring file tables and
 * mappings for the daemon's scans. The kernel's own writer count
 * (inode->i_writecount) is read by the "probe" program, which the daemon runs
 * on demand; it is the truth every "closed" answer is checked against.
 * See docs/design.md.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "inuse_abi.h"
#include "ctx.bpf.h"
#include "maps.bpf.h"
#include "filter.bpf.h"
#include "path.bpf.h"
#include "emit.bpf.h"
#include "guard.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define K_O_ACCMODE	   3
#define K_O_WRONLY	   1
#define K_O_RDWR	   2
#define K_O_CREAT	   0100
#define K_O_TRUNC	   01000
#define K_O_CLOEXEC	   02000000
#define K_FILE_INDEX_ALLOC 0xffffffffu
#define K_FFS_MASK	   (~3UL) /* io_uring keeps flags in the low bits */

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

static __always_inline __u32 holder_flags(__u32 tgid)
{
	__u32 *v = bpf_map_lookup_elem(&holders, &tgid);

	return v ? *v : 0;
}

static __always_inline __u32 cur_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline bool foreign_ns(void)
{
	struct task_struct *t = KTASK();

	/* plain loads (kptr.bpf.h): no helper call */
	return host_mntns && t->nsproxy && t->nsproxy->mnt_ns->ns.inum != host_mntns;
}

/* A hint, at most one per period machine-wide. */
static __always_inline void rate_limited_hint(__u64 *last, __u64 period, __u32 why, bool urgent)
{
	__u64 now = bpf_ktime_get_boot_ns();

	if (now - *last < period)
		return;
	*last = now;
	emit_simple(INUSE_EV_HINT, why, NULL, 0, -1, urgent);
}

/* Files whose writers no process is known to hold (an fd in flight, a
 * loop device's backing file, a closed ring's table) go when something
 * lets go of them: a close or an exit, somewhere. */
static __always_inline void release_hint(void)
{
	if (holderless_files)
		rate_limited_hint(&last_release_hint_ns, INUSE_RELEASE_HINT_NS, INUSE_HINT_RELEASE,
				  true);
}

/*
 * A file was installed at fd (or, with INUSE_EVF_FIXED, in io_uring slot
 * fd) of the current process for writing: track its inode, tell the daemon.
 */
static __always_inline int track_open(const struct wfile *w, int fd, __u32 open_flags,
				      __u32 evflags)
{
	struct inode *name_inode = w->name_inode, *inode = w->inode;
	struct dentry *dentry = w->dentry;
	struct inuse_inode *st, fresh = {};
	struct inuse_key key = w->key;
	struct inuse_ev *e;
	bool urgent = false, want_name = true;
	__u32 tgid = cur_tgid(), own = 0;
	__u64 now;

	now = bpf_ktime_get_boot_ns();
	if (guard_active)
		own = guard_note(&key, inode, true, 0);

	st = bpf_map_lookup_elem(&inodes, &key);
	if (st) {
		if (own && st->guard_gen != own)
			st->guard_gen = own;
		__sync_fetch_and_add(&st->open_gen, 1);
		urgent = st->watch != 0;
		want_name = st->dentry_ptr != (__u64)dentry;
	} else {
		fresh.inode_ptr = (__u64)inode;
		fresh.dentry_ptr = (__u64)dentry;
		fresh.first_open_ns = now;
		fresh.open_gen = 1;
		fresh.mtime_ns = inode_mtime_ns(inode);
		fresh.guard_gen = own;
		if (bpf_map_update_elem(&inodes, &key, &fresh, BPF_NOEXIST) == 0) {
			evflags |= INUSE_EVF_NEW_INODE;
		} else if (!bpf_map_lookup_elem(&inodes, &key)) {
			__sync_fetch_and_add(&map_full_events, 1);
			stat_inc(INUSE_STAT_MAP_FULL);
		}
	}
	holder_add(tgid, (evflags & INUSE_EVF_FIXED) ? INUSE_HOLDER_URING : INUSE_HOLDER_FD);

	/*
	 * A fixed-size record, filled in place: no name is walked here, on
	 * every opener's time. A name the daemon does not know (a new inode,
	 * another hard link) is walked by the daemon from dentry_ptr, which
	 * the opener's file pins while it is open.
	 */
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		note_lost();
		return 0;
	}
	ev_fill(e, INUSE_EV_OPEN, now, true);
	e->ino = key.ino;
	e->dev = key.dev;
	e->fd = fd;
	e->inode_ptr = (__u64)inode;
	e->dentry_ptr = (__u64)dentry;
	e->name_inode_ptr = (__u64)name_inode;
	e->sb_dev = w->sb_dev;
	e->f_flags = w->f_flags;
	e->f_mode = w->f_mode;
	e->open_flags = open_flags;
	if (!(evflags & INUSE_EVF_FIXED) && fd_cloexec(fd))
		e->open_flags |= K_O_CLOEXEC;
	if (want_name)
		evflags |= INUSE_EVF_NAME_WANTED;
	if (foreign_ns())
		evflags |= INUSE_EVF_FOREIGN_NS;
	e->evflags = evflags;
	stat_inc(INUSE_STAT_EVENTS);
	bpf_ringbuf_submit(e, wake_flags(now, urgent));
	return 0;
}

/* A read-only open is never a writer: io_uring opens do not say. */
#define FLAGS_UNKNOWN 0x80000000u

/* An open returned fd ret: checked at syscall exit, so a failed open costs
 * only the first test and a read-only one the second. */
static __always_inline int on_open(long ret, __u32 open_flags, __u32 evflags)
{
	struct wfile w;

	if (ret < 0)
		return 0;
	if (guard_active && ((open_flags & FLAGS_UNKNOWN) || (open_flags & K_O_ACCMODE) == 0))
		guard_on_open((int)ret);
	if (!(open_flags & FLAGS_UNKNOWN) && (open_flags & K_O_ACCMODE) == 0)
		return 0;
	if (!writer_file(fd_file((int)ret), &w))
		return 0;
	return track_open(&w, (int)ret, open_flags & ~FLAGS_UNKNOWN, evflags);
}

/* The opener's syscall argument n (2 or 3), read from its saved user
 * registers. */
static __always_inline __u64 user_arg(int n)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return n == 2 ? PT_REGS_PARM2_SYSCALL(regs) : PT_REGS_PARM3_SYSCALL(regs);
}

/*
 * The exits of the five open calls: one body, which tells them apart by the
 * system call number (set by the daemon), so that the daemon loads and
 * verifies it once and attaches it to each tracepoint (progshare.c). The
 * flags are where each call keeps them: open's 2nd argument, openat's and
 * open_by_handle_at's 3rd, openat2's struct open_how; creat has none.
 */
static __always_inline int on_open_exit(struct sys_exit_ctx *ctx)
{
	long nr = ctx->nr, ret = ctx->ret;
	__u64 flags = 0;

	if (ret < 0)
		return 0;
	if (nr == nr_creat) {
		flags = K_O_WRONLY | K_O_CREAT | K_O_TRUNC;
	} else if (nr == nr_open) {
		flags = user_arg(2);
	} else if (nr == nr_openat2) {
		/* struct open_how (UAPI) begins with its flags. User memory:
		 * another thread may have changed or dropped it since the
		 * kernel read it, so the flags are only reported and the
		 * file's own mode decides whether it is a writer */
		bpf_probe_read_user(&flags, sizeof(flags), (const void *)user_arg(3));
		flags |= FLAGS_UNKNOWN;
	} else {
		flags = user_arg(3); /* openat, open_by_handle_at */
	}
	return on_open(ret, (__u32)flags, 0);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int exit_openat(struct sys_exit_ctx *ctx)
{
	return on_open_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_open")
int exit_open(struct sys_exit_ctx *ctx)
{
	return on_open_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int exit_creat(struct sys_exit_ctx *ctx)
{
	return on_open_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int exit_openat2(struct sys_exit_ctx *ctx)
{
	return on_open_exit(ctx);
}

SEC("tracepoint/syscalls/sys_exit_open_by_handle_at")
int exit_open_by_handle_at(struct sys_exit_ctx *ctx)
{
	return on_open_exit(ctx);
}

/* An io_uring instance's file: the anonymous inode named "[io_uring]". */
static __always_inline bool is_uring_file(struct file *f)
{
	char name[11] = {};

	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return name[0] == '[' && name[1] == 'i' && name[2] == 'o' && name[3] == '_' &&
	       name[4] == 'u' && name[5] == 'r' && name[6] == 'i' && name[7] == 'n' &&
	       name[8] == 'g' && name[9] == ']';
}

/* fd is about to be dropped from the current table: if it is a writer of a
 * tracked inode, tell the daemon, which then reads the writer count. */
static __always_inline int on_fd_drop(int fd)
{
	struct inuse_inode *st;
	struct wfile w;
	struct file *f;

	f = fd_file(fd);
	if (guard_active)
		guard_on_close(f);
	release_hint();
	/* most closes are of files not open for writing: their mode alone */
	if (!f || !(KCAST(struct file, f)->f_mode & K_FMODE_WRITE))
		return 0;
	if (!wfile_head(f, &w) || !wfile_inode(&w))
		return 0;
	if ((w.i_mode & K_S_IFMT) != K_S_IFREG) {
		/* a ring that holds fixed files: they go with it */
		if ((holder_flags(cur_tgid()) & INUSE_HOLDER_URING) && is_uring_file(f))
			emit_simple(INUSE_EV_HINT, INUSE_HINT_URING_CLOSE, NULL, 0, -1, false);
		return 0; /* pipes, sockets, devices */
	}
	if (w.magic == K_BTRFS_MAGIC)
		inode_key(w.name_inode, &w.key);
	st = bpf_map_lookup_elem(&inodes, &w.key);
	if (!st && w.magic == K_OVERLAYFS_MAGIC) {
		w.inode = data_inode(w.name_inode);
		inode_key(w.inode, &w.key);
		st = bpf_map_lookup_elem(&inodes, &w.key);
	}
	if (st)
		emit_simple(INUSE_EV_CLOSE, 0, &w.key, (__u64)w.inode, fd, st->watch != 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int enter_close(struct sys_enter_ctx *ctx)
{
	return on_fd_drop((int)ctx->args[0]);
}

/* dup2/dup3 close what newfd held. */
SEC("tracepoint/syscalls/sys_enter_dup2")
int enter_dup2(struct sys_enter_ctx *ctx)
{
	if (ctx->args[0] == ctx->args[1])
		return 0;
	return on_fd_drop((int)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int enter_dup3(struct sys_enter_ctx *ctx)
{
	return on_fd_drop((int)ctx->args[1]);
}

/* close_range may drop many fds: the daemon re-checks the holder. */
SEC("tracepoint/syscalls/sys_exit_close_range")
int exit_close_range(struct sys_exit_ctx *ctx)
{
	release_hint();
	if (holder_flags(cur_tgid()))
		emit_simple(INUSE_EV_HINT, INUSE_HINT_CLOSE_RANGE, NULL, 0, -1, false);
	return 0;
}

/* A shared writable mapping may have been the last writer. */
SEC("tracepoint/syscalls/sys_exit_munmap")
int exit_munmap(struct sys_exit_ctx *ctx)
{
	if (holder_flags(cur_tgid()) & INUSE_HOLDER_MMAP)
		emit_simple(INUSE_EV_HINT, INUSE_HINT_MUNMAP, NULL, 0, -1, false);
	return 0;
}

/* A rename may have moved a tracked file or one of its directories. */
static __always_inline int on_rename(long ret)
{
	if (ret == 0 && tracked_files)
		rate_limited_hint(&last_rename_hint_ns, INUSE_RENAME_HINT_NS, INUSE_HINT_RENAME,
				  false);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_rename")
int exit_rename(struct sys_exit_ctx *ctx)
{
	return on_rename(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_renameat")
int exit_renameat(struct sys_exit_ctx *ctx)
{
	return on_rename(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_renameat2")
int exit_renameat2(struct sys_exit_ctx *ctx)
{
	return on_rename(ctx->ret);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u32 pf;

	if (ptgid == ctgid)
		return 0; /* a thread */
	if (guard_active)
		guard_on_fork(ptgid, ctgid);
	pf = holder_flags(ptgid);
	if (!pf)
		return 0; /* nothing inherited */
	holder_add(ctgid, pf);
	emit_simple(INUSE_EV_FORK, ctgid, NULL, 0, -1, false);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p)
{
	if (holder_flags(p->tgid))
		emit_simple(INUSE_EV_EXEC, 0, NULL, 0, -1, false);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	if (p->signal->live.counter != 0)
		return 0; /* other threads still hold the fd table */
	if (guard_active)
		guard_on_exit(tgid);
	release_hint();
	if (!holder_flags(tgid))
		return 0;
	bpf_map_delete_elem(&holders, &tgid);
	emit_simple(INUSE_EV_EXIT, 0, NULL, 0, -1, false);
	return 0;
}

/*
 * Write activity, off the syscall path: an inode got dirty. A write dirties
 * data pages or moves the modification time; an atime update, a chmod or
 * another metadata-only change does neither and is not counted. Tracked
 * inodes get their write time and generation; an untracked regular file
 * that the kernel counts writers for was opened by a path no hook sees (a
 * kernel-internal open, a ring slot on a kernel without that hook): it is
 * added and reported.
 */
SEC("tp_btf/writeback_mark_inode_dirty")
int BPF_PROG(on_dirty, struct inode *inode, int flags)
{
	struct inuse_inode *st, fresh = {};
	struct inuse_key key;
	__u64 now, mt;

	if (!inode_tracked_kind(inode))
		return 0;
	inode_key(inode, &key);
	if (guard_active)
		guard_note(&key, inode, false, (__u32)flags);
	st = bpf_map_lookup_elem(&inodes, &key);
	if (st) {
		mt = inode_mtime_ns(inode);
		if (!((__u32)flags & dirty_pages_flag()) && mt == st->mtime_ns)
			return 0;
		now = bpf_ktime_get_boot_ns();
		st->mtime_ns = mt;
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
	now = bpf_ktime_get_boot_ns();
	fresh.inode_ptr = (__u64)inode;
	fresh.first_open_ns = now;
	fresh.last_write_ns = now;
	fresh.write_gen = 1;
	fresh.mtime_ns = inode_mtime_ns(inode);
	if (bpf_map_update_elem(&inodes, &key, &fresh, BPF_NOEXIST) != 0)
		return 0;
	stat_inc(INUSE_STAT_DISCOVERED);
	{
		struct inuse_ev *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
		struct dentry *d = inode_some_dentry(inode);

		if (!e) {
			note_lost();
			return 0;
		}
		ev_fill(e, INUSE_EV_DISCOVER, now, false);
		e->ino = key.ino;
		e->dev = key.dev;
		e->inode_ptr = (__u64)inode;
		if (d) {
			/* a name, walked by the daemon */
			e->dentry_ptr = (__u64)d;
			e->name_inode_ptr = (__u64)inode;
			e->sb_dev = BPF_CORE_READ(inode, i_sb, s_dev);
			e->evflags = INUSE_EVF_NAME_WANTED;
		}
		stat_inc(INUSE_STAT_EVENTS);
		bpf_ringbuf_submit(e, wake_flags(now, false));
	}
	return 0;
}

/* ---- io_uring ---- */

/* The parts of io_uring's structures read here (Linux 6.13+ layout; on
 * older kernels the fields are absent and fixed files are found by their
 * first write instead). */
struct io_open___inuse {
	__u32 file_slot;
} __attribute__((preserve_access_index));

struct io_rsrc_node___inuse {
	unsigned long file_ptr;
} __attribute__((preserve_access_index));

struct io_rsrc_data___inuse {
	unsigned int nr;
	struct io_rsrc_node___inuse **nodes;
} __attribute__((preserve_access_index));

struct io_file_table___inuse {
	struct io_rsrc_data___inuse data;
} __attribute__((preserve_access_index));

struct io_ring_ctx___inuse {
	struct io_file_table___inuse file_table;
} __attribute__((preserve_access_index));

struct io_kiocb___inuse {
	u8 opcode;
	struct io_cmd_data cmd;
	struct io_ring_ctx___inuse *ctx;
} __attribute__((preserve_access_index));

static __always_inline bool uring_tables_known(void)
{
	return bpf_core_field_exists(struct io_rsrc_data___inuse, nodes) &&
	       bpf_core_field_exists(struct io_rsrc_node___inuse, file_ptr);
}

/* The file in fixed-file slot idx of ring ctx, or NULL. */
static __always_inline struct file *uring_slot_file(struct io_ring_ctx___inuse *ctx, __u32 idx)
{
	struct io_rsrc_node___inuse **nodes, *node = NULL;
	unsigned long fp;

	if (!uring_tables_known())
		return NULL;
	if (idx >= BPF_CORE_READ(ctx, file_table.data.nr))
		return NULL;
	nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
	if (!nodes || bpf_probe_read_kernel(&node, sizeof(node), nodes + idx) || !node)
		return NULL;
	fp = BPF_CORE_READ(node, file_ptr);
	return (struct file *)(fp & K_FFS_MASK);
}

/* io_uring: opens, into an fd or a fixed-file slot, and closes never pass
 * the syscall hooks. Optional: the daemon turns it off where it does not
 * load. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(on_uring_complete, void *ctx_, void *req, void *cqe)
{
	struct io_kiocb___inuse *r = (void *)req;
	__u8 op = BPF_CORE_READ(r, opcode);
	struct io_open___inuse *open;
	struct wfile w;
	__u32 slot, idx;
	struct file *f;
	int res;

	if (op == IORING_OP_CLOSE) {
		if (holder_flags(cur_tgid()))
			emit_simple(INUSE_EV_HINT, INUSE_HINT_URING_CLOSE, NULL, 0, -1, false);
		return 0;
	}
	if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2)
		return 0;
	/* struct io_uring_cqe (UAPI): u64 user_data, then s32 res */
	if (bpf_probe_read_kernel(&res, sizeof(res), (void *)cqe + 8) || res < 0)
		return 0;
	open = (void *)&r->cmd;
	slot = BPF_CORE_READ(open, file_slot);
	if (!slot)
		return on_open(res, FLAGS_UNKNOWN, INUSE_EVF_URING);
	idx = slot == K_FILE_INDEX_ALLOC ? (__u32)res : slot - 1;
	f = uring_slot_file(BPF_CORE_READ(r, ctx), idx);
	if (!writer_file(f, &w))
		return 0;
	return track_open(&w, (int)idx, 0, INUSE_EVF_URING | INUSE_EVF_FIXED);
}

/* ---- scans, run by the daemon through BPF iterators ---- */

/* A process whose last thread is exiting: its EXIT event has been or is
 * about to be sent, so what it still holds must not be added back. */
static __always_inline bool process_dying(struct task_struct *task)
{
	struct signal_struct *sig = KCAST(struct task_struct, task)->signal;

	return sig->live.counter == 0; /* (NULL reads 0, as before) */
}

/* Writes one SCAN record (and, for an overlay file, its upper name) to
 * the iterator's output. */
static __always_inline int scan_emit(struct seq_file *seq, struct task_struct *task, struct file *f,
				     int fd, __u32 evflags)
{
	struct inode *name_inode, *inode;
	struct inuse_inode fresh = {};
	struct inuse_ev_path_l *r;
	struct dentry *dentry, *up;
	struct inuse_key key;
	struct scratch *s;
	__u32 zero = 0, tgid, len;
	int off;

	r = bpf_map_lookup_elem(&scan_rec_map, &zero);
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!r || !s)
		return 0;
	task = KCAST(struct task_struct, task);
	f = KCAST(struct file, f);
	tgid = task->tgid;
	name_inode = f->f_inode;
	inode = data_inode(name_inode);
	dentry = f->f_path.dentry;
	inode_key(inode, &key);
	fresh.inode_ptr = (__u64)inode;
	fresh.dentry_ptr = (__u64)dentry;
	fresh.open_gen = 1;
	fresh.first_open_ns = bpf_ktime_get_boot_ns(); /* found now: a new lifetime */
	fresh.mtime_ns = inode_mtime_ns(inode);
	bpf_map_update_elem(&inodes, &key, &fresh, BPF_NOEXIST);
	holder_add(tgid, (evflags & INUSE_EVF_MMAP)    ? INUSE_HOLDER_MMAP
			 : (evflags & INUSE_EVF_FIXED) ? INUSE_HOLDER_URING
						       : INUSE_HOLDER_FD);

	__builtin_memset(&r->h, 0, sizeof(r->h));
	r->h.type = INUSE_EV_SCAN;
	r->h.tgid = tgid;
	r->h.tid = tgid;
	r->h.ino = key.ino;
	r->h.dev = key.dev;
	r->h.fd = fd;
	r->h.uid = task->cred->uid.val;
	r->h.inode_ptr = (__u64)inode;
	r->h.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	r->h.start_ns = task->group_leader->start_boottime;
	r->h.dentry_ptr = (__u64)dentry;
	r->h.name_inode_ptr = (__u64)name_inode;
	r->h.sb_dev = KCAST(struct inode, name_inode)->i_sb->s_dev;
	r->h.f_flags = f->f_flags;
	r->h.f_mode = f->f_mode;
	bpf_probe_read_kernel_str(r->h.comm, sizeof(r->h.comm), task->group_leader->comm);
	if (host_mntns && task->nsproxy && task->nsproxy->mnt_ns->ns.inum != host_mntns)
		evflags |= INUSE_EVF_FOREIGN_NS;
	off = walk_path(dentry, s->buf, &evflags, &r->h.name_hash);
	len = INUSE_PATH_MAX - off;
	r->h.evflags = evflags | INUSE_EVF_PATH;
	r->h.path_len = len;
	bpf_probe_read_kernel(r->path, len & SCRATCH_MASK, s->buf + (off & SCRATCH_MASK));
	bpf_seq_write(seq, r, sizeof(r->h) + (len & SCRATCH_MASK));

	up = name_inode != inode ? overlay_upper_dentry(name_inode) : NULL;
	if (!up)
		return 0;
	evflags = 0;
	off = walk_path(up, s->buf, &evflags, &r->h.name_hash);
	len = INUSE_PATH_MAX - off;
	r->h.type = INUSE_EV_NAME;
	r->h.dentry_ptr = (__u64)up;
	r->h.name_inode_ptr = (__u64)inode;
	r->h.sb_dev = KCAST(struct inode, inode)->i_sb->s_dev;
	r->h.evflags = evflags | INUSE_EVF_PATH;
	r->h.path_len = len;
	bpf_probe_read_kernel(r->path, len & SCRATCH_MASK, s->buf + (off & SCRATCH_MASK));
	bpf_seq_write(seq, r, sizeof(r->h) + (len & SCRATCH_MASK));
	return 0;
}

struct ring_walk {
	struct seq_file *seq;
	struct task_struct *task;
	struct io_ring_ctx___inuse *ctx;
	__u32 nr;
};

static long ring_slot(__u32 i, struct ring_walk *w)
{
	struct file *f;

	if (i >= w->nr)
		return 1;
	f = uring_slot_file(w->ctx, i);
	if (f && file_is_writer(f))
		scan_emit(w->seq, w->task, f, (int)i, INUSE_EVF_FIXED | INUSE_EVF_URING);
	return 0;
}

SEC("iter/task_file")
int scan_files(struct iter_task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *f = ctx->file;

	if (!task || !f || process_dying(task))
		return 0;
	if (file_is_writer(f))
		return scan_emit(ctx->meta->seq, task, f, ctx->fd, 0);
	/* an io_uring instance: the files in its fixed-file table */
	if (uring_tables_known() && is_uring_file(f)) {
		struct ring_walk w = {.seq = ctx->meta->seq, .task = task};
		struct io_ring_ctx___inuse *rc = BPF_CORE_READ(f, private_data);

		w.ctx = rc;
		w.nr = BPF_CORE_READ(rc, file_table.data.nr);
		if (w.nr > INUSE_URING_SLOTS_MAX)
			w.nr = INUSE_URING_SLOTS_MAX;
		if (w.nr)
			bpf_loop(w.nr, ring_slot, &w, 0);
	}
	return 0;
}

/* A mapping holds its file: if that file was opened for writing, the
 * kernel counts it as a writer until the mapping goes, shared or not. */
SEC("iter/task_vma")
int scan_vmas(struct iter_task_vma *ctx)
{
	struct task_struct *task = ctx->task;
	struct vm_area_struct *vma = ctx->vma;
	struct file *f;

	if (!task || !vma || process_dying(task))
		return 0;
	f = BPF_CORE_READ(vma, vm_file);
	if (!file_is_writer(f))
		return 0;
	return scan_emit(ctx->meta->seq, task, f, -1, INUSE_EVF_MMAP);
}

/* ---- probes, run on demand with BPF_PROG_TEST_RUN ---- */

/*
 * The kernel's writer count and modification time of inode i of the batch.
 * An inode pointer is trusted only while the inode there still has the same
 * identity: once the last writer is gone the inode may be freed, and then
 * nobody writes it.
 */
static long probe_one(__u32 i, void *unused)
{
	struct inuse_probe_req *rq = bpf_map_lookup_elem(&probe_req, &i);
	struct inuse_probe_res *rs = bpf_map_lookup_elem(&probe_res, &i);
	struct inuse_key k;
	struct inode *inode;

	if (!rq || !rs)
		return 1;
	inode = (struct inode *)rq->inode_ptr;
	rs->writecount = 0;
	rs->nlink = 0;
	rs->flags = INUSE_PROBE_GONE;
	rs->mtime_ns = 0;
	if (!inode || !BPF_CORE_READ(inode, i_sb))
		return 0;
	inode_key(inode, &k);
	if (k.ino != rq->ino || k.dev != rq->dev)
		return 0;
	rs->flags = 0;
	rs->writecount = BPF_CORE_READ(inode, i_writecount.counter);
	rs->nlink = BPF_CORE_READ(inode, __i_nlink);
	rs->mtime_ns = inode_mtime_ns(inode);
	return 0;
}

/* args[0]: how many of probe_req to read (at most INUSE_PROBE_BATCH). */
SEC("raw_tp")
int probe(struct raw_args *ctx)
{
	__u32 n = ctx->args[0];

	bpf_loop(n < INUSE_PROBE_BATCH ? n : INUSE_PROBE_BATCH, probe_one, NULL, 0);
	return 0;
}

/* The current path of dentry i of the batch, if it still names the inode
 * it named when it was recorded. */
static long walk_one(__u32 i, void *unused)
{
	struct inuse_walk_req *rq = bpf_map_lookup_elem(&walk_req, &i);
	struct inuse_walk_res *rs = bpf_map_lookup_elem(&walk_res, &i);
	__u32 zero = 0, evflags = 0, len;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	struct dentry *dentry;
	int off;

	if (!rq || !rs || !s)
		return 1;
	rs->len = 0;
	rs->evflags = 0;
	rs->sb_dev = 0;
	if (rq->flags & INUSE_WALK_UPPER) {
		/* the upper file of an overlay inode */
		dentry = overlay_upper_dentry((struct inode *)rq->inode_ptr);
		if (!dentry)
			return 0;
	} else {
		dentry = (struct dentry *)rq->dentry_ptr;
		if (!dentry || (__u64)BPF_CORE_READ(dentry, d_inode) != rq->inode_ptr)
			return 0;
	}
	off = walk_path(dentry, s->buf, &evflags, &rs->name_hash);
	len = INUSE_PATH_MAX - off;
	rs->dentry_ptr = (__u64)dentry;
	rs->len = len;
	rs->evflags = evflags;
	rs->sb_dev = BPF_CORE_READ(dentry, d_sb, s_dev);
	bpf_probe_read_kernel(rs->path, len & SCRATCH_MASK, s->buf + (off & SCRATCH_MASK));
	return 0;
}

/* args[0]: how many of walk_req to walk (at most INUSE_WALK_BATCH). */
SEC("raw_tp")
int walk(struct raw_args *ctx)
{
	__u32 n = ctx->args[0];

	bpf_loop(n < INUSE_WALK_BATCH ? n : INUSE_WALK_BATCH, walk_one, NULL, 0);
	return 0;
}

/* The fingerprint of dentry i of the batch, if it still names its inode. */
static long hash_one(__u32 i, void *unused)
{
	struct inuse_walk_req *rq = bpf_map_lookup_elem(&hash_req, &i);
	struct inuse_hash_res *rs = bpf_map_lookup_elem(&hash_res, &i);
	struct dentry *dentry;

	if (!rq || !rs)
		return 1;
	rs->name_hash = 0;
	rs->evflags = 0;
	dentry = (struct dentry *)rq->dentry_ptr;
	if (!dentry || (__u64)BPF_CORE_READ(dentry, d_inode) != rq->inode_ptr)
		return 0;
	if (!BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry)
		rs->evflags = INUSE_EVF_UNLINKED;
	rs->name_hash = walk_fingerprint(dentry);
	return 0;
}

/* args[0]: how many of hash_req to read (at most INUSE_HASH_BATCH). */
SEC("raw_tp")
int hashprobe(struct raw_args *ctx)
{
	__u32 n = ctx->args[0];

	bpf_loop(n < INUSE_HASH_BATCH ? n : INUSE_HASH_BATCH, hash_one, NULL, 0);
	return 0;
}

/* What the kernel knows of the file behind descriptor i of the batch. */
static long fdprobe_one(__u32 i, void *unused)
{
	__s32 *fd = bpf_map_lookup_elem(&fdprobe_req, &i);
	struct inuse_fdprobe_res *rs = bpf_map_lookup_elem(&fdprobe_res, &i);
	struct inode *name_inode, *inode;
	struct inuse_key k;
	struct file *f;

	if (!fd || !rs)
		return 1;
	__builtin_memset(rs, 0, sizeof(*rs));
	rs->flags = INUSE_PROBE_GONE;
	f = fd_file(*fd);
	if (!f)
		return 0;
	name_inode = BPF_CORE_READ(f, f_inode);
	if (!name_inode)
		return 0;
	inode = data_inode(name_inode);
	inode_key(inode, &k);
	rs->ino = k.ino;
	rs->dev = k.dev;
	rs->inode_ptr = (__u64)inode;
	rs->writecount = BPF_CORE_READ(inode, i_writecount.counter);
	rs->name_writecount = BPF_CORE_READ(name_inode, i_writecount.counter);
	rs->flags = inode_tracked_kind(inode) ? 0 : INUSE_PROBE_UNTRACKED;
	return 0;
}

/*
 * args[0]: how many of fdprobe_req to read. Run by the daemon, so "current"
 * is the daemon, whose descriptors were opened with O_PATH on the paths it
 * was asked about: the writer count of the inode that holds the data,
 * whatever name and file system led to it.
 */
SEC("raw_tp")
int fdprobe(struct raw_args *ctx)
{
	__u32 n = ctx->args[0];

	bpf_loop(n < INUSE_FDPROBE_BATCH ? n : INUSE_FDPROBE_BATCH, fdprobe_one, NULL, 0);
	return 0;
}
