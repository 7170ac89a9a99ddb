/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tproc.h - test helpers for processes, shell commands, files and
 * scratch directories.
 */
#ifndef INUSE_TPROC_H
#define INUSE_TPROC_H

#include <stddef.h>
#include <sys/types.h>

struct tdaemon;

/* Runs a shell command line by system(3), its output ours. Its exit
 * status, or -1. */
int td_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fork(2), the child killed when the test process dies: called for every
 * child, which must not outlive a failed test. */
pid_t td_fork_child(void);

/* td_fork_child, which must succeed, remembered (up to 16): td_kill_kids
 * kills and reaps them all (a group's teardown). */
pid_t td_fork_kid(void);
void td_kill_kids(void);

/* Writes text into path (created or truncated); the test fails if it
 * cannot. */
void td_put(const char *path, const char *text);

/* The contents of a file, NUL-terminated (malloc'ed; len: its size, may
 * be NULL), or NULL when it cannot be opened. */
char *td_slurp(const char *path, size_t *len);

/* dir/name, in one of 8 buffers used in turn (valid for the next 7 calls). */
const char *td_path(const char *dir, const char *name);

/*
 * A group setup with one daemon and a scratch directory: as root, makes
 * dir (PATH_MAX bytes) from template ("/var/tmp/inuse-x-XXXXXX") and
 * starts d. Not root, or the daemon does not start: 0, the tests skip
 * (-1 when td_must_run()). -1 when dir cannot be made.
 */
int td_group_start(struct tdaemon *d, char *dir, const char *template);
/* Its teardown: stops d and removes dir. */
int td_group_stop(struct tdaemon *d, const char *dir);

#endif
