/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * trust.h - files the daemon relies on (its config and what that
 * includes, the programs it runs, the directory of its socket) must be
 * out of reach of other users, or a user could make root read or run
 * what they like.
 *
 * A path is trusted when the file, every directory on the way from "/"
 * and every symlink followed belongs to root (or to the user the daemon
 * runs as) and none of them can be written by group or others. A
 * directory writable by others is accepted only with the sticky bit (as
 * /tmp): then nobody else may replace what root put there, and what is
 * below is checked in turn. The walk is made one component at a time
 * through descriptors, so nothing can be swapped between a check and the
 * use of what was checked.
 */
#ifndef INUSED_TRUST_H
#define INUSED_TRUST_H

#include <stddef.h>

/* What the last component must be. */
enum trust_kind { TRUST_FILE, TRUST_PROGRAM, TRUST_DIR };

/*
 * Walks path (absolute, or relative to the working directory) and checks
 * it. Returns a descriptor of the last component (O_RDONLY for a file,
 * O_PATH for a program or a directory), or -errno with a message in err
 * naming the component at fault ("owned by uid 1000", "writable by
 * others", ...).
 */
int trust_open(const char *path, enum trust_kind kind, char *err, size_t errlen);

#endif
