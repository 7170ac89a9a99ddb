/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * creds.h - who a client is, and path lookups made with its rights.
 *
 * A client is identified once, when it connects: SO_PEERCRED gives its
 * user and group, SO_PEERGROUPS its supplementary groups, as they were at
 * connect(2). Nothing is read again later (a process id may be reused).
 *
 * A lookup for a client that is not root runs with the client's
 * file-system identity: the daemon sets its supplementary groups, fsgid
 * and fsuid to the client's for the lookup and back afterwards (the daemon
 * is single-threaded). With an fsuid other than 0 the kernel ignores the
 * daemon's file capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, ...),
 * so a lookup reaches exactly what the client could reach itself:
 * directories it may search, symlinks followed with its rights, ACLs and
 * every security module included.
 */
#ifndef INUSED_CREDS_H
#define INUSED_CREDS_H

#include <stdbool.h>
#include <sys/types.h>

struct peer {
	uid_t uid; /* (uid_t)-1: unknown, treated as nobody's */
	gid_t gid;
	pid_t pid; /* at connect: logs, and the process a guarded job starts from */
	gid_t *groups;
	int ngroups;
};

/* Reads the credentials of the peer of a connected Unix socket. An error
 * leaves an unknown peer that may reach nothing. 0 or -errno. */
int peer_read(int fd, struct peer *p);
void peer_free(struct peer *p);

/* Is g the peer's group or one of its supplementary groups? */
bool peer_in_group(const struct peer *p, gid_t g);

/*
 * Takes the peer's file-system identity for lookups (nothing to do for
 * root). 0, or -errno with the daemon's own identity kept: the caller
 * must then refuse the lookup. Every creds_enter that returned 0 is
 * followed by creds_leave before anything else runs.
 */
int creds_enter(const struct peer *p);
void creds_leave(void);

#endif
