/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * inuse.h - libinuse, the client library of inused.
 *
 * Talks the newline-delimited JSON protocol of docs/protocol.md over the
 * daemon's Unix socket. Functions return 0 or a negative errno and leave
 * their out-parameters untouched on failure; the library never logs.
 */
#ifndef INUSE_H
#define INUSE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(INUSE_BUILDING_LIB)
#define INUSE_API __attribute__((visibility("default")))
#else
#define INUSE_API
#endif

#define INUSE_DEFAULT_SOCKET_PATH "/run/inuse/inuse.sock"
/* Environment variable that overrides the default socket path. */
#define INUSE_SOCKET_ENV "INUSE_SOCKET"

struct inuse_client;

struct inuse_client_opts {
	size_t sz;		 /* sizeof(struct inuse_client_opts) */
	const char *socket_path; /* NULL: $INUSE_SOCKET, then the default */
	int timeout_ms;		 /* per call; 0: 30 s; -1: no limit */
	size_t max_response;	 /* longest answer accepted; 0: 1 GiB */
};

/* Connects. Errors: -ENOENT (no socket: daemon not running), -ECONNREFUSED
 * (stale socket), -EACCES (not allowed to connect), others from socket(2).
 * A daemon with too many clients accepts, answers "busy" and closes: the
 * first call then fails with -EBUSY. */
INUSE_API int inuse_client__open(const struct inuse_client_opts *opts, struct inuse_client **out);
INUSE_API void inuse_client__free(struct inuse_client *c);

/* The socket, for the caller's own event loop (readable: an answer). */
INUSE_API int inuse_client__fd(const struct inuse_client *c);

/* The socket path that will be or was used. */
INUSE_API const char *inuse_client__socket_path(const struct inuse_client *c);

/* Sends one request (a JSON object, without the newline). */
INUSE_API int inuse_client__send(struct inuse_client *c, const char *req, size_t len);

/* Reads the next answer line; *resp (malloc'ed, NUL-terminated, no newline)
 * belongs to the caller. -ETIMEDOUT, -ECONNRESET (daemon went away),
 * -EMSGSIZE (longer than max_response). */
INUSE_API int inuse_client__recv(struct inuse_client *c, char **resp, size_t *len);

/* The next descriptor the daemon sent (with a snapshot answer), now the
 * caller's; -ENOENT when none is waiting. */
INUSE_API int inuse_client__take_fd(struct inuse_client *c);

/* send + recv. When the daemon closed the connection after answering
 * (a refused connection: "busy"), that answer is returned. */
INUSE_API int inuse_client__call(struct inuse_client *c, const char *req, size_t len, char **resp,
				 size_t *resp_len);

/* ---- typed, batched requests (the answers as structs) ---- */

enum inuse_state {
	INUSE_NOT_OPEN = 0, /* the kernel counts no writer */
	INUSE_OPEN,	    /* open for writing */
	INUSE_MISSING,
	INUSE_NOT_REGULAR,
	INUSE_ERROR,
	INUSE_NOT_QUIET, /* wait: closed, but written less than "quiet" ago */
	INUSE_QUIET,	 /* wait: open for writing, but not written for "quiet" */
};

enum inuse_decision { INUSE_COPY = 0, INUSE_DEFER, INUSE_SKIP, INUSE_FLAG, INUSE_SNAPSHOT };

struct inuse_file {
	const char *path;
	enum inuse_state state;
	enum inuse_decision decision; /* check */
	const char *reason;	      /* check: closed, quiet, open, method, missing...; verify:
					 unchanged, written, opened, changed, replaced, missing */
	const char *rule;	      /* check: the policy rule that decided */
	const char *token;	      /* check: give it to verify after copying */
	const char *method;	      /* no longer set (was a shell command): see method_argv */
	double retry_after;	      /* check, defer: seconds */
	double defer_max;	      /* check, defer: wait at most this long, then... */
	enum inuse_decision fallback; /* ...do this */
	size_t nwriters;	      /* check: writers the client may see */
	int consistent;		      /* verify: 1 if the copy is consistent */
	/* check: a program and its arguments that make a consistent copy
	 * (NULL-terminated), or NULL. The arguments "{path}" and "{dest}" are
	 * to be replaced, each by one whole argument (never split, never given
	 * to a shell); run it with execve/execvp. */
	const char *const *method_argv;
	int fd;			 /* snapshot: a read-only descriptor of the copy,
				    owned by the result (dup it to keep it), -1: none */
	unsigned long long size; /* snapshot: bytes of the copy */
	int cloned;		 /* snapshot: 1 if the copy shares the file's extents */
};

/* An answer: n files, valid until inuse_result__free. */
struct inuse_result;

INUSE_API size_t inuse_result__count(const struct inuse_result *r);
INUSE_API const struct inuse_file *inuse_result__file(const struct inuse_result *r, size_t i);
/* wait: 1 when every path became free, 0 at the timeout. */
INUSE_API int inuse_result__done(const struct inuse_result *r);
/* The answer as JSON, in the full form of docs/protocol.md: as the daemon
 * sent it, or, for a check (asked in the compact form), made from its rows
 * on the first call. */
INUSE_API const char *inuse_result__json(const struct inuse_result *r);
INUSE_API void inuse_result__free(struct inuse_result *r);

/* What to do with each path before copying it (asked in the compact form:
 * one row per path, read without a JSON tree; as root, with the caller's
 * own stat(2) of each path, which spares the daemon its lookup: the
 * answer is about the file each path names when this call stats it,
 * symlinks followed). Errors: -EPROTO (bad
 * answer), -EBUSY (the daemon is at a bound: too many clients, waits or
 * subscriptions, of all users or of this one; try later), -EREMOTEIO (the
 * daemon refused: bad request), transport errors. */
INUSE_API int inuse_client__check(struct inuse_client *c, const char *const *paths, size_t n,
				  struct inuse_result **out);

/* After copying: was each file opened or written since its check?
 * tokens[i] is what check gave for paths[i] (NULL: none, which verifies
 * as "bad_token"). Asked as check is (rows, parts of 512, as root with
 * the caller's own stat(2) of each path); a daemon that refuses that form
 * is asked in the full one. Errors as check's; -EINVAL when tokens is
 * NULL or a path is. */
INUSE_API int inuse_client__verify(struct inuse_client *c, const char *const *paths,
				   const char *const *tokens, size_t n, struct inuse_result **out);

/* Waits until every path is closed for writing (and unwritten for quiet
 * seconds), or timeout seconds. The call's own timeout must be longer. */
INUSE_API int inuse_client__wait(struct inuse_client *c, const char *const *paths, size_t n,
				 double timeout, double quiet, struct inuse_result **out);

/*
 * A consistent copy of files that stay open for writing: their writers are
 * frozen for a moment (at most the policy's freeze_max), each file copied
 * (a clone where the file system can), the writers thawed. Every path must
 * be one the policy decides "snapshot" for; a database and its journal are
 * given together. Each file of the result has its copy as fd. Errors:
 * -EPERM (refused: the policy, the access rules, a writer that must not be
 * frozen), -EIO (failed: the freeze or the copy did not work out, or the
 * file was opened meanwhile by a writer the freeze did not hold),
 * -EREMOTEIO, transport errors.
 */
INUSE_API int inuse_client__snapshot(struct inuse_client *c, const char *const *paths, size_t n,
				     struct inuse_result **out);

INUSE_API const char *inuse_decision_name(enum inuse_decision d);
INUSE_API const char *inuse_state_name(enum inuse_state s);


/* ---- guarded jobs (what inuse-run uses) ---- */

/* Record the calling process's own reads too (not only its children's). */
#define INUSE_GUARD_SELF 0x1

/*
 * Makes the calling process the first member of a guarded job on this
 * connection: every process it forks from now on (and theirs) is in the
 * job, and the kernel records each regular file they read. *job gets the
 * job's number. -EBUSY: too many jobs; -EREMOTEIO: refused (already in a
 * job: jobs do not nest). The job ends with inuse_client__guard_end or
 * when the connection closes.
 */
INUSE_API int inuse_client__guard(struct inuse_client *c, unsigned int flags, unsigned long *job);

/* A file the job read and that was not clean: written, opened for writing
 * or held open for writing by another process while the job read it. */
struct inuse_guard_file {
	const char *path; /* NULL when no name was found (dev and ino say which) */
	unsigned int dev_major, dev_minor;
	unsigned long long ino;
	int torn;	     /* the copy the job made may be torn */
	const char *state;   /* "torn", "held" (held, no write seen) or "changed" */
	const char *reason;  /* gone, written, written_before, opened, mapped, held, changed */
	int held;	     /* another process had it open for writing */
	int opened;	     /* a writer opened it while it was read */
	int written;	     /* it was written while it was read */
	int mapped;	     /* a shared writable mapping of it existed */
	int closed;	     /* the job closed it (else: judged at the job's end) */
	double read_from;    /* when the job first opened it (Unix time) */
	double read_to;	     /* when it last closed it, 0: not known */
	unsigned long long size; /* at the first open */
	double mtime_at_read;	 /* its modification time then (Unix time) */
};

struct inuse_guard_report;

/* Ends the job and reports what it read. */
INUSE_API int inuse_client__guard_end(struct inuse_client *c, struct inuse_guard_report **out);
INUSE_API size_t inuse_guard_report__count(const struct inuse_guard_report *r);
INUSE_API const struct inuse_guard_file *inuse_guard_report__file(const struct inuse_guard_report *r,
								   size_t i);
/* Files read, reads not recorded (the job's map was full), processes
 * that could not join, processes of the job still running at its end. */
INUSE_API unsigned long long inuse_guard_report__reads(const struct inuse_guard_report *r);
INUSE_API unsigned long long inuse_guard_report__dropped(const struct inuse_guard_report *r);
INUSE_API unsigned long long inuse_guard_report__unjoined(const struct inuse_guard_report *r);
INUSE_API unsigned long long inuse_guard_report__running(const struct inuse_guard_report *r);
INUSE_API const char *inuse_guard_report__json(const struct inuse_guard_report *r);
INUSE_API void inuse_guard_report__free(struct inuse_guard_report *r);

/* ---- the copy loop: a consistent copy of a file that may never close ---- */

struct inuse_copy_opts {
	size_t sz;	 /* sizeof(struct inuse_copy_opts) */
	double quiet;	 /* copy once the file went unwritten this long (seconds), open
			    or not; 0: once it is closed */
	double timeout;	 /* give up after this long (seconds; 0: 5 minutes) */
	unsigned int max_attempts; /* copies at most (0: until the timeout) */
	/*
	 * Tried when the time is up and no copy was verified, before the last
	 * copy is kept as flagged: another way to a consistent copy (a frozen
	 * snapshot of the file). Returns 0 when dest holds one. NULL: none.
	 */
	int (*fallback)(void *ctx, const char *src, const char *dest);
	void *fallback_ctx;
};

enum inuse_copy_outcome {
	INUSE_COPY_CONSISTENT = 0, /* verified: not opened or written while copied */
	INUSE_COPY_FALLBACK,	   /* made by opts->fallback */
	INUSE_COPY_FLAGGED,	   /* copied, but it may be inconsistent: see reason */
};

struct inuse_copy_result {
	enum inuse_copy_outcome outcome;
	unsigned int attempts; /* copies made */
	double waited;	       /* seconds spent waiting for the file to be quiet */
	char reason[32];       /* flagged: why the last copy is not vouched for ("written
				  while copied", "opened while copied", "never quiet",
				  "never closed") */
};

/*
 * Copies src to dest (mode, owner where allowed, times kept): waits until
 * the file is quiet (or closed), checks it, copies, verifies, and repeats
 * until a copy verifies or the time is up; then tries opts->fallback, and
 * else keeps the last copy, flagged. dest is replaced only by a whole copy.
 * 0 (see res->outcome), -ENOENT (no such file), -EINVAL (not a regular
 * file), or another -errno.
 */
INUSE_API int inuse_copy_file(struct inuse_client *c, const char *src, const char *dest,
			      const struct inuse_copy_opts *opts, struct inuse_copy_result *res);

#ifdef __cplusplus
}
#endif
#endif
