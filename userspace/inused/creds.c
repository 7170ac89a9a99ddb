// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/creds.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inused/log.h"

int peer_read(int fd, struct peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t small[64];

	memset(p, 0, sizeof(*p));
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0)
		return -errno;
	len = sizeof(small);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) != 0) {
		gid_t *g;

		if (errno != ERANGE || len == 0)
			return -errno;
		/* len now holds the size needed */
		g = malloc(len);
		if (!g)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) != 0) {
			int err = -errno;

			free(g);
			return err;
		}
		p->groups = g;
	} else if (len) {
		p->groups = malloc(len);
		if (!p->groups)
			return -ENOMEM;
		memcpy(p->groups, small, len);
	}
	p->ngroups = (int)(len / sizeof(gid_t));
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->pid = uc.pid;
	return 0;
}

void peer_free(struct peer *p)
{
	free(p->groups);
	p->groups = NULL;
	p->ngroups = 0;
}

bool peer_in_group(const struct peer *p, gid_t g)
{
	if (g == (gid_t)-1 || p->uid == (uid_t)-1)
		return false;
	if (p->gid == g)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == g)
			return true;
	return false;
}

/* The daemon's own identity, to go back to. */
static struct {
	bool known;
	bool inside;
	uid_t fsuid;
	gid_t fsgid;
	gid_t *groups;
	int ngroups;
} self;

static int self_init(void)
{
	int n;

	if (self.known)
		return 0;
	n = getgroups(0, NULL);
	if (n < 0)
		return -errno;
	self.groups = calloc((size_t)n + 1, sizeof(gid_t));
	if (!self.groups)
		return -ENOMEM;
	n = getgroups(n, self.groups);
	if (n < 0) {
		free(self.groups);
		self.groups = NULL;
		return -errno;
	}
	self.ngroups = n;
	/* setfs*id(-1) changes nothing and returns the current value */
	self.fsuid = (uid_t)setfsuid((uid_t)-1);
	self.fsgid = (gid_t)setfsgid((gid_t)-1);
	self.known = true;
	return 0;
}

/* Back to the daemon's identity; a failure here would leave the daemon
 * with a client's rights, or with rights it must not have: it stops. */
static void restore(void)
{
	setfsuid(self.fsuid);
	setfsgid(self.fsgid);
	if ((uid_t)setfsuid((uid_t)-1) != self.fsuid || (gid_t)setfsgid((gid_t)-1) != self.fsgid ||
	    setgroups((size_t)self.ngroups, self.groups) != 0) {
		log_err("cannot take back the daemon's own credentials: %s", strerror(errno));
		abort();
	}
}

int creds_enter(const struct peer *p)
{
	int err;

	if (p->uid == 0)
		return 0;
	if ((err = self_init()))
		return err;
	if (p->uid == (uid_t)-1 || p->gid == (gid_t)-1)
		return -EPERM;
	if (setgroups((size_t)p->ngroups, p->groups) != 0)
		return -errno;
	/* setfs*id() report no error: read the value back */
	setfsgid(p->gid);
	setfsuid(p->uid);
	if ((gid_t)setfsgid((gid_t)-1) != p->gid || (uid_t)setfsuid((uid_t)-1) != p->uid) {
		restore();
		return -EPERM;
	}
	self.inside = true;
	return 0;
}

void creds_leave(void)
{
	if (!self.inside)
		return;
	self.inside = false;
	restore();
}
