/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * snapcopy.h - the copy a snapshot hands out: an unnamed file (O_TMPFILE),
 * a reflink clone (FICLONE) in the file's own directory where the file
 * system shares extents (btrfs, xfs with reflink: milliseconds whatever the
 * size), else a plain copy into the spool directory, refused above a size
 * and abandoned past a deadline. It is given to the client as a read-only
 * descriptor and disappears when the last one is closed.
 */
#ifndef INUSED_SNAPCOPY_H
#define INUSED_SNAPCOPY_H

#include <stdbool.h>
#include <stdint.h>

struct snapcopy {
	int fd;		/* read-only, O_CLOEXEC; -1 when none */
	uint64_t bytes; /* its size */
	bool cloned;	/* shares the source's extents */
};

/*
 * Copies the file open at src_fd (whose path is src_path, used for its
 * directory). spool: where plain copies go; max_size: larger plain copies
 * are refused (0: no limit); deadline: CLOCK_MONOTONIC ns past which a
 * plain copy is abandoned. 0, or -errno with *why set (-EFBIG: too large
 * to copy, -ETIMEDOUT: abandoned).
 */
int snap_copy(int src_fd, const char *src_path, const char *spool, uint64_t max_size,
	      uint64_t deadline, struct snapcopy *out, const char **why);

/* Can a clone of a file in dir be made (reflink-capable file system)? */
bool snap_can_clone(const char *dir);

#endif
