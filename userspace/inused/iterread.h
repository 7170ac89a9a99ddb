/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * iterread.h - reading a BPF iterator to its end.
 *
 * An iterator runs its program in the reading thread, inside read(2). A
 * walk of every process (50,000 files open at start) spends about as long
 * there as the daemon spends on the records it gets, so a whole walk is
 * read on a thread of its own while the caller takes the records:
 * both CPUs of a small machine at work, and the bytes still reach the
 * caller in order, on the caller's thread. The memory between the two is
 * bounded (ITERREAD_CHUNKS x ITERREAD_CHUNK bytes).
 */
#ifndef INUSED_ITERREAD_H
#define INUSED_ITERREAD_H

#include <stdbool.h>
#include <stddef.h>

#define ITERREAD_CHUNK	(64u << 10)
#define ITERREAD_CHUNKS 8u

/* Takes the next bytes of the iterator's output; non-zero stops the read
 * and is returned. */
typedef int (*iterread_fn)(void *ctx, const char *buf, size_t len);

/*
 * Reads iterator fd to its end, handing what it writes to fn in order
 * (always on the calling thread). With threaded, read(2) runs on a second
 * thread (if one cannot be made, on this one). ENOENT or ESRCH from read(2)
 * (the walked process went away) ends the output without an error.
 * Returns 0, fn's non-zero result, or -errno.
 */
int iterread(int fd, bool threaded, iterread_fn fn, void *ctx);

#endif
