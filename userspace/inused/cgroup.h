/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cgroup.h - cgroup v2 ids (what BPF reports) to paths, cached. A path is
 * learnt from /proc/PID/cgroup of a process in that cgroup and checked
 * against the id (the inode number of the cgroup's directory).
 */
#ifndef INUSED_CGROUP_H
#define INUSED_CGROUP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_CACHE_SLOTS 1024

struct cgroup_cache {
	struct {
		uint64_t id;
		char *path;
	} slot[CGROUP_CACHE_SLOTS];
	char root[256]; /* where cgroup2 is mounted ("" if nowhere) */
};

/* The cgroup v2 path of pid ("/system.slice/x.service", the "0::" line of
 * /proc/PID/cgroup) into buf. 0 or -errno. */
int cgroup_of_pid(pid_t pid, char *buf, size_t len);

/* root NULL: the first cgroup2 mount in /proc/self/mounts. */
void cgroup_cache_init(struct cgroup_cache *c, const char *root);
void cgroup_cache_fini(struct cgroup_cache *c);

/* The path of cgroup id ("/system.slice/x.service"), or NULL when not
 * known; pid is a process believed to be in it. */
const char *cgroup_path(struct cgroup_cache *c, uint64_t id, pid_t pid);

#endif
