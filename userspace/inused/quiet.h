/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * quiet.h - has a file open for writing gone unwritten for a while? From the
 * kernel: the write hook's last time (the kernel map) and the file's own
 * modification time, read through the inode (file systems whose writes no
 * hook sees move it too). A file with a shared writable mapping cannot be
 * judged: stores into pages already dirty move neither.
 */
#ifndef INUSED_QUIET_H
#define INUSED_QUIET_H

#include <stdint.h>

#include "inused/tracker.h"

enum quiet { QUIET_NO = 0, QUIET_YES = 1, QUIET_UNKNOWN = 2 };

/* For e (in the table): QUIET_YES when not written for quiet_ns; QUIET_NO
 * with *left the ns until it could be; QUIET_UNKNOWN when a mapping may
 * write it unseen or the kernel cannot be read. */
enum quiet quiet_check(struct tracker *t, struct entry *e, uint64_t quiet_ns, uint64_t *left);

#endif
