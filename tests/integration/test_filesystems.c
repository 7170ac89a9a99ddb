// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_filesystems.c - the writer scenarios on every file system backups
 * meet, loop-mounted for the test: ext4, xfs, btrfs (top level, a
 * subvolume, a snapshot), overlayfs (layers on one file system; lower on xfs
 * and upper on ext4), FUSE (bindfs), tmpfs and a bind mount; and by every
 * name a file has there (merged and upper, bind and source).
 *
 * "open" is asked right after the call that makes a writer, with no retry
 * (answers drain the kernel's events first); only "not_open" after the last
 * writer goes is waited for, with a bound. Needs root; a file system the
 * kernel lacks is skipped with the reason, except under CI=true.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inuse.h"
#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char base[PATH_MAX]; /* images and mount points */
static char conf[PATH_MAX];

/* A place to create files, and the other names its files have. */
struct fs {
	const char *name;
	char dir[PATH_MAX];
	char alt[PATH_MAX];   /* the same files by another name, or "" */
	const char *alt_name; /* what that other name is */
	bool ok;
	const char *why; /* why it is not there */
};

enum {
	FS_EXT4,
	FS_XFS,
	FS_BTRFS,
	FS_SUBVOL,
	FS_SNAP,
	FS_OVL,
	FS_OVL_MIXED,
	FS_FUSE,
	FS_TMPFS,
	FS_BIND,
	FS_NR
};
static struct fs fss[FS_NR] = {
    [FS_EXT4] = {.name = "ext4"},
    [FS_XFS] = {.name = "xfs"},
    [FS_BTRFS] = {.name = "btrfs"},
    [FS_SUBVOL] = {.name = "btrfs subvolume"},
    [FS_SNAP] = {.name = "btrfs snapshot"},
    [FS_OVL] = {.name = "overlay (one fs)", .alt_name = "upper"},
    [FS_OVL_MIXED] = {.name = "overlay (xfs lower, ext4 upper)", .alt_name = "upper"},
    [FS_FUSE] = {.name = "fuse (bindfs)"},
    [FS_TMPFS] = {.name = "tmpfs"},
    [FS_BIND] = {.name = "bind mount", .alt_name = "source"},
};

static const char conf_text[] =
    "policy = {\n"
    "  default = { open = \"defer\"; defer_max = \"2s\"; fallback = \"flag\"; };\n"
    "  rules = ( { name = \"quiet\"; match = [ \"*.quiet\" ]; open = \"flag\"; quiet = \"1s\"; } "
    ");\n"
    "};\n";

#define sh(...) td_system(__VA_ARGS__)

static bool fs_known(const char *type)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "grep -qw %s /proc/filesystems", type);
	return sh("%s", cmd) == 0;
}

/* Makes an image of type at base/NAME.img mounted on base/NAME. */
static bool mkimg(const char *name, const char *mkfs, const char *type)
{
	if (!fs_known(type))
		return false;
	return sh("cd %s && truncate -s 320M %s.img && %s %s.img >/dev/null 2>&1 && mkdir -p %s && "
		  "mount -o loop %s.img %s",
		  base, name, mkfs, name, name, name, name) == 0;
}

static void set(int i, const char *dir, const char *alt)
{
	snprintf(fss[i].dir, sizeof(fss[i].dir), "%s/%s", base, dir);
	if (alt)
		snprintf(fss[i].alt, sizeof(fss[i].alt), "%s/%s", base, alt);
	fss[i].ok = true;
}

static void unavailable(int i, const char *why)
{
	fss[i].ok = false;
	fss[i].why = why;
}

static void setup_filesystems(void)
{
	bool ext = mkimg("ext", "mkfs.ext4 -q -F", "ext4");
	bool xfs = mkimg("xfs", "mkfs.xfs -q -f", "xfs");
	bool btr = mkimg("btr", "mkfs.btrfs -q -f", "btrfs");

	if (ext) {
		sh("mkdir -p %s/ext/files", base);
		set(FS_EXT4, "ext/files", NULL);
	} else {
		unavailable(FS_EXT4, "no ext4 (kernel or mkfs.ext4)");
	}
	if (xfs) {
		sh("mkdir -p %s/xfs/files", base);
		set(FS_XFS, "xfs/files", NULL);
	} else {
		unavailable(FS_XFS, "no xfs (kernel or mkfs.xfs)");
	}
	if (btr && sh("btrfs subvolume create %s/btr/sub >/dev/null", base) == 0 &&
	    sh("btrfs subvolume snapshot %s/btr/sub %s/btr/snap >/dev/null", base, base) == 0) {
		set(FS_BTRFS, "btr", NULL);
		set(FS_SUBVOL, "btr/sub", NULL);
		set(FS_SNAP, "btr/snap", NULL);
	} else {
		unavailable(FS_BTRFS, "no btrfs (kernel or btrfs-progs)");
		unavailable(FS_SUBVOL, "no btrfs");
		unavailable(FS_SNAP, "no btrfs");
	}
	if (ext && fs_known("overlay") &&
	    sh("cd %s && mkdir -p ext/lo ext/up ext/wk ovl && "
	       "mount -t overlay overlay -o "
	       "lowerdir=%s/ext/lo,upperdir=%s/ext/up,workdir=%s/ext/wk "
	       "ovl",
	       base, base, base, base) == 0)
		set(FS_OVL, "ovl", "ext/up");
	else
		unavailable(FS_OVL, "no overlay");
	if (ext && xfs && fs_known("overlay") &&
	    sh("cd %s && mkdir -p xfs/lo ext/up2 ext/wk2 ovl2 && "
	       "mount -t overlay overlay -o "
	       "lowerdir=%s/xfs/lo,upperdir=%s/ext/up2,workdir=%s/ext/wk2 ovl2",
	       base, base, base, base) == 0)
		set(FS_OVL_MIXED, "ovl2", "ext/up2");
	else
		unavailable(FS_OVL_MIXED, "no overlay, xfs or ext4");
	if (ext && fs_known("fuse") &&
	    sh("cd %s && mkdir -p ext/fsrc fuse && bindfs ext/fsrc fuse", base) == 0)
		set(FS_FUSE, "fuse", NULL);
	else
		unavailable(FS_FUSE, "no fuse or bindfs");
	if (sh("cd %s && mkdir -p tmp && mount -t tmpfs -o size=64m tmpfs tmp", base) == 0)
		set(FS_TMPFS, "tmp", NULL);
	else
		unavailable(FS_TMPFS, "no tmpfs");
	if (ext && sh("cd %s && mkdir -p ext/bsrc bind && mount --bind ext/bsrc bind", base) == 0)
		set(FS_BIND, "bind", "ext/bsrc");
	else
		unavailable(FS_BIND, "no bind mount");
}

static int group_setup(void **state)
{
	const char *args[3];
	FILE *f;

	if (geteuid() != 0) {
		fprintf(stderr, "file system tests need root\n");
		return td_must_run() ? -1 : 0;
	}
	strcpy(base, "/var/tmp/inuse-fs-XXXXXX");
	if (!mkdtemp(base))
		return -1;
	setup_filesystems();
	snprintf(conf, sizeof(conf), "%s/inused.conf", base);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fputs(conf_text, f);
	fclose(f);
	args[0] = "--config";
	args[1] = conf;
	args[2] = NULL;
	if (td_start(&D, args) != 0) {
		fprintf(stderr, "inused did not start: BPF unavailable?\n");
		return td_must_run() ? -1 : 0;
	}
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	sh("cd %s 2>/dev/null && for m in bind tmp fuse ovl2 ovl btr xfs ext; do "
	   "umount -l $m 2>/dev/null; done; true",
	   base);
	return td_rmtree(base);
}

/* Skips or (CI=true) fails a file system that could not be set up. */
static bool have(int i)
{
	if (fss[i].ok)
		return true;
	fprintf(stderr, "  %s: not tested: %s\n", fss[i].name, fss[i].why);
	if (td_must_run())
		fail_msg("%s must be tested under CI=true: %s", fss[i].name, fss[i].why);
	return false;
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The state of a path of any bytes, through libinuse. */
static enum inuse_state lib_state(const char *path)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock};
	struct inuse_client *c;
	struct inuse_result *r;
	enum inuse_state st = INUSE_ERROR;

	if (inuse_client__open(&o, &c))
		return INUSE_ERROR;
	if (inuse_client__check(c, &path, 1, &r) == 0) {
		if (inuse_result__count(r) == 1)
			st = inuse_result__file(r, 0)->state;
		inuse_result__free(r);
	}
	inuse_client__free(c);
	return st;
}

static bool lib_wait_state(const char *path, enum inuse_state want)
{
	uint64_t deadline = clock_mono_ns() + TD_TIMEOUT_MS * NSEC_PER_MSEC;

	while (lib_state(path) != want)
		if (clock_mono_ns() > deadline)
			return false;
		else
			usleep(2000);
	return true;
}

/* The state of path, asked once: no retry. */
static void assert_state_now(const struct fs *fs, const char *path, const char *want)
{
	const char *st = td_state(&D, path);

	if (!st || strcmp(st, want))
		fail_msg("%s: %s is %s right away, wanted %s", fs->name, path,
			 st ? st : "(no answer)", want);
}

static void assert_state_soon(const struct fs *fs, const char *path, const char *want)
{
	if (!td_wait_state(&D, path, want))
		fail_msg("%s: %s never became %s", fs->name, path, want);
}

/* Does the entry's dev/ino pair (members dk, ik) match st? */
static bool same_id(json_t *e, const char *dk, const char *ik, const struct stat *st)
{
	const char *dev = json_string_value(json_object_get(e, dk));
	char want[32];

	snprintf(want, sizeof(want), "%u:%u", major(st->st_dev), minor(st->st_dev));
	return dev && !strcmp(dev, want) &&
	       (uint64_t)json_integer_value(json_object_get(e, ik)) == (uint64_t)st->st_ino;
}

/* The same file under the file system's other name (upper, source), or
 * NULL. */
static const char *other_name(const struct fs *fs, const char *leaf, char *buf)
{
	if (!fs->alt[0])
		return NULL;
	snprintf(buf, PATH_MAX, "%s/%s", fs->alt, leaf);
	return buf;
}

/* The listed dev and ino are those stat(2) gives for the listed path; an
 * overlay file also names its upper file, and the inode that holds the data
 * is that one's. */
static void assert_identity(const struct fs *fs, const char *path)
{
	json_t *e = td_entry(&D, path);
	const char *lp = json_string_value(json_object_get(e, "path"));
	const char *up = json_string_value(json_object_get(e, "upper_path"));
	struct stat st;

	if (!e)
		fail_msg("%s: %s is not listed", fs->name, path);
	if (!lp)
		fail_msg("%s: %s is listed without a path", fs->name, path);
	if (stat(lp, &st) != 0)
		fail_msg("%s: listed path %s of %s: %s", fs->name, lp, path, strerror(errno));
	if (!same_id(e, "dev", "ino", &st))
		fail_msg("%s: listed %s:%lld, stat gives %u:%u:%llu for %s", fs->name,
			 json_string_value(json_object_get(e, "dev")),
			 (long long)json_integer_value(json_object_get(e, "ino")), major(st.st_dev),
			 minor(st.st_dev), (unsigned long long)st.st_ino, lp);
	if (up) {
		struct stat ust;
		bool data = json_object_get(e, "data_dev") != NULL;

		if (stat(up, &ust) != 0)
			fail_msg("%s: upper path %s: %s", fs->name, up, strerror(errno));
		if (!same_id(e, data ? "data_dev" : "dev", data ? "data_ino" : "ino", &ust))
			fail_msg("%s: the data of %s is not listed as %s's", fs->name, lp, up);
	}
	if (json_is_true(json_object_get(e, "renamed")))
		fail_msg("%s: %s listed as renamed", fs->name, path);
	json_decref(e);
}

/* ---- the scenarios, on every file system ---- */

/* A plain writer: open by every name at once, listed with the identity
 * stat gives, not open after its close. */
static void plain_writer(const struct fs *fs)
{
	char p[PATH_MAX], q[PATH_MAX];
	const char *o;
	int fd;

	snprintf(p, sizeof(p), "%s/plain", fs->dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_state_now(fs, p, "open");
	o = other_name(fs, "plain", q);
	if (o)
		assert_state_now(fs, o, "open");
	assert_true(td_wait_writer(&D, p, getpid(), fd, "w"));
	assert_identity(fs, p);
	close(fd);
	assert_state_soon(fs, p, "not_open");
	if (o)
		assert_state_now(fs, o, "not_open");
	/* opened by the other name: open by this one at once (on an overlay
	 * the merged name's identity is not in the table then) */
	if (o) {
		fd = open(o, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_state_now(fs, p, "open");
		close(fd);
		assert_state_soon(fs, p, "not_open");
	}
}

static void test_plain_writer(void **state)
{
	td_need(&D);
	for (int i = 0; i < FS_NR; i++)
		if (have(i))
			plain_writer(&fss[i]);
}

/* A shared writable mapping outlives its fd; munmap ends it. */
static void mapped_writer(const struct fs *fs)
{
	char p[PATH_MAX], q[PATH_MAX];
	const char *o;
	char *m;
	int fd;

	snprintf(p, sizeof(p), "%s/mapped", fs->dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	close(fd);
	assert_state_now(fs, p, "open");
	o = other_name(fs, "mapped", q);
	if (o)
		assert_state_now(fs, o, "open");
	if (!td_wait_writer(&D, p, getpid(), -1, "mmap"))
		fail_msg("%s: the mapping is not listed as a writer of %s", fs->name, p);
	memcpy(m, "mapped!", 7);
	assert_int_equal(munmap(m, 4096), 0);
	assert_state_soon(fs, p, "not_open");
	if (o)
		assert_state_now(fs, o, "not_open");
}

static void test_mapped_writer(void **state)
{
	td_need(&D);
	for (int i = 0; i < FS_NR; i++)
		if (have(i))
			mapped_writer(&fss[i]);
}

/* An io_uring open into a fixed-file slot: open at once, before any
 * write; gone with the ring. */
static void uring_fixed(const struct fs *fs)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	char p[PATH_MAX], q[PATH_MAX];
	const char *o;
	int slot_fd = -1;

	snprintf(p, sizeof(p), "%s/uring-fixed", fs->dir);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(io_uring_register_files(&ring, &slot_fd, 1), 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, p, O_WRONLY | O_CREAT, 0644, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	if (cqe->res != 0)
		fail_msg("%s: io_uring open of %s: %s", fs->name, p, strerror(-cqe->res));
	io_uring_cqe_seen(&ring, cqe);
	assert_state_now(fs, p, "open");
	o = other_name(fs, "uring-fixed", q);
	if (o)
		assert_state_now(fs, o, "open");
	if (!td_wait_writer(&D, p, getpid(), -1, "uring"))
		fail_msg("%s: the ring is not listed as the writer of %s", fs->name, p);
	io_uring_queue_exit(&ring);
	assert_state_soon(fs, p, "not_open");
}

static void test_uring_fixed_file(void **state)
{
	td_need(&D);
	for (int i = 0; i < FS_NR; i++)
		if (have(i))
			uring_fixed(&fss[i]);
}

/* The check answer for path: decision and reason (static buffers). */
static void check_one(const char *path, char *decision, char *reason, char *token)
{
	json_t *p = json_string(path), *r, *f;
	char *ps = json_dumps(p, JSON_ENCODE_ANY);

	r = td_call(&D, "{\"op\":\"check\",\"paths\":[%s]}", ps);
	free(ps);
	json_decref(p);
	f = json_array_get(json_object_get(r, "files"), 0);
	assert_non_null(f);
	snprintf(decision, 32, "%s", json_string_value(json_object_get(f, "decision")) ?: "?");
	snprintf(reason, 32, "%s", json_string_value(json_object_get(f, "reason")) ?: "?");
	if (token)
		snprintf(token, 512, "%s", json_string_value(json_object_get(f, "token")) ?: "");
	json_decref(r);
}

/*
 * A rule with a quiet period: a file appended every 300 ms is never quiet
 * right after a write, on any file system (writes that no hook sees are seen
 * by their modification time); once the writer pauses, it is.
 */
static void quiet_rule(const struct fs *fs)
{
	char p[PATH_MAX], dec[32], why[32];
	int go[2], done[2];
	pid_t pid;

	snprintf(p, sizeof(p), "%s/appended.quiet", fs->dir);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	pid = td_fork_child();
	if (pid == 0) {
		int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
		char c;

		if (fd < 0)
			_exit(2);
		/* each round: wait for the go, append a line, say so */
		while (read(go[0], &c, 1) == 1 && c == 'w') {
			if (write(fd, "a line of the log\n", 18) != 18 ||
			    write(done[1], "k", 1) != 1)
				_exit(3);
		}
		pause();
		_exit(0);
	}
	for (int i = 0; i < 5; i++) {
		char c;

		if (i)
			usleep(300000); /* the writer's pace */
		assert_int_equal(write(go[1], "w", 1), 1);
		assert_int_equal(read(done[0], &c, 1), 1);
		check_one(p, dec, why, NULL);
		if (!strcmp(why, "quiet") || strcmp(dec, "flag"))
			fail_msg("%s: %s written just now, yet check says %s (%s)", fs->name, p,
				 dec, why);
	}
	{
		/* the listing shows the writes too, whatever the file system */
		json_t *e = td_entry(&D, p);

		if (json_integer_value(json_object_get(e, "write_gen")) < 4 ||
		    json_is_null(json_object_get(e, "last_write")))
			fail_msg("%s: %s listed with write_gen %lld after 5 appends", fs->name, p,
				 (long long)json_integer_value(json_object_get(e, "write_gen")));
		json_decref(e);
	}
	assert_int_equal(write(go[1], "s", 1), 1); /* the writer pauses, holding it */
	{
		uint64_t deadline = clock_mono_ns() + 10 * NSEC_PER_SEC;

		do {
			usleep(50000);
			check_one(p, dec, why, NULL);
		} while (strcmp(why, "quiet") && clock_mono_ns() < deadline);
		if (strcmp(dec, "copy") || strcmp(why, "quiet"))
			fail_msg("%s: %s unwritten for long, check says %s (%s)", fs->name, p, dec,
				 why);
	}
	kill(pid, SIGKILL);
	reap(pid);
	close(go[0]), close(go[1]), close(done[0]), close(done[1]);
	assert_state_soon(fs, p, "not_open");
}

static void test_quiet_rule(void **state)
{
	td_need(&D);
	for (int i = 0; i < FS_NR; i++)
		if (have(i))
			quiet_rule(&fss[i]);
}

/* verify after a write that changes neither size nor length: "written",
 * in the full form and in rows with the identity form. */
static void verify_after_write(const struct fs *fs)
{
	char p[PATH_MAX], dec[32], why[32], tok[512];
	json_t *r, *f, *pj;
	char *ps;
	int fd;

	snprintf(p, sizeof(p), "%s/verified", fs->dir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "aaaa", 4, 0), 4);
	check_one(p, dec, why, tok);
	assert_true(tok[0]);
	assert_int_equal(pwrite(fd, "bbbb", 4, 0), 4); /* same size */
	pj = json_string(p);
	ps = json_dumps(pj, JSON_ENCODE_ANY);
	r = td_call(&D, "{\"op\":\"verify\",\"files\":[{\"path\":%s,\"token\":\"%s\"}]}", ps, tok);
	free(ps);
	json_decref(pj);
	f = json_array_get(json_object_get(r, "files"), 0);
	if (!f || json_is_true(json_object_get(f, "consistent")) ||
	    strcmp(json_string_value(json_object_get(f, "reason")) ?: "", "written"))
		fail_msg("%s: verify after a write of %s says %s", fs->name, p,
			 f ? json_string_value(json_object_get(f, "reason")) : "(nothing)");
	json_decref(r);
	/* the same through libinuse: rows, and as root the identity form
	 * (this test's own stat of the path) */
	{
		struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock};
		const char *path = p, *token = tok;
		struct inuse_client *c;
		struct inuse_result *v;

		assert_int_equal(inuse_client__open(&o, &c), 0);
		assert_int_equal(inuse_client__verify(c, &path, &token, 1, &v), 0);
		if (inuse_result__file(v, 0)->consistent ||
		    strcmp(inuse_result__file(v, 0)->reason ?: "", "written"))
			fail_msg("%s: verify in rows after a write of %s says %s", fs->name, p,
				 inuse_result__file(v, 0)->reason);
		inuse_result__free(v);
		inuse_client__free(c);
	}
	close(fd);
	assert_state_soon(fs, p, "not_open");
}

static void test_verify_after_write(void **state)
{
	td_need(&D);
	for (int i = 0; i < FS_NR; i++)
		if (have(i))
			verify_after_write(&fss[i]);
}

/* Reading a file that is open for writing but idle is not writing it. */
static void test_atime_is_not_a_write(void **state)
{
	char p[PATH_MAX];
	json_t *e;
	long long gen;
	int fd;

	td_need(&D);
	if (!have(FS_EXT4))
		return;
	snprintf(p, sizeof(p), "%s/idle", fss[FS_EXT4].dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	/* strictatime: every read updates the access time */
	assert_int_equal(sh("mount -o remount,strictatime %s/ext", base), 0);
	assert_true(td_barrier(&D, fss[FS_EXT4].dir));
	e = td_entry(&D, p);
	gen = json_integer_value(json_object_get(e, "write_gen"));
	json_decref(e);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sh("cat %s >/dev/null; sleep 0.02", p), 0);
		assert_true(td_barrier(&D, fss[FS_EXT4].dir));
	}
	e = td_entry(&D, p);
	assert_int_equal(json_integer_value(json_object_get(e, "write_gen")), gen);
	json_decref(e);
	/* positive control: a write moves it */
	usleep(20000);
	assert_int_equal(write(fd, "y", 1), 1);
	assert_true(td_barrier(&D, fss[FS_EXT4].dir));
	e = td_entry(&D, p);
	assert_true(json_integer_value(json_object_get(e, "write_gen")) > gen);
	json_decref(e);
	sh("mount -o remount,relatime %s/ext", base);
	close(fd);
}

/* Two subvolumes each have an inode 257: two files, never one entry. */
static void test_btrfs_same_inode_numbers(void **state)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat sa, sb;
	int fa, fb;

	td_need(&D);
	if (!have(FS_SUBVOL) || !have(FS_SNAP))
		return;
	snprintf(a, sizeof(a), "%s/twin", fss[FS_SUBVOL].dir);
	snprintf(b, sizeof(b), "%s/twin", fss[FS_SNAP].dir);
	fa = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	fb = open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fa >= 0 && fb >= 0);
	assert_int_equal(stat(a, &sa), 0);
	assert_int_equal(stat(b, &sb), 0);
	assert_true(sa.st_dev != sb.st_dev);
	assert_true(td_wait_writer(&D, a, getpid(), fa, NULL));
	assert_true(td_wait_writer(&D, b, getpid(), fb, NULL));
	/* each entry has exactly its own writer */
	assert_true(td_wait_nwriters(&D, a, 1));
	assert_true(td_wait_nwriters(&D, b, 1));
	close(fa);
	assert_state_soon(&fss[FS_SUBVOL], a, "not_open");
	assert_state_now(&fss[FS_SNAP], b, "open");
	close(fb);
	assert_state_soon(&fss[FS_SNAP], b, "not_open");
}

/* Listed under any name of a directory: through a bind mount and its
 * source, through an overlay's merged and upper directories. */
static long count_under(const char *dir)
{
	return td_count_under(&D, dir);
}

static void test_under_every_name(void **state)
{
	const int which[] = {FS_BIND, FS_OVL, FS_OVL_MIXED};

	td_need(&D);
	for (size_t k = 0; k < sizeof(which) / sizeof(which[0]); k++) {
		const struct fs *fs = &fss[which[k]];
		char d[PATH_MAX], p[PATH_MAX], ad[PATH_MAX];
		int fd;

		if (!have(which[k]))
			continue;
		snprintf(d, sizeof(d), "%s/under", fs->dir);
		snprintf(ad, sizeof(ad), "%s/under", fs->alt);
		assert_int_equal(mkdir(d, 0755), 0);
		snprintf(p, sizeof(p), "%s/f", d);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		if (count_under(d) != 1 || count_under(ad) != 1)
			fail_msg("%s: under %s: %ld, under %s: %ld (wanted 1 and 1)", fs->name, d,
				 count_under(d), ad, count_under(ad));
		close(fd);
		assert_state_soon(fs, p, "not_open");
		assert_int_equal(count_under(d), 0);
	}
}

/* ---- names ---- */

/* Every byte of a name (not UTF-8, control characters) and of a command
 * name, through list, check, the stream and inuse-ls. */
static void test_names_every_byte(void **state)
{
	static const char bad[] = "bad\xff\xfename";
	static const char ctl[] = "ctl\n\x1b[31mred\t";
	static const char comm[] = "w\xff\xfe\x1b]0;x";
	char pb[PATH_MAX], pc[PATH_MAX], good[PATH_MAX], out[1 << 16];
	int fd_good, ready[2];
	pid_t pid;
	json_t *r, *files, *f;
	size_t i;
	bool seen_bad = false, seen_ctl = false;

	td_need(&D);
	if (!have(FS_EXT4))
		return;
	snprintf(pb, sizeof(pb), "%s/%s", fss[FS_EXT4].dir, bad);
	snprintf(pc, sizeof(pc), "%s/%s", fss[FS_EXT4].dir, ctl);
	snprintf(good, sizeof(good), "%s/good", fss[FS_EXT4].dir);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	pid = td_fork_child();
	if (pid == 0) {
		/* a writer whose command name is not UTF-8 */
		prctl(PR_SET_NAME, comm);
		if (open(pb, O_WRONLY | O_CREAT, 0644) < 0 ||
		    open(pc, O_WRONLY | O_CREAT, 0644) < 0)
			_exit(2);
		if (write(ready[1], "k", 1) != 1)
			_exit(3);
		pause();
		_exit(0);
	}
	{
		char c;

		assert_int_equal(read(ready[0], &c, 1), 1);
	}
	fd_good = open(good, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd_good >= 0);
	/* the listing stays valid JSON, with the names as their bytes */
	r = td_call(&D, "{\"op\":\"list\",\"under\":\"%s\"}", fss[FS_EXT4].dir);
	assert_non_null(r);
	files = json_object_get(r, "files");
	json_array_foreach(files, i, f)
	{
		json_t *pj = json_object_get(f, "path"), *w;
		size_t j;

		if (json_is_array(pj)) {
			size_t n = json_array_size(pj), bl = strlen(pb);

			assert_int_equal(n, bl);
			for (size_t k = 0; k < n; k++)
				assert_int_equal(json_integer_value(json_array_get(pj, k)),
						 (unsigned char)pb[k]);
			seen_bad = true;
		} else if (json_is_string(pj) && !strcmp(json_string_value(pj), pc)) {
			seen_ctl = true;
		} else {
			continue;
		}
		/* the writer is there, its command as bytes */
		json_array_foreach(json_object_get(f, "writers"), j, w)
		{
			json_t *cj = json_object_get(w, "comm");

			assert_int_equal(json_integer_value(json_object_get(w, "pid")), pid);
			assert_true(json_is_array(cj));
			assert_int_equal(json_array_size(cj), strlen(comm));
		}
		assert_int_equal(json_array_size(json_object_get(f, "writers")), 1);
	}
	assert_true(seen_bad);
	assert_true(seen_ctl);
	json_decref(r);

	/* libinuse: the bad name in a batch keeps every answer in its place */
	{
		struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock};
		const char *paths[3] = {pb, good, "/nonexistent/x"};
		struct inuse_client *c;
		struct inuse_result *res;

		assert_int_equal(inuse_client__open(&o, &c), 0);
		assert_int_equal(inuse_client__check(c, paths, 3, &res), 0);
		assert_int_equal(inuse_result__count(res), 3);
		assert_string_equal(inuse_result__file(res, 0)->path, pb);
		assert_int_equal(inuse_result__file(res, 0)->state, INUSE_OPEN);
		assert_string_equal(inuse_result__file(res, 1)->path, good);
		assert_int_equal(inuse_result__file(res, 1)->state, INUSE_OPEN);
		assert_int_equal(inuse_result__file(res, 2)->state, INUSE_MISSING);
		inuse_result__free(res);
		inuse_client__free(c);
	}
	/* inuse-ls: the table escapes every control byte; asked by name, the
	 * answers keep their order */
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s --under %s", td_bin("inuse-ls"),
			       D.sock, fss[FS_EXT4].dir),
			 1);
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\t'));
	assert_null(strstr(out, "\xff"));
	assert_non_null(strstr(out, "bad\\xff\\xfename"));
	assert_non_null(strstr(out, "ctl\\n\\e[31mred\\t"));
	assert_non_null(strstr(out, "w\\xff\\xfe\\e]0;x"));
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s '%s' '%s' /nonexistent/x",
			       td_bin("inuse-ls"), D.sock, pb, good),
			 1);
	assert_non_null(strstr(out, "bad\\xff\\xfename: open for writing"));
	assert_non_null(strstr(out, "good: open for writing"));
	assert_non_null(strstr(out, "/nonexistent/x: no such file"));
	assert_int_equal(td_sh(out, sizeof(out),
			       "%s --socket %s --json --under %s | python3 -c "
			       "'import json,sys; json.load(sys.stdin)'",
			       td_bin("inuse-ls"), D.sock, fss[FS_EXT4].dir),
			 0);
	/* a backup of a directory with such names: no crash, every file in
	 * the archive under its own bytes */
	{
		char src[PATH_MAX], arc[PATH_MAX], f1[PATH_MAX];

		snprintf(src, sizeof(src), "%s/names-src", fss[FS_EXT4].dir);
		snprintf(arc, sizeof(arc), "%s/names.tar", base);
		assert_int_equal(mkdir(src, 0755), 0);
		snprintf(f1, sizeof(f1), "%s/%s", src, bad);
		td_touch(f1);
		snprintf(f1, sizeof(f1), "%s/%s", src, ctl);
		td_touch(f1);
		snprintf(f1, sizeof(f1), "%s/plain", src);
		td_touch(f1);
		assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s --report /dev/null %s %s",
				       td_bin("inuse-backup"), D.sock, src, arc),
				 0);
		assert_int_equal(td_sh(out, sizeof(out),
				       "tar -tf %s | LC_ALL=C grep -cE "
				       "'bad.*name|^plain$|ctl'",
				       arc),
				 0);
		assert_int_equal(atoi(out), 3);
	}
	kill(pid, SIGKILL);
	reap(pid);
	close(fd_good);
	assert_true(lib_wait_state(pb, INUSE_NOT_OPEN));
	assert_true(lib_wait_state(pc, INUSE_NOT_OPEN));
	close(ready[0]), close(ready[1]);
}

/* The stream carries a name that is not UTF-8 as its bytes. */
static void test_stream_name_bytes(void **state)
{
	static const char bad[] = "streamed\xff";
	struct inuse_client_opts o = {.sz = sizeof(o), .timeout_ms = 10000};
	struct inuse_client *c;
	char p[PATH_MAX], req[PATH_MAX + 64];
	json_t *ev, *pj;
	int fd;

	td_need(&D);
	if (!have(FS_EXT4))
		return;
	o.socket_path = D.sock;
	snprintf(p, sizeof(p), "%s/%s", fss[FS_EXT4].dir, bad);
	assert_int_equal(inuse_client__open(&o, &c), 0);
	snprintf(req, sizeof(req), "{\"op\":\"subscribe\",\"kinds\":[\"open\"],\"under\":\"%s\"}",
		 fss[FS_EXT4].dir);
	assert_int_equal(inuse_client__send(c, req, strlen(req)), 0);
	ev = td_recv_json(c);
	assert_true(json_is_true(json_object_get(ev, "ok")));
	json_decref(ev);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	for (;;) {
		ev = td_recv_json(c);
		pj = json_object_get(json_object_get(ev, "file"), "path");
		if (json_is_array(pj))
			break;
		json_decref(ev); /* another file's event */
	}
	assert_int_equal(json_array_size(pj), strlen(p));
	assert_int_equal(json_integer_value(json_array_get(pj, strlen(p) - 1)), 0xff);
	json_decref(ev);
	inuse_client__free(c);
	close(fd);
}

/* A path longer than PATH_MAX: listed with its mark, never as if it were
 * absolute; in a batch of paths it is an error of its own. */
static void test_path_too_long(void **state)
{
	char comp[201], deep[8192], out[1 << 16];
	json_t *r, *f, *files;
	int dfd, fd;
	size_t i;
	bool found = false;

	td_need(&D);
	if (!have(FS_EXT4))
		return;
	memset(comp, 'd', 200);
	comp[200] = '\0';
	dfd = open(fss[FS_EXT4].dir, O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	for (int k = 0; k < 24; k++) { /* about 4.8 KB of path */
		int nd;

		assert_int_equal(mkdirat(dfd, comp, 0755), 0);
		nd = openat(dfd, comp, O_DIRECTORY | O_CLOEXEC);
		assert_true(nd >= 0);
		close(dfd);
		dfd = nd;
	}
	fd = openat(dfd, "deep-file", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_barrier(&D, fss[FS_EXT4].dir));
	r = td_call(&D, "{\"op\":\"list\",\"pid\":%d}", (int)getpid());
	files = json_object_get(r, "files");
	json_array_foreach(files, i, f)
	{
		if (!json_is_true(json_object_get(f, "path_truncated")))
			continue;
		found = true;
		assert_true(json_is_null(json_object_get(f, "path")));
		assert_true(json_is_string(json_object_get(f, "fs_path")));
		assert_true(json_string_value(json_object_get(f, "fs_path"))[0] != '/');
	}
	assert_true(found);
	json_decref(r);
	/* a batch with a path past PATH_MAX: that path gets its own error */
	snprintf(deep, sizeof(deep), "%s", fss[FS_EXT4].dir);
	for (int k = 0; k < 24; k++) {
		strcat(deep, "/");
		strcat(deep, comp);
	}
	strcat(deep, "/deep-file");
	r = td_call(&D, "{\"op\":\"check\",\"paths\":[\"%s\",\"%s\"]}", deep, fss[FS_EXT4].dir);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(r, "files"), 0), "state")),
			    "error");
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(r, "files"), 1), "state")),
			    "not_regular");
	json_decref(r);
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s --pid %d", td_bin("inuse-ls"),
			       D.sock, (int)getpid()),
			 1);
	assert_non_null(strstr(out, "path too long"));
	close(fd);
	close(dfd);
}

/* ---- names over time ---- */

/* A renamed parent directory: the listed path follows, marked renamed. */
static void test_parent_renamed(void **state)
{
	char d1[PATH_MAX], d2[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	uint64_t deadline;
	json_t *e = NULL;
	int fd;

	td_need(&D);
	if (!have(FS_XFS))
		return;
	snprintf(d1, sizeof(d1), "%s/dir-before", fss[FS_XFS].dir);
	snprintf(d2, sizeof(d2), "%s/dir-after", fss[FS_XFS].dir);
	snprintf(p, sizeof(p), "%s/f", d1);
	snprintf(q, sizeof(q), "%s/f", d2);
	assert_int_equal(mkdir(d1, 0755), 0);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_wait_writer(&D, p, getpid(), fd, NULL));
	assert_int_equal(rename(d1, d2), 0);
	assert_state_now(&fss[FS_XFS], q, "open");
	deadline = clock_mono_ns() + 10 * NSEC_PER_SEC;
	for (;;) {
		const char *lp;

		json_decref(e);
		e = td_entry(&D, q);
		lp = json_string_value(json_object_get(e, "path"));
		if ((lp && !strcmp(lp, q)) || clock_mono_ns() > deadline)
			break;
		usleep(5000);
	}
	assert_string_equal(json_string_value(json_object_get(e, "path")), q);
	assert_true(json_is_true(json_object_get(e, "renamed")));
	json_decref(e);
	close(fd);
	assert_state_soon(&fss[FS_XFS], q, "not_open");
}

/* A lazily unmounted file system: the file is no longer reachable from
 * the host; it is listed with where it is within its file system. */
static void test_lazy_umount(void **state)
{
	char img[PATH_MAX], mnt[PATH_MAX], p[PATH_MAX];
	json_t *r, *f;
	size_t i;
	bool found = false;
	int fd;

	td_need(&D);
	snprintf(img, sizeof(img), "%s/lazy.img", base);
	snprintf(mnt, sizeof(mnt), "%s/lazy", base);
	assert_int_equal(sh("truncate -s 64M %s && mkfs.ext4 -q -F %s && mkdir -p %s && "
			    "mount -o loop %s %s",
			    img, img, mnt, img, mnt),
			 0);
	snprintf(p, sizeof(p), "%s/lazy.txt", mnt);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_true(td_wait_writer(&D, p, getpid(), fd, NULL));
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	/* a mount table change is seen on its own; wait for it */
	for (int k = 0; k < 2000 && !found; k++) {
		r = td_call(&D, "{\"op\":\"list\",\"pid\":%d}", (int)getpid());
		json_array_foreach(json_object_get(r, "files"), i, f)
		{
			const char *fp = json_string_value(json_object_get(f, "fs_path"));

			if (fp && !strcmp(fp, "/lazy.txt") &&
			    json_is_null(json_object_get(f, "path")) &&
			    json_is_false(json_object_get(f, "mounted")) &&
			    json_is_false(json_object_get(f, "renamed")))
				found = true;
		}
		json_decref(r);
		if (!found)
			usleep(5000);
	}
	assert_true(found);
	close(fd);
}

/* ---- writers that are gone ---- */

#define STORM_LOG 400000

/* What the holder did, in order: fork or reap of a pid (reap: pid | bit 31). */
struct storm_log {
	uint32_t n;
	uint32_t ev[STORM_LOG];
};

static void busy_loop(void)
{
	volatile unsigned long x = 0;

	for (;;)
		x++;
}

/* Was pid dead (reaped) at log position c0, and not forked again up to
 * position c1? Then it must not be listed by an answer asked for in
 * between. */
static bool dead_before(const struct storm_log *l, uint32_t pid, uint32_t c0, uint32_t c1)
{
	int last = -1;

	for (uint32_t i = 0; i < c0 && i < STORM_LOG; i++) {
		if ((l->ev[i] & 0x7fffffff) == pid)
			last = (l->ev[i] & 0x80000000) ? 1 : 0;
	}
	if (last != 1)
		return false;
	for (uint32_t i = c0; i < c1 && i < STORM_LOG; i++)
		if (l->ev[i] == pid)
			return false; /* forked again: may be a writer now */
	return true;
}

/*
 * A holder forks thousands of short-lived children (half of them exec)
 * under CPU load and is killed in the middle. No answer lists a writer
 * that was gone before it was asked; once all are gone the file is
 * released.
 */
static void test_fork_storm(void **state)
{
	struct storm_log *log;
	char p[PATH_MAX];
	pid_t holder, load[2];
	int life[2], samples = 0, listed_max = 0;
	uint64_t deadline;

	td_need(&D);
	snprintf(p, sizeof(p), "%s/storm", have(FS_EXT4) ? fss[FS_EXT4].dir : base);
	log = mmap(NULL, sizeof(*log), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(log != MAP_FAILED);
	for (int i = 0; i < 2; i++) {
		load[i] = td_fork_child();
		if (load[i] == 0) {
			/* load both CPUs, at a priority that leaves the storm going */
			if (nice(10) < 0)
				_exit(1);
			busy_loop();
		}
	}
	assert_int_equal(pipe(life), 0); /* every process of the storm holds life[1] */
	holder = td_fork_child();
	if (holder == 0) {
		int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);

		close(life[0]);
		if (fd < 0)
			_exit(2);
		for (unsigned int k = 0;; k++) {
			pid_t c = fork();
			int st;

			if (c == 0) {
				if (write(fd, "x\n", 2) < 0)
					_exit(1);
				if (k & 1)
					execl("/bin/true", "true", (char *)NULL);
				_exit(0);
			}
			if (c > 0 && log->n < STORM_LOG)
				log->ev[__atomic_fetch_add(&log->n, 1, __ATOMIC_SEQ_CST)] =
				    (uint32_t)c;
			while ((c = waitpid(-1, &st, WNOHANG)) > 0)
				if (log->n < STORM_LOG)
					log->ev[__atomic_fetch_add(&log->n, 1, __ATOMIC_SEQ_CST)] =
					    (uint32_t)c | 0x80000000u;
		}
	}
	close(life[1]);
	/* sample while it storms: every listed writer was alive when asked (a
	 * bound on the time keeps a slow machine from hanging the suite) */
	deadline = clock_mono_ns() + 30 * NSEC_PER_SEC;
	while (__atomic_load_n(&log->n, __ATOMIC_SEQ_CST) < 6000 && clock_mono_ns() < deadline) {
		uint32_t c0 = __atomic_load_n(&log->n, __ATOMIC_SEQ_CST), c1;
		json_t *e = td_entry(&D, p), *w;
		size_t i;

		c1 = __atomic_load_n(&log->n, __ATOMIC_SEQ_CST);
		json_array_foreach(json_object_get(e, "writers"), i, w)
		{
			uint32_t pid = (uint32_t)json_integer_value(json_object_get(w, "pid"));

			if (dead_before(log, pid, c0, c1))
				fail_msg("writer %u listed after it was reaped", pid);
		}
		if ((int)json_array_size(json_object_get(e, "writers")) > listed_max)
			listed_max = (int)json_array_size(json_object_get(e, "writers"));
		json_decref(e);
		samples++;
		usleep(1000);
	}
	kill(holder, SIGKILL);
	reap(holder);
	{
		char c;

		while (read(life[0], &c, 1) > 0) /* EOF: every child is gone */
			;
	}
	close(life[0]);
	fprintf(stderr, "  storm: %u forks and reaps logged, %d samples, up to %d writers listed\n",
		log->n, samples, listed_max);
	assert_true(samples > 0);
	assert_true(log->n >= 2000); /* a storm did happen */
	assert_true(td_wait_state(&D, p, "not_open"));
	for (int i = 0; i < 2; i++) {
		kill(load[i], SIGKILL);
		reap(load[i]);
	}
	munmap(log, sizeof(*log));
}

/* Writers no process holds: a loop device's backing file, a ring's fixed
 * files after the fd closed, a file in flight in a socket. Released when
 * the holder goes, at the next close or exit on the machine. */
static void test_holderless_released(void **state)
{
	char img[PATH_MAX], dev[64] = "", cmd[PATH_MAX + 64], p[PATH_MAX];
	FILE *f;

	td_need(&D);
	/* a loop device */
	snprintf(img, sizeof(img), "%s/looped.img", base);
	assert_int_equal(sh("truncate -s 16M %s", img), 0);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", img);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(dev, sizeof(dev), f));
	pclose(f);
	dev[strcspn(dev, "\n")] = '\0';
	assert_true(dev[0] == '/');
	assert_string_equal(td_state(&D, img), "open");
	assert_int_equal(sh("losetup -d %s", dev), 0);
	assert_true(td_wait_state(&D, img, "not_open"));

	/* a ring's fixed file after its fd was closed */
	{
		struct io_uring ring;
		int fd;

		snprintf(p, sizeof(p), "%s/ring-held", base);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(io_uring_queue_init(4, &ring, 0), 0);
		assert_int_equal(io_uring_register_files(&ring, &fd, 1), 0);
		close(fd);
		assert_string_equal(td_state(&D, p), "open");
		io_uring_queue_exit(&ring);
		assert_true(td_wait_state(&D, p, "not_open"));
	}
}

/* ---- containers ---- */

/* A process in its own mount namespace, pivot_root'ed into an overlay (as
 * container runtimes do): its file is listed by the host's paths of the
 * merged and upper files, and found under either directory. */
static void test_container_overlay(void **state)
{
	char lo[PATH_MAX], up[PATH_MAX], wk[PATH_MAX], mg[PATH_MAX], p[PATH_MAX], u[PATH_MAX];
	int ready[2];
	pid_t pid;
	json_t *e;

	td_need(&D);
	if (!have(FS_EXT4))
		return;
	snprintf(lo, sizeof(lo), "%s/ctr-lower", fss[FS_EXT4].dir);
	snprintf(up, sizeof(up), "%s/ctr-upper", fss[FS_EXT4].dir);
	snprintf(wk, sizeof(wk), "%s/ctr-work", fss[FS_EXT4].dir);
	snprintf(mg, sizeof(mg), "%s/ctr-merged", base);
	assert_int_equal(sh("mkdir -p %s/data %s/oldroot %s %s %s && "
			    "mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s",
			    lo, lo, up, wk, mg, lo, up, wk, mg),
			 0);
	assert_int_equal(pipe2(ready, 0), 0);
	pid = td_fork_child();
	if (pid == 0) {
		close(ready[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    chdir(mg) || syscall(SYS_pivot_root, ".", "oldroot") || chdir("/") ||
		    umount2("/oldroot", MNT_DETACH))
			_exit(2);
		if (open("/data/d.txt", O_WRONLY | O_CREAT, 0644) < 0)
			_exit(3);
		if (write(ready[1], "k", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(ready[1]);
	{
		char c;

		assert_int_equal(read(ready[0], &c, 1), 1);
	}
	close(ready[0]);
	snprintf(p, sizeof(p), "%s/data/d.txt", mg);
	snprintf(u, sizeof(u), "%s/data/d.txt", up);
	assert_string_equal(td_state(&D, p), "open");
	assert_string_equal(td_state(&D, u), "open");
	assert_true(td_wait_writer(&D, p, pid, -1, NULL));
	e = td_entry(&D, p);
	assert_string_equal(json_string_value(json_object_get(e, "path")), p);
	assert_string_equal(json_string_value(json_object_get(e, "upper_path")), u);
	assert_true(json_is_true(json_object_get(e, "other_mntns")));
	json_decref(e);
	assert_int_equal(count_under(mg), 1);
	assert_int_equal(count_under(up), 1);
	kill(pid, SIGKILL);
	reap(pid);
	assert_true(td_wait_state(&D, p, "not_open"));
	sh("umount -l %s", mg);
}

/* A device number is reused: the one a tmpfs had, once it is unmounted,
 * goes to the overlay mounted next (the lowest free number). What the
 * daemon learnt of the tmpfs (names carry the key) must not be taken for
 * the overlay, whose merged names do not: a file opened by its upper name
 * is open by its merged name, in the identity form too (td_state asks
 * both), right after the mount. */
static void test_device_number_reused(void **state)
{
	char t[PATH_MAX], lo[PATH_MAX], up[PATH_MAX], wk[PATH_MAX], mg[PATH_MAX], f[PATH_MAX];
	struct stat st;
	dev_t was;
	int fd, tries = 0;

	td_need(&D);
	if (!have(FS_EXT4) || !fs_known("overlay"))
		return;
	snprintf(t, sizeof(t), "%s/reuse-tmpfs", base);
	snprintf(lo, sizeof(lo), "%s/reuse-lower", fss[FS_EXT4].dir);
	snprintf(up, sizeof(up), "%s/reuse-upper", fss[FS_EXT4].dir);
	snprintf(wk, sizeof(wk), "%s/reuse-work", fss[FS_EXT4].dir);
	snprintf(mg, sizeof(mg), "%s/reuse-merged", base);
	assert_int_equal(sh("mkdir -p %s %s %s %s %s && touch %s/g", t, lo, up, wk, mg, up), 0);
	do {
		assert_int_equal(sh("mount -t tmpfs tmpfs %s && touch %s/f", t, t), 0);
		snprintf(f, sizeof(f), "%s/f", t);
		assert_int_equal(stat(f, &st), 0);
		was = st.st_dev;
		/* the daemon learns the tmpfs */
		assert_string_equal(td_state(&D, f), "not_open");
		assert_int_equal(sh("umount %s && mount -t overlay overlay -o "
				    "lowerdir=%s,upperdir=%s,workdir=%s %s",
				    t, lo, up, wk, mg),
				 0);
		assert_int_equal(stat(mg, &st), 0);
		if (st.st_dev == was)
			break;
		sh("umount %s", mg);
	} while (++tries < 5);
	if (st.st_dev != was)
		fail_msg("the overlay never got the tmpfs's device number %u:%u", major(was),
			 minor(was));
	snprintf(f, sizeof(f), "%s/g", up);
	fd = open(f, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(f, sizeof(f), "%s/g", mg);
	assert_string_equal(td_state(&D, f), "open");
	close(fd);
	assert_true(td_wait_state(&D, f, "not_open"));
	sh("umount %s", mg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_writer),
	    cmocka_unit_test(test_mapped_writer),
	    cmocka_unit_test(test_uring_fixed_file),
	    cmocka_unit_test(test_quiet_rule),
	    cmocka_unit_test(test_verify_after_write),
	    cmocka_unit_test(test_atime_is_not_a_write),
	    cmocka_unit_test(test_btrfs_same_inode_numbers),
	    cmocka_unit_test(test_under_every_name),
	    cmocka_unit_test(test_names_every_byte),
	    cmocka_unit_test(test_stream_name_bytes),
	    cmocka_unit_test(test_path_too_long),
	    cmocka_unit_test(test_parent_renamed),
	    cmocka_unit_test(test_lazy_umount),
	    cmocka_unit_test(test_fork_storm),
	    cmocka_unit_test(test_holderless_released),
	    cmocka_unit_test(test_container_overlay),
	    cmocka_unit_test(test_device_number_reused),
	};

	if (getenv("INUSE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
