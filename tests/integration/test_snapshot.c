// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_snapshot.c - consistent copies of files that stay open for writing,
 * by freezing their writers: the real daemon, real writers, real file
 * systems (ext4 copies; btrfs and xfs clones), real SQLite.
 *
 * Every snapshot of a file rewritten in place as fast as a writer can is
 * whole (every record's checksum right, the records of at most two
 * generations, in order); every snapshot of a SQLite database written by a
 * process that never closes it passes PRAGMA integrity_check; a shared
 * mapping's stores before the freeze are in the copy; a writer in a cgroup
 * that must not be frozen is refused and never stopped; a daemon killed
 * during a freeze leaves the writer thawed at its next start. A user may
 * snapshot only what it may read, and stop only its own processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"
#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char base[PATH_MAX], conf[PATH_MAX], cgdir[PATH_MAX];
static char ext[PATH_MAX], btr[PATH_MAX], xfs[PATH_MAX], spool[PATH_MAX];
static bool have_btr, have_xfs;

#define sh(...) td_system(__VA_ARGS__)

static void stop_child(pid_t pid)
{
	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool mkimg(const char *name, const char *mkfs, char *mnt)
{
	snprintf(mnt, PATH_MAX, "%s/%s", base, name);
	return sh("cd %s && truncate -s 320M %s.img && %s %s.img >/dev/null 2>&1 && mkdir -p %s && "
		  "mount -o loop %s.img %s",
		  base, name, mkfs, name, name, name, name) == 0;
}

/* The cgroup2 mount, for a cgroup of the test's own. */
static void find_cgroup2(char *out, size_t len)
{
	char dev[256], dir[256], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	out[0] = '\0';
	while (f && fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(out, len, "%s", dir);
			break;
		}
	}
	if (f)
		fclose(f);
}

static int group_setup(void **state)
{
	char cg2[PATH_MAX];
	const char *args[3];
	FILE *f;

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(base, "/var/tmp/inuse-snap-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	snprintf(ext, sizeof(ext), "%s/ext", base);
	snprintf(spool, sizeof(spool), "%s/spool", base);
	if (sh("mkdir -p %s %s", ext, spool))
		return -1;
	have_btr = mkimg("btr", "mkfs.btrfs -q -f", btr);
	have_xfs = mkimg("xfs", "mkfs.xfs -q -f -m reflink=1", xfs);
	find_cgroup2(cg2, sizeof(cg2));
	if (cg2[0])
		snprintf(cgdir, sizeof(cgdir), "%s/inuse-test-never-%d", cg2, (int)getpid());
	snprintf(conf, sizeof(conf), "%s/inused.conf", base);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"policy = {\n"
		"  default = { open = \"defer\"; defer_max = \"2s\"; fallback = \"flag\"; };\n"
		"  rules = (\n"
		"    { name = \"records\"; match = [ \"*.rec\", \"*.db\", \"*.db-journal\" ];\n"
		"      open = \"snapshot\"; freeze_max = \"5s\"; snapshot_max_size = \"8M\"; },\n"
		"    { name = \"slow\"; match = [ \"*.big\" ]; open = \"snapshot\";\n"
		"      freeze_max = \"30s\"; snapshot_max_size = \"2G\"; },\n"
		"    { name = \"plain\"; match = [ \"*.txt\" ]; open = \"flag\"; }\n"
		"  );\n"
		"};\n"
		"snapshot = { dir = \"%s\"; never_freeze = [ \"/inuse-test-never-*\" ]; };\n",
		spool);
	fclose(f);
	args[0] = "--config";
	args[1] = conf;
	args[2] = NULL;
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	if (cgdir[0])
		rmdir(cgdir);
	sh("cd %s 2>/dev/null && umount -l btr xfs 2>/dev/null; true", base);
	return td_rmtree(base);
}

static struct inuse_client *client(void)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 60000};
	struct inuse_client *c;

	assert_int_equal(inuse_client__open(&o, &c), 0);
	return c;
}

/* ---- records rewritten in place ---- */

#define REC  512
#define NREC 256

struct rec {
	uint64_t gen, index;
	unsigned char payload[REC - 24];
	uint64_t sum;
};
_Static_assert(sizeof(struct rec) == REC, "record size");

static uint64_t rec_sum(const struct rec *r)
{
	const unsigned char *p = (const unsigned char *)r;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < offsetof(struct rec, sum); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* Rewrites every record, generation after generation, one pwrite each. */
static void rewriter(const char *path, int ready)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct rec r;

	if (fd < 0)
		_exit(2);
	for (uint64_t gen = 1;; gen++) {
		for (uint64_t i = 0; i < NREC; i++) {
			r.gen = gen;
			r.index = i;
			memset(r.payload, (int)((gen * 31 + i) & 0xff), sizeof(r.payload));
			r.sum = rec_sum(&r);
			if (pwrite(fd, &r, sizeof(r), (off_t)(i * REC)) != REC)
				_exit(3);
		}
		if (gen == 1 && write(ready, "k", 1) != 1)
			_exit(4);
	}
}

/* A copy is whole: NREC records, each with its checksum, of generations
 * G+1 then G in one run (a sweep in progress), or all G. */
static bool records_whole(int fd, char *why, size_t len)
{
	static struct rec r[NREC];
	ssize_t n = pread(fd, r, sizeof(r), 0);
	uint64_t hi, lo;
	size_t i = 0;

	if (n != (ssize_t)sizeof(r)) {
		snprintf(why, len, "%zd bytes", n);
		return false;
	}
	for (size_t k = 0; k < NREC; k++) {
		if (r[k].index != k || r[k].sum != rec_sum(&r[k])) {
			snprintf(why, len, "record %zu torn", k);
			return false;
		}
	}
	hi = r[0].gen;
	while (i < NREC && r[i].gen == hi)
		i++;
	lo = i < NREC ? r[i].gen : hi;
	if (lo != hi && lo + 1 != hi) {
		snprintf(why, len, "generations %llu then %llu", (unsigned long long)hi,
			 (unsigned long long)lo);
		return false;
	}
	for (; i < NREC; i++) {
		if (r[i].gen != lo) {
			snprintf(why, len, "record %zu of generation %llu after %llu", i,
				 (unsigned long long)r[i].gen, (unsigned long long)lo);
			return false;
		}
	}
	return true;
}

static void snapshots_whole(const char *dir, bool want_clone, int rounds)
{
	char p[PATH_MAX], why[128];
	struct inuse_client *c = client();
	int ready[2], torn_plain = 0;
	pid_t w;

	snprintf(p, sizeof(p), "%s/sweep.rec", dir);
	assert_int_equal(pipe(ready), 0);
	w = td_fork_child();
	if (w == 0) {
		close(ready[0]);
		rewriter(p, ready[1]);
	}
	close(ready[1]);
	{
		char x;

		assert_int_equal(read(ready[0], &x, 1), 1);
	}
	close(ready[0]);
	for (int i = 0; i < rounds; i++) {
		const char *paths[1] = {p};
		struct inuse_result *r;
		const struct inuse_file *f;
		int err = inuse_client__snapshot(c, paths, 1, &r);

		if (err)
			fail_msg("snapshot %d of %s: %s", i, p, strerror(-err));
		f = inuse_result__file(r, 0);
		assert_true(f->fd >= 0);
		assert_int_equal(f->cloned, want_clone);
		if (!records_whole(f->fd, why, sizeof(why)))
			fail_msg("snapshot %d of %s is not whole: %s", i, p, why);
		inuse_result__free(r);
	}
	/* positive control: a copy made record by record while the writer
	 * runs, as a slow backup would, is torn: the check sees it */
	for (int i = 0; i < 20 && !torn_plain; i++) {
		static struct rec buf[NREC];
		char cp[PATH_MAX];
		int in = open(p, O_RDONLY | O_CLOEXEC), out;

		snprintf(cp, sizeof(cp), "%s/plain-copy", base);
		out = open(cp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		assert_true(in >= 0 && out >= 0);
		for (int k = 0; k < NREC; k++) {
			assert_int_equal(pread(in, &buf[k], REC, (off_t)k * REC), REC);
			usleep(20);
		}
		assert_int_equal(pwrite(out, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
		torn_plain += !records_whole(out, why, sizeof(why));
		close(in);
		close(out);
	}
	fprintf(stderr, "  %s: %d snapshots whole; a copy without the freeze is torn: %s\n", dir,
		rounds, torn_plain ? "yes" : "no");
	assert_true(torn_plain);
	stop_child(w);
	inuse_client__free(c);
}

static void test_records_ext4_copy(void **state)
{
	td_need(&D);
	snapshots_whole(ext, false, 200);
}

static void test_records_btrfs_clone(void **state)
{
	td_need(&D);
	if (!have_btr) {
		if (td_must_run())
			fail_msg("btrfs is needed under CI=true");
		skip();
	}
	snapshots_whole(btr, true, 200);
}

static void test_records_xfs_clone(void **state)
{
	td_need(&D);
	if (!have_xfs) {
		if (td_must_run())
			fail_msg("xfs is needed under CI=true");
		skip();
	}
	snapshots_whole(xfs, true, 200);
}

/* ---- SQLite without WAL ---- */

/* sqlite3 holds the database open and runs transactions from its input
 * until it is killed. */
static pid_t sqlite_writer(const char *db, int *feed)
{
	int in[2];
	pid_t pid;

	assert_int_equal(pipe(in), 0);
	pid = td_fork_child();
	if (pid == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		execlp("sqlite3", "sqlite3", "-batch", db, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	*feed = in[1];
	return pid;
}

static void feed(int fd, const char *sql)
{
	size_t n = strlen(sql);

	assert_int_equal(write(fd, sql, n), (ssize_t)n);
}

static void test_sqlite_rollback_journal(void **state)
{
	char db[PATH_MAX], jr[PATH_MAX], rdir[PATH_MAX], out[256];
	struct inuse_client *c;
	int fd, bad = 0, with_journal = 0;
	pid_t w, feeder;

	td_need(&D);
	snprintf(db, sizeof(db), "%s/app.db", ext);
	snprintf(jr, sizeof(jr), "%s/app.db-journal", ext);
	snprintf(rdir, sizeof(rdir), "%s/restore", base);
	assert_int_equal(mkdir(rdir, 0755), 0);
	w = sqlite_writer(db, &fd);
	feed(fd, "PRAGMA journal_mode=DELETE;\nCREATE TABLE t(a INTEGER PRIMARY KEY, b BLOB);\n");
	feeder = td_fork_child();
	if (feeder == 0) {
		for (;;)
			feed(fd, "BEGIN; INSERT INTO t(b) VALUES(randomblob(300));"
				 "INSERT INTO t(b) VALUES(randomblob(3000));"
				 "UPDATE t SET b=randomblob(200) WHERE a % 7 = abs(random()) % 7;"
				 "DELETE FROM t WHERE a % 11 = 0 AND abs(random()) % 3 = 0;"
				 "COMMIT;\n");
	}
	close(fd);
	c = client();
	assert_true(td_wait_writer(&D, db, w, -1, NULL));
	for (int i = 0; i < 200; i++) {
		const char *paths[2] = {db, jr};
		struct inuse_result *r;
		int err = inuse_client__snapshot(c, paths, 2, &r);

		if (err)
			fail_msg("snapshot %d of %s: %s", i, db, strerror(-err));
		sh("rm -f %s/x.db %s/x.db-journal", rdir, rdir);
		for (size_t k = 0; k < 2; k++) {
			const struct inuse_file *f = inuse_result__file(r, k);
			char dst[PATH_MAX];

			if (f->fd < 0)
				continue; /* the journal between transactions */
			with_journal += k == 1;
			snprintf(dst, sizeof(dst), "%s/x.db%s", rdir, k ? "-journal" : "");
			assert_int_equal(sh("cat /proc/%d/fd/%d > %s", (int)getpid(), f->fd, dst),
					 0);
		}
		inuse_result__free(r);
		if (td_sh(out, sizeof(out), "sqlite3 %s/x.db 'PRAGMA integrity_check;'", rdir) !=
			0 ||
		    strcmp(out, "ok\n")) {
			fprintf(stderr, "snapshot %d: integrity_check: %s\n", i, out);
			bad++;
		}
	}
	fprintf(stderr, "  sqlite: 200 snapshots, %d with a hot journal, %d not ok\n", with_journal,
		bad);
	assert_int_equal(bad, 0);
	stop_child(feeder);
	stop_child(w);
	inuse_client__free(c);
}

/* ---- a shared mapping ---- */

/* What a writer stored through a shared mapping before the freeze is in
 * the copy (a clone reads the page cache, written back first). */
static void mapped(const char *dir, bool clone)
{
	char p[PATH_MAX];
	int cmd[2], done[2];
	struct inuse_client *c = client();
	pid_t w;

	snprintf(p, sizeof(p), "%s/mapped.rec", dir);
	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(done), 0);
	w = td_fork_child();
	if (w == 0) {
		int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
		char *m, x;

		if (fd < 0 || ftruncate(fd, 1 << 20))
			_exit(2);
		m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			_exit(3);
		for (char round = 'a';; round++) {
			if (read(cmd[0], &x, 1) != 1)
				_exit(0);
			memset(m, round, 1 << 20); /* every page */
			if (write(done[1], &round, 1) != 1)
				_exit(4);
		}
	}
	for (int i = 0; i < 20; i++) {
		const char *paths[1] = {p};
		struct inuse_result *r;
		char round, buf[4096];
		off_t off;

		assert_int_equal(write(cmd[1], "g", 1), 1);
		assert_int_equal(read(done[0], &round, 1), 1);
		assert_int_equal(inuse_client__snapshot(c, paths, 1, &r), 0);
		assert_int_equal(inuse_result__file(r, 0)->cloned, clone);
		for (off = 0; off < (1 << 20); off += 65536) {
			assert_int_equal(pread(inuse_result__file(r, 0)->fd, buf, sizeof(buf), off),
					 (ssize_t)sizeof(buf));
			if (buf[0] != round || buf[4095] != round)
				fail_msg("%s: the copy has '%c' at %lld, the mapping held '%c'", p,
					 buf[0], (long long)off, round);
		}
		inuse_result__free(r);
	}
	stop_child(w);
	inuse_client__free(c);
	close(cmd[0]), close(cmd[1]), close(done[0]), close(done[1]);
}

static void test_mapped_writer(void **state)
{
	td_need(&D);
	mapped(ext, false);
	if (have_btr)
		mapped(btr, true);
	else if (td_must_run())
		fail_msg("btrfs is needed under CI=true");
}

/* ---- refusals ---- */

static enum inuse_state lib_state_snapshot(struct inuse_client *c, const char *p, int *err)
{
	const char *paths[1] = {p};
	struct inuse_result *r;

	*err = inuse_client__snapshot(c, paths, 1, &r);
	if (!*err)
		inuse_result__free(r);
	return INUSE_OPEN;
}

/* Whether a child was stopped since this was last asked: a stop, or a
 * continue after it, shows to its parent. */
static bool was_stopped(pid_t pid)
{
	bool any = false;
	int st;

	while (waitpid(pid, &st, WNOHANG | WUNTRACED | WCONTINUED) == pid)
		any |= WIFSTOPPED(st) || WIFCONTINUED(st);
	return any;
}

static pid_t appender(const char *p)
{
	pid_t w = td_fork_child();

	if (w == 0) {
		int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0)
			_exit(2);
		for (;;) {
			if (write(fd, "x", 1) != 1)
				_exit(3);
			usleep(1000);
		}
	}
	return w;
}

/* A writer in a cgroup that must never be frozen: refused, not stopped;
 * a file the policy does not give to snapshots: refused. */
static void test_refusals(void **state)
{
	char p[PATH_MAX], q[PATH_MAX], procs[PATH_MAX + 32];
	struct inuse_client *c;
	int err;
	pid_t w, w2;
	FILE *f;

	td_need(&D);
	if (!cgdir[0]) {
		if (td_must_run())
			fail_msg("cgroup2 is needed under CI=true");
		skip();
	}
	c = client();
	snprintf(p, sizeof(p), "%s/guarded.rec", ext);
	w = appender(p);
	assert_true(td_wait_writer(&D, p, w, -1, NULL));
	/* positive control: snapshots are allowed for it while it is in an
	 * ordinary cgroup */
	lib_state_snapshot(c, p, &err);
	assert_int_equal(err, 0);
	assert_true(was_stopped(w)); /* stopped for that one (not alone in its cgroup) */
	assert_int_equal(mkdir(cgdir, 0755), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgdir);
	f = fopen(procs, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)w);
	assert_int_equal(fclose(f), 0);
	lib_state_snapshot(c, p, &err);
	assert_int_equal(err, -EPERM);
	assert_false(was_stopped(w));
	/* and the policy */
	snprintf(q, sizeof(q), "%s/notes.txt", ext);
	w2 = appender(q);
	assert_true(td_wait_writer(&D, q, w2, -1, NULL));
	lib_state_snapshot(c, q, &err);
	assert_int_equal(err, -EPERM);
	assert_false(was_stopped(w2));
	stop_child(w);
	stop_child(w2);
	inuse_client__free(c);
}

#define UID_U 4251 /* a user nothing else in these tests uses */

/* Asks for a snapshot of path as user UID_U, in a child; returns the
 * library's answer (0 or -errno), or 1000 when the child failed. */
static int snapshot_as_user(const char *path)
{
	pid_t pid = td_fork_child();
	int st;

	if (pid == 0) {
		struct inuse_client_opts o = {
		    .sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 60000};
		const char *paths[1] = {path};
		struct inuse_client *c;
		struct inuse_result *r;
		int err;

		if (setgroups(0, NULL) || setresgid(UID_U, UID_U, UID_U) ||
		    setresuid(UID_U, UID_U, UID_U))
			_exit(120);
		if (inuse_client__open(&o, &c))
			_exit(121);
		err = inuse_client__snapshot(c, paths, 1, &r);
		if (!err) {
			/* the copy is handed over, and reads as the file did */
			const struct inuse_file *f = inuse_result__file(r, 0);
			char b[1];

			if (!f || f->fd < 0 || pread(f->fd, b, 1, 0) != 1)
				_exit(122);
			inuse_result__free(r);
		}
		inuse_client__free(c);
		_exit(err == 0 ? 0 : err == -EPERM ? 1 : 2);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	switch (WEXITSTATUS(st)) {
	case 0:
		return 0;
	case 1:
		return -EPERM;
	default:
		return 1000 + WEXITSTATUS(st);
	}
}

/* The attacks: a user asks for a copy of a file it cannot read, and for a
 * copy of a file it can read but another user's process writes (it would
 * stop that process). Both refused, neither writer stopped. Then its own
 * file, written by its own process: allowed (the refusals are not
 * everything refused). */
static void test_users_own_only(void **state)
{
	char secret[PATH_MAX], shared[PATH_MAX], mine[PATH_MAX], udir[PATH_MAX];
	pid_t w1, w2, w3;
	int fd;

	td_need(&D);
	/* the user may reach the socket and ext, not more */
	assert_int_equal(chmod(D.dir, 0755), 0);
	assert_int_equal(chmod(D.sock, 0666), 0);
	assert_int_equal(chmod(base, 0711), 0);
	assert_int_equal(chmod(ext, 0711), 0);
	snprintf(secret, sizeof(secret), "%s/secret.rec", ext);
	snprintf(shared, sizeof(shared), "%s/shared.rec", ext);
	snprintf(udir, sizeof(udir), "%s/user", ext);
	snprintf(mine, sizeof(mine), "%s/mine.rec", udir);
	assert_int_equal(mkdir(udir, 0700), 0);
	assert_int_equal(chown(udir, UID_U, UID_U), 0);
	w1 = appender(secret);
	w2 = appender(shared);
	assert_true(td_wait_writer(&D, secret, w1, -1, NULL));
	assert_true(td_wait_writer(&D, shared, w2, -1, NULL));
	assert_int_equal(chmod(secret, 0600), 0);
	assert_int_equal(chmod(shared, 0644), 0);
	was_stopped(w1);
	was_stopped(w2);

	assert_int_equal(snapshot_as_user(secret), -EPERM);
	assert_false(was_stopped(w1));
	assert_int_equal(snapshot_as_user(shared), -EPERM);
	assert_false(was_stopped(w2));
	/* root may (the positive control of the same files) */
	{
		struct inuse_client *c = client();
		int err;

		lib_state_snapshot(c, shared, &err);
		assert_int_equal(err, 0);
		assert_true(was_stopped(w2));
		inuse_client__free(c);
	}

	/* its own file and its own writer */
	w3 = td_fork_child();
	assert_true(w3 >= 0);
	if (w3 == 0) {
		if (setgroups(0, NULL) || setresgid(UID_U, UID_U, UID_U) ||
		    setresuid(UID_U, UID_U, UID_U))
			_exit(120);
		fd = open(mine, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd < 0)
			_exit(2);
		for (;;) {
			if (write(fd, "x", 1) != 1)
				_exit(3);
			usleep(1000);
		}
	}
	assert_true(td_wait_writer(&D, mine, w3, -1, NULL));
	assert_int_equal(snapshot_as_user(mine), 0);
	assert_true(was_stopped(w3));
	stop_child(w1);
	stop_child(w2);
	stop_child(w3);
	assert_int_equal(chmod(base, 0700), 0);
}

/* A writer alone in its own cgroup is frozen by its cgroup: the parent
 * never sees it stopped. */
static void test_cgroup_freeze(void **state)
{
	char p[PATH_MAX], cg[PATH_MAX + 32], procs[PATH_MAX + 64], cg2[PATH_MAX];
	struct inuse_client *c;
	int err;
	pid_t w;
	FILE *f;

	td_need(&D);
	find_cgroup2(cg2, sizeof(cg2));
	if (!cg2[0]) {
		if (td_must_run())
			fail_msg("cgroup2 is needed under CI=true");
		skip();
	}
	snprintf(cg, sizeof(cg), "%s/inuse-test-alone-%d", cg2, (int)getpid());
	snprintf(p, sizeof(p), "%s/alone.rec", ext);
	w = appender(p);
	assert_int_equal(mkdir(cg, 0755), 0);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	f = fopen(procs, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)w);
	assert_int_equal(fclose(f), 0);
	assert_true(td_wait_writer(&D, p, w, -1, NULL));
	c = client();
	for (int i = 0; i < 20; i++) {
		lib_state_snapshot(c, p, &err);
		assert_int_equal(err, 0);
	}
	assert_false(was_stopped(w));
	stop_child(w);
	inuse_client__free(c);
	rmdir(cg);
}

/* A file too large to copy where no clone can be made: refused, the
 * writers never frozen for it. */
static void test_too_large(void **state)
{
	char p[PATH_MAX];
	struct inuse_client *c;
	int err;
	pid_t w;

	td_need(&D);
	snprintf(p, sizeof(p), "%s/large.rec", ext);
	assert_int_equal(sh("head -c 16M /dev/zero > %s", p), 0);
	w = appender(p);
	assert_true(td_wait_writer(&D, p, w, -1, NULL));
	c = client();
	lib_state_snapshot(c, p, &err);
	assert_int_equal(err, -EPERM);
	assert_false(was_stopped(w));
	stop_child(w);
	inuse_client__free(c);
}

/* ---- never left frozen ---- */

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return '?';
	}
	fclose(f);
	p = strrchr(buf, ')');
	return p ? p[2] : '?';
}

/* The daemon is killed (SIGKILL) while the writer is frozen for a long
 * copy: the writer stays stopped until a daemon starts again, which thaws
 * it. */
static void test_killed_daemon_thaws_at_start(void **state)
{
	char p[PATH_MAX], tmpfs[PATH_MAX];
	uint64_t deadline;
	pid_t w, asker;
	const char *args[3] = {"--config", conf, NULL};
	int st;

	td_need(&D);
	snprintf(tmpfs, sizeof(tmpfs), "%s/tmpfs", base);
	assert_int_equal(sh("mkdir -p %s && mount -t tmpfs -o size=1500m tmpfs %s && "
			    "head -c 1200M /dev/zero > %s/huge.big",
			    tmpfs, tmpfs, tmpfs),
			 0);
	snprintf(p, sizeof(p), "%s/huge.big", tmpfs);
	w = appender(p);
	assert_true(td_wait_writer(&D, p, w, -1, NULL));
	asker = td_fork_child();
	if (asker == 0) {
		struct inuse_client *c = client();
		int err;

		lib_state_snapshot(c, p, &err);
		_exit(0);
	}
	/* wait until the writer is stopped: the copy is under way */
	deadline = clock_mono_ns() + 20 * NSEC_PER_SEC;
	while (proc_state(w) != 'T' && clock_mono_ns() < deadline)
		usleep(200);
	assert_int_equal(proc_state(w), 'T');
	kill(D.pid, SIGKILL);
	waitpid(D.pid, &st, 0);
	D.pid = 0;
	waitpid(asker, NULL, 0);
	usleep(100000);
	assert_int_equal(proc_state(w), 'T'); /* left stopped */
	assert_int_equal(td_start(&D, args), 0);
	deadline = clock_mono_ns() + 20 * NSEC_PER_SEC;
	while (proc_state(w) == 'T' && clock_mono_ns() < deadline)
		usleep(1000);
	assert_true(proc_state(w) != 'T');
	stop_child(w);
	sh("umount -l %s", tmpfs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records_ext4_copy),
	    cmocka_unit_test(test_records_btrfs_clone),
	    cmocka_unit_test(test_records_xfs_clone),
	    cmocka_unit_test(test_sqlite_rollback_journal),
	    cmocka_unit_test(test_mapped_writer),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_users_own_only),
	    cmocka_unit_test(test_cgroup_freeze),
	    cmocka_unit_test(test_too_large),
	    cmocka_unit_test(test_killed_daemon_thaws_at_start),
	};

	if (getenv("INUSE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
