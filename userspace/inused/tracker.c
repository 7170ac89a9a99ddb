// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/tracker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/fault.h"
#include "inused/log.h"

/* Back-off of the count re-reads for a file with writers counted and none
 * known (a close whose release the kernel deferred, a file in flight):
 * after the last step every process is walked. */
/* A close is seen at the syscall's entry: the first re-read comes soon */
static const uint64_t recheck_us[] = {200, 1000, 5000, 25000, 125000};
#define RECHECK_STEPS (sizeof(recheck_us) / sizeof(recheck_us[0]))
/* A file counted as written but held by no process is re-read this often. */
#define UNKNOWN_RECHECK_NS (1000 * NSEC_PER_MSEC)
/* Walking every process is rate-limited to once per this. */
#define FULL_SCAN_MIN_NS (50 * NSEC_PER_MSEC)

int tracker_init(struct tracker *t, struct kernel *k, size_t max_files, uint32_t max_writers)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = table_init(&t->table, max_files, max_writers);
	if (err)
		return err;
	t->k = k;
	cgroup_cache_init(&t->cg, NULL);
	t->boot_to_real = clock_boot_to_real_offset();
	t->start_boot_ns = clock_boot_ns();
	return 0;
}

void tracker_fini(struct tracker *t)
{
	table_fini(&t->table);
	cgroup_cache_fini(&t->cg);
	free(t->susp);
	free(t->pids);
	memset(t, 0, sizeof(*t));
}

uint64_t tracker_wall_ns(const struct tracker *t, uint64_t boot_ns)
{
	return boot_ns ? (uint64_t)((int64_t)boot_ns + t->boot_to_real) : 0;
}

static void suspect(struct tracker *t, struct entry *e)
{
	if (e->state & ES_SUSPECT)
		return;
	if (t->nsusp == t->capsusp) {
		size_t cap = t->capsusp ? t->capsusp * 2 : 64;
		struct entry **n = realloc(t->susp, cap * sizeof(*n));

		if (!n) {
			/* cannot queue: fall back to a full reconciliation */
			t->full_scan_wanted = true;
			return;
		}
		t->susp = n;
		t->capsusp = cap;
	}
	e->state |= ES_SUSPECT;
	t->susp[t->nsusp++] = e;
}

static void want_pid(struct tracker *t, uint32_t pid)
{
	for (size_t i = 0; i < t->npids; i++)
		if (t->pids[i] == pid)
			return;
	if (t->npids == t->cappids) {
		size_t cap = t->cappids ? t->cappids * 2 : 16;
		uint32_t *n = realloc(t->pids, cap * sizeof(*n));

		if (!n) {
			t->full_scan_wanted = true;
			return;
		}
		t->pids = n;
		t->cappids = cap;
	}
	t->pids[t->npids++] = pid;
}

/* Removes e from the suspect queue before it is freed. */
static void unqueue(struct tracker *t, struct entry *e)
{
	if (!(e->state & ES_SUSPECT))
		return;
	for (size_t i = 0; i < t->nsusp; i++) {
		if (t->susp[i] == e) {
			t->susp[i] = t->susp[--t->nsusp];
			break;
		}
	}
	e->state &= ~ES_SUSPECT;
}

static void drop_entry(struct tracker *t, struct entry *e)
{
	if (t->notify)
		t->notify(t->notify_ctx, TC_CLOSED, e);
	unqueue(t, e);
	if (t->validate_cursor == e)
		t->validate_cursor = e->next;
	table_remove(&t->table, e);
	t->st.removed++;
	t->changes++;
}

static void set_path_from(struct entry *e, const char *path, uint32_t len, uint32_t evflags)
{
	uint32_t pflags;

	if (!(evflags & INUSE_EVF_PATH) || len == 0)
		return;
	if (!e->path || strlen(e->path) != len || memcmp(e->path, path, len) != 0)
		entry_set_path(e, path, len);
	pflags = e->pflags & ~(PF_TRUNCATED | PF_FOREIGN_NS | PF_DELETED | PF_RENAMED);
	if (evflags & INUSE_EVF_TRUNC)
		pflags |= PF_TRUNCATED;
	if (evflags & INUSE_EVF_FOREIGN_NS)
		pflags |= PF_FOREIGN_NS;
	if (FAULT(NO_FOREIGN_NS))
		pflags &= ~PF_FOREIGN_NS;
	if (evflags & INUSE_EVF_UNLINKED)
		pflags |= PF_DELETED;
	if (pflags != e->pflags) {
		e->pflags = pflags;
		entry_touch(e); /* the cached rendering shows the flags */
	}
}

static void on_open(struct tracker *t, const struct inuse_ev *ev, size_t len)
{
	const char *path = (const char *)(ev + 1);
	struct writer w = {0};
	bool created;
	struct entry *e;

	e = table_get(&t->table, ev->dev, ev->ino, &created);
	if (!e)
		return;
	if (created) {
		e->first_open_ns = ev->ts_ns;
		e->pflags |= PF_NO_PATH;
	}
	e->inode_ptr = ev->inode_ptr;
	e->open_gen++;
	if ((ev->evflags & INUSE_EVF_PATH) && sizeof(*ev) + ev->path_len <= len)
		set_path_from(e, path, ev->path_len, ev->evflags);
	w.pid = ev->tgid;
	w.fd = ev->fd;
	w.uid = ev->uid;
	w.f_flags = ev->f_flags;
	w.open_flags = ev->open_flags;
	w.f_mode = ev->f_mode;
	w.cgroup_id = ev->cgroup_id;
	w.since_ns = ev->ts_ns;
	w.via = VIA_FD;
	memcpy(w.comm, ev->comm, sizeof(w.comm));
	w.comm[sizeof(w.comm) - 1] = '\0';
	entry_add_writer(&t->table, e, &w);
	e->state &= ~(ES_ORPHAN | ES_UNKNOWN);
	e->recheck_at = 0;
	e->recheck_step = 0;
	if (created && t->notify)
		t->notify(t->notify_ctx, TC_OPENED, e);
}

static void on_close(struct tracker *t, const struct inuse_ev *ev)
{
	struct entry *e = table_find(&t->table, ev->dev, ev->ino);
	struct writer *w;

	if (!e)
		return;
	if (FAULT(DROP_CLOSE))
		return;
	w = entry_find_writer(e, ev->tgid, ev->fd, VIA_FD);
	if (w)
		entry_del_writer(e, (uint32_t)(w - e->w));
	if (FAULT(CLOSE_TRUSTS_TABLE) && !e->nw) {
		drop_entry(t, e);
		return;
	}
	/* if writers remain counted and none is known, the closer is walked
	 * first: it may hold the file through a dup or a mapping */
	e->last_closer = ev->tgid;
	suspect(t, e);
}

static void on_exit_pid(struct tracker *t, uint32_t pid)
{
	table_for_each(&t->table, e)
	{
		if (entry_del_pid(e, pid))
			suspect(t, e);
	}
}

static void on_discover(struct tracker *t, const struct inuse_ev *ev)
{
	bool created;
	struct entry *e = table_get(&t->table, ev->dev, ev->ino, &created);

	if (!e)
		return;
	if (created) {
		e->first_open_ns = 0;
		e->pflags |= PF_NO_PATH;
	}
	e->inode_ptr = ev->inode_ptr;
	e->last_write_ns = ev->ts_ns;
	e->write_gen++;
	suspect(t, e);
}

void tracker_on_event(void *ctx, const struct inuse_ev *ev, size_t len)
{
	struct tracker *t = ctx;
	struct entry *e;

	if (ev->type <= INUSE_EV_WRITE)
		t->st.events[ev->type]++;
	t->st.events_total++;
	switch (ev->type) {
	case INUSE_EV_OPEN:
		on_open(t, ev, len);
		break;
	case INUSE_EV_CLOSE:
		on_close(t, ev);
		break;
	case INUSE_EV_HINT:
	case INUSE_EV_EXEC:
		if (FAULT(IGNORE_EXEC) && ev->type == INUSE_EV_EXEC)
			break;
		if (FAULT(HINT_IS_EXIT) && ev->type == INUSE_EV_HINT) {
			on_exit_pid(t, ev->tgid);
			break;
		}
		want_pid(t, ev->tgid);
		break;
	case INUSE_EV_FORK:
		if (FAULT(IGNORE_FORK))
			break;
		want_pid(t, ev->aux);
		break;
	case INUSE_EV_EXIT:
		on_exit_pid(t, ev->tgid);
		break;
	case INUSE_EV_DISCOVER:
		on_discover(t, ev);
		break;
	case INUSE_EV_WRITE:
		e = table_find(&t->table, ev->dev, ev->ino);
		if (e) {
			e->last_write_ns = ev->ts_ns;
			e->write_gen++;
		}
		break;
	default:
		break;
	}
}

/* ---- walks of fd tables ---- */

struct scan_ctx {
	struct tracker *t;
	uint32_t pid; /* 0: every process */
};

static void writer_from_scan(struct writer *w, const struct inuse_scan_rec *r, const struct entry *e)
{
	memset(w, 0, sizeof(*w));
	w->pid = r->tgid;
	w->fd = r->fd;
	w->uid = r->uid;
	w->f_flags = r->f_flags;
	w->f_mode = r->f_mode;
	w->cgroup_id = r->cgroup_id;
	w->via = r->fd >= 0 ? VIA_FD : VIA_MMAP;
	/* when this handle was opened is not known: at most since the file was */
	w->since_ns = e->first_open_ns;
	memcpy(w->comm, r->comm, sizeof(w->comm));
	w->comm[sizeof(w->comm) - 1] = '\0';
}

static void scan_rec(void *ctx, const struct inuse_scan_rec *r)
{
	struct scan_ctx *sc = ctx;
	struct tracker *t = sc->t;
	struct writer w, *cur;
	bool created;
	struct entry *e;

	e = table_get(&t->table, r->dev, r->ino, &created);
	if (!e)
		return;
	if (created) {
		e->first_open_ns = 0; /* opened before inused saw it */
		e->pflags |= PF_NO_PATH;
	}
	e->inode_ptr = r->inode_ptr;
	if (!e->path || (e->pflags & (PF_NO_PATH | PF_DELETED | PF_RENAMED)))
		set_path_from(e, r->path, r->path_len, r->evflags);
	cur = entry_find_writer(e, r->tgid, r->fd, r->fd >= 0 ? VIA_FD : VIA_MMAP);
	if (cur) {
		cur->seen = true;
		if (memcmp(cur->comm, r->comm, sizeof(cur->comm) - 1)) {
			memcpy(cur->comm, r->comm, sizeof(cur->comm));
			cur->comm[sizeof(cur->comm) - 1] = '\0';
			entry_touch(e);
		}
	} else {
		writer_from_scan(&w, r, e);
		w.seen = true;
		entry_add_writer(&t->table, e, &w);
	}
	e->state &= ~(ES_ORPHAN | ES_UNKNOWN);
	e->recheck_at = 0;
	e->recheck_step = 0;
	if (r->fd < 0)
		kernel_holder_set(t->k, r->tgid, INUSE_HOLDER_FD | INUSE_HOLDER_MMAP);
}

/* Clears the seen marks of the writers a walk will confirm. */
static void mark_unseen(struct tracker *t, uint32_t pid)
{
	table_for_each(&t->table, e)
	{
		for (uint32_t i = 0; i < e->nw; i++)
			if (!pid || e->w[i].pid == pid)
				e->w[i].seen = false;
	}
}

/* Drops the writers a walk did not confirm. */
static void sweep_unseen(struct tracker *t, uint32_t pid)
{
	if (FAULT(DROP_CLOSE))
		return;
	table_for_each(&t->table, e)
	{
		bool dropped = false;

		for (uint32_t i = 0; i < e->nw;) {
			if ((!pid || e->w[i].pid == pid) && !e->w[i].seen) {
				entry_del_writer(e, i);
				dropped = true;
			} else {
				i++;
			}
		}
		if (dropped || (!pid && e->nw == 0))
			suspect(t, e);
	}
}

static int scan(struct tracker *t, uint32_t pid)
{
	struct scan_ctx sc = {.t = t, .pid = pid};
	int err;

	mark_unseen(t, pid);
	err = kernel_scan(t->k, pid, true, scan_rec, &sc);
	if (err) {
		/* a failed walk proves nothing: keep every writer */
		log_warn("walking %s failed: %s", pid ? "a process" : "all processes",
			 strerror(-err));
		table_for_each(&t->table, e) for (uint32_t i = 0; i < e->nw; i++) e->w[i].seen =
			true;
		return err;
	}
	sweep_unseen(t, pid);
	if (pid)
		t->st.pid_scans++;
	else
		t->st.full_scans++;
	return 0;
}

/* ---- reading the writer count ---- */

/*
 * Settles the queued suspects: a count above zero keeps the file; zero
 * removes it, but only after the inode left the kernel map and a second
 * read still says zero (an open between the two reads re-adds it there).
 */
static void schedule_recheck(struct tracker *t, struct entry *e, uint64_t at)
{
	e->recheck_at = at;
	if (!t->recheck_min || at < t->recheck_min)
		t->recheck_min = at;
}

static void settle_suspects(struct tracker *t)
{
	static struct inuse_probe_req req[INUSE_PROBE_BATCH];
	static struct inuse_probe_res res[INUSE_PROBE_BATCH];
	struct entry *batch[INUSE_PROBE_BATCH];
	uint64_t now = clock_mono_ns();

	while (t->nsusp) {
		size_t n = t->nsusp < INUSE_PROBE_BATCH ? t->nsusp : INUSE_PROBE_BATCH;
		size_t ngone = 0;
		int err;

		for (size_t i = 0; i < n; i++) {
			struct entry *e = t->susp[t->nsusp - n + i];

			e->state &= ~ES_SUSPECT;
			batch[i] = e;
			req[i] = (struct inuse_probe_req){e->inode_ptr, e->ino, e->dev, 0};
		}
		t->nsusp -= n;
		err = kernel_probe(t->k, req, res, n);
		t->st.probes += n;
		if (err) {
			log_warn("reading writer counts failed: %s", strerror(-err));
			return; /* keep everything: never report a false close */
		}
		/* first read: zero means "may be gone" */
		for (size_t i = 0; i < n; i++) {
			struct entry *e = batch[i];

			if (res[i].writecount > 0 && !(res[i].flags & INUSE_PROBE_GONE)) {
				if (FAULT(UNLINKED_DROPPED) && res[i].nlink == 0) {
					drop_entry(t, e);
					continue;
				}
				t->st.kept++;
				if (res[i].nlink == 0 && !(e->pflags & PF_DELETED)) {
					e->pflags |= PF_DELETED;
					entry_touch(e);
				}
				if (e->nw == 0 && e->last_closer) {
					want_pid(t, e->last_closer);
					e->last_closer = 0;
				}
				if (e->nw == 0) {
					e->state |= ES_ORPHAN;
					if (e->recheck_step < RECHECK_STEPS) {
						schedule_recheck(
							t, e,
							now + recheck_us[e->recheck_step++] * 1000);
					} else if (!(e->state & ES_UNKNOWN)) {
						e->recheck_at = 0;
						t->full_scan_wanted = true;
					} else {
						/* held by no process: nothing will tell
						 * when it is released but the count */
						schedule_recheck(t, e, now + UNKNOWN_RECHECK_NS);
					}
				}
				continue;
			}
			kernel_forget(t->k, e->dev, e->ino);
			batch[ngone] = e;
			req[ngone] = req[i];
			ngone++;
		}
		if (!ngone)
			continue;
		err = kernel_probe(t->k, req, res, ngone);
		t->st.probes += ngone;
		for (size_t i = 0; i < ngone; i++) {
			struct entry *e = batch[i];

			if (err || (res[i].writecount > 0 && !(res[i].flags & INUSE_PROBE_GONE))) {
				kernel_restore(t->k, e->dev, e->ino, e->inode_ptr);
				suspect(t, e);
				continue;
			}
			drop_entry(t, e);
		}
	}
}

static void settle_pids(struct tracker *t)
{
	while (t->npids) {
		uint32_t pid = t->pids[--t->npids];

		scan(t, pid);
	}
}

bool tracker_table_trusted(const struct tracker *t)
{
	return !t->full_scan_wanted && t->lost_seen == t->lost_reconciled &&
	       !t->table.full_events && !t->st.kernel_map_full;
}

bool tracker_kernel_has(struct tracker *t, uint32_t dev, uint64_t ino)
{
	struct inuse_inode v;
	struct inuse_probe_req rq;
	struct inuse_probe_res rs;

	if (kernel_read_inode(t->k, dev, ino, &v) != 0)
		return false;
	rq = (struct inuse_probe_req){v.inode_ptr, ino, dev, 0};
	if (kernel_probe(t->k, &rq, &rs, 1) != 0)
		return true; /* cannot tell: do not say closed */
	t->st.probes++;
	if (rs.writecount <= 0 || (rs.flags & INUSE_PROBE_GONE))
		return false;
	/* the kernel saw a writer the table does not have */
	log_warn("inode %u:%lu has writers but is not in the table: reconciling", dev,
		 (unsigned long)ino);
	t->full_scan_wanted = true;
	return true;
}

void tracker_sync(struct tracker *t)
{
	for (int round = 0; round < 4; round++) {
		int n = kernel_drain(t->k);
		uint64_t lost = kernel_lost(t->k);

		if (n < 0)
			log_warn("draining events failed: %s", strerror(-n));
		t->st.lost = lost;
		t->st.kernel_map_full = kernel_map_full(t->k);
		if (FAULT(IGNORE_LOST))
			t->lost_seen = t->lost_reconciled = lost;
		if (lost != t->lost_seen) {
			log_warn("%llu events lost in the kernel: reconciling",
				 (unsigned long long)(lost - t->lost_seen));
			t->lost_seen = lost;
			t->full_scan_wanted = true;
			t->last_full_scan_mono = 0;
		}
		settle_pids(t);
		if (t->full_scan_wanted &&
		    clock_mono_ns() - t->last_full_scan_mono >= FULL_SCAN_MIN_NS) {
			t->full_scan_wanted = false;
			t->last_full_scan_mono = clock_mono_ns();
			t->st.reconciliations++;
			if (scan(t, 0) == 0) {
				t->lost_reconciled = t->lost_seen;
				/* what no walk finds a holder for is in flight or kernel-held */
				table_for_each(&t->table, e) if (e->nw == 0 &&
								(e->state & ES_ORPHAN))
				{
					e->state |= ES_UNKNOWN;
					entry_touch(e); /* "holders" is rendered */
					suspect(t, e);
				}
			}
		}
		settle_suspects(t);
		if (!t->npids && !t->nsusp && n <= 0)
			break;
	}
}

int tracker_reconcile(struct tracker *t)
{
	t->full_scan_wanted = true;
	t->last_full_scan_mono = 0;
	/* every entry is re-read */
	table_for_each(&t->table, e) suspect(t, e);
	tracker_sync(t);
	return 0;
}

/* Walks the table only when a scheduled re-read is due. */
uint64_t tracker_timer(struct tracker *t, uint64_t now)
{
	uint64_t next = 0;
	bool any = false;

	if (t->recheck_min && now >= t->recheck_min) {
		table_for_each(&t->table, e)
		{
			if (!e->recheck_at)
				continue;
			if (e->recheck_at <= now) {
				e->recheck_at = 0;
				t->st.rechecks++;
				suspect(t, e);
				any = true;
			} else if (!next || e->recheck_at < next) {
				next = e->recheck_at;
			}
		}
		t->recheck_min = next;
	}
	if (any || t->full_scan_wanted)
		tracker_sync(t); /* may schedule re-reads: recheck_min */
	next = t->recheck_min;
	if (t->full_scan_wanted) {
		uint64_t at = t->last_full_scan_mono + FULL_SCAN_MIN_NS;

		if (!next || at < next)
			next = at;
	}
	return next;
}

/* ---- paths after rename and unlink ---- */

static bool path_matches(const struct entry *e)
{
	struct stat st;

	if (!e->path || lstat(e->path, &st) != 0)
		return false;
	return st.st_ino == e->ino && kdev_from_dev(st.st_dev) == e->dev;
}

/* The current name of the file, read from a writer's fd link. */
static bool path_from_fd(struct entry *e)
{
	static const char deleted[] = " (deleted)";
	char link[64], buf[INUSE_PATH_MAX + 16];

	for (uint32_t i = 0; i < e->nw; i++) {
		ssize_t n;

		if (e->w[i].via != VIA_FD)
			continue;
		snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->w[i].pid, e->w[i].fd);
		n = readlink(link, buf, sizeof(buf) - 1);
		if (n <= 0 || buf[0] != '/') {
			log_debug("readlink %s: %s", link, n < 0 ? strerror(errno) : "not a path");
			continue;
		}
		buf[n] = '\0';
		if ((size_t)n > sizeof(deleted) - 1 &&
		    !strcmp(buf + n - (sizeof(deleted) - 1), deleted)) {
			buf[n - (sizeof(deleted) - 1)] = '\0';
			entry_set_path(e, buf, strlen(buf));
			e->pflags |= PF_DELETED;
			return true;
		}
		entry_set_path(e, buf, (size_t)n);
		e->pflags &= ~PF_DELETED;
		e->pflags |= PF_RENAMED;
		return path_matches(e);
	}
	return false;
}

void tracker_validate_paths(struct tracker *t, unsigned int max)
{
	struct entry *e = t->validate_cursor ? t->validate_cursor : t->table.head;

	for (unsigned int i = 0; e && i < max; i++, e = e->next) {
		if (!e->path || (e->pflags & (PF_FOREIGN_NS | PF_DELETED | PF_NO_PATH)))
			continue;
		if (path_matches(e))
			continue;
		log_debug("path %s of %u:%lu no longer names it", e->path, e->dev,
			  (unsigned long)e->ino);
		if (path_from_fd(e)) {
			t->st.path_fixes++;
			entry_touch(e);
		} else if (!(e->pflags & PF_RENAMED)) {
			e->pflags |= PF_RENAMED;
			entry_touch(e);
		}
	}
	t->validate_cursor = e;
}
