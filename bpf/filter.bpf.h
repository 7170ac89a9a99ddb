/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* filter.bpf.h - which files are tracked: regular files open for writing on
 * a real (user-mounted, non-pseudo) file system. Runs first in every hook. */
#ifndef INUSE_FILTER_BPF_H
#define INUSE_FILTER_BPF_H

#define K_FMODE_WRITE 0x2
#define K_FMODE_PATH 0x4000
#define K_FMODE_CREATED 0x100000
#define K_S_IFMT 00170000
#define K_S_IFREG 0100000
#define K_SB_KERNMOUNT (1 << 22)
#define K_MNT_INTERNAL 0x4000

/*
 * The struct file behind fd in the current task's table, or NULL. The task
 * pointer is a BTF pointer: its fields are read with plain (fault-safe)
 * loads, much cheaper than a helper call per field; these run on every
 * open and close on the machine.
 */
static __always_inline struct file *fd_file(int fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
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
	struct super_block *sb;
	umode_t mode;

	if (!inode)
		return false;
	mode = BPF_CORE_READ(inode, i_mode);
	if ((mode & K_S_IFMT) != K_S_IFREG)
		return false;
	sb = BPF_CORE_READ(inode, i_sb);
	if (BPF_CORE_READ(sb, s_flags) & K_SB_KERNMOUNT)
		return false; /* memfd, pipes, sockets, anon inodes */
	return !magic_skipped(BPF_CORE_READ(sb, s_magic));
}

/* A file that is a writer of a tracked-kind inode. */
static __always_inline bool file_is_writer(struct file *f)
{
	fmode_t mode;

	if (!f)
		return false;
	mode = BPF_CORE_READ(f, f_mode);
	if (!(mode & K_FMODE_WRITE) || (mode & K_FMODE_PATH))
		return false;
	if (BPF_CORE_READ(f, f_path.mnt, mnt_flags) & K_MNT_INTERNAL)
		return false;
	return inode_tracked_kind(BPF_CORE_READ(f, f_inode));
}

static __always_inline void inode_key(struct inode *inode, struct inuse_key *k)
{
	k->ino = BPF_CORE_READ(inode, i_ino);
	k->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k->pad = 0;
}

#endif
