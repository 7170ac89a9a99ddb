// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_guard.c - "guard" and "guard_end": a guarded job (inuse-run).
 *
 * "guard" makes the client's own process (SO_PEERCRED, checked alive
 * through its pidfd) the first member of a new job: the kernel side
 * records what the children it forks from then on read (bpf/guard.bpf.h).
 * Access rule: a client can guard only itself and what it starts, so a job
 * reads only what its own processes could read; a job does not nest in
 * another. "guard_end" stops the job and answers every read that was not
 * clean (guard.h), with the file's name and, for a client that may see
 * them, its writers. The job belongs to its connection: it ends with it.
 *
 * Bounds: INUSE_GUARD_JOBS jobs at once, of which a user who is not an
 * admin may hold GUARD_USER_MAX and the last GUARD_ADMIN_RESERVE are kept
 * for admins; a job's map of reads is bounded by its template
 * (bpf/guard.bpf.h; reads past it are counted as dropped).
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/guard.h"
#include "inused/guardk.h"
#include "inused/ops.h"
#include "inused/render.h"
#include "inused/request.h"

#define GUARD_USER_MAX	    4
#define GUARD_ADMIN_RESERVE 8

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

struct guard_slot {
	bool used;
	uint32_t gen;
	int fd; /* the job's map of reads */
	struct conn *c;
	uid_t uid;
	uint32_t pid;
	uint64_t started_wall_ns;
};

struct guards {
	struct guard_slot s[INUSE_GUARD_JOBS];
	uint32_t next_gen;
	uint64_t started, ended;
};

static struct guards *guards_get(struct proto *p)
{
	if (!p->guards)
		p->guards = calloc(1, sizeof(*p->guards));
	return p->guards;
}

static struct guard_slot *slot_of(struct proto *p, const struct conn *c)
{
	if (!p->guards)
		return NULL;
	for (int i = 0; i < INUSE_GUARD_JOBS; i++)
		if (p->guards->s[i].used && p->guards->s[i].c == c)
			return &p->guards->s[i];
	return NULL;
}

/* Is the client's process (as it connected) still alive? 1, 0, or -errno
 * when the kernel cannot tell by pidfd (then the pid is trusted). */
static int peer_alive(const struct conn *c)
{
	socklen_t len = sizeof(int);
	int pidfd = -1, r;

	if (getsockopt(c->w.fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) != 0)
		return errno == ESRCH ? 0 : -errno;
	r = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 ? 1 : 0;
	close(pidfd);
	return r;
}

static void slot_free(struct proto *p, struct guard_slot *s)
{
	kguard_free(p->t->k, (uint32_t)(s - p->guards->s), s->gen, s->fd);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	p->guards->ended++;
}

void op_guard(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct guards *g = guards_get(p);
	bool admin = proto_is_admin(p, c);
	json_t *self = json_object_get(req, "self");
	struct guard_slot *s = NULL;
	int free_slots = 0, mine = 0, fd, alive;
	uint32_t pid = (uint32_t)c->peer.pid, slot;

	if (!g) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return;
	}
	if (self && !json_is_boolean(self)) {
		proto_send_error(p, c, id, "bad_request", "\"self\" must be true or false");
		return;
	}
	if (slot_of(p, c)) {
		proto_send_error(p, c, id, "bad_request", "this connection already guards a job");
		return;
	}
	if (!pid || kguard_member(p->t->k, pid)) {
		proto_send_error(p, c, id, "guarded",
				 pid ? "the client is already in a guarded job (jobs do not nest)"
				     : "the client's process is not known");
		return;
	}
	for (int i = 0; i < INUSE_GUARD_JOBS; i++) {
		if (!g->s[i].used) {
			free_slots++;
			if (!s)
				s = &g->s[i];
		} else if (g->s[i].uid == c->peer.uid) {
			mine++;
		}
	}
	if (!s || (!admin && (mine >= GUARD_USER_MAX || free_slots <= GUARD_ADMIN_RESERVE))) {
		proto_send_error(p, c, id, "busy", "too many guarded jobs");
		return;
	}
	slot = (uint32_t)(s - g->s);
	if (++g->next_gen == 0)
		g->next_gen = 1;
	fd = kguard_start(p->t->k, slot, g->next_gen, pid,
			  json_is_true(self) ? 0 : INUSE_GUARD_INHERIT_ONLY);
	if (fd < 0) {
		char msg[128];

		snprintf(msg, sizeof(msg), "cannot start a guarded job: %s", strerror(-fd));
		proto_send_error(p, c, id, "internal", msg);
		return;
	}
	/* the process may have gone (and its pid been reused) before it was
	 * listed: it is checked after, when its exit would have unlisted it */
	alive = peer_alive(c);
	if (alive == 0 || (alive < 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
		kguard_untask(p->t->k, pid);
		kguard_free(p->t->k, slot, g->next_gen, fd);
		proto_send_error(p, c, id, "bad_request", "the client's process is gone");
		return;
	}
	*s = (struct guard_slot){.used = true,
				 .gen = g->next_gen,
				 .fd = fd,
				 .c = c,
				 .uid = c->peer.uid,
				 .pid = pid,
				 .started_wall_ns = clock_real_ns()};
	g->started++;
	{
		struct strbuf b = {0};

		proto_add_id(&b, id);
		sb_printf(&b, ",\"ok\":true,\"job\":%u,\"pid\":%u,\"self\":%s}\n", s->gen, pid,
			  json_is_true(self) ? "true" : "false");
		conn_send(c, b.buf, b.len);
		sb_free(&b);
	}
}

/* ---- the report ---- */

struct read_item {
	struct inuse_key key;
	struct inuse_guard_read r;
	struct inuse_guard_snap end; /* for a read not closed */
	bool end_known;
	struct guard_verdict v;
	char *path;
	bool deleted; /* no name: it was deleted */
};

struct collect {
	struct read_item *v;
	size_t n, cap;
	uint32_t gen;
	int err;
};

static void collect_one(void *ctx, const struct inuse_key *key, const struct inuse_guard_read *r)
{
	struct collect *cl = ctx;

	if (r->gen != cl->gen)
		return; /* an earlier job's, on its way out */
	if (r->flags & INUSE_GREAD_OWN)
		return; /* written by the job itself: its output */

	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? cl->cap * 2 : 64;
		struct read_item *n = realloc(cl->v, cap * sizeof(*n));

		if (!n) {
			cl->err = -ENOMEM;
			return;
		}
		cl->v = n;
		cl->cap = cap;
	}
	memset(&cl->v[cl->n], 0, sizeof(cl->v[cl->n]));
	cl->v[cl->n].key = *key;
	cl->v[cl->n].r = *r;
	cl->n++;
}

/* The state now of the reads the job never closed (their end), or, with
 * all, of every read (is it deleted?). */
static void probe_now(struct proto *p, struct read_item *v, size_t n, bool all)
{
	struct inuse_guard_probe_req req[INUSE_GUARD_PROBE_BATCH];
	struct inuse_guard_probe_res res[INUSE_GUARD_PROBE_BATCH];
	size_t idx[INUSE_GUARD_PROBE_BATCH], m = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && (all || !(v[i].r.open_now <= 0 && v[i].r.close.ns))) {
			req[m] = (struct inuse_guard_probe_req){v[i].r.inode_ptr, v[i].key.ino,
								v[i].key.dev, 0};
			idx[m++] = i;
		}
		if (m && (m == INUSE_GUARD_PROBE_BATCH || i == n)) {
			if (kguard_probe(p->t->k, req, res, m) == 0)
				for (size_t k = 0; k < m; k++)
					if (!(res[k].flags & INUSE_PROBE_GONE)) {
						struct read_item *it = &v[idx[k]];

						it->deleted |= res[k].nlink == 0;
						if (!all) {
							it->end = res[k].snap;
							it->end_known = true;
						}
					}
			m = 0;
		}
	}
}

struct expect_file {
	uint32_t dev;
	uint64_t ino;
	bool any;
};

static bool same_file(const char *path, void *ctx)
{
	const struct expect_file *x = ctx;
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	return x->any || (kdev_from_dev(st.st_dev) == x->dev && st.st_ino == x->ino);
}

/* Names the reported reads: their dentries walked again, mapped to the
 * host's mount namespace, confirmed by stat. */
static void name_reads(struct proto *p, struct read_item **v, size_t n)
{
	struct inuse_walk_req req[INUSE_WALK_BATCH];
	struct inuse_walk_res *res = malloc(INUSE_WALK_BATCH * sizeof(*res));

	if (!res)
		return;
	for (size_t off = 0; off < n; off += INUSE_WALK_BATCH) {
		size_t m = n - off < INUSE_WALK_BATCH ? n - off : INUSE_WALK_BATCH;

		for (size_t i = 0; i < m; i++)
			req[i] = (struct inuse_walk_req){.dentry_ptr = v[off + i]->r.dentry_ptr,
							 .inode_ptr = v[off + i]->r.name_inode_ptr};
		if (kernel_walk(p->t->k, req, res, m))
			continue;
		for (size_t i = 0; i < m; i++) {
			struct read_item *it = v[off + i];
			struct expect_file x = {.dev = it->key.dev,
						.ino = it->key.ino,
						.any = it->r.name_inode_ptr != it->r.inode_ptr};
			char fs[INUSE_PATH_MAX + 1];
			int mid;

			if (res[i].evflags & INUSE_EVF_UNLINKED)
				it->deleted = true;
			if (!res[i].len || res[i].len >= INUSE_PATH_MAX ||
			    (res[i].evflags &
			     (INUSE_EVF_TRUNC | INUSE_EVF_DETACHED | INUSE_EVF_UNLINKED)))
				continue;
			memcpy(fs, res[i].path, res[i].len);
			fs[res[i].len] = '\0';
			it->path =
			    mounts_host_path(&p->t->mounts, res[i].sb_dev, fs, same_file, &x, &mid);
		}
	}
	free(res);
}

static void render_read(struct proto *p, struct conn *c, bool admin, const struct read_item *it,
			struct strbuf *b)
{
	struct tracker *t = p->t;
	const struct guard_verdict *v = &it->v;
	const struct inuse_guard_snap *e = v->closed	   ? &it->r.close
					   : it->end_known ? &it->end
							   : NULL;
	struct entry *en;

	sb_adds(b, "{\"path\":");
	render_name(b, it->path);
	sb_printf(b, ",\"dev\":\"%u:%u\",\"ino\":%llu,\"state\":\"%s\",\"reason\":\"%s\"",
		  kdev_major(it->key.dev), kdev_minor(it->key.dev), (unsigned long long)it->key.ino,
		  guard_state(v), v->reason);
	sb_printf(b,
		  ",\"held\":%s,\"opened\":%s,\"written\":%s,\"written_before\":%s,\"mapped\":%s,"
		  "\"changed\":%s,\"closed\":%s",
		  v->held ? "true" : "false", v->opened ? "true" : "false",
		  v->written ? "true" : "false", v->recent ? "true" : "false",
		  v->mapped ? "true" : "false", v->changed ? "true" : "false",
		  v->closed ? "true" : "false");
	if (it->deleted)
		sb_adds(b, ",\"deleted\":true");
	sb_printf(b, ",\"pid\":%u,\"opens\":%u,\"size\":%llu,\"read_from\":", it->r.tgid,
		  it->r.opens, (unsigned long long)it->r.open.size);
	render_time(b, tracker_wall_ns(t, it->r.open.ns));
	sb_adds(b, ",\"read_to\":");
	render_time(b, e ? tracker_wall_ns(t, e->ns) : 0);
	sb_adds(b, ",\"mtime_at_read\":");
	render_time(b, it->r.open.mtime_ns);
	sb_printf(b, ",\"write_opens\":%llu,\"writes\":%llu", (unsigned long long)it->r.wopens,
		  (unsigned long long)it->r.writes);
	en = table_find(&t->table, it->key.dev, it->key.ino);
	if (en && proto_visible(en, admin, c->peer.uid))
		render_entry_members(t, en, b);
	sb_adds(b, "}");
}

void op_guard_end(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct guard_slot *s = slot_of(p, c);
	bool admin = proto_is_admin(p, c);
	struct collect cl = {.gen = s ? s->gen : 0};
	struct inuse_guard_job cnt;
	struct read_item **rep = NULL;
	struct strbuf b = {0};
	size_t nrep = 0;
	uint32_t slot;
	int err;

	if (!s) {
		proto_send_error(p, c, id, "bad_request", "this connection guards no job");
		return;
	}
	slot = (uint32_t)(s - p->guards->s);
	kguard_stop(p->t->k, slot);
	tracker_sync(p->t);
	kguard_counters(p->t->k, slot, &cnt);
	err = kguard_reads(s->fd, collect_one, &cl);
	if (!err)
		err = cl.err;
	if (err) {
		char msg[128];

		snprintf(msg, sizeof(msg), "cannot read the job's records: %s", strerror(-err));
		proto_send_error(p, c, id, "internal", msg);
		goto out;
	}
	probe_now(p, cl.v, cl.n, false);
	rep = malloc((cl.n ? cl.n : 1) * sizeof(*rep));
	if (!rep) {
		proto_send_error(p, c, id, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cl.n; i++) {
		struct read_item *it = &cl.v[i];

		guard_judge(&it->r, it->end_known ? &it->end : NULL, p->t->boot_to_real, &it->v);
		if (it->v.torn || it->v.held || it->v.changed)
			rep[nrep++] = it;
	}
	name_reads(p, rep, nrep);
	{
		/* those no name reaches: deleted since? */
		struct read_item *un = NULL;
		size_t nun = 0;

		for (size_t i = 0; i < nrep; i++)
			nun += !rep[i]->path;
		if (nun && (un = malloc(nun * sizeof(*un)))) {
			size_t k = 0;

			for (size_t i = 0; i < nrep; i++)
				if (!rep[i]->path)
					un[k++] = *rep[i];
			probe_now(p, un, nun, true);
			k = 0;
			for (size_t i = 0; i < nrep; i++)
				if (!rep[i]->path)
					rep[i]->deleted |= un[k++].deleted;
			free(un);
		}
	}

	proto_add_id(&b, id);
	sb_printf(&b,
		  ",\"ok\":true,\"job\":%u,\"reads\":%llu,\"clean\":%llu,\"dropped\":%llu,"
		  "\"unjoined\":%llu,\"running\":%lld,\"count\":%zu,\"files\":[",
		  s->gen, (unsigned long long)cnt.reads,
		  (unsigned long long)(cnt.reads > nrep ? cnt.reads - nrep : 0),
		  (unsigned long long)cnt.dropped, (unsigned long long)cnt.unjoined,
		  (long long)(cnt.members > 1 ? cnt.members - 1 : 0), nrep);
	for (size_t i = 0; i < nrep; i++) {
		if (i)
			sb_add(&b, ",", 1);
		render_read(p, c, admin, rep[i], &b);
	}
	sb_adds(&b, "]}\n");
	conn_send(c, b.buf, b.len);
out:
	for (size_t i = 0; i < cl.n; i++)
		free(cl.v[i].path);
	free(cl.v);
	free(rep);
	sb_free(&b);
	slot_free(p, s);
}

void op_guard_gone(struct proto *p, struct conn *c)
{
	struct guard_slot *s = slot_of(p, c);

	if (s)
		slot_free(p, s);
}

void op_guard_fini(struct proto *p)
{
	free(p->guards);
	p->guards = NULL;
}
