/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * path.bpf.h - an absolute path from a (vfsmount, dentry) pair, walked up
 * through d_parent and across mount points to the root of the mount
 * namespace. bpf_d_path is not allowed in tracepoints and iterators, so the
 * walk is done by hand, bounded by INUSE_PATH_DEPTH components.
 */
#ifndef INUSE_PATH_BPF_H
#define INUSE_PATH_BPF_H

static __always_inline struct mount *real_mount(struct vfsmount *m)
{
	return (struct mount *)((void *)m - bpf_core_field_offset(struct mount, mnt));
}

struct walk_ctx {
	struct mount *mnt;
	struct dentry *dentry;
	int off;
	bool done;
};

static long walk_step(__u32 i, struct walk_ctx *w)
{
	struct mount *mnt = w->mnt;
	struct dentry *dentry = w->dentry;
	struct dentry *root = BPF_CORE_READ(mnt, mnt.mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	const unsigned char *name;
	__u32 zero = 0, len;
	struct scratch *s;
	int off = w->off;

	if (dentry == root || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (!up || up == mnt) {
			w->done = true;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 1;
	len = BPF_CORE_READ(dentry, d_name.len) & 255;
	name = BPF_CORE_READ(dentry, d_name.name);
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
 * Builds the path of (vfsmnt, dentry) backwards in the per-CPU scratch
 * buffer so that it ends at buf[INUSE_PATH_MAX - 1]; returns the offset of
 * its first byte. *evflags gets INUSE_EVF_TRUNC when the path did not fit
 * and INUSE_EVF_UNLINKED when the dentry is unhashed (deleted).
 */
static __always_inline int walk_path(struct vfsmount *vfsmnt, struct dentry *dentry, char *buf,
				     __u32 *evflags)
{
	struct walk_ctx w = {.mnt = real_mount(vfsmnt), .dentry = dentry, .off = INUSE_PATH_MAX};

	if (!BPF_CORE_READ(dentry, d_hash.pprev) && BPF_CORE_READ(dentry, d_parent) != dentry)
		*evflags |= INUSE_EVF_UNLINKED;
	bpf_loop(INUSE_PATH_DEPTH, walk_step, &w, 0);
	if (!w.done)
		*evflags |= INUSE_EVF_TRUNC;
	if (w.off >= INUSE_PATH_MAX || w.off < 1) {
		w.off = INUSE_PATH_MAX - 1;
		buf[w.off & SCRATCH_MASK] = '/';
	}
	return w.off;
}

#endif
