/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * path.bpf.h - the path of a dentry within its file system: d_parent up to
 * the root of the super block, mounts not crossed. The daemon turns it into
 * a path of its own (host) mount namespace from the mount table, so that a
 * file opened in a container, through a bind mount or on a lazily unmounted
 * file system is named the same way and only where the host can open it.
 * bpf_d_path is not allowed in tracepoints and iterators, so the walk is
 * done by hand with bpf_loop, bounded by INUSE_PATH_DEPTH components and
 * INUSE_PATH_MAX bytes.
 */
#ifndef INUSE_PATH_BPF_H
#define INUSE_PATH_BPF_H

struct walk_ctx {
	struct dentry *dentry;
	__u64 hash;
	int off;
	bool done;
};

static __always_inline __u64 hash_step(__u64 h, struct dentry *dentry)
{
	return (h ^ dentry->d_name.hash_len) * INUSE_NAME_HASH_MUL;
}

static long walk_step(__u32 i, struct walk_ctx *w)
{
	struct dentry *dentry = KCAST(struct dentry, w->dentry);
	struct dentry *parent = dentry->d_parent;
	const unsigned char *name;
	__u32 len, zero = 0;
	struct scratch *s;
	int off = w->off;

	if (!parent || w->dentry == parent) {
		w->done = true;
		return 1;
	}
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	len = dentry->d_name.len & 255;
	name = dentry->d_name.name;
	w->hash = hash_step(w->hash, dentry);
	if (off <= (int)len + 1 || off > INUSE_PATH_MAX)
		return 1;
	off -= len;
	bpf_probe_read_kernel(s->buf + (off & SCRATCH_MASK), len, name);
	off -= 1;
	s->buf[off & SCRATCH_MASK] = '/';
	w->off = off;
	w->dentry = parent;
	return 0;
}

/*
 * Builds the path of dentry within its file system backwards in buf (the
 * per-CPU scratch buffer) so that it ends at buf[INUSE_PATH_MAX - 1];
 * returns the offset of its first byte. *evflags gets INUSE_EVF_TRUNC when
 * the path did not fit, INUSE_EVF_UNLINKED when the dentry is unhashed
 * (deleted), INUSE_EVF_DETACHED when the walk ended at a root that is not
 * the super block's (a disconnected dentry).
 */
static __always_inline int walk_path(struct dentry *dentry, char *buf, __u32 *evflags,
				     __u64 *hash)
{
	struct walk_ctx w = {.dentry = dentry, .off = INUSE_PATH_MAX, .hash = INUSE_NAME_HASH_INIT};
	struct dentry *top, *kd = KCAST(struct dentry, dentry);

	if (!kd->d_hash.pprev && kd->d_parent != dentry)
		*evflags |= INUSE_EVF_UNLINKED;
	bpf_loop(INUSE_PATH_DEPTH, walk_step, &w, 0);
	top = w.dentry;
	if (!w.done)
		*evflags |= INUSE_EVF_TRUNC;
	else if (top != KCAST(struct dentry, top)->d_sb->s_root)
		*evflags |= INUSE_EVF_DETACHED;
	if (w.off >= INUSE_PATH_MAX || w.off < 1) {
		w.off = INUSE_PATH_MAX - 1;
		buf[w.off & SCRATCH_MASK] = '/';
	}
	*hash = w.hash;
	return w.off;
}

struct fp_ctx {
	struct dentry *dentry;
	__u64 hash;
};

static long fp_step(__u32 i, struct fp_ctx *c)
{
	struct dentry *d = KCAST(struct dentry, c->dentry), *parent = d->d_parent;

	if (!parent || c->dentry == parent)
		return 1;
	c->hash = hash_step(c->hash, d);
	c->dentry = parent;
	return 0;
}

/* The fingerprint of dentry's path, as walk_path computes it. */
static __always_inline __u64 walk_fingerprint(struct dentry *dentry)
{
	struct fp_ctx c = {.dentry = dentry, .hash = INUSE_NAME_HASH_INIT};

	bpf_loop(INUSE_PATH_DEPTH, fp_step, &c, 0);
	return c.hash;
}

#endif
