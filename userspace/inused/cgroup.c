// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void cgroup_cache_init(struct cgroup_cache *c, const char *root)
{
	char dev[256], dir[256], type[64];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (root) {
		snprintf(c->root, sizeof(c->root), "%s", root);
		return;
	}
	f = fopen("/proc/self/mounts", "re");
	if (!f)
		return;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(c->root, sizeof(c->root), "%s", dir);
			break;
		}
	}
	fclose(f);
}

void cgroup_cache_fini(struct cgroup_cache *c)
{
	for (size_t i = 0; i < CGROUP_CACHE_SLOTS; i++)
		free(c->slot[i].path);
	memset(c, 0, sizeof(*c));
}

int cgroup_of_pid(pid_t pid, char *buf, size_t len)
{
	char file[64], line[4096];
	int ret = -ENOENT;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + 3);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* The cgroup v2 path of pid, malloc'ed, or NULL. */
static char *proc_cgroup(pid_t pid)
{
	char buf[4096];

	return cgroup_of_pid(pid, buf, sizeof(buf)) ? NULL : strdup(buf);
}

const char *cgroup_path(struct cgroup_cache *c, uint64_t id, pid_t pid)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ULL >> 54) % CGROUP_CACHE_SLOTS;
	char full[4200];
	struct stat st;
	char *p;

	if (!id)
		return NULL;
	if (c->slot[i].id == id)
		return c->slot[i].path;
	if (id == 1)
		p = strdup("/"); /* the root cgroup */
	else if (!c->root[0] || !(p = proc_cgroup(pid)))
		return NULL;
	snprintf(full, sizeof(full), "%s%s", c->root, p);
	if (!p || (id != 1 && (stat(full, &st) != 0 || (uint64_t)st.st_ino != id))) {
		free(p); /* the process moved, or the ids are not inode numbers */
		return NULL;
	}
	free(c->slot[i].path);
	c->slot[i].id = id;
	c->slot[i].path = p;
	return p;
}
