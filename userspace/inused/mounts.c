// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/kdev.h"

void mounts_unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

bool path_under(const char *p, const char *prefix, size_t prefix_len)
{
	if (prefix_len == 1 && prefix[0] == '/')
		return p[0] == '/';
	if (strncmp(p, prefix, prefix_len))
		return false;
	return p[prefix_len] == '/' || p[prefix_len] == '\0';
}

static void table_free(struct mount_ent *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].root);
		free(m[i].point);
		free(m[i].fstype);
	}
	free(m);
}

/* Parses one mountinfo line into e. 0, or -EINVAL for a line not understood. */
static int parse_line(char *line, struct mount_ent *e)
{
	char *f[6], *sep, *save = NULL, *tok;
	unsigned int maj, min;
	int n = 0;

	sep = strstr(line, " - ");
	if (!sep)
		return -EINVAL;
	*sep = '\0';
	for (tok = strtok_r(line, " ", &save); tok && n < 6; tok = strtok_r(NULL, " ", &save))
		f[n++] = tok;
	if (n < 5 || sscanf(f[2], "%u:%u", &maj, &min) != 2)
		return -EINVAL;
	save = NULL;
	tok = strtok_r(sep + 3, " ", &save);
	if (!tok)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->id = atoi(f[0]);
	e->sb_dev = (maj << 20) | (min & 0xfffff);
	e->root = strdup(f[3]);
	e->point = strdup(f[4]);
	e->fstype = strdup(tok);
	if (!e->root || !e->point || !e->fstype) {
		free(e->root);
		free(e->point);
		free(e->fstype);
		return -ENOMEM;
	}
	mounts_unescape(e->root);
	mounts_unescape(e->point);
	e->root_len = strlen(e->root);
	e->point_len = strlen(e->point);
	return 0;
}

int mounts_reload(struct mounts *m)
{
	struct mount_ent *t = NULL;
	size_t n = 0, cap = 0, llen = 0;
	char *line = NULL;
	FILE *f;
	int err = 0;

	f = fopen(m->file, "re");
	if (!f)
		return -errno;
	while (getline(&line, &llen, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct mount_ent *nt = realloc(t, nc * sizeof(*nt));

			if (!nt) {
				err = -ENOMEM;
				break;
			}
			t = nt;
			cap = nc;
		}
		if (parse_line(line, &t[n]) == 0)
			n++;
	}
	free(line);
	fclose(f);
	if (err) {
		table_free(t, n);
		return err;
	}
	table_free(m->m, m->n);
	m->m = t;
	m->n = n;
	m->gen++;
	return 0;
}

int mounts_init(struct mounts *m, const char *file)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->file = strdup(file ? file : "/proc/self/mountinfo");
	if (!m->file)
		return -ENOMEM;
	m->fd = open(m->file, O_RDONLY | O_CLOEXEC);
	return mounts_reload(m);
}

void mounts_fini(struct mounts *m)
{
	table_free(m->m, m->n);
	if (m->fd >= 0)
		close(m->fd);
	free(m->file);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int mounts_fd(const struct mounts *m)
{
	return m->fd;
}

/* host = point + (fs_path without root) */
static char *join(const struct mount_ent *e, const char *fs_path)
{
	const char *rest = fs_path + (e->root_len == 1 ? 0 : e->root_len);
	size_t pl = e->point_len == 1 ? 0 : e->point_len;
	size_t rl = strlen(rest);
	char *h = malloc(pl + rl + 2);

	if (!h)
		return NULL;
	memcpy(h, e->point, pl);
	memcpy(h + pl, rest, rl);
	h[pl + rl] = '\0';
	if (!h[0])
		strcpy(h, "/");
	return h;
}

char *mounts_host_path(const struct mounts *m, uint32_t sb_dev, const char *fs_path,
		       mounts_check_fn check, void *ctx, int *mount_id)
{
	bool *tried;
	char *found = NULL;

	if (!fs_path || fs_path[0] != '/' || !m->n)
		return NULL;
	tried = calloc(m->n, sizeof(*tried));
	if (!tried)
		return NULL;
	/* the most specific root first: a bind mount of a/b names a/b/c more
	 * directly than the whole file system does */
	while (!found) {
		const struct mount_ent *best = NULL;
		size_t bi = 0;

		for (size_t i = 0; i < m->n; i++) {
			const struct mount_ent *e = &m->m[i];

			if (tried[i] || e->sb_dev != sb_dev ||
			    !path_under(fs_path, e->root, e->root_len))
				continue;
			if (!best || e->root_len > best->root_len ||
			    (e->root_len == best->root_len && e->point_len < best->point_len)) {
				best = e;
				bi = i;
			}
		}
		if (!best)
			break;
		tried[bi] = true;
		found = join(best, fs_path);
		if (found && check && !check(found, ctx)) {
			free(found);
			found = NULL;
		}
		if (found && mount_id)
			*mount_id = best->id;
	}
	free(tried);
	return found;
}

size_t mounts_candidates(const struct mounts *m, uint32_t sb_dev, const char *fs_path)
{
	size_t n = 0;

	for (size_t i = 0; fs_path && i < m->n; i++)
		n +=
		    m->m[i].sb_dev == sb_dev && path_under(fs_path, m->m[i].root, m->m[i].root_len);
	return n;
}

char *mounts_host_path_via(const struct mounts *m, int mount_id, uint32_t sb_dev,
			   const char *fs_path)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct mount_ent *e = &m->m[i];

		if (e->id == mount_id)
			return e->sb_dev == sb_dev && path_under(fs_path, e->root, e->root_len)
				   ? join(e, fs_path)
				   : NULL;
	}
	return NULL;
}

int mounts_locate(const struct mounts *m, const char *path, uint32_t *sb_dev, char **fs_path)
{
	const struct mount_ent *best = NULL;
	const char *rest;
	char *out;
	size_t rl;

	/* the longest mount point that holds path; of equal ones the last,
	 * which is mounted over the others */
	for (size_t i = 0; i < m->n; i++) {
		const struct mount_ent *e = &m->m[i];

		if (!path_under(path, e->point, e->point_len))
			continue;
		if (!best || e->point_len >= best->point_len)
			best = e;
	}
	if (!best)
		return -ENOENT;
	rest = path + (best->point_len == 1 ? 0 : best->point_len);
	rl = strlen(rest);
	out = malloc(best->root_len + rl + 2);
	if (!out)
		return -ENOMEM;
	memcpy(out, best->root, best->root_len);
	if (best->root_len == 1)
		memcpy(out, rest, rl + 1);
	else
		memcpy(out + best->root_len, rest, rl + 1);
	if (!out[0])
		strcpy(out, "/");
	*sb_dev = best->sb_dev;
	*fs_path = out;
	return 0;
}

const char *mounts_fstype(const struct mounts *m, uint32_t sb_dev)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->m[i].sb_dev == sb_dev)
			return m->m[i].fstype;
	return NULL;
}
