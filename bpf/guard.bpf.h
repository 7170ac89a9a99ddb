/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * guard.bpf.h - guarded jobs: every regular file the processes of a job
 * read, and whether, between the job's open and close of it, another
 * process held it open for writing, opened it for writing, or wrote it.
 *
 * A job is a process tree: the daemon puts its first process in
 * guard_tasks, and every child forked from a member joins (threads share
 * their process's membership). A member's read-only open of a regular file
 * starts a read record in the job's map (guard_reads[slot]): what the file
 * looked like then (size, times, writer count, shared writable mappings).
 * Write-opens and writes of a file being read are counted into its records
 * by the write hooks. The job's last close of the file takes a second look;
 * a read with nothing to tell is dropped there, so a job's map holds only
 * the reads still open and those the daemon must report.
 *
 * Cost outside jobs: every hook tests guard_active (one load from .bss)
 * first; while a job runs, one bit of guard_bits more (set for the members
 * since no job ran); only a process whose bit is set is looked up in
 * guard_tasks.
 */
#ifndef INUSE_GUARD_BPF_H
#define INUSE_GUARD_BPF_H

#define K_FMODE_READ 0x1
/* open_now of a read being dropped: a concurrent open makes a new record */
#define GUARD_DEAD (-(1 << 30))

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct inuse_guard_task);
} guard_tasks SEC(".maps");

/* The template of a job's map of reads; the daemon makes one per job. */
struct guard_reads_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, INUSE_GUARD_READS);
	__uint(key_size, sizeof(struct inuse_key));
	__uint(value_size, sizeof(struct inuse_guard_read));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, INUSE_GUARD_JOBS);
	__type(key, __u32);
	__array(values, struct guard_reads_inner);
} guard_reads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_GUARD_PROBE_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_guard_probe_req);
} guard_probe_req SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, INUSE_GUARD_PROBE_BATCH);
	__type(key, __u32);
	__type(value, struct inuse_guard_probe_res);
} guard_probe_res SEC(".maps");

/* Written by the daemon through memory: jobs running, the slots in use
 * (bit i: slot i) and one past the highest, and each slot's state. */
__u32 guard_active = 0;
__u32 guard_slots = 0;
__u64 guard_mask = 0;
struct inuse_guard_job guard_job[INUSE_GUARD_JOBS] = {};

#define K_I_CTIME_QUERIED (1U << 31)

static __always_inline __u64 inode_ctime_ns(struct inode *inode, __u32 *queried)
{
	*queried = 0;
	if (bpf_core_field_exists(((struct inode___t *)0)->i_ctime_sec)) {
		struct inode___t *i = (void *)inode;
		__u32 ns = BPF_CORE_READ(i, i_ctime_nsec);

		*queried = !!(ns & K_I_CTIME_QUERIED);
		return (__u64)BPF_CORE_READ(i, i_ctime_sec) * 1000000000ULL +
		       (ns & ~K_I_CTIME_QUERIED);
	}
	if (bpf_core_field_exists(((struct inode___t *)0)->__i_ctime)) {
		struct inode___t *i = (void *)inode;

		return (__u64)BPF_CORE_READ(i, __i_ctime.tv_sec) * 1000000000ULL +
		       BPF_CORE_READ(i, __i_ctime.tv_nsec);
	}
	{
		struct inode___t *i = (void *)inode;

		return (__u64)BPF_CORE_READ(i, i_ctime.tv_sec) * 1000000000ULL +
		       BPF_CORE_READ(i, i_ctime.tv_nsec);
	}
}

/* What a snapshot needs of an inode, besides its writers. */
struct gtimes {
	__u64 size, mtime_ns, ctime_ns;
	__u32 ctime_queried;
	bool ok; /* read (else: read them field by field) */
};

/* The size and times of an inode, with plain loads (kptr.bpf.h), where
 * Linux (6.7+) keeps them as separate seconds and nanoseconds. */
static __always_inline void inode_times(struct inode *inode, struct gtimes *t)
{
	struct inode___t *c = KCAST(struct inode___t, inode);
	struct inode *i = KCAST(struct inode, inode);
	__u32 mns, cns;

	t->ok = false;
	if (!bpf_core_field_exists(c->i_ctime_sec) || !bpf_core_field_exists(c->i_mtime_sec))
		return;
	mns = c->i_mtime_nsec;
	cns = c->i_ctime_nsec;
	t->size = i->i_size;
	t->mtime_ns = c->i_mtime_sec * 1000000000ULL + mns;
	t->ctime_queried = !!(cns & K_I_CTIME_QUERIED);
	t->ctime_ns = c->i_ctime_sec * 1000000000ULL + (cns & ~K_I_CTIME_QUERIED);
	t->ok = true;
}

/* A snapshot of the file: its size and times (t, when read with the head
 * of the inode just now, else read here), writers and shared writable
 * mappings. */
static __always_inline void guard_snap_t(struct inode *inode, const struct gtimes *t,
					 struct inuse_guard_snap *s)
{
	s->ns = bpf_ktime_get_boot_ns();
	if (t && t->ok) {
		s->size = t->size;
		s->mtime_ns = t->mtime_ns;
		s->ctime_ns = t->ctime_ns;
		s->ctime_queried = t->ctime_queried;
	} else {
		s->size = BPF_CORE_READ(inode, i_size);
		s->mtime_ns = inode_mtime_ns(inode);
		s->ctime_ns = inode_ctime_ns(inode, &s->ctime_queried);
	}
	s->writecount = BPF_CORE_READ(inode, i_writecount.counter);
	s->mmap_writable = 0;
	/* a shared writable mapping holds a file opened for writing: with no
	 * writer counted there is none */
	if (s->writecount > 0) {
		int n = BPF_CORE_READ(inode, i_mapping, i_mmap_writable.counter);

		s->mmap_writable = n > 0 ? n : 0;
	}
}

static __always_inline void guard_snap(struct inode *inode, struct inuse_guard_snap *s)
{
	guard_snap_t(inode, NULL, s);
}

/* Bit tgid % INUSE_GUARD_BITS: set for every process that joined a job
 * since no job ran (the daemon clears them then). A process whose bit is
 * clear is in no job: its opens and closes cost this one load, not a
 * lookup in guard_tasks. */
__u64 guard_bits[INUSE_GUARD_BITS / 64] = {};

static __always_inline bool guard_maybe(__u32 tgid)
{
	return guard_bits[(tgid / 64) % (INUSE_GUARD_BITS / 64)] & (1ULL << (tgid % 64));
}

static __always_inline void guard_mark(__u32 tgid)
{
	__sync_fetch_and_or(&guard_bits[(tgid / 64) % (INUSE_GUARD_BITS / 64)],
			    1ULL << (tgid % 64));
}

/* The job of a process (its slot and generation), unless it has none or
 * its job ended. */
static __always_inline bool guard_member(__u32 tgid, __u32 *slot, __u32 *gen, __u32 *flags)
{
	struct inuse_guard_task *t;
	__u32 s;

	if (!guard_maybe(tgid))
		return false;
	t = bpf_map_lookup_elem(&guard_tasks, &tgid);
	if (!t)
		return false;
	s = t->slot & (INUSE_GUARD_JOBS - 1);
	if (guard_job[s].gen != t->gen) {
		bpf_map_delete_elem(&guard_tasks, &tgid); /* its job ended */
		return false;
	}
	*slot = s;
	*gen = t->gen;
	*flags = t->flags;
	return true;
}

/* A file a job reads: the inode that holds its data, and its key. */
struct gfile {
	struct inode *name_inode; /* the inode the file was opened by */
	struct inode *inode;	  /* the one that holds the data (overlay: upper) */
	__u64 dentry;		  /* the name it was opened by */
	__u32 sb_dev;		  /* name_inode's file system */
	struct inuse_key key;
	struct gtimes t; /* inode's size and times, when read with its head */
};

/*
 * f, opened for reading only: its inode and key. With kind, only a regular
 * file on a real file system (an open); without, the kind was checked when
 * the read began (a close).
 */
static __always_inline bool guard_file(struct file *f, bool kind, struct gfile *g)
{
	struct super_block *sb;
	struct vfsmount *mnt;
	struct inode *inode;
	unsigned long magic, sflags;
	__u32 mode, imode;

	if (!f)
		return false;
	{
		struct file *kf = KCAST(struct file, f);

		mode = kf->f_mode;
		if (!(mode & K_FMODE_READ) || (mode & (K_FMODE_WRITE | K_FMODE_PATH)))
			return false;
		inode = kf->f_inode;
		mnt = kf->f_path.mnt;
		g->dentry = (__u64)kf->f_path.dentry;
	}
	if (!inode)
		return false;
	{
		struct inode *ki = KCAST(struct inode, inode);

		imode = ki->i_mode;
		sb = ki->i_sb;
		g->key.ino = ki->i_ino;
		inode_times(inode, &g->t);
	}
	if (kind && (imode & K_S_IFMT) != K_S_IFREG)
		return false;
	if (!sb)
		return false;
	{
		struct super_block *ks = KCAST(struct super_block, sb);

		magic = ks->s_magic;
		sflags = ks->s_flags;
		g->sb_dev = ks->s_dev;
	}
	if (kind) {
		if (sflags & K_SB_KERNMOUNT)
			return false;
		if (KCAST(struct vfsmount, mnt)->mnt_flags & K_MNT_INTERNAL)
			return false;
		if (magic_skipped(magic))
			return false;
	}
	g->name_inode = inode;
	if (magic == K_OVERLAYFS_MAGIC || magic == K_BTRFS_MAGIC) {
		/* the rare file systems: the full rules */
		g->inode = data_inode(inode);
		inode_key(g->inode, &g->key);
		if (g->inode != inode)
			g->t.ok = false; /* the times are the data inode's */
		return true;
	}
	g->inode = inode;
	g->key.dev = g->sb_dev;
	g->key.pad = 0;
	return true;
}

/*
 * Nothing happened to the file while the job read it: no writer, no
 * write, and its size and times unmoved, or moved by the job itself (rsync
 * sets the mode of a file it wrote through a read-only descriptor): with
 * no other writer counted, another process could move them only by a
 * write or a truncate, which the write hook counts.
 */
static __always_inline bool guard_read_clean(const struct inuse_guard_read *r)
{
	if (r->open.writecount > 0 || r->close.writecount > 0 || r->wopens || r->writes ||
	    r->open.mmap_writable || r->close.mmap_writable)
		return false;
	return (r->flags & INUSE_GREAD_OWN_META) ||
	       (r->open.size == r->close.size && r->open.mtime_ns == r->close.mtime_ns &&
		r->open.ctime_ns == r->close.ctime_ns);
}

static __always_inline void guard_count(__u64 *c)
{
	__sync_fetch_and_add(c, 1);
}

/* A member of a job opened fd: a read starts, or another open of a file
 * the job is reading. */
static __always_inline void guard_on_open(int fd)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, slot, gen, flags;
	struct inuse_guard_read *r, fresh = {};
	struct gfile g;
	struct file *f;
	void *reads;

	if (!guard_member(tgid, &slot, &gen, &flags) || (flags & INUSE_GUARD_INHERIT_ONLY))
		return;
	f = fd_file(fd);
	if (!guard_file(f, true, &g))
		return;
	reads = bpf_map_lookup_elem(&guard_reads, &slot);
	if (!reads)
		return;
	r = bpf_map_lookup_elem(reads, &g.key);
	if (r && r->gen != gen) {
		/* left by an earlier job of the slot, on its way out */
		bpf_map_delete_elem(reads, &g.key);
		r = NULL;
	}
	if (r && __sync_fetch_and_add(&r->open_now, 1) >= 0) {
		__sync_fetch_and_add(&r->opens, 1);
		return;
	}
	/* new, or being dropped by a close right now: a record of its own */
	guard_snap_t(g.inode, &g.t, &fresh.open);
	if (fresh.open.writecount > 0) {
		/* open for writing by the job itself: its output */
		struct inuse_inode *st = bpf_map_lookup_elem(&inodes, &g.key);

		if (st && st->guard_gen == gen)
			return;
	}
	fresh.last_mtime_ns = fresh.open.mtime_ns;
	fresh.inode_ptr = (__u64)g.inode;
	fresh.dentry_ptr = g.dentry;
	fresh.name_inode_ptr = (__u64)g.name_inode;
	fresh.sb_dev = g.sb_dev;
	fresh.tgid = tgid;
	fresh.opens = 1;
	fresh.open_now = 1;
	fresh.gen = gen;
	for (int i = 0; i < 3; i++) {
		if (bpf_map_update_elem(reads, &g.key, &fresh, BPF_NOEXIST) == 0) {
			guard_count(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].reads);
			return;
		}
		r = bpf_map_lookup_elem(reads, &g.key);
		if (!r)
			continue; /* the dropped record just went */
		if (r->gen == gen && __sync_fetch_and_add(&r->open_now, 1) >= 0) {
			/* another thread of the job opened it meanwhile */
			__sync_fetch_and_add(&r->opens, 1);
			return;
		}
	}
	guard_count(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].dropped);
}

/* A member of a job is about to close its fd of f. */
static __always_inline void guard_on_close(struct file *f)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, slot, gen, flags;
	struct inuse_guard_read *r;
	struct gfile g;
	void *reads;

	if (!guard_member(tgid, &slot, &gen, &flags) || (flags & INUSE_GUARD_INHERIT_ONLY))
		return;
	if (!guard_file(f, false, &g))
		return;
	reads = bpf_map_lookup_elem(&guard_reads, &slot);
	if (!reads)
		return;
	r = bpf_map_lookup_elem(reads, &g.key);
	if (!r || r->gen != gen)
		return;
	guard_snap_t(g.inode, &g.t, &r->close);
	if (__sync_fetch_and_add(&r->open_now, -1) != 1)
		return; /* still open elsewhere in the job */
	if (!guard_read_clean(r))
		return; /* kept for the report */
	/* nothing to tell: dropped, unless an open came in between */
	if (__sync_val_compare_and_swap(&r->open_now, 0, GUARD_DEAD) != 0)
		return;
	bpf_map_delete_elem(reads, &g.key);
	guard_count(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].clean);
}

/* A member forked: the child joins (threads share the process's job). */
static __always_inline void guard_on_fork(__u32 ptgid, __u32 ctgid)
{
	struct inuse_guard_task *t, c = {};
	__u32 slot;

	if (!guard_maybe(ptgid))
		return;
	t = bpf_map_lookup_elem(&guard_tasks, &ptgid);
	if (!t)
		return;
	slot = t->slot & (INUSE_GUARD_JOBS - 1);
	if (guard_job[slot & (INUSE_GUARD_JOBS - 1)].gen != t->gen)
		return;
	c.slot = slot;
	c.gen = t->gen;
	guard_mark(ctgid); /* before it can run */
	if (bpf_map_update_elem(&guard_tasks, &ctgid, &c, BPF_ANY) == 0) {
		__sync_fetch_and_add(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].members, 1);
		guard_count(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].joined);
	} else {
		guard_count(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].unjoined);
	}
}

/* The last thread of a member exited. */
static __always_inline void guard_on_exit(__u32 tgid)
{
	struct inuse_guard_task *t;
	__u32 slot;

	if (!guard_maybe(tgid))
		return;
	t = bpf_map_lookup_elem(&guard_tasks, &tgid);
	if (!t)
		return;
	slot = t->slot & (INUSE_GUARD_JOBS - 1);
	if (guard_job[slot & (INUSE_GUARD_JOBS - 1)].gen == t->gen)
		__sync_fetch_and_add(&guard_job[slot & (INUSE_GUARD_JOBS - 1)].members, -1);
	bpf_map_delete_elem(&guard_tasks, &tgid);
}

/* The write hooks: a write-open (open) or a write (dirty flags) of the
 * file key, counted into every running job's read of it. */
struct guard_note_ctx {
	const struct inuse_key *key;
	struct inode *inode;
	__u32 dirty;
	__u32 own; /* the job the writer belongs to (its own writes), 0: none */
	bool open;
};

static long guard_note_slot(__u32 i, struct guard_note_ctx *c)
{
	struct inuse_guard_read *r;
	void *reads;
	__u64 mt;

	if (!(guard_mask & (1ULL << (i & 63))))
		return 0;
	reads = bpf_map_lookup_elem(&guard_reads, &i);
	if (!reads)
		return 0;
	r = bpf_map_lookup_elem(reads, c->key);
	if (!r)
		return 0;
	if (c->own && r->gen == c->own) {
		/* the job writes it itself: its output, not what it backs up */
		__u32 f = c->open ? INUSE_GREAD_OWN : INUSE_GREAD_OWN_META;

		if (!(r->flags & f))
			__sync_fetch_and_or(&r->flags, f);
		return 0;
	}
	if (c->open) {
		__sync_fetch_and_add(&r->wopens, 1);
		return 0;
	}
	/* an atime update is not a write */
	mt = inode_mtime_ns(c->inode);
	if (!(c->dirty & dirty_pages_flag()) && mt == r->last_mtime_ns)
		return 0;
	r->last_mtime_ns = mt;
	__sync_fetch_and_add(&r->writes, 1);
	return 0;
}

/* The job the current process belongs to (its generation), 0: none. */
static __always_inline __u32 guard_own_gen(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct inuse_guard_task *t;

	if (!guard_maybe(tgid))
		return 0;
	t = bpf_map_lookup_elem(&guard_tasks, &tgid);
	if (!t || guard_job[t->slot & (INUSE_GUARD_JOBS - 1)].gen != t->gen)
		return 0;
	return t->gen;
}

/* A write-open (open) or a write (dirty flags) of file key by the current
 * process. Returns the job the writer belongs to, 0: none. */
static __always_inline __u32 guard_note(const struct inuse_key *key, struct inode *inode, bool open,
					__u32 dirty)
{
	struct guard_note_ctx c = {
	    .key = key, .inode = inode, .dirty = dirty, .open = open, .own = guard_own_gen()};
	__u32 n = guard_slots;

	if (n > INUSE_GUARD_JOBS)
		n = INUSE_GUARD_JOBS;
	if (n)
		bpf_loop(n, guard_note_slot, &c, 0);
	return c.own;
}

/* The state of file i of the batch now, if the inode is still that file. */
static long guard_probe_one(__u32 i, void *unused)
{
	struct inuse_guard_probe_req *rq = bpf_map_lookup_elem(&guard_probe_req, &i);
	struct inuse_guard_probe_res *rs = bpf_map_lookup_elem(&guard_probe_res, &i);
	struct inuse_key k;
	struct inode *inode;

	if (!rq || !rs)
		return 1;
	__builtin_memset(rs, 0, sizeof(*rs));
	rs->flags = INUSE_PROBE_GONE;
	inode = (struct inode *)rq->inode_ptr;
	if (!inode || !BPF_CORE_READ(inode, i_sb))
		return 0;
	inode_key(inode, &k);
	if (k.ino != rq->ino || k.dev != rq->dev)
		return 0;
	rs->flags = 0;
	rs->nlink = BPF_CORE_READ(inode, __i_nlink);
	guard_snap(inode, &rs->snap);
	return 0;
}

/* args[0]: how many of guard_probe_req to read. Run by the daemon. */
SEC("raw_tp")
int guard_probe(struct raw_args *ctx)
{
	__u32 n = ctx->args[0];

	bpf_loop(n < INUSE_GUARD_PROBE_BATCH ? n : INUSE_GUARD_PROBE_BATCH, guard_probe_one, NULL,
		 0);
	return 0;
}

#endif
