/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tdaemon.h - integration-test helpers: run the real inused on a private
 * socket, ask it things through libinuse, and wait for answers with a
 * deadline (never a bare sleep).
 */
#ifndef INUSE_TDAEMON_H
#define INUSE_TDAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#define TD_TIMEOUT_MS 10000

struct tdaemon {
	pid_t pid;
	char dir[64];
	char sock[128];
	char log[128];
};

/* Path of a built program ("inused", "inuse-ls"), from $INUSE_BUILD or
 * the build/ directory next to the test binary's. */
const char *td_bin(const char *name);

/* Starts inused with extra args (NULL-terminated, may be NULL) and waits
 * until it answers. 0, or -errno (its log is printed). */
int td_start(struct tdaemon *d, const char *const *extra);

/* SIGTERM and wait; returns the exit status (or -1). */
int td_stop(struct tdaemon *d);

/* Prints the last lines of the daemon's log to stderr. */
void td_dump_log(const struct tdaemon *d);

/* One request (printf-style JSON text); the parsed answer or NULL. */
json_t *td_call(struct tdaemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* State of one path: "open", "not_open", "missing", ... (static string)
 * or NULL on error. */
const char *td_state(struct tdaemon *d, const char *path);

/* Waits until td_state(path) is state. */
bool td_wait_state(struct tdaemon *d, const char *path, const char *state);

/* The table entry of path (new reference) or NULL. */
json_t *td_entry(struct tdaemon *d, const char *path);

/* Waits until the entry of path has a writer with pid (and fd if fd >= 0;
 * mode string if mode != NULL); or, with pid 0, until it has exactly
 * nwriters writers. */
bool td_wait_writer(struct tdaemon *d, const char *path, pid_t pid, int fd, const char *mode);
bool td_wait_nwriters(struct tdaemon *d, const char *path, size_t nwriters);

/* Number of files listed under dir. */
long td_count_under(struct tdaemon *d, const char *dir);
bool td_wait_count_under(struct tdaemon *d, const char *dir, long count);

/* A file every earlier event is known to be processed by: opens a marker
 * file for writing, waits until the daemon lists it, closes it and waits
 * until it is gone. Events are queued in order, so what happened before
 * is then settled. */
bool td_barrier(struct tdaemon *d, const char *dir);

/* Stats counter by name (top level), -1 when absent. */
long long td_stat(struct tdaemon *d, const char *name);

/* Should a test that cannot load BPF fail (CI=true) rather than skip? */
bool td_must_run(void);

/* At the start of a test: arms a 120 s alarm (a hung test ends the run)
 * and skips the test, or fails it under CI=true, when d is not running.
 * A macro, since skip() and fail() jump out of the test. */
#define td_need(d)                                                                                 \
	do {                                                                                       \
		alarm(120);                                                                        \
		if ((d)->pid <= 0) {                                                               \
			if (td_must_run())                                                         \
				fail_msg("inused is not running");                                 \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* rm -rf dir. */
int td_rmtree(const char *dir);

/* Runs a shell command line; its standard output goes to out (outlen
 * bytes, NUL-terminated) or is discarded when out is NULL. Returns the exit
 * status, or -1. */
int td_sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct inuse_client;
/* The next line the daemon sends on c, parsed (fails the test if none). */
json_t *td_recv_json(struct inuse_client *c);

/* Creates an empty file (0644) and returns path, in a static-free buffer. */
void td_touch(const char *path);

#endif
