/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* fdcopy.h - a descriptor's contents into a new file. */
#ifndef INUSE_FDCOPY_H
#define INUSE_FDCOPY_H

/* Copies what fd holds, from its start, to dest (created or truncated,
 * mode 0600). 0, or -1 (dest may hold part of it). */
int fd_copy_file(int fd, const char *dest);

#endif
