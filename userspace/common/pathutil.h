/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* pathutil.h - paths given on a command line, made absolute. */
#ifndef INUSE_PATHUTIL_H
#define INUSE_PATHUTIL_H

/* p joined to the working directory when relative; the last component is
 * not resolved (it may not exist). malloc'ed, or NULL with errno set. */
char *path_absolute(const char *p);

#endif
