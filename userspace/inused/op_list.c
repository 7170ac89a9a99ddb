// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* op_list.c - the "list" request: the table, filtered. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/jname.h"
#include "common/timeutil.h"
#include "inused/ops.h"
#include "inused/render.h"
#include "inused/request.h"

struct list_filter {
	struct tracker *t;
	struct under under;
	bool has_under;
	long long pid;	   /* -1: any */
	long long uid;	   /* -1: any */
	uint64_t older_ns; /* 0: any */
	uint64_t now_boot;
	uint64_t start_boot;
};

static bool matches(const struct list_filter *f, struct entry *e)
{
	if (f->has_under && !under_matches(f->t, &f->under, e))
		return false;
	if (f->pid >= 0 || f->uid >= 0) {
		bool any = false;

		for (uint32_t i = 0; i < e->nw && !any; i++)
			any = (f->pid < 0 || e->w[i].pid == f->pid) &&
			      (f->uid < 0 || e->w[i].uid == f->uid);
		if (!any)
			return false;
	}
	if (f->older_ns) {
		uint64_t since = e->first_open_ns ? e->first_open_ns : f->start_boot;

		if (f->now_boot < since || f->now_boot - since < f->older_ns)
			return false;
	}
	return true;
}

/* Reads the filters of a list request; sends the error and returns -EINVAL
 * for a bad one. */
static int get_filter(struct proto *p, struct conn *c, json_t *id, json_t *req,
		      struct list_filter *f)
{
	json_t *v;

	if ((v = json_object_get(req, "under"))) {
		char *dir = jname_get(v, PATH_MAX, NULL);
		int err = dir ? under_init(p->t, dir, &f->under) : -EINVAL;

		free(dir);
		if (err) {
			proto_send_error(p, c, id, "bad_request",
					 "\"under\" must be an absolute path");
			return -EINVAL;
		}
		f->has_under = true;
	}
	if ((v = json_object_get(req, "pid"))) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0) {
			proto_send_error(p, c, id, "bad_request",
					 "\"pid\" must be a positive integer");
			return -EINVAL;
		}
		f->pid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "uid"))) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > UINT32_MAX) {
			proto_send_error(p, c, id, "bad_request", "\"uid\" must be a user id");
			return -EINVAL;
		}
		f->uid = json_integer_value(v);
	}
	if ((v = json_object_get(req, "older_than")) && proto_get_duration(v, &f->older_ns)) {
		proto_send_error(p, c, id, "bad_request",
				 "\"older_than\" must be seconds or a duration like \"90s\"");
		return -EINVAL;
	}
	return 0;
}

/* Files on file systems whose writes no hook sees: their modification
 * times are read before they are shown. */
static void refresh_writes(struct tracker *t, struct entry **v, size_t n)
{
	struct entry *m[JOB_TURN];
	size_t k = 0;

	for (size_t i = 0; i < n && k < JOB_TURN; i++)
		if (v[i]->pflags & PF_MTIME)
			m[k++] = v[i];
	tracker_refresh_writes(t, m, k);
}

/* How many entries ahead of the one rendered are fetched into the cache. */
#define PREFETCH 8

struct key {
	uint64_t ino;
	uint32_t dev;
	struct entry *e; /* valid while the table's removals are as found */
};

/* The files to show, by key (entries may leave the table between turns:
 * each is found again when its turn comes, unless none left since they
 * were found), without duplicates. */
struct keyset {
	struct key *v; /* in the order found */
	size_t n, cap;
	size_t *slot; /* open addressing: index + 1, 0: free */
	size_t nslot;
	uint64_t removals; /* the table's, when the keys were found */
};

static size_t key_hash(const struct key *k)
{
	return (size_t)((k->ino * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)k->dev << 17));
}

static int keyset_grow(struct keyset *s)
{
	size_t ns = s->nslot ? s->nslot * 2 : 64;
	size_t *slot = calloc(ns, sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		size_t h = key_hash(&s->v[i]) & (ns - 1);

		while (slot[h])
			h = (h + 1) & (ns - 1);
		slot[h] = i + 1;
	}
	free(s->slot);
	s->slot = slot;
	s->nslot = ns;
	return 0;
}

static int keyset_append(struct keyset *s, const struct key *k)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct key *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *k;
	return 1;
}

/* Adds e unless present. 1 added, 0 present, -ENOMEM. */
static int keyset_add(struct keyset *s, struct entry *e)
{
	struct key k = {.ino = e->ino, .dev = e->dev, .e = e};
	size_t h;

	if ((s->n + 1) * 2 > s->nslot && keyset_grow(s))
		return -ENOMEM;
	for (h = key_hash(&k) & (s->nslot - 1); s->slot[h]; h = (h + 1) & (s->nslot - 1)) {
		const struct key *o = &s->v[s->slot[h] - 1];

		if (o->dev == k.dev && o->ino == k.ino)
			return 0;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct key *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = k;
	s->slot[h] = ++s->n;
	return 1;
}

static void keyset_free(struct keyset *s)
{
	free(s->v);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}

struct list_job {
	struct job j;
	struct list_filter f;
	bool with_paths;
	bool lean;  /* the lean form of entries (docs/protocol.md) */
	bool procs; /* the writers' processes named once, in "processes" */
	struct procset ps;
	struct namev paths;
	size_t next_path;
	struct keyset shown; /* with paths or pid: the files to show */
	size_t next_file;
	/* otherwise the table is walked in its order, turn by turn: */
	bool walk;
	bool pinned;	   /* the table (table_pin) */
	size_t pos;	   /* the next slot of the table's order array */
	uint64_t ord_gen;  /* the array's when pos was taken */
	uint64_t last_seq; /* of the last entry looked at */
	uint64_t end_seq;  /* entries added after the answer began are not shown */
	size_t count;	   /* files written */
	bool files_open;   /* "files":[ written */
	size_t charged;	   /* bytes of shown and ps counted */
};

/* Keeps the memory of the keys and processes counted to the client's
 * user. */
static void charge_keys(struct list_job *lj)
{
	size_t now = lj->shown.cap * sizeof(struct key) + lj->shown.nslot * sizeof(size_t) +
		     procset_bytes(&lj->ps);

	if (now != lj->charged) {
		conn_hold_bytes(lj->j.c, (long long)now - (long long)lj->charged);
		lj->j.bytes += now - lj->charged;
		lj->charged = now;
	}
}

/* A turn of the paths: each looked up with the client's rights. */
static void list_paths_turn(struct proto *p, struct list_job *lj, struct strbuf *b)
{
	struct conn *c = lj->j.c;
	struct path_res res[PROTO_LOOKUP_BATCH];
	size_t n;

	for (size_t done = 0; done < JOB_TURN && lj->next_path < lj->paths.n; done += n) {
		n = lj->paths.n - lj->next_path;
		if (n > PROTO_LOOKUP_BATCH)
			n = PROTO_LOOKUP_BATCH;
		proto_paths_state(p, c, lj->paths.v + lj->next_path, n, res);
		for (size_t i = 0; i < n; i++) {
			size_t k = lj->next_path + i;
			struct entry *e = res[i].e;
			bool vis = e && proto_visible(e, c->admin, c->peer.uid);

			sb_adds(b, k ? ",{\"path\":" : "{\"path\":");
			render_name(b, lj->paths.v[k]);
			sb_printf(b, ",\"state\":\"%s\"%s", path_state_name(res[i].ps),
				  vis ? ",\"visible\":true" : "");
			if (res[i].ps == PS_ERROR) {
				sb_adds(b, ",\"error\":");
				proto_add_str(b, strerror(res[i].err));
			}
			sb_adds(b, "}");
			if (vis && matches(&lj->f, e))
				keyset_add(&lj->shown, e);
		}
		lj->next_path += n;
	}
	charge_keys(lj);
}

/* The entries a turn selected: their write times read again, then each
 * rendered into b, their cached parts fetched ahead. */
static void render_turn(struct tracker *t, struct list_job *lj, struct entry **v, size_t n,
			struct strbuf *b)
{
	refresh_writes(t, v, n);
	for (size_t i = 0; i < n; i++) {
		if (i + PREFETCH / 2 < n && v[i + PREFETCH / 2]->json) {
			const struct entry *f = v[i + PREFETCH / 2];

			/* its cached rendering, first and last line, and the
			 * first process after it (render.c) */
			__builtin_prefetch(f->json);
			__builtin_prefetch(f->json + 64);
			__builtin_prefetch(f->json + f->json_len - 1);
			if (lj->procs)
				__builtin_prefetch(f->json + f->json_len + 47);
		}
		if (lj->count++)
			sb_add(b, ",", 1);
		render_entry(t, v[i], lj->lean ? RENDER_LEAN : 0, lj->procs ? &lj->ps : NULL, b);
	}
	if (lj->procs)
		charge_keys(lj);
}

/* A turn of the files: those still in the table and still visible. */
static void list_files_turn(struct proto *p, struct list_job *lj, struct strbuf *b)
{
	struct tracker *t = p->t;
	struct conn *c = lj->j.c;
	struct entry *v[JOB_TURN];
	bool same = t->table.removals == lj->shown.removals;
	size_t n = 0;

	while (n < JOB_TURN && lj->next_file < lj->shown.n) {
		const struct key *k = &lj->shown.v[lj->next_file++];
		struct entry *e =
		    same && !k->e->dead ? k->e : table_find(&t->table, k->dev, k->ino);

		/* entries are spread over the heap: the next ones asked for
		 * while this one is looked at */
		if (same && lj->next_file + PREFETCH < lj->shown.n)
			__builtin_prefetch(lj->shown.v[lj->next_file + PREFETCH].e);

		if (e && proto_visible(e, c->admin, c->peer.uid) && matches(&lj->f, e))
			v[n++] = e;
	}
	render_turn(t, lj, v, n, b);
}

/* At most this many entries looked at in one turn of a walk (those the
 * filters leave out included). */
#define WALK_TURN (JOB_TURN * 64)
/* How far ahead the walk fetches entries (each a cache miss of its own). */
#define ORD_AHEAD 16

/* A turn of a walk of the table: the next entries in its order, those
 * still in it, visible and selected. Returns true at the end. */
static bool list_walk_turn(struct proto *p, struct list_job *lj, struct strbuf *b)
{
	struct tracker *t = p->t;
	struct conn *c = lj->j.c;
	const struct table *tb = &t->table;
	struct entry *v[JOB_TURN];
	size_t n = 0, looked = 0;
	/* --older-than: files first opened after this are not shown */
	uint64_t cutoff = lj->f.now_boot > lj->f.older_ns ? lj->f.now_boot - lj->f.older_ns : 0;

	if (tb->ord_gen != lj->ord_gen) {
		/* slots moved: the place again by order */
		lj->pos = table_ord_from(tb, lj->last_seq + 1);
		lj->ord_gen = tb->ord_gen;
	}
	while (n < JOB_TURN && looked++ < WALK_TURN && lj->pos < tb->nord &&
	       tb->ord[lj->pos].seq <= lj->end_seq) {
		const struct ordslot *o = &tb->ord[lj->pos++];
		struct entry *e = o->e;

		/* the entries ahead fetched while this one is looked at */
		if (lj->pos + ORD_AHEAD < tb->nord && tb->ord[lj->pos + ORD_AHEAD].e) {
			/* the 64 bytes a listing reads, on one or two lines */
			const char *f = (const char *)tb->ord[lj->pos + ORD_AHEAD].e;

			__builtin_prefetch(f);
			__builtin_prefetch(f + 63);
		}
		lj->last_seq = o->seq;
		if (e && lj->f.older_ns && table_opened_after(tb, e, cutoff, lj->f.start_boot)) {
			/* open for less long, it and every file after it */
			lj->pos = tb->nord;
			break;
		}
		if (e && proto_visible(e, c->admin, c->peer.uid) && matches(&lj->f, e))
			v[n++] = e;
	}
	render_turn(t, lj, v, n, b);
	return lj->pos >= tb->nord || tb->ord[lj->pos].seq > lj->end_seq;
}

static void add_if_shown(struct list_job *lj, struct conn *c, struct entry *e)
{
	if (proto_visible(e, c->admin, c->peer.uid) && matches(&lj->f, e)) {
		struct key k = {.ino = e->ino, .dev = e->dev, .e = e};

		keyset_append(&lj->shown, &k);
	}
}

static int by_seq(const void *a, const void *b)
{
	uint64_t x = ((const struct key *)a)->e->seq, y = ((const struct key *)b)->e->seq;

	return x < y ? -1 : x > y;
}

/* A listing of one process's files: from the pid index (it costs what it
 * shows), in the table's order. */
static void pid_keys(struct list_job *lj, struct conn *c)
{
	size_t n;
	struct entry *const *l = table_pid_entries(&lj->f.t->table, (uint32_t)lj->f.pid, &n);

	for (size_t i = 0; i < n; i++)
		add_if_shown(lj, c, l[i]);
	if (lj->shown.n > 1)
		qsort(lj->shown.v, lj->shown.n, sizeof(*lj->shown.v), by_seq);
}

/* A listing of one user's files: from the user index (it costs what the
 * user's processes hold), in the table's order. False when the index is
 * not kept, or when the user holds more than 64 files and an eighth of
 * the table: the walk is then cheaper than sorting the user's files into
 * the table's order (50,000 files of 50,000: 17 ms against 6). */
static bool uid_keys(struct list_job *lj, struct conn *c)
{
	const struct table *tb = &lj->f.t->table;
	size_t n;
	struct entry *const *l = table_uid_entries(tb, (uint32_t)lj->f.uid, &n);

	if (n == SIZE_MAX || (n > 64 && n > tb->count / 8))
		return false;
	for (size_t i = 0; i < n; i++)
		add_if_shown(lj, c, l[i]);
	if (lj->shown.n > 1)
		qsort(lj->shown.v, lj->shown.n, sizeof(*lj->shown.v), by_seq);
	return true;
}

static bool list_step(struct proto *p, struct job *jb)
{
	struct list_job *lj = (struct list_job *)jb;
	struct tracker *t = p->t;
	struct conn *c = jb->c;
	struct strbuf b = {0}, *out;
	bool done = false;

	tracker_sync(t);
	lj->f.now_boot = clock_boot_ns();
	lj->f.start_boot = t->start_boot_ns;
	if (!lj->files_open && !lj->with_paths) {
		/* the files of the table as they are now, by key: each once
		 * (no lookup for duplicates) */
		lj->shown.removals = t->table.removals;
		if (lj->f.pid >= 0) {
			pid_keys(lj, c);
			charge_keys(lj);
		} else if (lj->f.uid >= 0 && uid_keys(lj, c)) {
			charge_keys(lj);
		} else {
			/* the table walked in turns from here: what is in it
			 * now, as it is when its turn comes */
			lj->walk = true;
			lj->pos = 0;
			lj->ord_gen = t->table.ord_gen;
			lj->end_seq = t->table.seq;
		}
		proto_add_id(&b, jb->id);
		sb_adds(&b, ",\"ok\":true,\"files\":[");
		lj->files_open = true;
	} else if (!lj->files_open) {
		if (lj->next_path == 0) {
			lj->shown.removals = t->table.removals;
			proto_add_id(&b, jb->id);
			sb_adds(&b, ",\"ok\":true,\"paths\":[");
		}
		list_paths_turn(p, lj, &b);
		if (lj->next_path == lj->paths.n) {
			sb_adds(&b, "],\"files\":[");
			lj->files_open = true;
		}
		proto_job_send(jb, &b);
		sb_free(&b);
		return false;
	}
	/* what came before, then the files rendered straight into the
	 * connection's output (their cached parts copied once) */
	proto_job_send(jb, &b);
	sb_free(&b);
	out = conn_out(c);
	if (lj->walk ? list_walk_turn(p, lj, out)
		     : (list_files_turn(p, lj, out), lj->next_file == lj->shown.n)) {
		sb_adds(out, "]");
		if (lj->procs)
			render_processes(t, &lj->ps, out);
		sb_printf(out, ",\"count\":%zu,\"table_full\":%s,\"complete\":%s}\n", lj->count,
			  t->table.full_events || t->st.kernel_map_full ? "true" : "false",
			  c->admin ? "true" : "false");
		done = true;
	}
	conn_out_done(c);
	return done;
}

static void list_free(struct proto *p, struct job *jb)
{
	struct list_job *lj = (struct list_job *)jb;

	if (lj->pinned)
		table_unpin(&p->t->table);
	keyset_free(&lj->shown);
	procset_free(&lj->ps);
	namev_free(&lj->paths);
	if (lj->f.has_under)
		under_free(&lj->f.under);
	free(lj);
}

void op_list(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct list_job *lj = calloc(1, sizeof(*lj));
	json_t *v;

	if (!lj) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return;
	}
	lj->f.t = p->t;
	lj->f.pid = -1;
	lj->f.uid = -1;
	lj->with_paths = json_object_get(req, "paths") != NULL;
	if ((v = json_object_get(req, "lean")) && !json_is_boolean(v)) {
		proto_send_error(p, c, id, "bad_request", "\"lean\" must be true or false");
		list_free(p, &lj->j);
		return;
	}
	lj->lean = json_is_true(v);
	if ((v = json_object_get(req, "processes")) && !json_is_boolean(v)) {
		proto_send_error(p, c, id, "bad_request", "\"processes\" must be true or false");
		list_free(p, &lj->j);
		return;
	}
	lj->procs = json_is_true(v);
	if (get_filter(p, c, id, req, &lj->f) ||
	    (lj->with_paths && proto_get_paths(p, c, id, req, "paths", &lj->paths))) {
		list_free(p, &lj->j);
		return;
	}
	/* entries removed while the answer is written are kept until it is
	 * done (bounded: table.h), so that the pointers it holds stay
	 * readable */
	table_pin(&p->t->table);
	lj->pinned = true;
	lj->j.step = list_step;
	lj->j.free = list_free;
	lj->j.bytes = sizeof(*lj) + lj->paths.bytes;
	proto_job_start(p, c, id, &lj->j);
}
