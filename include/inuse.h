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
/* The answer as the daemon sent it (JSON). */
INUSE_API const char *inuse_result__json(const struct inuse_result *r);
INUSE_API void inuse_result__free(struct inuse_result *r);

/* What to do with each path before copying it. Errors: -EPROTO (bad
 * answer), -EBUSY (the daemon is at a bound: too many clients, waits or
 * subscriptions, of all users or of this one; try later), -EREMOTEIO (the
 * daemon refused: bad request), transport errors. */
INUSE_API int inuse_client__check(struct inuse_client *c, const char *const *paths, size_t n,
				  struct inuse_result **out);

/* After copying: was each file opened or written since its check? */
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

#ifdef __cplusplus
}
#endif
#endif
