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
 * (stale socket), -EACCES (not allowed to connect), others from socket(2). */
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

/* send + recv. */
INUSE_API int inuse_client__call(struct inuse_client *c, const char *req, size_t len, char **resp,
				 size_t *resp_len);

#ifdef __cplusplus
}
#endif
#endif
