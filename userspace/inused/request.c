// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/request.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/clientstat.h"
#include "inused/creds.h"
#include "inused/fault.h"

/* Appends the request id, as given, or null. */
void proto_add_id(struct strbuf *b, json_t *id)
{
	char *s = id ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	sb_adds(b, "{\"id\":");
	sb_adds(b, s ? s : "null");
	free(s);
}

void proto_send_error(struct proto *p, struct conn *c, json_t *id, const char *code,
		      const char *msg)
{
	struct strbuf b = {0};

	p->st.errors++;
	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":false,\"error\":{\"code\":");
	proto_add_str(&b, code);
	sb_adds(&b, ",\"message\":");
	proto_add_str(&b, msg);
	sb_adds(&b, "}}\n");
	conn_send(c, b.buf, b.len);
	sb_free(&b);
}

void proto_add_json(struct strbuf *b, bool first, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(16)) : NULL;

	if (!first)
		sb_add(b, ",", 1);
	sb_adds(b, s ? s : "null");
	free(s);
	json_decref(o);
}

void proto_add_str(struct strbuf *b, const char *s)
{
	if (!s)
		sb_adds(b, "null");
	else
		jname_append(b, s, strlen(s));
}

void proto_send_obj(struct conn *c, json_t *id, json_t *body)
{
	struct strbuf b = {0};
	char *s = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(16));

	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":true");
	if (s && strlen(s) > 2) {
		sb_adds(&b, ",");
		sb_add(&b, s + 1, strlen(s) - 1); /* the body's members and its } */
	} else {
		sb_adds(&b, "}");
	}
	sb_adds(&b, "\n");
	conn_send(c, b.buf, b.len);
	sb_free(&b);
	free(s);
}

bool proto_visible(const struct entry *e, bool admin, uid_t uid)
{
	if (FAULT(LEAK))
		return true;
	if (admin)
		return true;
	for (uint32_t i = 0; i < e->nw; i++)
		if (e->w[i].uid == uid)
			return true;
	return false;
}

bool proto_visible_closed(const struct entry *e, bool admin, uid_t uid)
{
	if (admin || proto_visible(e, false, uid))
		return true;
	for (uint32_t i = 0; i < e->nuids; i++)
		if (e->uids[i] == uid)
			return true;
	return false;
}

int proto_get_duration(json_t *v, uint64_t *ns)
{
	if (json_is_number(v)) {
		double d = json_number_value(v);

		if (d < 0 || d > 1e10)
			return -EINVAL;
		*ns = (uint64_t)(d * 1e9);
		return 0;
	}
	if (json_is_string(v))
		return parse_duration(json_string_value(v), ns);
	return -EINVAL;
}

void namev_free(struct namev *nv)
{
	if (nv->block)
		free(nv->block);
	else
		for (size_t i = 0; i < nv->n; i++)
			free(nv->v[i]);
	nv->block = NULL;
	free(nv->v);
	nv->v = NULL;
	nv->n = 0;
	nv->bytes = 0;
}

int proto_get_paths(struct proto *p, struct conn *c, json_t *id, json_t *req, const char *member,
		    struct namev *out)
{
	json_t *paths = json_object_get(req, member), *v;
	char msg[160];
	size_t i;

	out->v = NULL;
	out->n = 0;
	out->bytes = 0;
	out->block = NULL;
	snprintf(msg, sizeof(msg),
		 "\"%s\" must be a non-empty array of absolute paths (strings, or arrays of "
		 "byte values)",
		 member);
	if (!json_is_array(paths) || json_array_size(paths) == 0) {
		proto_send_error(p, c, id, "bad_request", msg);
		return -EINVAL;
	}
	out->v = calloc(json_array_size(paths), sizeof(*out->v));
	if (!out->v) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(paths, i, v)
	{
		/* a path too long for the kernel is kept (up to a bound) and
		 * answered as an error of its own */
		size_t len = 0;
		char *s = jname_get(v, PROTO_NAME_MAX, &len);

		if (!s) {
			namev_free(out);
			proto_send_error(p, c, id, errno == ENOMEM ? "internal" : "bad_request",
					 errno == ENOMEM ? "out of memory" : msg);
			return -EINVAL;
		}
		out->v[out->n++] = s;
		out->bytes += len + 1 + 2 * sizeof(void *);
	}
	out->bytes += out->n * sizeof(*out->v);
	return 0;
}

const char *path_state_name(enum path_state s)
{
	static const char *const n[] = {"not_open", "open", "missing", "not_regular", "error"};

	return n[s];
}

/*
 * Does stat(2) on this device give, for every file, the identity of the
 * inode that holds its data (what the table is keyed by)? Not for an
 * overlay's merged files, nor for file systems not known here: those are
 * asked of the kernel through a descriptor. Remembered per device.
 */
#define FS_CACHE 64
static struct {
	dev_t dev;
	uint64_t gen; /* of the mount table it was seen in */
	bool used, keyed;
} fs_cache[FS_CACHE];

static size_t fs_slot(dev_t dev)
{
	return (size_t)(dev * 0x9E3779B97F4A7C15ULL >> 58) % FS_CACHE;
}

/* 1 or 0 when the device has been seen since the mount table last
 * changed (a device number is reused: an overlay may get the number a
 * tmpfs had), -1 when not. */
static int keyed_known(const struct tracker *t, dev_t dev)
{
	size_t slot = fs_slot(dev);

	if (fs_cache[slot].used && fs_cache[slot].dev == dev && fs_cache[slot].gen == t->mounts.gen)
		return fs_cache[slot].keyed;
	return -1;
}

static bool keyed_by_stat(const struct tracker *t, dev_t dev, int fd)
{
	static const unsigned long keyed_types[] = {
	    0xEF53,	/* ext2/3/4 */
	    0x58465342, /* xfs */
	    0x9123683E, /* btrfs (its subvolume devices are in the keys) */
	    0x01021994, /* tmpfs */
	    0x65735546, /* fuse */
	    0x4d44,	/* vfat */
	    0x2011BAB0, /* exfat */
	    0xF2F52010, /* f2fs */
	    0x6969,	/* nfs */
	    0x3153464a, /* jfs */
	    0x52654973, /* reiserfs */
	    0x858458f6, /* ramfs */
	};
	size_t slot = fs_slot(dev);
	int known = keyed_known(t, dev);
	struct statfs sf;
	bool keyed = false;

	if (known >= 0)
		return known;
	if (fstatfs(fd, &sf) != 0)
		return false;
	for (size_t i = 0; i < sizeof(keyed_types) / sizeof(keyed_types[0]); i++)
		if ((unsigned long)sf.f_type == keyed_types[i])
			keyed = true;
	/* the kernel's own shmem mount (a memfd, SysV shared memory, reached
	 * through /proc/PID/fd): not mounted anywhere, not tracked; asked */
	if (keyed && (sf.f_type == 0x01021994 || sf.f_type == 0x858458f6) &&
	    !mounts_fstype(&t->mounts, kdev_from_dev(dev)))
		keyed = false;
	fs_cache[slot].dev = dev;
	fs_cache[slot].gen = t->mounts.gen;
	fs_cache[slot].used = true;
	fs_cache[slot].keyed = keyed;
	return keyed;
}

/* The client's part of a lookup, with its credentials: the path opened
 * (O_PATH), what it names, and whether the client could read it. */
static void lookup_as_client(const char *path, struct path_res *r, int *fd)
{
	*fd = -1;
	if (path[0] != '/') {
		r->ps = PS_ERROR;
		r->err = EINVAL;
		return;
	}
	if (strlen(path) >= PATH_MAX) {
		r->ps = PS_ERROR;
		r->err = ENAMETOOLONG;
		return;
	}
	*fd = open(path, O_PATH | O_CLOEXEC);
	if (*fd < 0) {
		r->err = errno;
		r->ps = errno == ENOENT || errno == ENOTDIR ? PS_MISSING : PS_ERROR;
		return;
	}
	/* what it could open for reading itself, and nothing else */
	if (fstat(*fd, &r->st) != 0 || faccessat(*fd, "", R_OK, AT_EMPTY_PATH | AT_EACCESS) != 0) {
		r->err = errno == EACCES || errno == EPERM ? EACCES : errno;
		r->ps = PS_ERROR;
		close(*fd);
		*fd = -1;
		return;
	}
	r->ps = S_ISREG(r->st.st_mode) ? PS_NOT_OPEN : PS_NOT_REGULAR;
}

/* The table's part: true when it settles r: the inode has an entry, or
 * the table can say "not open" alone for its device (told by fd, or, with
 * no descriptor (fd < 0), by what an earlier lookup found of it). */
static bool lookup_table(struct proto *p, int fd, struct path_res *r)
{
	struct tracker *t = p->t;
	struct stat *st = &r->st;

	r->e = table_find_any(&t->table, kdev_from_dev(st->st_dev), st->st_ino);
	if (FAULT(LAG) && r->e && r->e->first_open_ns + 300 * NSEC_PER_MSEC > clock_boot_ns())
		r->e = NULL;
	if (r->e) {
		tracker_note_mtime(t, r->e,
				   (uint64_t)st->st_mtim.tv_sec * NSEC_PER_SEC +
				       (uint64_t)st->st_mtim.tv_nsec);
		r->ps = PS_OPEN;
		return true;
	}
	if (!tracker_table_trusted(t))
		return false;
	return fd >= 0 ? keyed_by_stat(t, st->st_dev, fd) : keyed_known(t, st->st_dev) == 1;
}

/* The daemon's part: the table, and the kernel when the table cannot
 * tell alone. */
static void lookup_state(struct proto *p, int fd, struct path_res *r)
{
	struct tracker *t = p->t;
	struct stat *st = &r->st;
	uint32_t dev;
	uint64_t ino;
	int k;

	if (lookup_table(p, fd, r))
		return;
	/* the kernel's own count, through a descriptor of this very path */
	k = tracker_fd_writers(t, fd, &dev, &ino);
	if (k == 1) {
		r->e = table_find(&t->table, dev, ino);
		r->ps = PS_OPEN;
		return;
	}
	if (k == 0)
		return;
	if (tracker_kernel_has(t, kdev_from_dev(st->st_dev), st->st_ino))
		r->ps = PS_OPEN;
}

/* Closes fds[0..n) (-1: none): a run of consecutive numbers, as the
 * lookups of a batch mostly get, with one close_range(2). */
static void close_all(const int *fds, size_t n)
{
	for (size_t i = 0, j; i < n; i = j) {
		j = i + 1;
		if (fds[i] < 0)
			continue;
		while (j < n && fds[j] == fds[j - 1] + 1)
			j++;
		if (j - i == 1 || syscall(SYS_close_range, fds[i], fds[j - 1], 0) != 0)
			for (size_t k = i; k < j; k++)
				close(fds[k]);
	}
}

/* proto_paths_state, the mount table already read again if it changed. */
static void lookup_paths(struct proto *p, const struct conn *c, char *const *paths, size_t n,
			 struct path_res *res)
{
	int fds[PROTO_LOOKUP_BATCH];
	int err;

	memset(res, 0, n * sizeof(*res));
	err = creds_enter(&c->peer);
	if (err) {
		/* the lookup cannot be made as the client: none is made */
		for (size_t i = 0; i < n; i++)
			res[i] = (struct path_res){.ps = PS_ERROR, .err = EACCES};
		return;
	}
	for (size_t i = 0; i < n; i++)
		lookup_as_client(paths[i], &res[i], &fds[i]);
	creds_leave();
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0 && res[i].ps == PS_NOT_OPEN)
			lookup_state(p, fds[i], &res[i]);
	close_all(fds, n);
}

void proto_paths_state(struct proto *p, const struct conn *c, char *const *paths, size_t n,
		       struct path_res *res)
{
	if (n > PROTO_LOOKUP_BATCH)
		n = PROTO_LOOKUP_BATCH;
	tracker_mounts_sync(p->t);
	lookup_paths(p, c, paths, n, res);
}

/* What the client's own stat(2) gave, as the lookup would have. */
static void from_client_stat(const struct client_stat *cs, struct path_res *r)
{
	r->st.st_dev = (dev_t)cs->dev;
	r->st.st_ino = (ino_t)cs->ino;
	r->st.st_mode = (mode_t)cs->mode;
	r->st.st_size = (off_t)cs->size;
	r->st.st_mtim.tv_sec = (time_t)(cs->mtime_ns / NSEC_PER_SEC);
	r->st.st_mtim.tv_nsec = (long)(cs->mtime_ns % NSEC_PER_SEC);
	r->st.st_ctim.tv_sec = (time_t)(cs->ctime_ns / NSEC_PER_SEC);
	r->st.st_ctim.tv_nsec = (long)(cs->ctime_ns % NSEC_PER_SEC);
	r->ps = S_ISREG(r->st.st_mode) ? PS_NOT_OPEN : PS_NOT_REGULAR;
}

void proto_paths_state_by(struct proto *p, const struct conn *c, char *const *paths,
			  const struct client_stat *cs, size_t n, struct path_res *res)
{
	struct path_res asked[PROTO_LOOKUP_BATCH];
	char *ask[PROTO_LOOKUP_BATCH];
	size_t at[PROTO_LOOKUP_BATCH], m = 0;

	if (!cs || !c->admin) {
		proto_paths_state(p, c, paths, n, res);
		return;
	}
	if (n > PROTO_LOOKUP_BATCH)
		n = PROTO_LOOKUP_BATCH;
	memset(res, 0, n * sizeof(*res));
	/* a file system mounted since the last turn is known before its
	 * device's number is taken for another's */
	tracker_mounts_sync(p->t);
	for (size_t i = 0; i < n; i++) {
		/* a name the lookup would refuse is refused by it */
		bool usable = paths[i][0] == '/' && strlen(paths[i]) < PATH_MAX;

		if (usable && cs[i].kind == CS_MISSING) {
			res[i].ps = PS_MISSING;
			res[i].err = ENOENT;
			continue;
		}
		if (usable && cs[i].kind == CS_STAT) {
			from_client_stat(&cs[i], &res[i]);
			if (res[i].ps != PS_NOT_OPEN || lookup_table(p, -1, &res[i]))
				continue;
		}
		ask[m] = paths[i];
		at[m++] = i;
	}
	if (!m)
		return;
	lookup_paths(p, c, ask, m, asked);
	for (size_t j = 0; j < m; j++)
		res[at[j]] = asked[j];
}

int under_init(struct tracker *t, const char *dir, struct under *u)
{
	char *canon;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (!dir || dir[0] != '/')
		return -EINVAL;
	canon = realpath(dir, NULL);
	u->host = canon ? canon : strdup(dir);
	if (!u->host)
		return -ENOMEM;
	n = strlen(u->host);
	while (n > 1 && u->host[n - 1] == '/')
		u->host[--n] = '\0';
	u->host_len = n;
	if (mounts_locate(&t->mounts, u->host, &u->sb_dev, &u->fs_path) == 0)
		u->fs_len = strlen(u->fs_path);
	return 0;
}

bool under_matches(struct tracker *t, const struct under *u, struct entry *e)
{
	if (!u->fs_path)
		tracker_resolve_names(t, e); /* only host paths to compare */
	for (int i = 0; i < ENTRY_NAMES; i++) {
		const struct ename *n = &e->names[i];

		if (n->host_path && path_under(n->host_path, u->host, u->host_len))
			return true;
		if (u->fs_path && n->fs_path && n->sb_dev == u->sb_dev &&
		    !(n->flags & (NF_TRUNC | NF_DETACHED)) &&
		    path_under(n->fs_path, u->fs_path, u->fs_len))
			return true;
	}
	return false;
}

void under_free(struct under *u)
{
	free(u->host);
	free(u->fs_path);
	memset(u, 0, sizeof(*u));
}

void proto_job_send(struct job *j, struct strbuf *b)
{
	if (b->len)
		conn_send(j->c, b->buf, b->len);
	sb_reset(b);
}
