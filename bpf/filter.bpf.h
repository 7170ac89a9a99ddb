/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * filter.bpf.h - which files are tracked (regular files open for writing on
 * a real, user-mounted, non-pseudo file system), and how an inode is named:
 * the inode that holds the data (an overlay file's upper inode), and the
 * (device, inode number) that stat(2) reports for it. Runs first in every
 * hook, with early returns.
 */
#ifndef INUSE_FILTER_BPF_H
#define INUSE_FILTER_BPF_H

#include "kptr.bpf.h"

#define K_FMODE_WRITE 0x2
#define K_FMODE_PATH 0x4000
#define K_S_IFMT 00170000
#define K_S_IFREG 0100000
#define K_SB_KERNMOUNT (1 << 22)
#define K_MNT_INTERNAL 0x4000
#define K_OVERLAYFS_MAGIC 0x794c7630
#define K_BTRFS_MAGIC 0x9123683e

/*
 * File-system types read through CO-RE. The ___inuse flavours name only the
 * fields used; where a type is absent (a kernel without that file system,
 * or with it as a module without BTF) the branch that reads it is dropped
 * at load time.
 */
struct ovl_inode___inuse {
	struct inode vfs_inode;
	struct dentry *__upperdentry;
} __attribute__((preserve_access_index));

struct btrfs_root___inuse {
	dev_t anon_dev;
} __attribute__((preserve_access_index));

struct btrfs_inode___inuse {
	struct btrfs_root___inuse *root;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

/*
 * Inode times, as each Linux keeps them: separate seconds and nanoseconds
 * since 6.7 (the top bit of the change time's nanoseconds says the time
 * was queried, since 6.13), a timespec64 named __i_mtime and __i_ctime in
 * 6.6, i_mtime and i_ctime before. One flavour holds them all: the
 * daemon's start searches the kernel's types once per flavour.
 */
struct inode___t {
	time64_t i_mtime_sec;
	u32 i_mtime_nsec;
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
	struct timespec64 __i_mtime;
	struct timespec64 __i_ctime;
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/*
 * The struct file behind fd in the current task's table, or NULL. Plain
 * (fault-safe) loads (kptr.bpf.h), much cheaper than a helper call per
 * field: these run on every open and close on the machine.
 */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = KTASK();
	struct files_struct *files;
	struct fdtable *fdt;
	struct file *f = NULL;

	if (fd < 0)
		return NULL;
	files = task->files;
	if (!files)
		return NULL;
	fdt = files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fdt->fd[fd]);
	return f;
}

/* Is fd of the current task close-on-exec? (kept in the fd table, not in
 * the file's flags) */
static __always_inline bool fd_cloexec(int fd)
{
	struct task_struct *task = KTASK();
	unsigned long word = 0;
	struct fdtable *fdt;

	if (fd < 0 || !task->files)
		return 0;
	fdt = task->files->fdt;
	if (!fdt || (unsigned int)fd >= fdt->max_fds)
		return 0;
	bpf_probe_read_kernel(&word, sizeof(word), fdt->close_on_exec + fd / 64);
	return (word >> (fd % 64)) & 1;
}

static __always_inline bool magic_skipped(unsigned long magic)
{
	for (int i = 0; i < INUSE_SKIP_MAGIC_MAX; i++) {
		if (skip_magic[i] == 0)
			break;
		if (skip_magic[i] == (__u32)magic)
			return true;
	}
	return false;
}

/* A regular file on a file system worth tracking (inode level). */
static __always_inline bool inode_tracked_kind(struct inode *inode)
{
	struct inode *ki = KCAST(struct inode, inode);
	struct super_block *sb;

	if (!inode)
		return false;
	if ((ki->i_mode & K_S_IFMT) != K_S_IFREG)
		return false;
	/* a load through a NULL pointer reads 0: a file system not known to
	 * be skipped is tracked */
	sb = ki->i_sb;
	if (sb->s_flags & K_SB_KERNMOUNT)
		return false; /* memfd, pipes, sockets, anon inodes */
	return !magic_skipped(sb->s_magic);
}

/* A file that is a writer of a tracked-kind inode. */
static __always_inline bool file_is_writer(struct file *f)
{
	struct file *kf = KCAST(struct file, f);
	struct vfsmount *mnt;
	fmode_t mode;

	if (!f)
		return false;
	mode = kf->f_mode;
	if (!(mode & K_FMODE_WRITE) || (mode & K_FMODE_PATH))
		return false;
	mnt = kf->f_path.mnt;
	if (mnt->mnt_flags & K_MNT_INTERNAL)
		return false;
	return inode_tracked_kind(kf->f_inode);
}

static __always_inline bool is_overlay(struct inode *inode)
{
	struct super_block *sb = KCAST(struct inode, inode)->i_sb;

	return sb && sb->s_magic == K_OVERLAYFS_MAGIC;
}

/*
 * The inode that holds the data. A file opened on an overlay is an overlay
 * inode whose writes go to its upper inode (the overlay opens the upper
 * file for writing itself, and a shared mapping maps the upper file): that
 * upper inode is the file, whichever name it is reached by. Nested overlays
 * are followed one level down per step.
 */
static __always_inline struct inode *data_inode(struct inode *inode)
{
	if (!bpf_core_type_exists(struct ovl_inode___inuse))
		return inode;
	for (int i = 0; i < 3 && inode; i++) {
		struct ovl_inode___inuse *oi;
		struct dentry *up;
		struct inode *real;

		if (!is_overlay(inode))
			break;
		oi = (void *)inode - bpf_core_field_offset(struct ovl_inode___inuse, vfs_inode);
		up = BPF_CORE_READ(oi, __upperdentry);
		real = up ? KCAST(struct dentry, up)->d_inode : NULL;
		if (!real)
			break; /* not copied up: no writer can hold it */
		inode = real;
	}
	return inode;
}

/* The upper dentry of an overlay inode, or NULL. */
static __always_inline struct dentry *overlay_upper_dentry(struct inode *inode)
{
	struct ovl_inode___inuse *oi;

	if (!bpf_core_type_exists(struct ovl_inode___inuse) || !is_overlay(inode))
		return NULL;
	oi = (void *)inode - bpf_core_field_offset(struct ovl_inode___inuse, vfs_inode);
	return BPF_CORE_READ(oi, __upperdentry);
}

/*
 * (device, inode number) as stat(2) reports them for inode: the super
 * block's device, except on btrfs, where every subvolume (and snapshot) has
 * a device of its own and inode numbers repeat across subvolumes.
 */
static __always_inline void inode_key(struct inode *inode, struct inuse_key *k)
{
	struct inode *ki = KCAST(struct inode, inode);
	struct super_block *sb = ki->i_sb;

	k->ino = ki->i_ino;
	k->dev = sb ? sb->s_dev : 0;
	k->pad = 0;
	if (bpf_core_type_exists(struct btrfs_inode___inuse) && sb &&
	    sb->s_magic == K_BTRFS_MAGIC) {
		struct btrfs_inode___inuse *bi;
		dev_t d;

		bi = (void *)inode - bpf_core_field_offset(struct btrfs_inode___inuse, vfs_inode);
		d = BPF_CORE_READ(bi, root, anon_dev);
		if (d)
			k->dev = d;
	}
}

/* A dentry of inode (its first alias), for a name when no file is at hand:
 * a writer found by its writes. NULL when it has none. */
static __always_inline struct dentry *inode_some_dentry(struct inode *inode)
{
	struct hlist_node *first = KCAST(struct inode, inode)->i_dentry.first;

	if (!first)
		return NULL;
	return (void *)first - bpf_core_field_offset(struct dentry, d_u.d_alias);
}

/* The inode's modification time, ns since the epoch. */
static __always_inline __u64 inode_mtime_ns(struct inode *inode)
{
	if (bpf_core_field_exists(((struct inode___t *)0)->i_mtime_sec)) {
		struct inode___t *i = KCAST(struct inode___t, inode);

		return (__u64)i->i_mtime_sec * 1000000000ULL + i->i_mtime_nsec;
	}
	if (bpf_core_field_exists(((struct inode___t *)0)->__i_mtime)) {
		struct inode___t *i = (void *)inode;

		return (__u64)BPF_CORE_READ(i, __i_mtime.tv_sec) * 1000000000ULL +
		       BPF_CORE_READ(i, __i_mtime.tv_nsec);
	}
	{
		struct inode___t *i = (void *)inode;

		return (__u64)BPF_CORE_READ(i, i_mtime.tv_sec) * 1000000000ULL +
		       BPF_CORE_READ(i, i_mtime.tv_nsec);
	}
}

/* The dirtying flag that says data pages were dirtied: an enum since 6.18,
 * a macro (not in BTF) before. */
enum inode_state_flags_t___inuse { I_DIRTY_PAGES___inuse = 1 };

static __always_inline __u32 dirty_pages_flag(void)
{
	if (bpf_core_enum_value_exists(enum inode_state_flags_t___inuse, I_DIRTY_PAGES___inuse))
		return bpf_core_enum_value(enum inode_state_flags_t___inuse, I_DIRTY_PAGES___inuse);
	return 1 << 2;
}

/*
 * What the open and close hooks need of a file, its inode and its super
 * block, read with plain loads (kptr.bpf.h). key and inode are those of the
 * inode that holds the data (an overlay file's upper inode).
 */
struct wfile {
	struct inode *name_inode; /* the inode the file was opened by */
	struct inode *inode;	  /* the one that holds the data */
	struct dentry *dentry;	  /* the name it was opened by */
	struct vfsmount *mnt;
	__u32 f_mode, f_flags;
	__u32 i_mode;
	__u32 sb_dev; /* name_inode's super block */
	unsigned long s_flags, magic;
	struct inuse_key key;
};

/* The head of f; false when f is not there. */
static __always_inline bool wfile_head(struct file *f, struct wfile *w)
{
	struct file *kf = KCAST(struct file, f);

	if (!f)
		return false;
	w->f_mode = kf->f_mode;
	w->f_flags = kf->f_flags;
	w->name_inode = kf->f_inode;
	w->mnt = kf->f_path.mnt;
	w->dentry = kf->f_path.dentry;
	return w->name_inode != NULL;
}

/* The file's inode and super block (after wfile_head); the key as most
 * file systems have it, (s_dev, i_ino). */
static __always_inline bool wfile_inode(struct wfile *w)
{
	struct inode *ki = KCAST(struct inode, w->name_inode);
	struct super_block *sb;

	w->i_mode = ki->i_mode;
	sb = ki->i_sb;
	w->key.ino = ki->i_ino;
	if (!sb)
		return false;
	sb = KCAST(struct super_block, sb);
	w->magic = sb->s_magic;
	w->s_flags = sb->s_flags;
	w->sb_dev = sb->s_dev;
	w->key.dev = w->sb_dev;
	w->key.pad = 0;
	w->inode = w->name_inode;
	return true;
}

/* The rare file systems whose key is not (s_dev, i_ino) of the inode the
 * file was opened by: the full rules (data_inode, inode_key). */
static __always_inline void wfile_data_key(struct wfile *w)
{
	if (w->magic == K_OVERLAYFS_MAGIC || w->magic == K_BTRFS_MAGIC) {
		w->inode = data_inode(w->name_inode);
		inode_key(w->inode, &w->key);
	}
}

/* file_is_writer and the data inode's key, from the heads: f is a writer
 * of a tracked-kind inode. */
static __always_inline bool writer_file(struct file *f, struct wfile *w)
{
	if (!wfile_head(f, w) || !(w->f_mode & K_FMODE_WRITE) || (w->f_mode & K_FMODE_PATH))
		return false;
	if (!wfile_inode(w))
		return false;
	if ((w->i_mode & K_S_IFMT) != K_S_IFREG || (w->s_flags & K_SB_KERNMOUNT) ||
	    magic_skipped(w->magic))
		return false;
	if (KCAST(struct vfsmount, w->mnt)->mnt_flags & K_MNT_INTERNAL)
		return false;
	wfile_data_key(w);
	return true;
}

#endif
