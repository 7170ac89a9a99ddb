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

/* The daemon the tests start: $INUSE_DAEMON (the mutation check points it
 * at a deliberately broken build) or td_bin("inused"). */
const char *td_daemon_path(void);

/* Starts the daemon (td_daemon_path(), with the words of $INUSE_DAEMON_ARGS
 * and then extra, NULL-terminated, may be NULL) and waits until it answers.
 * 0, or -errno (its log is printed). */
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

/* Is the state of path exactly state, in one answer asked now (no retry)?
 * For "open" right after the syscall that makes or keeps a writer: answers
 * never lag the events (docs/design.md). Prints the answer when not. */
bool td_state_is(struct tdaemon *d, const char *path, const char *state);

/* Waits (bounded, TD_TIMEOUT_MS) until td_state(path) is state: for
 * "not_open" after the last writer went, and for conditions that the
 * design reaches in the background (a path repaired, a holder searched). */
bool td_wait_state(struct tdaemon *d, const char *path, const char *state);

/* The table entry of path (new reference) or NULL. */
json_t *td_entry(struct tdaemon *d, const char *path);

/* Waits until the entry of path has a writer with pid (and fd if fd >= 0;
 * mode string if mode != NULL); or, with pid 0, until it has exactly
 * nwriters writers. */
bool td_wait_writer(struct tdaemon *d, const char *path, pid_t pid, int fd, const char *mode);
bool td_wait_nwriters(struct tdaemon *d, const char *path, size_t nwriters);

/* The same, in one answer asked now (no retry); print the entry when not. */
bool td_writer_is(struct tdaemon *d, const char *path, pid_t pid, int fd, const char *mode);
bool td_nwriters_is(struct tdaemon *d, const char *path, size_t nwriters);

/* The writer of entry e with pid (and fd if fd >= 0), borrowed, or NULL. */
json_t *td_entry_writer(json_t *e, pid_t pid, int fd);

/* Waits (bounded) until the entry of path satisfies pred (called with NULL
 * when the path is not listed); what names the condition in the message
 * printed when it never does. */
bool td_wait_entry(struct tdaemon *d, const char *path, bool (*pred)(json_t *e, void *arg),
		   void *arg, const char *what);

/*
 * "Never not_open during this window": a checker process, forked by
 * td_watch_start() before the scenario opens anything (so that it holds
 * none of the files), asks the daemon for the state of the watched paths
 * over and over, alternating "list" and "check" requests on one
 * connection, while the scenario runs dup, fork, exec, close_range... Any
 * answer other than "open" for any watched path is remembered and fails
 * the window.
 *
 *   td_watch_path()  adds a path; returns once an answer that includes it
 *                    was checked
 *   td_watch_mark()  returns once an answer asked after the call was
 *                    checked: the state right after the step before it is
 *                    covered; false if any answer so far was wrong
 *   td_watch_end()   stops and reaps the checker; true when at least one
 *                    answer was checked and every answer said "open"
 *                    (prints the first wrong one otherwise)
 *
 * A checker left over by a failed test is killed by the next
 * td_watch_start() or by td_stop().
 */
struct td_watch;
struct td_watch *td_watch_start(struct tdaemon *d);
bool td_watch_path(struct td_watch *w, const char *path);
bool td_watch_mark(struct td_watch *w);
bool td_watch_end(struct td_watch *w);

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

/* Skips the test, or fails it under CI=true, saying why: for a tool or a
 * kernel feature the test needs and the machine lacks. */
#define td_skip_or_fail(why)                                                                       \
	do {                                                                                       \
		if (td_must_run())                                                                 \
			fail_msg("%s (CI=true: not skipped)", (why));                              \
		fprintf(stderr, "skipped: %s\n", (why));                                           \
		skip();                                                                            \
	} while (0)

/* Runs only the tests that $INUSE_TEST_FILTER (a cmocka glob) names. */
#define td_filter_tests()                                                                          \
	do {                                                                                       \
		if (getenv("INUSE_TEST_FILTER"))                                                   \
			cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));                       \
	} while (0)

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

/* Creates an empty file (0644). */
void td_touch(const char *path);

/*
 * The output of bench/burst ("key value" lines) as a JSON object of
 * numbers, or NULL.
 */
json_t *td_burst_parse(const char *text);

/*
 * What is wrong with a burst result (bench/burst's keys), or NULL: the
 * storm must have happened (no failed storm process, opens and closes
 * done, checks asked during it), no answer may have been wrong during or
 * after it, and the table must have come back; with want_lost, the ring
 * must also have lost events and the daemon reconciled, or the run did not
 * test what it is for.
 */
const char *td_burst_problem(json_t *row, bool want_lost);

#endif
