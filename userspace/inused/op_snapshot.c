// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_snapshot.c - "snapshot": a crash-consistent copy of files that stay
 * open for writing, by taking their writers out of the way for a moment.
 *
 * Every path must be one whose policy rule says open = "snapshot". The
 * writers of all the paths (a database and its journal are taken together)
 * are frozen (freeze.h), each file is copied (snapcopy.h: a reflink clone
 * where the file system can, else a plain copy bounded in size and time),
 * the writers are thawed, and the copies are handed to the client as
 * read-only descriptors (SCM_RIGHTS) with the answer. The freeze is capped
 * at the rules' freeze_max: past it the copies are abandoned. Writers are
 * thawed on every path out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/creds.h"
#include "inused/freeze.h"
#include "inused/log.h"
#include "inused/ops.h"
#include "inused/policy.h"
#include "inused/render.h"
#include "inused/request.h"
#include "inused/snapcopy.h"

#define SNAP_MAX_PATHS	 CONN_FDS_MAX
#define SNAP_MAX_WRITERS 256

enum { SNAP_TAKEN = 0, SNAP_REFUSED, SNAP_FAILED };

struct snap_file {
	const char *path;
	int src;	   /* the file, read-only */
	struct entry *e;   /* its entry, NULL: not open for writing */
	uint64_t open_gen; /* before the copy */
	struct stat st;
	struct stat frozen; /* once its writers were frozen */
	struct snapcopy copy;
};

struct snap {
	struct snap_file f[SNAP_MAX_PATHS];
	size_t n;
	pid_t pids[SNAP_MAX_WRITERS];
	uint64_t starts[SNAP_MAX_WRITERS];
	size_t npids;
	uint64_t freeze_max_ns, max_size;
	int how;
};

static void count_freeze(struct proto *p, uint64_t ns)
{
	double s = (double)ns / 1e9;
	int b = 0;

	while (b < PROTO_LAT_BUCKETS && s > proto_lat_bounds[b])
		b++;
	p->st.freeze_count[b]++;
	p->st.freeze_sum += s;
}

static void snap_close(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->f[i].src >= 0)
			close(s->f[i].src);
		if (s->f[i].copy.fd >= 0)
			close(s->f[i].copy.fd);
	}
}

static void refuse(struct proto *p, struct conn *c, json_t *id, const char *code, const char *why,
		   const char *path)
{
	struct strbuf m = {0};

	sb_adds(&m, why);
	if (path) {
		sb_adds(&m, ": ");
		sb_adds(&m, path);
	}
	p->st.snapshots[!strcmp(code, "refused") ? SNAP_REFUSED : SNAP_FAILED]++;
	log_info("snapshot refused: %s", m.buf);
	proto_send_error(p, c, id, code, m.buf);
	sb_free(&m);
}

/* May the client stop the writers of e? 0, or -1 after answering. */
static int writers_allowed(struct proto *p, struct conn *c, json_t *id, bool admin,
			   const struct entry *e, const char *path)
{
	if (!e)
		return 0;
	if (!admin) {
		/* a user may stop only its own processes */
		for (uint32_t i = 0; i < e->nw; i++) {
			if (e->w[i].uid != c->peer.uid) {
				refuse(p, c, id, "refused", "another user's process writes", path);
				return -1;
			}
		}
	}
	if (e->writers_dropped) {
		refuse(p, c, id, "refused", "too many writers to freeze them all", path);
		return -1;
	}
	if (!e->nw) {
		refuse(p, c, id, "refused",
		       "the file's writers are not known (in flight, a ring, the kernel): they "
		       "cannot be frozen",
		       path);
		return -1;
	}
	return 0;
}

/*
 * Before the freeze: the path's rule must allow snapshots; its writers, if
 * it exists, are to be frozen. A path that does not exist yet is allowed (a
 * journal that appears with a transaction): it is looked up again once the
 * writers are frozen. 0, or -1 after answering.
 */
static int plan_file(struct proto *p, struct conn *c, json_t *id, bool admin, struct snap *s,
		     const char *path)
{
	struct snap_file *f = &s->f[s->n];
	const struct rule *r = policy_match(p->pol, path);
	char *one = (char *)path;
	struct path_res res;

	f->path = path;
	f->src = -1;
	f->copy.fd = -1;
	f->e = NULL;
	if (r->open != DEC_SNAPSHOT) {
		refuse(p, c, id, "refused", "the policy does not allow snapshots of", path);
		return -1;
	}
	/* looked up with the client's rights: it may snapshot what it may read */
	proto_paths_state(p, c, &one, 1, &res);
	f->st = res.st;
	f->e = res.e;
	if (res.ps != PS_OPEN && res.ps != PS_NOT_OPEN && res.ps != PS_MISSING) {
		refuse(p, c, id, "refused", "not a readable regular file", path);
		return -1;
	}
	if (writers_allowed(p, c, id, admin, f->e, path))
		return -1;
	for (uint32_t i = 0; f->e && i < f->e->nw && s->npids < SNAP_MAX_WRITERS; i++) {
		s->pids[s->npids] = (pid_t)f->e->w[i].pid;
		s->starts[s->npids++] = f->e->w[i].start_ns;
	}
	if (!s->n || r->freeze_max_ns < s->freeze_max_ns)
		s->freeze_max_ns = r->freeze_max_ns;
	if (!s->n || r->snapshot_max_size < s->max_size)
		s->max_size = r->snapshot_max_size;
	if (!s->n)
		s->how = r->freeze_how;
	s->n++;
	return 0;
}

/*
 * Once the writers are frozen: opens each path as it is now, and adds to
 * s the writers it has that the freeze does not hold (a process forked
 * before the freeze, a journal's writer). Returns how many were added; a
 * file every writer of which is frozen cannot change until the thaw. -1
 * (why set) when a file cannot be read.
 */
static int open_frozen(struct proto *p, const struct conn *c, struct snap *s,
		       const struct freeze *fr, const char **why)
{
	int added = 0;

	tracker_sync(p->t);
	for (size_t i = 0; i < s->n; i++) {
		struct snap_file *f = &s->f[i];
		struct entry *e;
		int oerr = 0;

		/* opened with the client's rights, as it would itself */
		if (f->src < 0) {
			if (creds_enter(&c->peer)) {
				*why = "cannot take the client's identity";
				return -1;
			}
			f->src = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			oerr = errno;
			creds_leave();
		}
		if (f->src < 0) {
			if (oerr == ENOENT)
				continue; /* not there: reported missing */
			*why = "cannot open a file";
			return -1;
		}
		if (fstat(f->src, &f->st) || !S_ISREG(f->st.st_mode)) {
			*why = "not a regular file";
			return -1;
		}
		e = table_find_any(&p->t->table, kdev_from_dev(f->st.st_dev), f->st.st_ino);
		for (uint32_t k = 0; e && k < e->nw && s->npids < SNAP_MAX_WRITERS; k++) {
			if (freeze_holds(p->fz, fr, (pid_t)e->w[k].pid))
				continue;
			s->pids[s->npids] = (pid_t)e->w[k].pid;
			s->starts[s->npids++] = e->w[k].start_ns;
			added++;
		}
		f->e = e;
		f->open_gen = e ? e->open_gen : 0;
		f->frozen = f->st;
	}
	return added;
}

/*
 * What is written already goes to disk before any writer is frozen: a
 * clone first writes back the file's dirty pages, and a gigabyte just
 * written would otherwise be written back while the writers wait. The
 * files are opened with the client's rights and closed again (they are
 * opened anew once frozen); a file that cannot be opened is left to that.
 */
static void preflush(const struct conn *c, struct snap *s)
{
	if (creds_enter(&c->peer))
		return;
	for (size_t i = 0; i < s->n; i++) {
		int fd = open(s->f[i].path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd < 0)
			continue;
		fdatasync(fd);
		close(fd);
	}
	creds_leave();
}

/* Did a writer the freeze did not hold open a file or write it while the
 * copies were made? Then the copies may not be consistent. */
static bool disturbed(struct proto *p, struct snap *s)
{
	tracker_sync(p->t);
	for (size_t i = 0; i < s->n; i++) {
		struct snap_file *f = &s->f[i];
		struct entry *e;
		struct stat now;

		if (f->src < 0)
			continue;
		e = table_find_any(&p->t->table, kdev_from_dev(f->st.st_dev), f->st.st_ino);
		if ((e ? e->open_gen : 0) != f->open_gen)
			return true;
		if (fstat(f->src, &now) || now.st_size != f->frozen.st_size ||
		    now.st_mtim.tv_sec != f->frozen.st_mtim.tv_sec ||
		    now.st_mtim.tv_nsec != f->frozen.st_mtim.tv_nsec)
			return true;
	}
	return false;
}

static void answer(struct proto *p, struct conn *c, json_t *id, struct snap *s, uint64_t frozen_ns,
		   size_t nunits)
{
	int fds[SNAP_MAX_PATHS], nfds = 0;
	struct strbuf b = {0};

	proto_add_id(&b, id);
	sb_printf(&b, ",\"ok\":true,\"frozen_ms\":%.3f,\"frozen\":%zu,\"files\":[",
		  (double)frozen_ns / 1e6, nunits);
	for (size_t i = 0; i < s->n; i++) {
		sb_adds(&b, i ? ",{\"path\":" : "{\"path\":");
		render_name(&b, s->f[i].path);
		if (s->f[i].copy.fd < 0) {
			sb_adds(&b, ",\"missing\":true}");
			continue;
		}
		sb_printf(&b, ",\"fd\":%d,\"size\":%llu,\"cloned\":%s}", nfds,
			  (unsigned long long)s->f[i].copy.bytes,
			  s->f[i].copy.cloned ? "true" : "false");
		fds[nfds++] = s->f[i].copy.fd;
		p->st.snapshot_bytes += s->f[i].copy.bytes;
	}
	sb_printf(&b, "],\"count\":%zu}\n", s->n);
	if ((nfds ? conn_send_fds(c, b.buf, b.len, fds, nfds) : conn_send(c, b.buf, b.len)) == 0) {
		for (size_t i = 0; i < s->n; i++)
			s->f[i].copy.fd = -1; /* taken */
		p->st.snapshots[SNAP_TAKEN]++;
	} else {
		proto_send_error(p, c, id, "busy", "too many snapshots waiting to be sent");
	}
	sb_free(&b);
}

void op_snapshot(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	static struct snap s;
	struct freeze_rules rules = {0};
	struct freeze fr;
	bool admin = proto_is_admin(p, c);
	struct namev paths;
	const char *why = NULL;
	uint64_t t0, deadline, frozen_ns = 0;
	size_t nunits;
	int err;

	if (proto_get_paths(p, c, id, req, "paths", &paths))
		return;
	memset(&s, 0, sizeof(s));
	if (!p->fz) {
		refuse(p, c, id, "refused", "snapshots are not available", NULL);
		goto out;
	}
	if (paths.n > SNAP_MAX_PATHS) {
		proto_send_error(p, c, id, "bad_request", "at most 16 paths per snapshot");
		goto out;
	}
	tracker_sync(p->t);
	for (size_t i = 0; i < paths.n; i++)
		if (plan_file(p, c, id, admin, &s, paths.v[i]))
			goto out;
	/* too large to copy where no clone can be made: refused before any
	 * writer is frozen */
	for (size_t i = 0; i < s.n; i++) {
		char dir[PATH_MAX];
		const char *slash = strrchr(s.f[i].path, '/');

		if (!s.f[i].st.st_ino || !s.max_size || (uint64_t)s.f[i].st.st_size <= s.max_size)
			continue;
		snprintf(dir, sizeof(dir), "%.*s",
			 slash && slash != s.f[i].path ? (int)(slash - s.f[i].path) : 1,
			 s.f[i].path);
		if (!snap_can_clone(dir)) {
			refuse(p, c, id, "refused",
			       "larger than snapshot_max_size, and the file system cannot clone it",
			       s.f[i].path);
			goto out;
		}
	}
	rules.how = s.how;
	rules.never = p->pol->snapshot.never;
	rules.client = c->peer.pid;
	memset(&fr, 0, sizeof(fr));
	err = freeze_plan(p->fz, &rules, s.pids, s.starts, s.npids, &fr, &why);
	if (err) {
		refuse(p, c, id, "refused", why, NULL);
		goto out;
	}
	preflush(c, &s);
	t0 = clock_mono_ns();
	deadline = t0 + s.freeze_max_ns;
	err = freeze_do(p->fz, &fr, deadline, &why);
	/* writers the first freeze missed (forked just before it, or of a
	 * file that appeared) are frozen too, a few rounds at most */
	for (int round = 0; !err; round++) {
		size_t before = s.npids;
		int added = open_frozen(p, c, &s, &fr, &why);

		if (added <= 0) {
			if (added < 0)
				err = -EIO;
			break;
		}
		if (round == 3) {
			why = "writers keep appearing";
			err = -EAGAIN;
			break;
		}
		err = freeze_plan(p->fz, &rules, s.pids + before, s.starts + before,
				  s.npids - before, &fr, &why);
		if (!err)
			err = freeze_do(p->fz, &fr, deadline, &why);
	}
	if (err) {
		freeze_undo(p->fz, &fr);
		refuse(p, c, id, err == -EPERM ? "refused" : "failed", why, NULL);
		goto out;
	}
	nunits = fr.n;
	for (size_t i = 0; i < s.n && !err; i++) {
		if (s.f[i].src < 0)
			continue;
		err = snap_copy(s.f[i].src, s.f[i].path,
				p->pol->snapshot.dir ? p->pol->snapshot.dir : "/var/tmp",
				s.max_size, deadline, &s.f[i].copy, &why);
		if (err)
			refuse(p, c, id, err == -EFBIG ? "refused" : "failed", why, s.f[i].path);
	}
	/* checked before the thaw: the frozen writers may write right after */
	if (!err && disturbed(p, &s)) {
		refuse(p, c, id, "failed",
		       "a writer the freeze did not hold opened or wrote a file meanwhile", NULL);
		err = -EAGAIN;
	}
	freeze_undo(p->fz, &fr);
	frozen_ns = clock_mono_ns() - t0;
	if (nunits)
		count_freeze(p, frozen_ns);
	if (err)
		goto out;
	log_info("snapshot of %zu file(s) (%s%s): %zu writer unit(s) frozen %.3f ms, %llu bytes",
		 s.n, s.f[0].path, s.n > 1 ? ", ..." : "", nunits, (double)frozen_ns / 1e6,
		 (unsigned long long)s.f[0].copy.bytes);
	answer(p, c, id, &s, frozen_ns, nunits);
out:
	snap_close(&s);
	namev_free(&paths);
}
