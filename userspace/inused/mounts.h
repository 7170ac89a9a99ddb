/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * mounts.h - the daemon's mount table (its own, the host's, namespace), to
 * turn a path within a file system (what the kernel side walks) into a path
 * the host can open, and a host path into a path within a file system (for
 * "under DIR" through any bind mount or alias of DIR).
 *
 * Read from /proc/self/mountinfo; mounts_fd() becomes ready (EPOLLPRI) when
 * the table changes, and mounts_reload() then reads it again and bumps the
 * generation, so that names resolved earlier are resolved again.
 */
#ifndef INUSED_MOUNTS_H
#define INUSED_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mount_ent {
	int id;
	uint32_t sb_dev; /* kernel encoding */
	char *root;	 /* the mount's root within its file system */
	size_t root_len;
	char *point; /* where it is mounted */
	size_t point_len;
	char *fstype;
};

struct mounts {
	struct mount_ent *m;
	size_t n;
	uint64_t gen; /* bumped on every reload */
	int fd;	      /* the mountinfo file, polled for changes; -1: none */
	char *file;
};

/* Reads file (NULL: /proc/self/mountinfo). 0 or -errno. */
int mounts_init(struct mounts *m, const char *file);
void mounts_fini(struct mounts *m);
/* Reads the table again; the old one stays on failure. 0 or -errno. */
int mounts_reload(struct mounts *m);
/* Polled for EPOLLPRI: the table changed. -1: not pollable. */
int mounts_fd(const struct mounts *m);

/* Confirms a candidate host path (e.g. by lstat), ctx as given. */
typedef bool (*mounts_check_fn)(const char *path, void *ctx);

/*
 * A host path of fs_path ("/a/b", absolute within its file system) on the
 * file system of device sb_dev: tries each mount of that file system whose
 * root holds fs_path, the most specific root first, until check (NULL: none)
 * accepts one. malloc'ed, or NULL when no mount reaches it.
 */
char *mounts_host_path(const struct mounts *m, uint32_t sb_dev, const char *fs_path,
		       mounts_check_fn check, void *ctx, int *mount_id);

/* How many mounts could show fs_path of file system sb_dev. */
size_t mounts_candidates(const struct mounts *m, uint32_t sb_dev, const char *fs_path);

/* fs_path through the mount with that id, if it is there, of that file
 * system, and its root holds fs_path; else NULL. No check. */
char *mounts_host_path_via(const struct mounts *m, int mount_id, uint32_t sb_dev,
			   const char *fs_path);

/*
 * Where the canonical (symlink-free, absolute) host path lies: the device of
 * its file system and the path within it (malloc'ed). 0, -ENOENT (no mount
 * holds it) or -ENOMEM.
 */
int mounts_locate(const struct mounts *m, const char *path, uint32_t *sb_dev, char **fs_path);

/* The type of the file system on sb_dev ("ext4"), or NULL. */
const char *mounts_fstype(const struct mounts *m, uint32_t sb_dev);

/* Is path p equal to prefix or below it (component-wise)? */
bool path_under(const char *p, const char *prefix, size_t prefix_len);

/* Decodes the octal escapes of a mountinfo field in place. */
void mounts_unescape(char *s);

#endif
