// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/tracker.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/fault.h"
#include "inused/log.h"

/* Back-off of the count re-reads for a file with writers counted and none
 * known (a close whose release the kernel deferred, a file in flight):
 * after the last step every process is walked. A close is seen at the
 * syscall's entry: the first re-read comes soon. */
static const uint64_t recheck_us[] = {200, 1000, 5000, 25000, 125000};
#define RECHECK_STEPS (sizeof(recheck_us) / sizeof(recheck_us[0]))
/* After something closed or exited while files without a known holder are
 * tracked: their counts are read again at once and then after these (the
 * kernel may let go of such a file a little later, from a work queue). */
static const uint64_t release_us[] = {2000, 10000, 40000};
#define RELEASE_STEPS (sizeof(release_us) / sizeof(release_us[0]))
/* A file counted as written but held by no process is re-read this often. */
#define UNKNOWN_RECHECK_NS (1000 * NSEC_PER_MSEC)
/* Walking every process is rate-limited to once per this. */
#define FULL_SCAN_MIN_NS (50 * NSEC_PER_MSEC)
/* After a rename, every name is checked this soon, and not more often than
 * once per PATHS_CHECK_MIN_NS. */
#define PATHS_CHECK_DELAY_NS (5 * NSEC_PER_MSEC)
#define PATHS_CHECK_MIN_NS   (40 * NSEC_PER_MSEC)

int tracker_init(struct tracker *t, struct kernel *k, size_t max_files, uint32_t max_writers,
		 const char *mountinfo)
{
	int err;

	memset(t, 0, sizeof(*t));
	err = table_init(&t->table, max_files, max_writers);
	if (err)
		return err;
	err = mounts_init(&t->mounts, mountinfo);
	if (err) {
		log_warn("cannot read the mount table: %s; paths are shown as within their "
			 "file systems",
			 strerror(-err));
		err = 0;
	}
	t->k = k;
	cgroup_cache_init(&t->cg, NULL);
	t->boot_to_real = clock_boot_to_real_offset();
	t->start_boot_ns = clock_boot_ns();
	return 0;
}

void tracker_fini(struct tracker *t)
{
	table_fini(&t->table);
	mounts_fini(&t->mounts);
	cgroup_cache_fini(&t->cg);
	free(t->susp);
	free(t->pids);
	free(t->names);
	free(t->born);
	memset(t, 0, sizeof(*t));
}

uint64_t tracker_wall_ns(const struct tracker *t, uint64_t boot_ns)
{
	/* modulo 2^64: defined for any stamp a record may carry */
	return boot_ns ? boot_ns + (uint64_t)t->boot_to_real : 0;
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

/* ---- holder-less files ---- */

static void set_holderless(struct tracker *t, struct entry *e, uint32_t bits)
{
	bool was = e->state & (ES_ORPHAN | ES_UNKNOWN);

	e->state |= bits;
	if (was)
		return;
	/* linked apart: what concerns them costs what they are, not the
	 * table */
	e->hl_prev = NULL;
	e->hl_next = t->holderless;
	if (t->holderless)
		t->holderless->hl_prev = e;
	t->holderless = e;
	t->nholderless++;
}

static void clear_holderless(struct tracker *t, struct entry *e)
{
	if (!(e->state & (ES_ORPHAN | ES_UNKNOWN)))
		return;
	if (e->state & ES_UNKNOWN)
		entry_touch(e); /* "holders" is rendered */
	e->state &= ~(ES_ORPHAN | ES_UNKNOWN);
	e->recheck_at = 0;
	e->recheck_step = 0;
	if (e->hl_prev)
		e->hl_prev->hl_next = e->hl_next;
	else
		t->holderless = e->hl_next;
	if (e->hl_next)
		e->hl_next->hl_prev = e->hl_prev;
	e->hl_prev = e->hl_next = NULL;
	t->nholderless--;
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

/* A file came into the table: it is announced once its names are walked
 * (born_notify), or when it goes, whichever is first. */
static void born(struct tracker *t, struct entry *e)
{
	if (!t->notify)
		return;
	if (t->nborn == t->capborn) {
		size_t cap = t->capborn ? t->capborn * 2 : 64;
		struct entry **n = realloc(t->born, cap * sizeof(*n));

		if (!n) {
			t->notify(t->notify_ctx, TC_OPENED, e);
			return;
		}
		t->born = n;
		t->capborn = cap;
	}
	t->born[t->nborn++] = e;
	e->state |= ES_BORN;
}

static void born_notify(struct tracker *t)
{
	for (size_t i = 0; i < t->nborn; i++) {
		struct entry *e = t->born[i];

		e->state &= ~ES_BORN;
		t->notify(t->notify_ctx, TC_OPENED, e);
	}
	t->nborn = 0;
}

/* Forgets the names of e still to be walked. */
static void unqueue_names(struct tracker *t, struct entry *e)
{
	if (!(e->state & ES_NAME))
		return;
	for (size_t i = 0; i < t->nnames;) {
		if (t->names[i].e == e)
			t->names[i] = t->names[--t->nnames];
		else
			i++;
	}
	e->state &= ~ES_NAME;
}

static void drop_entry(struct tracker *t, struct entry *e)
{
	if (e->state & ES_BORN) {
		/* it goes before it was announced: both, in order */
		for (size_t i = 0; i < t->nborn; i++) {
			if (t->born[i] == e) {
				t->born[i] = t->born[--t->nborn];
				break;
			}
		}
		e->state &= ~ES_BORN;
		t->notify(t->notify_ctx, TC_OPENED, e);
	}
	if (t->notify)
		t->notify(t->notify_ctx, TC_CLOSED, e);
	unqueue(t, e);
	unqueue_names(t, e);
	clear_holderless(t, e);
	if (t->validate_cursor == e)
		t->validate_cursor = e->next;
	table_remove(&t->table, e);
	t->st.removed++;
	t->changes++;
}

/* ---- writes ---- */

void tracker_note_mtime(struct tracker *t, struct entry *e, uint64_t mtime_ns)
{
	uint64_t now_boot, boot;

	if (!mtime_ns || mtime_ns == e->mtime_ns)
		return;
	if (e->mtime_ns)
		e->write_gen++; /* the first sighting is not a write */
	e->mtime_ns = mtime_ns;
	/* the time of that write, on the clock of the other stamps */
	now_boot = clock_boot_ns();
	boot = (int64_t)mtime_ns > t->boot_to_real ? mtime_ns - (uint64_t)t->boot_to_real : 0;
	if (boot > now_boot)
		boot = now_boot; /* a time set in the future */
	if (boot > e->last_write_ns)
		e->last_write_ns = boot;
}

/* ---- names ---- */

struct expect {
	uint32_t dev;
	uint64_t ino;
	bool any; /* no identity known: any regular file (learned as an alias) */
	struct stat st;
};

static bool name_check(const char *path, void *ctx)
{
	struct expect *x = ctx;

	if (lstat(path, &x->st) != 0 || !S_ISREG(x->st.st_mode))
		return false;
	return x->any || (kdev_from_dev(x->st.st_dev) == x->dev && x->st.st_ino == x->ino);
}

/* The type of the file system that holds e's data decides whether writes
 * are seen by a hook or only by the modification time. */
static void set_write_source(struct tracker *t, struct entry *e)
{
	const struct ename *n =
	    e->names[NAME_UPPER].fs_path ? &e->names[NAME_UPPER] : &e->names[NAME_OPENED];
	const char *type = n->fs_path ? mounts_fstype(&t->mounts, n->sb_dev) : NULL;
	bool hooked = type && (!strcmp(type, "ext4") || !strcmp(type, "ext3") ||
			       !strcmp(type, "ext2") || !strcmp(type, "tmpfs"));

	if (hooked)
		e->pflags &= ~PF_MTIME;
	else
		e->pflags |= PF_MTIME;
}

static void update_pflags(struct tracker *t, struct entry *e)
{
	uint32_t pf = e->pflags & ~(PF_NO_PATH | PF_UNMOUNTED | PF_TRUNCATED);
	bool any = false, host = false, pending = false;

	for (int i = 0; i < ENTRY_NAMES; i++) {
		if (!e->names[i].fs_path)
			continue;
		any = true;
		host |= e->names[i].host_path != NULL;
		pending |= e->names[i].mounts_gen != t->mounts.gen;
		if (e->names[i].flags & NF_TRUNC)
			pf |= PF_TRUNCATED;
	}
	if (!any)
		pf |= PF_NO_PATH;
	else if (!host && !pending)
		pf |= PF_UNMOUNTED;
	if (e->names[NAME_OPENED].flags & NF_UNLINKED)
		pf |= PF_DELETED;
	if (pf != e->pflags) {
		e->pflags = pf;
		entry_touch(e);
	}
}

/* Finds the host path of name i: a mount of its file system whose path
 * there names the same inode. */
static void resolve_name(struct tracker *t, struct entry *e, unsigned int i)
{
	struct ename *n = &e->names[i];
	struct expect x = {.dev = e->dev, .ino = e->ino};
	char *host = NULL;
	uint32_t adev = 0;
	uint64_t aino = 0;
	int mid = 0;

	if (!n->fs_path)
		return;
	n->mounts_gen = t->mounts.gen;
	if (!(n->flags & (NF_TRUNC | NF_DETACHED))) {
		/* a name through an overlay has its own stat identity, learned
		 * here as an alias of the entry */
		x.any = n->inode_ptr && n->inode_ptr != e->inode_ptr;
		/* one mount that can show it: nothing to choose, no lstat (the
		 * name comes from the kernel's own dentries) */
		if ((n->flags & NF_UNLINKED) ||
		    (!x.any && mounts_candidates(&t->mounts, n->sb_dev, n->fs_path) == 1))
			host =
			    mounts_host_path(&t->mounts, n->sb_dev, n->fs_path, NULL, NULL, &mid);
		else
			host = mounts_host_path(&t->mounts, n->sb_dev, n->fs_path, name_check, &x,
						&mid);
		if (host && x.any && !(n->flags & NF_UNLINKED)) {
			adev = kdev_from_dev(x.st.st_dev);
			aino = x.st.st_ino;
		}
	}
	entry_set_host(&t->table, e, i, host, adev, aino);
	n->mount_id = host ? mid : 0;
	free(host);
	update_pflags(t, e);
}

void tracker_resolve_names(struct tracker *t, struct entry *e)
{
	for (unsigned int i = 0; i < ENTRY_NAMES; i++)
		if (e->names[i].fs_path && e->names[i].mounts_gen != t->mounts.gen)
			resolve_name(t, e, i);
}

/*
 * Name i of e after the kernel walked it again (a rename): through the same
 * mount as before when the mount table has not changed, which the earlier
 * resolution checked; a name through an overlay is resolved (and its alias
 * learned) afresh.
 */
static void reresolve_name(struct tracker *t, struct entry *e, unsigned int i, int mount_id,
			   uint64_t gen)
{
	struct ename *n = &e->names[i];
	char *host = NULL;

	if (mount_id && gen == t->mounts.gen && n->inode_ptr == e->inode_ptr &&
	    !(n->flags & (NF_TRUNC | NF_DETACHED)))
		host = mounts_host_path_via(&t->mounts, mount_id, n->sb_dev, n->fs_path);
	if (!host) {
		resolve_name(t, e, i);
		return;
	}
	entry_set_host(&t->table, e, i, host, 0, 0);
	n->mount_id = mount_id;
	n->mounts_gen = gen;
	free(host);
	update_pflags(t, e);
}

static uint32_t name_flags(uint32_t evflags)
{
	return ((evflags & INUSE_EVF_TRUNC) ? NF_TRUNC : 0) |
	       ((evflags & INUSE_EVF_UNLINKED) ? NF_UNLINKED : 0) |
	       ((evflags & INUSE_EVF_DETACHED) ? NF_DETACHED : 0);
}

/* Name slot i of e from a record with a path (len: the record's size). */
static void name_from(struct tracker *t, struct entry *e, unsigned int i, const struct inuse_ev *ev,
		      size_t len)
{
	const char *path = (const char *)(ev + 1);
	struct ename *n = &e->names[i];
	uint32_t nf = name_flags(ev->evflags);

	if (!(ev->evflags & INUSE_EVF_PATH) || !ev->path_len || sizeof(*ev) + ev->path_len > len)
		return;
	if (n->fs_path && n->sb_dev == ev->sb_dev && n->flags == nf &&
	    strlen(n->fs_path) == ev->path_len && !memcmp(n->fs_path, path, ev->path_len) &&
	    n->mounts_gen == t->mounts.gen) {
		n->dentry_ptr = ev->dentry_ptr; /* same name, maybe a newer dentry */
		n->inode_ptr = ev->name_inode_ptr;
		n->name_hash = ev->name_hash;
		return;
	}
	if (entry_set_name(&t->table, e, i, path, ev->path_len, ev->sb_dev, ev->dentry_ptr,
			   ev->name_inode_ptr, nf))
		return;
	n->name_hash = ev->name_hash;
	e->pflags &= ~PF_STALE;
	/* its host path is found when it is first needed (listing, under,
	 * alerts, the path check): a start with 50,000 files walks no mount
	 * table */
	update_pflags(t, e);
	set_write_source(t, e);
}

/* Queues a name of e to be walked from a dentry (before the next answer). */
static void want_name(struct tracker *t, struct entry *e, unsigned int slot, uint64_t dentry_ptr,
		      uint64_t inode_ptr, uint32_t flags)
{
	if (t->nnames == t->capnames) {
		size_t cap = t->capnames ? t->capnames * 2 : 64;
		struct name_req *n = realloc(t->names, cap * sizeof(*n));

		if (!n)
			return; /* found by the next validation or walk instead */
		t->names = n;
		t->capnames = cap;
	}
	t->names[t->nnames++] = (struct name_req){e, slot, flags, dentry_ptr, inode_ptr};
	e->state |= ES_NAME;
}

/* Walks the queued names in batches; a dentry that no longer names its
 * inode (the file closed meanwhile) leaves the name as it was. */
static void walk_names(struct tracker *t)
{
	static struct inuse_walk_req req[INUSE_WALK_BATCH];
	static struct inuse_walk_res res[INUSE_WALK_BATCH];

	while (t->nnames) {
		size_t n = t->nnames < INUSE_WALK_BATCH ? t->nnames : INUSE_WALK_BATCH;
		struct name_req *q = &t->names[t->nnames - n];

		for (size_t i = 0; i < n; i++)
			req[i] =
			    (struct inuse_walk_req){q[i].dentry_ptr, q[i].inode_ptr, q[i].flags, 0};
		if (kernel_walk(t->k, req, res, n))
			for (size_t i = 0; i < n; i++)
				res[i].len = 0;
		for (size_t i = 0; i < n; i++) {
			struct entry *e = q[i].e;
			struct inuse_ev ev = {0};
			static char rec[sizeof(struct inuse_ev) + INUSE_PATH_MAX];

			e->state &= ~ES_NAME;
			if (!res[i].len || res[i].len >= INUSE_PATH_MAX)
				continue;
			ev.evflags = res[i].evflags | INUSE_EVF_PATH;
			ev.path_len = res[i].len;
			ev.sb_dev = res[i].sb_dev;
			ev.dentry_ptr = res[i].dentry_ptr;
			ev.name_inode_ptr =
			    (q[i].flags & INUSE_WALK_UPPER) ? e->inode_ptr : q[i].inode_ptr;
			ev.name_hash = res[i].name_hash;
			memcpy(rec, &ev, sizeof(ev));
			memcpy(rec + sizeof(ev), res[i].path, res[i].len);
			name_from(t, e, q[i].slot, (const struct inuse_ev *)rec,
				  sizeof(ev) + res[i].len);
		}
		t->nnames -= n;
	}
}

/* A record says e has a name the daemon does not know: queue its walk
 * (and, through an overlay, its upper file's). */
static void names_of(struct tracker *t, struct entry *e, const struct inuse_ev *ev)
{
	if (!(ev->evflags & INUSE_EVF_NAME_WANTED) || !ev->dentry_ptr)
		return;
	want_name(t, e, NAME_OPENED, ev->dentry_ptr, ev->name_inode_ptr, 0);
	if (ev->name_inode_ptr && ev->name_inode_ptr != ev->inode_ptr)
		want_name(t, e, NAME_UPPER, 0, ev->name_inode_ptr, INUSE_WALK_UPPER);
}

/* ---- events ---- */

static void writer_from(struct writer *w, const struct inuse_ev *ev)
{
	memset(w, 0, sizeof(*w));
	w->pid = ev->tgid;
	w->fd = ev->fd;
	w->uid = ev->uid;
	w->f_flags = ev->f_flags;
	w->open_flags = ev->open_flags;
	w->f_mode = ev->f_mode;
	w->cgroup_id = ev->cgroup_id;
	w->start_ns = ev->start_ns;
	w->via = (ev->evflags & INUSE_EVF_MMAP)	   ? VIA_MMAP
		 : (ev->evflags & INUSE_EVF_FIXED) ? VIA_URING
						   : VIA_FD;
	memcpy(w->comm, ev->comm, sizeof(w->comm));
	w->comm[sizeof(w->comm) - 1] = '\0';
}

static void on_open(struct tracker *t, const struct inuse_ev *ev, size_t len)
{
	struct writer w;
	bool created;
	struct entry *e;

	e = table_get(&t->table, ev->dev, ev->ino, &created);
	if (!e)
		return;
	if (created) {
		table_set_first_open(&t->table, e, ev->ts_ns);
		e->pflags |= PF_NO_PATH;
	}
	e->inode_ptr = ev->inode_ptr;
	e->open_gen++;
	if (ev->evflags & INUSE_EVF_FOREIGN_NS)
		e->pflags |= PF_FOREIGN_NS;
	if (FAULT(NO_FOREIGN_NS))
		e->pflags &= ~PF_FOREIGN_NS;
	names_of(t, e, ev);
	writer_from(&w, ev);
	w.since_ns = ev->ts_ns;
	entry_add_writer(&t->table, e, &w);
	clear_holderless(t, e);
	if (created)
		born(t, e);
}

static void on_name(struct tracker *t, const struct inuse_ev *ev, size_t len)
{
	struct entry *e = table_find(&t->table, ev->dev, ev->ino);

	if (e)
		name_from(t, e, NAME_UPPER, ev, len);
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
		entry_del_writer(&t->table, e, (uint32_t)(w - e->w));
	if (FAULT(CLOSE_TRUSTS_TABLE) && !e->nw) {
		drop_entry(t, e);
		return;
	}
	/* if writers remain counted and none is known, the closer is walked
	 * first: it may hold the file through a dup or a mapping */
	e->last_closer = ev->tgid;
	suspect(t, e);
}

/* The entries pid writes, copied: the caller changes the index. */
static struct entry **pid_entries(struct tracker *t, uint32_t pid, size_t *n)
{
	struct entry *const *l = table_pid_entries(&t->table, pid, n);
	struct entry **c;

	if (!*n)
		return NULL;
	c = malloc(*n * sizeof(*c));
	if (!c) {
		/* walk everything instead: slower, same result */
		t->full_scan_wanted = true;
		*n = 0;
		return NULL;
	}
	memcpy(c, l, *n * sizeof(*c));
	return c;
}

static void on_exit_pid(struct tracker *t, uint32_t pid, uint64_t start_ns)
{
	size_t n;
	struct entry **l = pid_entries(t, pid, &n);

	for (size_t i = 0; i < n; i++) {
		struct entry *e = l[i];
		bool dropped = false;

		for (uint32_t j = 0; j < e->nw;) {
			/* a writer of an earlier process with this pid goes too */
			if (e->w[j].pid == pid &&
			    (!start_ns || !e->w[j].start_ns || e->w[j].start_ns <= start_ns)) {
				entry_del_writer(&t->table, e, j);
				dropped = true;
			} else {
				j++;
			}
		}
		if (dropped)
			suspect(t, e);
	}
	free(l);
}

static void on_discover(struct tracker *t, const struct inuse_ev *ev, size_t len)
{
	bool created;
	struct entry *e = table_get(&t->table, ev->dev, ev->ino, &created);

	if (!e)
		return;
	if (created) {
		/* opened at that time or before: the writes tell no more */
		table_set_first_open(&t->table, e, ev->ts_ns);
		e->pflags |= PF_NO_PATH | PF_MTIME;
		names_of(t, e, ev);
	}
	e->inode_ptr = ev->inode_ptr;
	e->last_write_ns = ev->ts_ns;
	e->write_gen++;
	suspect(t, e);
	if (created)
		born(t, e);
}

/* Something let go of files somewhere: re-read the holder-less ones now
 * and a little later. */
static void on_release(struct tracker *t)
{
	uint64_t now = clock_mono_ns();

	for (struct entry *e = t->holderless; e; e = e->hl_next) {
		/* read now; a file no walk found a holder for is then read a
		 * few more times soon (the back-off of the others goes on) */
		suspect(t, e);
		if (e->state & ES_UNKNOWN)
			e->recheck_step = RECHECK_STEPS;
	}
	(void)now;
}

static void on_rename(struct tracker *t)
{
	uint64_t at = clock_mono_ns() + PATHS_CHECK_DELAY_NS;

	if (!t->paths_check_at)
		t->paths_check_at = at;
}

void tracker_on_event(void *ctx, const struct inuse_ev *ev, size_t len)
{
	struct tracker *t = ctx;
	struct entry *e;

	if (ev->type <= INUSE_EV_SCAN)
		t->st.events[ev->type]++;
	t->st.events_total++;
	switch (ev->type) {
	case INUSE_EV_OPEN:
		on_open(t, ev, len);
		break;
	case INUSE_EV_NAME:
		on_name(t, ev, len);
		break;
	case INUSE_EV_CLOSE:
		on_close(t, ev);
		break;
	case INUSE_EV_HINT:
		if (ev->aux == INUSE_HINT_RELEASE)
			on_release(t);
		else if (ev->aux == INUSE_HINT_RENAME)
			on_rename(t);
		else if (FAULT(HINT_IS_EXIT))
			on_exit_pid(t, ev->tgid, 0);
		else
			want_pid(t, ev->tgid);
		break;
	case INUSE_EV_EXEC:
		if (FAULT(IGNORE_EXEC))
			break;
		want_pid(t, ev->tgid);
		break;
	case INUSE_EV_FORK:
		if (FAULT(IGNORE_FORK))
			break;
		want_pid(t, ev->aux);
		break;
	case INUSE_EV_EXIT:
		on_exit_pid(t, ev->tgid, ev->start_ns);
		break;
	case INUSE_EV_DISCOVER:
		on_discover(t, ev, len);
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

static void scan_rec(void *ctx, const struct inuse_ev *r, size_t len)
{
	struct scan_ctx *sc = ctx;
	struct tracker *t = sc->t;
	struct writer w, *cur;
	bool created;
	struct entry *e;

	if (r->type == INUSE_EV_NAME) {
		on_name(t, r, len);
		return;
	}
	e = table_get(&t->table, r->dev, r->ino, &created);
	if (!e)
		return;
	if (created) {
		table_set_first_open(&t->table, e, 0); /* opened before inused saw it */
		e->pflags |= PF_NO_PATH;
	}
	e->inode_ptr = r->inode_ptr;
	if (r->evflags & INUSE_EVF_FOREIGN_NS)
		e->pflags |= PF_FOREIGN_NS;
	if (FAULT(NO_FOREIGN_NS))
		e->pflags &= ~PF_FOREIGN_NS;
	if (!e->names[NAME_OPENED].fs_path || (e->pflags & (PF_DELETED | PF_STALE)))
		name_from(t, e, NAME_OPENED, r, len);
	writer_from(&w, r);
	cur = entry_find_writer(e, w.pid, w.fd, w.via);
	if (cur) {
		cur->seen = true;
		if (memcmp(cur->comm, w.comm, sizeof(cur->comm)) || cur->start_ns != w.start_ns) {
			/* exec'd (a new command), or a new process with the pid */
			if (cur->start_ns != w.start_ns)
				cur->since_ns = e->first_open_ns;
			memcpy(cur->comm, w.comm, sizeof(cur->comm));
			cur->start_ns = w.start_ns;
			cur->uid = w.uid;
			cur->cgroup_id = w.cgroup_id;
			entry_touch(e);
		}
	} else {
		/* when this handle was opened is not known: at most since the
		 * file was */
		w.since_ns = e->first_open_ns;
		w.seen = true;
		entry_add_writer(&t->table, e, &w);
	}
	clear_holderless(t, e);
	if (w.via == VIA_MMAP)
		kernel_holder_set(t->k, w.pid, INUSE_HOLDER_FD | INUSE_HOLDER_MMAP);
	else if (w.via == VIA_URING)
		kernel_holder_set(t->k, w.pid, INUSE_HOLDER_FD | INUSE_HOLDER_URING);
	if (created)
		born(t, e);
}

void tracker_scan_record(struct tracker *t, uint32_t pid, const struct inuse_ev *r, size_t len)
{
	struct scan_ctx sc = {.t = t, .pid = pid};

	scan_rec(&sc, r, len);
}

/* Clears the seen marks of the writers a walk will confirm. */
static void mark_unseen(struct tracker *t, uint32_t pid)
{
	if (pid) {
		size_t n;
		struct entry *const *l = table_pid_entries(&t->table, pid, &n);

		for (size_t i = 0; i < n; i++)
			for (uint32_t j = 0; j < l[i]->nw; j++)
				if (l[i]->w[j].pid == pid)
					l[i]->w[j].seen = false;
		return;
	}
	table_for_each(&t->table, e) for (uint32_t i = 0; i < e->nw; i++) e->w[i].seen = false;
}

static void sweep_entry(struct tracker *t, struct entry *e, uint32_t pid)
{
	bool dropped = false;

	for (uint32_t i = 0; i < e->nw;) {
		if ((!pid || e->w[i].pid == pid) && !e->w[i].seen) {
			entry_del_writer(&t->table, e, i);
			dropped = true;
		} else {
			i++;
		}
	}
	if (dropped || (!pid && e->nw == 0))
		suspect(t, e);
}

/* Drops the writers a walk did not confirm. */
static void sweep_unseen(struct tracker *t, uint32_t pid)
{
	if (FAULT(DROP_CLOSE))
		return;
	if (pid) {
		size_t n;
		struct entry **l = pid_entries(t, pid, &n);

		for (size_t i = 0; i < n; i++)
			sweep_entry(t, l[i], pid);
		free(l);
		return;
	}
	table_for_each(&t->table, e) sweep_entry(t, e, 0);
}

static void keep_all_seen(struct tracker *t)
{
	table_for_each(&t->table, e) for (uint32_t i = 0; i < e->nw; i++) e->w[i].seen = true;
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
		keep_all_seen(t);
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

static void schedule_recheck(struct tracker *t, struct entry *e, uint64_t at)
{
	e->recheck_at = at;
	if (!t->recheck_min || at < t->recheck_min)
		t->recheck_min = at;
}

/* A count above zero with no holder known: look for one, or wait. */
static void keep_orphan(struct tracker *t, struct entry *e, uint64_t now)
{
	if (e->last_closer) {
		want_pid(t, e->last_closer);
		e->last_closer = 0;
	}
	set_holderless(t, e, ES_ORPHAN);
	if (e->recheck_step < RECHECK_STEPS) {
		schedule_recheck(t, e, now + recheck_us[e->recheck_step++] * 1000);
	} else if (!(e->state & ES_UNKNOWN)) {
		e->recheck_at = 0;
		t->full_scan_wanted = true;
	} else if (e->recheck_step < RECHECK_STEPS + RELEASE_STEPS) {
		/* after a release hint, a few quick re-reads */
		schedule_recheck(t, e, now + release_us[e->recheck_step++ - RECHECK_STEPS] * 1000);
	} else {
		/* held by no process: nothing will tell when it is released
		 * but the count, read again after every close and exit and
		 * at least this often */
		schedule_recheck(t, e, now + UNKNOWN_RECHECK_NS);
	}
}

/*
 * Settles the queued suspects: a count above zero keeps the file; zero
 * removes it, but only after the inode left the kernel map and a second
 * read still says zero (an open between the two reads re-adds it there).
 */
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
				tracker_note_mtime(t, e, res[i].mtime_ns);
				if (res[i].nlink == 0 && !(e->pflags & PF_DELETED)) {
					e->pflags |= PF_DELETED;
					entry_touch(e);
				}
				if (e->nw == 0)
					keep_orphan(t, e, now);
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
				kernel_restore(t->k, e->dev, e->ino, e->inode_ptr, e->mtime_ns);
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
	if (FAULT(TRUST_FULL_TABLE))
		return !t->full_scan_wanted && t->lost_seen == t->lost_reconciled;
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

int tracker_fd_writers(struct tracker *t, int fd, uint32_t *dev, uint64_t *ino)
{
	struct inuse_fdprobe_res r;
	int32_t f = fd;
	int err = kernel_fdprobe(t->k, &f, &r, 1);

	t->st.fd_probes++;
	if (err)
		return err;
	if (r.flags & INUSE_PROBE_GONE)
		return -EBADF;
	*dev = r.dev;
	*ino = r.ino;
	if (r.writecount > 0 || r.name_writecount > 0) {
		/* a kind of file never tracked has writers the table cannot
		 * have: the answer is the kernel's, nothing to reconcile */
		if (!(r.flags & INUSE_PROBE_UNTRACKED) && !table_find(&t->table, r.dev, r.ino)) {
			log_warn("inode %u:%lu has writers but is not in the table: reconciling",
				 r.dev, (unsigned long)r.ino);
			t->full_scan_wanted = true;
		}
		return 1;
	}
	return 0;
}

/* exact: an answer waits for the walk that makes up for lost events,
 * whatever the rate limit of walks says. */
static void sync_events(struct tracker *t, bool exact)
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
		walk_names(t);
		born_notify(t);
		if (t->full_scan_wanted &&
		    (clock_mono_ns() - t->last_full_scan_mono >= FULL_SCAN_MIN_NS ||
		     (exact && t->lost_seen != t->lost_reconciled))) {
			t->full_scan_wanted = false;
			t->last_full_scan_mono = clock_mono_ns();
			t->st.reconciliations++;
			if (scan(t, 0) == 0) {
				t->lost_reconciled = t->lost_seen;
				/* what no walk finds a holder for is in flight or kernel-held */
				table_for_each(&t->table,
					       e) if (e->nw == 0 && (e->state & ES_ORPHAN))
				{
					if (!(e->state & ES_UNKNOWN))
						entry_touch(e); /* "holders" is rendered */
					e->state |= ES_UNKNOWN;
					suspect(t, e);
				}
			}
		}
		settle_suspects(t);
		if (!t->npids && !t->nsusp && n <= 0)
			break;
	}
	kernel_set_hints(t->k, t->nholderless, t->table.count ? 1 : 0);
}

void tracker_sync(struct tracker *t)
{
	sync_events(t, true);
}

void tracker_sync_background(struct tracker *t)
{
	sync_events(t, false);
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
		/* only holder-less entries are re-read on a schedule */
		for (struct entry *e = t->holderless; e; e = e->hl_next) {
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
		tracker_sync_background(t); /* may schedule re-reads: recheck_min */
	if (t->paths_check_at && now >= t->paths_check_at &&
	    now - t->last_paths_check >= PATHS_CHECK_MIN_NS) {
		t->paths_check_at = 0;
		t->last_paths_check = now;
		tracker_validate_paths(t, 0);
	}
	next = t->recheck_min;
	if (t->full_scan_wanted) {
		uint64_t at = t->last_full_scan_mono + FULL_SCAN_MIN_NS;

		if (!next || at < next)
			next = at;
	}
	if (t->paths_check_at) {
		uint64_t at = t->paths_check_at;

		if (t->last_paths_check + PATHS_CHECK_MIN_NS > at)
			at = t->last_paths_check + PATHS_CHECK_MIN_NS;
		if (!next || at < next)
			next = at;
	}
	return next;
}

void tracker_refresh_writes(struct tracker *t, struct entry *const *ents, size_t n)
{
	static struct inuse_probe_req req[INUSE_PROBE_BATCH];
	static struct inuse_probe_res res[INUSE_PROBE_BATCH];

	for (size_t off = 0; off < n; off += INUSE_PROBE_BATCH) {
		size_t m = n - off < INUSE_PROBE_BATCH ? n - off : INUSE_PROBE_BATCH;

		for (size_t i = 0; i < m; i++) {
			const struct entry *e = ents[off + i];

			req[i] = (struct inuse_probe_req){e->inode_ptr, e->ino, e->dev, 0};
		}
		if (kernel_probe(t->k, req, res, m))
			return;
		t->st.probes += m;
		for (size_t i = 0; i < m; i++)
			if (!(res[i].flags & INUSE_PROBE_GONE))
				tracker_note_mtime(t, ents[off + i], res[i].mtime_ns);
	}
}

/* ---- names after renames, unlinks and mount changes ---- */

void tracker_mounts_changed(struct tracker *t)
{
	int err = mounts_reload(&t->mounts);

	if (err) {
		log_warn("cannot read the mount table: %s", strerror(-err));
		return;
	}
	t->st.mount_reloads++;
	/* every name is resolved again on its next use (the generation moved) */
	table_for_each(&t->table, e) entry_touch(e);
}

void tracker_mounts_sync(struct tracker *t)
{
	struct pollfd pfd = {.fd = mounts_fd(&t->mounts), .events = POLLPRI};

	if (pfd.fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLPRI | POLLERR)))
		tracker_mounts_changed(t);
}

/* Does name i still name e where it is shown? */
static bool name_holds(struct tracker *t, struct entry *e, unsigned int i)
{
	struct ename *n = &e->names[i];
	struct stat st;

	if (!n->host_path)
		return true; /* nothing shown to check */
	t->st.path_checks++;
	if (lstat(n->host_path, &st) != 0)
		return false;
	if (n->alias_dev)
		return kdev_from_dev(st.st_dev) == n->alias_dev && st.st_ino == n->alias_ino;
	if (n->inode_ptr && n->inode_ptr != e->inode_ptr)
		return S_ISREG(st.st_mode); /* an overlay name not learned yet */
	return kdev_from_dev(st.st_dev) == e->dev && st.st_ino == e->ino;
}

/* The name as a writer's fd shows it (a last resort when the kernel's
 * dentry no longer names the file): only for writers in the host's mount
 * namespace, where that path means the same. */
static bool name_from_proc(struct tracker *t, struct entry *e)
{
	static const char deleted[] = " (deleted)";
	char link[64], buf[INUSE_PATH_MAX + 16];

	if (e->pflags & PF_FOREIGN_NS)
		return false;
	for (uint32_t i = 0; i < e->nw; i++) {
		ssize_t n;
		uint32_t sb;
		char *fs = NULL;

		if (e->w[i].via != VIA_FD)
			continue;
		snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->w[i].pid, e->w[i].fd);
		n = readlink(link, buf, sizeof(buf) - 1);
		if (n <= 0 || buf[0] != '/')
			continue;
		buf[n] = '\0';
		if ((size_t)n > sizeof(deleted) - 1 &&
		    !strcmp(buf + n - (sizeof(deleted) - 1), deleted))
			continue;
		if (mounts_locate(&t->mounts, buf, &sb, &fs))
			continue;
		entry_set_name(&t->table, e, NAME_OPENED, fs, strlen(fs), sb,
			       e->names[NAME_OPENED].dentry_ptr, e->names[NAME_OPENED].inode_ptr,
			       0);
		free(fs);
		resolve_name(t, e, NAME_OPENED);
		return name_holds(t, e, NAME_OPENED) && e->names[NAME_OPENED].host_path;
	}
	return false;
}

/* Walks the names again from the kernel's dentries; fixes what moved. */
static void rewalk(struct tracker *t, struct entry **ents, unsigned int *slots, size_t n)
{
	static struct inuse_walk_req req[INUSE_WALK_BATCH];
	static struct inuse_walk_res res[INUSE_WALK_BATCH];

	for (size_t i = 0; i < n; i++) {
		const struct ename *nm = &ents[i]->names[slots[i]];

		req[i] = (struct inuse_walk_req){nm->dentry_ptr, nm->inode_ptr, 0, 0};
	}
	if (kernel_walk(t->k, req, res, n)) {
		for (size_t i = 0; i < n; i++)
			res[i].len = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct entry *e = ents[i];
		unsigned int s = slots[i];
		struct ename *nm = &e->names[s];
		uint32_t nf = name_flags(res[i].evflags);

		if (res[i].len && res[i].len < INUSE_PATH_MAX) {
			bool moved = !nm->fs_path || strlen(nm->fs_path) != res[i].len ||
				     memcmp(nm->fs_path, res[i].path, res[i].len) ||
				     nm->sb_dev != res[i].sb_dev;
			int mid = nm->mount_id;
			uint64_t gen = nm->mounts_gen;

			entry_set_name(&t->table, e, s, res[i].path, res[i].len, res[i].sb_dev,
				       nm->dentry_ptr, nm->inode_ptr, nf);
			nm->name_hash = res[i].name_hash;
			reresolve_name(t, e, s, mid, gen);
			e->pflags &= ~PF_STALE;
			if (moved && !(nf & NF_UNLINKED))
				e->pflags |= PF_RENAMED;
			t->st.path_fixes++;
			entry_touch(e);
			continue;
		}
		if (s == NAME_OPENED && name_from_proc(t, e)) {
			e->pflags &= ~PF_STALE;
			e->pflags |= PF_RENAMED;
			t->st.path_fixes++;
			continue;
		}
		if (!(e->pflags & PF_STALE)) {
			log_debug("name %s of %u:%lu no longer names it", nm->fs_path ?: "?",
				  e->dev, (unsigned long)e->ino);
			e->pflags |= PF_STALE;
			entry_touch(e);
		}
	}
}

/* A batch of names to check: by fingerprint where the kernel can give one,
 * else against the file system. */
struct check_batch {
	struct entry *ents[INUSE_HASH_BATCH];
	unsigned int slots[INUSE_HASH_BATCH];
	size_t n;
	struct entry *moved[INUSE_WALK_BATCH];
	unsigned int mslots[INUSE_WALK_BATCH];
	size_t nmoved;
};

static void moved_add(struct tracker *t, struct check_batch *b, struct entry *e, unsigned int s)
{
	b->moved[b->nmoved] = e;
	b->mslots[b->nmoved++] = s;
	if (b->nmoved == INUSE_WALK_BATCH) {
		rewalk(t, b->moved, b->mslots, b->nmoved);
		b->nmoved = 0;
	}
}

static void check_fingerprints(struct tracker *t, struct check_batch *b)
{
	static struct inuse_walk_req req[INUSE_HASH_BATCH];
	static struct inuse_hash_res res[INUSE_HASH_BATCH];

	for (size_t i = 0; i < b->n; i++) {
		const struct ename *nm = &b->ents[i]->names[b->slots[i]];

		req[i] = (struct inuse_walk_req){nm->dentry_ptr, nm->inode_ptr, 0, 0};
	}
	if (kernel_hashprobe(t->k, req, res, b->n)) {
		/* cannot tell: ask the file system */
		for (size_t i = 0; i < b->n; i++)
			if (!name_holds(t, b->ents[i], b->slots[i]))
				moved_add(t, b, b->ents[i], b->slots[i]);
		b->n = 0;
		return;
	}
	t->st.path_checks += b->n;
	for (size_t i = 0; i < b->n; i++) {
		const struct ename *nm = &b->ents[i]->names[b->slots[i]];
		bool unlinked = res[i].evflags & INUSE_EVF_UNLINKED;

		if (res[i].name_hash != nm->name_hash || unlinked != !!(nm->flags & NF_UNLINKED))
			moved_add(t, b, b->ents[i], b->slots[i]);
	}
	b->n = 0;
}

void tracker_validate_paths(struct tracker *t, unsigned int max)
{
	struct entry *e =
	    max ? (t->validate_cursor ? t->validate_cursor : t->table.head) : t->table.head;
	static struct check_batch b;

	b.n = b.nmoved = 0;
	for (unsigned int i = 0; e && (!max || i < max); i++, e = e->next) {
		for (unsigned int s = 0; s < ENTRY_NAMES; s++) {
			struct ename *nm = &e->names[s];

			if (!nm->fs_path)
				continue;
			if (nm->mounts_gen != t->mounts.gen)
				resolve_name(t, e, s);
			if (nm->dentry_ptr && nm->name_hash) {
				b.ents[b.n] = e;
				b.slots[b.n++] = s;
				if (b.n == INUSE_HASH_BATCH)
					check_fingerprints(t, &b);
			} else if (!(nm->flags & NF_UNLINKED) && !name_holds(t, e, s)) {
				moved_add(t, &b, e, s);
			}
		}
	}
	if (b.n)
		check_fingerprints(t, &b);
	if (b.nmoved)
		rewalk(t, b.moved, b.mslots, b.nmoved);
	t->validate_cursor = max ? e : NULL;
}
