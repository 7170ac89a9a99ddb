// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_writers.c - the real inused with its real BPF programs, driven by
 * real processes: every way a writer appears and goes away.
 *
 * Needs root. Where BPF cannot be loaded the tests are skipped, except with
 * CI=true, where they fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <liburing.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char disk[PATH_MAX];  /* a directory on a disk file system */
static char tmpfs[PATH_MAX]; /* a tmpfs mounted for the tests */
static char P[PATH_MAX], Q[PATH_MAX];
static char cg2[PATH_MAX]; /* where cgroup2 is mounted */
static bool cg2_ours;

/* Finds the cgroup2 mount, or mounts one for the tests. */
static void cgroup2_setup(void)
{
	char dev[256], dir[256], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	while (f && fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(cg2, sizeof(cg2), "%s", dir);
			break;
		}
	}
	if (f)
		fclose(f);
	if (cg2[0])
		return;
	strcpy(cg2, "/tmp/inuse-cg2-XXXXXX");
	if (!mkdtemp(cg2) || mount("cgroup2", cg2, "cgroup2", 0, NULL) != 0) {
		cg2[0] = '\0';
		return;
	}
	cg2_ours = true;
}

static int group_setup(void **state)
{
	char *env = getenv("INUSE_TEST_DISK_DIR");

	if (geteuid() != 0) {
		fprintf(stderr, "integration tests need root\n");
		return td_must_run() ? -1 : 0;
	}
	snprintf(disk, sizeof(disk), "%s/inuse-disk-XXXXXX", env ? env : "/var/tmp");
	if (!mkdtemp(disk))
		return -1;
	strcpy(tmpfs, "/tmp/inuse-tmpfs-XXXXXX");
	if (!mkdtemp(tmpfs) || mount("tmpfs", tmpfs, "tmpfs", 0, "size=64m") != 0)
		return -1;
	cgroup2_setup();
	if (td_start(&D, NULL) != 0) {
		fprintf(stderr, "inused did not start: BPF unavailable?\n");
		return td_must_run() ? -1 : 0;
	}
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	if (cg2_ours) {
		umount2(cg2, MNT_DETACH);
		rmdir(cg2);
	}
	umount2(tmpfs, MNT_DETACH);
	rmdir(tmpfs);
	return td_rmtree(disk);
}

/* Skips (or, under CI, fails) when the daemon is not there. */
static void need_daemon(void)
{
	td_need(&D);
}

static const char *in(const char *dir, const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return buf;
}

static int open_w(const char *path, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);

	assert_true(fd >= 0);
	return fd;
}

/* Child processes told what to do through a pipe, one byte at a time. */
struct child {
	pid_t pid;
	int cmd;  /* parent writes */
	int done; /* parent reads */
};

static void child_wait_cmd(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		_exit(3);
}

static void child_say(int fd)
{
	if (write(fd, "k", 1) != 1)
		_exit(3);
}

static void parent_say(struct child *c)
{
	assert_int_equal(write(c->cmd, "g", 1), 1);
}

static void parent_wait(struct child *c)
{
	char x;

	assert_int_equal(read(c->done, &x, 1), 1);
}

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* An fd of path, moved to fd number at (which must be free); the original
 * is closed. For scenarios that need fds in a known place. */
static int open_w_at(const char *path, int at)
{
	int fd = open_w(path, 0), moved = fcntl(fd, F_DUPFD_CLOEXEC, at);

	assert_int_equal(moved, at);
	close(fd);
	return moved;
}

#define OPEN_NOW(path)			assert_true(td_state_is(&D, (path), "open"))
#define WRITER_NOW(path, pid, fd, mode) assert_true(td_writer_is(&D, (path), (pid), (fd), (mode)))

/* A plain writer: "open" with its writer right after open(2), through a
 * write, and "not_open" after close(2); on disk and tmpfs. */
static void plain_writer(const char *dir)
{
	struct td_watch *w = td_watch_start(&D);
	int fd;

	assert_non_null(w);
	in(dir, "plain", P);
	fd = open_w(P, O_TRUNC);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), fd, "w");
	assert_true(td_watch_path(w, P));
	assert_int_equal(write(fd, "x", 1), 1);
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	close(fd);
	assert_true(td_wait_state(&D, P, "not_open"));
}

static void test_plain_writer_disk(void **state)
{
	need_daemon();
	plain_writer(disk);
}

static void test_plain_writer_tmpfs(void **state)
{
	need_daemon();
	plain_writer(tmpfs);
}

/* The "flags" of this process's writer of path at fd, as JSON text (to
 * be freed). */
static char *writer_flags(const char *path, int fd)
{
	json_t *e = td_entry(&D, path), *w = td_entry_writer(e, getpid(), fd);
	char *s;

	assert_non_null(w);
	s = json_dumps(json_object_get(w, "flags"), JSON_COMPACT);
	assert_non_null(s);
	json_decref(e);
	return s;
}

/* O_RDWR is a writer too, and its flags are reported. */
static void test_rdwr_and_flags(void **state)
{
	char *s;
	int fd;

	need_daemon();
	in(disk, "rdwr", P);
	fd = open(P, O_RDWR | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	WRITER_NOW(P, getpid(), fd, "rw");
	s = writer_flags(P, fd);
	assert_non_null(strstr(s, "\"append\""));
	assert_non_null(strstr(s, "\"trunc\""));
	assert_non_null(strstr(s, "\"creat\""));
	free(s);
	close(fd);
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* Every system call that opens a file, with its flags where each one
 * keeps them (open: 2nd argument, openat and open_by_handle_at: 3rd, creat:
 * none, openat2: in struct open_how): a writer is "open" at once, with its
 * flags; a reader whose other arguments look like write flags is not. */
static long open_by(int how, const char *path, int flags, mode_t mode)
{
	switch (how) {
	case 0:
		return syscall(SYS_open, path, flags, mode);
	case 1:
		return syscall(SYS_creat, path, mode);
	case 2:
		return syscall(SYS_openat, AT_FDCWD, path, flags, mode);
	case 3: {
		struct {
			uint64_t flags, mode, resolve;
		} oh = {.flags = (uint64_t)flags, .mode = (flags & O_CREAT) ? mode : 0};

		return syscall(SYS_openat2, AT_FDCWD, path, &oh, sizeof(oh));
	}
	default: {
		union {
			struct file_handle fh;
			char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
		} h = {.fh.handle_bytes = MAX_HANDLE_SZ};
		int mnt_id, mfd;
		long fd;

		if (flags & O_CREAT) {
			fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
			if (fd < 0)
				return -1;
			close((int)fd);
		}
		if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt_id, 0))
			return -1;
		mfd = open(disk, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mfd < 0)
			return -1;
		fd = syscall(SYS_open_by_handle_at, mfd, &h.fh, flags & ~(O_CREAT | O_TRUNC));
		close(mfd);
		return fd;
	}
	}
}

static void test_every_open_syscall(void **state)
{
	static const char *const names[] = {"open", "creat", "openat", "openat2",
					    "open_by_handle_at"};
	char path[PATH_MAX];

	need_daemon();
	for (int how = 0; how < 5; how++) {
		char *fl;
		int fd, r;

		snprintf(path, sizeof(path), "%s/by-%s", disk, names[how]);
		/* mode 0644 ends in binary 00: an open read from the wrong
		 * argument looks read-only, and would be missed */
		fd = (int)open_by(how, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			fail_msg("%s: %s", names[how], strerror(errno));
		if (!td_state_is(&D, path, "open"))
			fail_msg("%s: a writer not seen at once", names[how]);
		WRITER_NOW(path, getpid(), fd, "w");
		fl = writer_flags(path, fd);
		/* the flags were read where this call keeps them */
		if (how != 4 && !strstr(fl, "\"trunc\""))
			fail_msg("%s: flags %s", names[how], fl);
		free(fl);
		close(fd);
		assert_true(td_wait_state(&D, path, "not_open"));
		if (how == 1)
			continue; /* creat opens for writing only */
		/* a reader with a mode whose low bits say O_RDWR */
		r = (int)open_by(how, path, O_RDONLY | O_CLOEXEC, 0666);
		if (r < 0)
			fail_msg("%s (read): %s", names[how], strerror(errno));
		assert_true(td_barrier(&D, disk));
		assert_true(td_state_is(&D, path, "not_open"));
		close(r);
	}
}

/* openat2 whose struct open_how is dropped from memory by another thread
 * while the call runs: the kernel read it at the start, the exit hook can
 * no longer (a user page that is not present is not read from a hook).
 * The writer must still be seen at once: the file's own mode decides. */
struct howdrop {
	void *page;
	volatile bool stop;
};

static void *how_dropper(void *arg)
{
	struct howdrop *h = arg;

	while (!h->stop) {
		madvise(h->page, 4096, MADV_DONTNEED);
		/* written again: the next openat2 finds its flags */
		((uint64_t *)h->page)[0] = O_WRONLY | O_CREAT | O_CLOEXEC;
		((uint64_t *)h->page)[1] = 0644;
	}
	return NULL;
}

static void test_openat2_flags_gone(void **state)
{
	struct howdrop h = {0};
	char path[PATH_MAX];
	pthread_t th;
	int writers = 0;

	need_daemon();
	h.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h.page != MAP_FAILED);
	assert_int_equal(pthread_create(&th, NULL, how_dropper, &h), 0);
	for (int i = 0; i < 1500; i++) {
		long fd;

		snprintf(path, sizeof(path), "%s/how-%d", disk, i);
		fd = syscall(SYS_openat2, AT_FDCWD, path, h.page, 24);
		if (fd < 0)
			continue; /* the kernel itself read a zeroed page: no file */
		/* what the kernel saw: a writer unless it read zeros */
		if ((fcntl((int)fd, F_GETFL) & O_ACCMODE) == O_WRONLY) {
			writers++;
			if (!td_state_is(&D, path, "open"))
				fail_msg("a writer opened with openat2 not seen (attempt %d)", i);
		}
		close((int)fd);
		unlink(path);
	}
	h.stop = true;
	assert_int_equal(pthread_join(th, NULL), 0);
	munmap(h.page, 4096);
	assert_true(writers > 0);
}

/* Readers and O_PATH never appear; the same file opened for writing does. */
static void test_readers_and_opath_never_appear(void **state)
{
	int r, o, fd;

	need_daemon();
	in(disk, "readonly", P);
	td_touch(P);
	r = open(P, O_RDONLY | O_CLOEXEC);
	o = open(P, O_PATH | O_CLOEXEC);
	assert_true(r >= 0 && o >= 0);
	/* the barrier is seen open and closed after them: they were processed */
	assert_true(td_barrier(&D, disk));
	assert_true(td_state_is(&D, P, "not_open"));
	/* positive control: a writer of the same file is seen at once */
	fd = open_w(P, 0);
	OPEN_NOW(P);
	close(fd);
	assert_true(td_wait_state(&D, P, "not_open"));
	close(r);
	close(o);
}

/* dup, then close of the original: open throughout, through the copy. */
static void test_dup_then_close_original(void **state)
{
	struct td_watch *w;
	int fd, fd2;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "dup", P);
	fd = open_w(P, 0);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), fd, "w");
	assert_true(td_watch_path(w, P));
	fd2 = dup(fd);
	assert_true(fd2 >= 0);
	OPEN_NOW(P);
	assert_true(td_watch_mark(w));
	close(fd);
	OPEN_NOW(P);
	/* the close made the daemon walk the closer: the copy is its writer */
	WRITER_NOW(P, getpid(), fd2, NULL);
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	close(fd2);
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* dup2 over a writer's fd drops that writer; the file dup2 copied stays
 * open, also through the close of a copy the daemon never saw made. */
static void test_dup2_over_writer(void **state)
{
	struct td_watch *w;
	int a, b;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "dup2-a", P);
	in(disk, "dup2-b", Q);
	a = open_w(P, 0);
	b = open_w(Q, 0);
	OPEN_NOW(P);
	OPEN_NOW(Q);
	assert_true(td_watch_path(w, Q));
	assert_int_equal(dup2(b, a), a);
	OPEN_NOW(Q);
	WRITER_NOW(Q, getpid(), b, NULL);
	assert_true(td_wait_state(&D, P, "not_open"));
	assert_true(td_watch_mark(w));
	close(a); /* a copy of b now */
	OPEN_NOW(Q);
	WRITER_NOW(Q, getpid(), b, NULL);
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	close(b);
	assert_true(td_wait_state(&D, Q, "not_open"));
}

/* fork: the child is a writer as soon as it runs; the parent closes, the
 * child holds (open, one writer); the child exits (gone). */
static void test_fork_child_holds(void **state)
{
	struct td_watch *w;
	int cmd[2], done[2], fd;
	struct child c;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "fork", P);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	fd = open_w(P, 0);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), fd, "w");
	assert_true(td_watch_path(w, P));
	c.pid = td_fork_child();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		child_say(done[1]);
		child_wait_cmd(cmd[0]);
		_exit(0); /* exits holding fd */
	}
	c.cmd = cmd[1];
	c.done = done[0];
	parent_wait(&c);
	WRITER_NOW(P, c.pid, fd, NULL);
	WRITER_NOW(P, getpid(), fd, NULL);
	assert_true(td_watch_mark(w));
	close(fd);
	OPEN_NOW(P);
	WRITER_NOW(P, c.pid, fd, NULL);
	assert_true(td_nwriters_is(&D, P, 1));
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	parent_say(&c);
	assert_int_equal(reap(c.pid), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
	close(cmd[0]), close(cmd[1]), close(done[0]), close(done[1]);
}

/* A process that exits without closing drops its writers. */
static void test_exit_without_close(void **state)
{
	int cmd[2], done[2];
	struct child c;

	need_daemon();
	in(tmpfs, "exit", P);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	c.pid = td_fork_child();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		if (open(P, O_WRONLY | O_CREAT, 0644) < 0)
			_exit(2);
		child_say(done[1]);
		child_wait_cmd(cmd[0]);
		_exit(0);
	}
	c.cmd = cmd[1];
	c.done = done[0];
	parent_wait(&c);
	OPEN_NOW(P);
	WRITER_NOW(P, c.pid, -1, "w");
	parent_say(&c);
	assert_int_equal(reap(c.pid), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
	close(cmd[0]), close(cmd[1]), close(done[0]), close(done[1]);
}

/* exec closes O_CLOEXEC writers and keeps the others, under the new
 * command: the exec'd shell says it runs (so the exec is over, and was
 * reported), and is then asked about at once. */
static void test_exec_cloexec(void **state)
{
	int ready[2], go[2], started[2], block[2];
	struct td_watch *w;
	json_t *e;
	pid_t pid;
	char x;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "exec-cloexec", P);
	in(disk, "exec-kept", Q);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(go, O_CLOEXEC), 0);
	assert_int_equal(pipe2(started, O_CLOEXEC), 0);
	assert_int_equal(pipe2(block, O_CLOEXEC), 0);
	pid = td_fork_child();
	if (pid == 0) {
		int a, b;

		/* the shell's ends, kept across exec on 8 and 9 (first: the
		 * files must not land there) */
		if (dup2(started[1], 8) < 0 || dup2(block[0], 9) < 0)
			_exit(2);
		a = open(P, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		b = open(Q, O_WRONLY | O_CREAT, 0644);
		if (a < 0 || b < 0)
			_exit(2);
		child_say(ready[1]);
		child_wait_cmd(go[0]);
		execl("/bin/sh", "sh", "-c", "printf x >&8; read x <&9", (char *)NULL);
		_exit(127);
	}
	close(started[1]);
	close(block[0]);
	assert_int_equal(read(ready[0], &x, 1), 1); /* opened both */
	OPEN_NOW(P);
	OPEN_NOW(Q);
	WRITER_NOW(P, pid, -1, "w");
	WRITER_NOW(Q, pid, -1, "w");
	assert_true(td_watch_path(w, Q));
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(read(started[0], &x, 1), 1); /* the shell runs: exec'd */
	OPEN_NOW(Q);
	WRITER_NOW(Q, pid, -1, NULL);
	e = td_entry(&D, Q);
	assert_string_equal(json_string_value(json_object_get(td_entry_writer(e, pid, -1), "comm"))
				?: "(none)",
			    "sh");
	json_decref(e);
	assert_true(td_wait_state(&D, P, "not_open"));
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	close(block[1]); /* read gets EOF: the shell ends */
	assert_int_equal(reap(pid), 1);
	assert_true(td_wait_state(&D, Q, "not_open"));
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]), close(started[0]);
}

static void *thread_open(void *arg)
{
	int *fd = arg;

	*fd = open(P, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	return NULL;
}

static void *thread_close(void *arg)
{
	close(*(int *)arg);
	return NULL;
}

/* Threads share the fd table: a thread's open survives the thread, and
 * another thread's close drops it. */
static void test_threads_share_fds(void **state)
{
	struct td_watch *w;
	pthread_t th;
	int fd = -1;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "threads", P);
	assert_int_equal(pthread_create(&th, NULL, thread_open, &fd), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(fd >= 0);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), fd, "w");
	assert_true(td_watch_path(w, P));
	assert_true(td_watch_end(w));
	assert_int_equal(pthread_create(&th, NULL, thread_close, &fd), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* close_range drops every writer in the range, and only those: writers on
 * fds just below and just above it stay, open and attributed. */
static void test_close_range(void **state)
{
	enum { LO = 600, HI = 602 };
	struct td_watch *w;
	char paths[3][PATH_MAX], below[PATH_MAX], above[PATH_MAX];

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "close-range-below", below);
	in(disk, "close-range-above", above);
	assert_int_equal(open_w_at(below, LO - 1), LO - 1);
	assert_int_equal(open_w_at(above, HI + 1), HI + 1);
	for (int i = 0; i <= HI - LO; i++) {
		char name[32];

		snprintf(name, sizeof(name), "close-range-%d", i);
		in(disk, name, paths[i]);
		assert_int_equal(open_w_at(paths[i], LO + i), LO + i);
	}
	for (int i = 0; i <= HI - LO; i++)
		WRITER_NOW(paths[i], getpid(), LO + i, "w");
	WRITER_NOW(below, getpid(), LO - 1, "w");
	WRITER_NOW(above, getpid(), HI + 1, "w");
	assert_true(td_watch_path(w, below));
	assert_true(td_watch_path(w, above));
	assert_int_equal(syscall(SYS_close_range, (unsigned)LO, (unsigned)HI, 0), 0);
	OPEN_NOW(below);
	OPEN_NOW(above);
	WRITER_NOW(below, getpid(), LO - 1, "w");
	WRITER_NOW(above, getpid(), HI + 1, "w");
	for (int i = 0; i <= HI - LO; i++)
		assert_true(td_wait_state(&D, paths[i], "not_open"));
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	close(LO - 1);
	close(HI + 1);
	assert_true(td_wait_state(&D, below, "not_open"));
	assert_true(td_wait_state(&D, above, "not_open"));
}

/* A shared writable mapping outlives its fd: a writer until munmap. */
static void test_mmap_outlives_fd(void **state)
{
	struct td_watch *w;
	void *m;
	int fd;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "mmap", P);
	fd = open(P, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	OPEN_NOW(P);
	assert_true(td_watch_path(w, P));
	assert_int_equal(ftruncate(fd, 4096), 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	close(fd);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), -1, "mmap");
	memset(m, 'x', 4096);
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	assert_int_equal(munmap(m, 4096), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* A private mapping of a file opened read-only is no writer; one of a file
 * opened for writing holds that open file, which the kernel counts as a
 * writer until munmap. */
static void test_private_mappings(void **state)
{
	void *m;
	int fd;

	need_daemon();
	in(disk, "mmap-private", P);
	td_touch(P);
	assert_int_equal(truncate(P, 4096), 0);
	fd = open(P, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(m != MAP_FAILED);
	close(fd);
	assert_true(td_barrier(&D, disk));
	assert_true(td_state_is(&D, P, "not_open"));
	munmap(m, 4096);

	fd = open(P, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(m != MAP_FAILED);
	close(fd);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), -1, "mmap");
	assert_int_equal(munmap(m, 4096), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
}

static int send_fd(int sock, int fd)
{
	char buf[CMSG_SPACE(sizeof(int))] = {0}, b = 'f';
	struct iovec iov = {&b, 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char buf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = {&b, 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf)};
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

/* An fd passed with SCM_RIGHTS and closed by the sender: open throughout,
 * then held by the receiver; gone when the receiver closes it. */
static void test_scm_rights(void **state)
{
	int sv[2], cmd[2], done[2], fd;
	struct td_watch *w;
	struct child c;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "scm", P);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	c.pid = td_fork_child();
	if (c.pid == 0) {
		int got = recv_fd(sv[1]);

		if (got < 0)
			_exit(2);
		child_say(done[1]);
		child_wait_cmd(cmd[0]);
		close(got);
		child_say(done[1]);
		child_wait_cmd(cmd[0]);
		_exit(0);
	}
	c.cmd = cmd[1];
	c.done = done[0];
	fd = open_w(P, 0);
	OPEN_NOW(P);
	assert_true(td_watch_path(w, P));
	assert_int_equal(send_fd(sv[0], fd), 0);
	close(fd);
	OPEN_NOW(P);
	parent_wait(&c); /* received */
	OPEN_NOW(P);
	assert_true(td_watch_mark(w));
	/* nothing reports the receiver: found by the search (back-off, then
	 * a walk of every process) */
	assert_true(td_wait_writer(&D, P, c.pid, -1, NULL));
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	parent_say(&c); /* receiver closes */
	parent_wait(&c);
	assert_true(td_wait_state(&D, P, "not_open"));
	parent_say(&c);
	assert_int_equal(reap(c.pid), 0);
	close(sv[0]), close(sv[1]), close(cmd[0]), close(cmd[1]), close(done[0]), close(done[1]);
}

static bool holders_are(json_t *e, void *want)
{
	const char *h = json_string_value(json_object_get(e, "holders"));

	return h && !strcmp(h, want);
}

/* Waits (bounded) until the file is listed with holders == want. */
static bool td_wait_holders(const char *path, const char *want)
{
	return td_wait_entry(&D, path, holders_are, (void *)want, want);
}

/* An fd in flight (sent, not yet received) is still a writer. */
static void test_scm_in_flight(void **state)
{
	struct td_watch *w;
	int sv[2], fd;

	need_daemon();
	w = td_watch_start(&D);
	assert_non_null(w);
	in(disk, "inflight", P);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fd = open_w(P, 0);
	OPEN_NOW(P);
	assert_true(td_watch_path(w, P));
	assert_int_equal(send_fd(sv[0], fd), 0);
	close(fd);
	OPEN_NOW(P);
	assert_true(td_wait_holders(P, "unknown"));
	OPEN_NOW(P);
	assert_true(td_watch_mark(w));
	assert_true(td_watch_end(w));
	close(sv[0]);
	close(sv[1]); /* the in-flight file is released with the socket */
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* io_uring: an open through IORING_OP_OPENAT installs an fd no syscall hook
 * sees; IORING_OP_CLOSE drops it. */
static int uring_do(struct io_uring *ring, int close_fd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res;

	assert_non_null(sqe);
	if (close_fd >= 0)
		io_uring_prep_close(sqe, close_fd);
	else
		io_uring_prep_openat(sqe, AT_FDCWD, P, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(io_uring_submit(ring), 1);
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static void test_io_uring_open_close(void **state)
{
	struct io_uring ring;
	json_t *st;
	bool hook;
	int fd;

	need_daemon();
	st = td_call(&D, "{\"op\":\"stats\"}");
	assert_non_null(st);
	hook = json_is_true(json_object_get(st, "uring_hook"));
	json_decref(st);
	if (!hook) /* documented limit: found by its first write instead */
		td_skip_or_fail("the io_uring hook is not loaded on this kernel");
	in(disk, "uring", P);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	fd = uring_do(&ring, -1);
	assert_true(fd >= 0);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), fd, "w");
	assert_int_equal(uring_do(&ring, fd), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
	io_uring_queue_exit(&ring);
}

/* An io_uring open into a fixed-file slot (a direct descriptor, no fd) is
 * found at the open, held by the ring's process in that slot, before any
 * write; it goes with the ring. */
static void test_io_uring_fixed_file(void **state)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int slot_fd = -1;

	need_daemon();
	in(disk, "uring-fixed", P);
	assert_int_equal(io_uring_queue_init(8, &ring, 0), 0);
	assert_int_equal(io_uring_register_files(&ring, &slot_fd, 1), 0);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat_direct(sqe, AT_FDCWD, P, O_WRONLY | O_CREAT, 0644, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, 0);
	io_uring_cqe_seen(&ring, cqe);
	OPEN_NOW(P);
	assert_true(td_wait_writer(&D, P, getpid(), -1, "uring"));
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write(sqe, 0, "data\n", 5, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, 5);
	io_uring_cqe_seen(&ring, cqe);
	/* the slot's holder, known since the open */
	OPEN_NOW(P);
	assert_true(td_wait_holders(P, "known"));
	io_uring_queue_exit(&ring); /* releases the fixed file */
	assert_true(td_wait_state(&D, P, "not_open"));
}

static bool entry_path_is(json_t *e, void *want)
{
	const char *p = json_string_value(json_object_get(e, "path"));

	return p && !strcmp(p, want);
}

/* The entry listed for pid with inode ino (new reference), or NULL. */
static json_t *listed_for_pid(pid_t pid, ino_t ino)
{
	json_t *r = td_call(&D, "{\"op\":\"list\",\"id\":9,\"pid\":%d}", (int)pid), *f,
	       *found = NULL;
	size_t i;

	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_array_foreach(json_object_get(r, "files"), i, f)
	{
		if ((ino_t)json_integer_value(json_object_get(f, "ino")) == ino)
			found = json_incref(f);
	}
	json_decref(r);
	return found;
}

/* rename and unlink while open: still open; the listed path follows; the
 * unlinked file stays listed with its writer, also after a copy of its fd
 * is closed, and is flagged deleted. */
static void test_rename_and_unlink(void **state)
{
	struct stat st;
	json_t *e;
	int fd, fd2;

	need_daemon();
	in(disk, "before-rename", P);
	in(disk, "after-rename", Q);
	fd = open_w(P, 0);
	OPEN_NOW(P);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(rename(P, Q), 0);
	OPEN_NOW(Q);
	assert_true(td_state_is(&D, P, "missing"));
	assert_true(td_wait_entry(&D, Q, entry_path_is, Q, "path after the rename"));
	e = td_entry(&D, Q);
	assert_true(json_is_true(json_object_get(e, "renamed")));
	json_decref(e);

	/* unlinked: the name is gone, the writer is not */
	fd2 = dup(fd);
	assert_true(fd2 >= 0);
	assert_int_equal(unlink(Q), 0);
	close(fd2); /* a close the daemon settles: the count is read */
	e = listed_for_pid(getpid(), st.st_ino);
	assert_non_null(e);
	assert_non_null(td_entry_writer(e, getpid(), fd));
	json_decref(e);
	{
		/* flagged deleted, by the close's count read or the path check */
		bool deleted = false;

		for (int i = 0; i < 5000 && !deleted; i++) {
			e = listed_for_pid(getpid(), st.st_ino);
			assert_non_null(e);
			deleted = json_is_true(json_object_get(e, "deleted"));
			if (!deleted && i == 4999) {
				char *dump = json_dumps(e, JSON_COMPACT);

				fprintf(stderr, "not flagged deleted: %s\n", dump);
				free(dump);
			}
			json_decref(e);
			if (!deleted)
				usleep(2000);
		}
		assert_true(deleted);
	}
	close(fd);
	for (int i = 0; i < 5000 && (e = listed_for_pid(getpid(), st.st_ino)); i++) {
		json_decref(e);
		usleep(2000);
	}
	e = listed_for_pid(getpid(), st.st_ino);
	assert_null(e);
}

/* Hard links: one inode, open under either name. */
static void test_hard_links(void **state)
{
	int fd;

	need_daemon();
	in(disk, "link-a", P);
	in(disk, "link-b", Q);
	td_touch(P);
	assert_int_equal(link(P, Q), 0);
	fd = open_w(Q, 0);
	OPEN_NOW(P);
	OPEN_NOW(Q);
	close(fd);
	assert_true(td_wait_state(&D, P, "not_open"));
	assert_true(td_state_is(&D, Q, "not_open"));
}

/* A writer's cgroup is reported by path. */
static void test_writer_cgroup(void **state)
{
	char cg[PATH_MAX], procs[PATH_MAX + 16], want[64];
	int cmd[2], done[2];
	struct child c;
	json_t *e, *w;

	need_daemon();
	if (!cg2[0])
		td_skip_or_fail("no cgroup2 file system");
	snprintf(want, sizeof(want), "/inuse-test-%d", (int)getpid());
	snprintf(cg, sizeof(cg), "%s%s", cg2, want);
	assert_true(mkdir(cg, 0755) == 0 || errno == EEXIST);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	in(disk, "cgroup", P);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	c.pid = td_fork_child();
	if (c.pid == 0) {
		FILE *f = fopen(procs, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
			_exit(2);
		if (open(P, O_WRONLY | O_CREAT, 0644) < 0)
			_exit(2);
		child_say(done[1]);
		child_wait_cmd(cmd[0]);
		_exit(0);
	}
	c.cmd = cmd[1];
	c.done = done[0];
	parent_wait(&c);
	WRITER_NOW(P, c.pid, -1, NULL);
	e = td_entry(&D, P);
	w = td_entry_writer(e, c.pid, -1);
	assert_non_null(json_string_value(json_object_get(w, "cgroup")));
	assert_string_equal(json_string_value(json_object_get(w, "cgroup")), want);
	json_decref(e);
	parent_say(&c);
	assert_int_equal(reap(c.pid), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
	rmdir(cg);
	close(cmd[0]), close(cmd[1]), close(done[0]), close(done[1]);
}

/* The first of these knobs that can be opened for writing, or -1. */
static int open_knob(const char *const *knobs, size_t n, char *path)
{
	for (size_t i = 0; i < n; i++) {
		int fd = open(knobs[i], O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			snprintf(path, PATH_MAX, "%s", knobs[i]);
			return fd;
		}
	}
	return -1;
}

/* Pseudo files (/proc and /sys knobs), pipes, sockets, devices and memfds
 * opened for writing are never listed (not tracked); a regular file opened
 * after them, in the same process, is (the positive control: what came
 * before it was processed). Asked by path, a knob held for writing is
 * "open" (the kernel counts that writer: "not_open" would be false), a
 * pipe, socket or device is "not_regular". */
static void test_non_files_never_listed(void **state)
{
	static const char *const sys_knobs[] = {
	    "/sys/kernel/mm/transparent_hugepage/enabled",
	    "/sys/kernel/mm/transparent_hugepage/defrag",
	    "/sys/kernel/uevent_helper",
	    "/sys/kernel/profiling",
	};
	char proc_knob[PATH_MAX], sys_knob[PATH_MAX], memfd_path[PATH_MAX], pipe_path[PATH_MAX],
	    sock_path[PATH_MAX];
	int pfd[2], sv[2], mfd, nul, pk, sk, fd;
	const char *paths[7];
	json_t *r, *f;
	size_t i;
	bool control = false;

	need_daemon();
	in(disk, "non-files-control", P);
	snprintf(proc_knob, sizeof(proc_knob), "/proc/%d/comm", (int)getpid());
	pk = open(proc_knob, O_WRONLY | O_CLOEXEC);
	assert_true(pk >= 0);
	sk = open_knob(sys_knobs, sizeof(sys_knobs) / sizeof(sys_knobs[0]), sys_knob);
	if (sk < 0)
		td_skip_or_fail("no /sys knob can be opened for writing");
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	mfd = memfd_create("inuse-test", MFD_CLOEXEC);
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(mfd >= 0 && nul >= 0);
	assert_true(write(mfd, "x", 1) == 1);
	snprintf(memfd_path, sizeof(memfd_path), "/proc/%d/fd/%d", (int)getpid(), mfd);
	snprintf(pipe_path, sizeof(pipe_path), "/proc/%d/fd/%d", (int)getpid(), pfd[1]);
	snprintf(sock_path, sizeof(sock_path), "/proc/%d/fd/%d", (int)getpid(), sv[0]);
	fd = open_w(P, 0);

	paths[0] = P;
	paths[1] = proc_knob;
	paths[2] = sys_knob;
	paths[3] = memfd_path;
	paths[4] = pipe_path;
	paths[5] = sock_path;
	paths[6] = "/dev/null";
	{
		/* NULL: not judged (a memfd, reached through /proc/PID/fd) */
		static const char *const want[] = {"open",	  "open",	 "open",       NULL,
						   "not_regular", "not_regular", "not_regular"};
		char req[8192];
		json_t *files;
		int n = snprintf(req, sizeof(req), "{\"op\":\"list\",\"id\":4,\"paths\":[");

		for (i = 0; i < 7; i++)
			n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\"%s\"", i ? "," : "",
				      paths[i]);
		snprintf(req + n, sizeof(req) - (size_t)n, "]}");
		r = td_call(&D, "%s", req);
		assert_non_null(r);
		for (i = 0; i < 7; i++) {
			const char *st = json_string_value(json_object_get(
			    json_array_get(json_object_get(r, "paths"), i), "state"));

			if (want[i] && (!st || strcmp(st, want[i])))
				fail_msg("%s is %s, wanted %s", paths[i], st ? st : "(none)",
					 want[i]);
		}
		/* of all these, only the regular file is in the table */
		files = json_object_get(r, "files");
		if (json_array_size(files) != 1 ||
		    strcmp(json_string_value(json_object_get(json_array_get(files, 0), "path"))
			       ?: "",
			   P)) {
			char *dump = json_dumps(files, JSON_COMPACT);

			fail_msg("listed: %s", dump ? dump : "?");
		}
		json_decref(r);
	}
	/* the whole table, of every process: no pseudo file, pipe, socket,
	 * memfd or device */
	r = td_call(&D, "{\"op\":\"list\",\"id\":5}");
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_array_foreach(json_object_get(r, "files"), i, f)
	{
		const char *p = json_string_value(json_object_get(f, "path"));

		if (!p)
			continue; /* a file whose name is not known */
		if (!strcmp(p, P))
			control = true;
		/* (files in /dev/shm are regular tmpfs files: they may be listed) */
		if (!strncmp(p, "/proc/", 6) || !strncmp(p, "/sys/", 5) ||
		    !strcmp(p, "/dev/null") || strstr(p, "memfd:") || strstr(p, "pipe:") ||
		    strstr(p, "socket:"))
			fail_msg("listed: %s", p);
	}
	json_decref(r);
	assert_true(control);
	close(fd);
	close(pfd[0]), close(pfd[1]), close(sv[0]), close(sv[1]), close(mfd), close(nul);
	close(pk), close(sk);
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* A writer in another mount namespace: open at once, flagged other_mntns,
 * its path walked to the root of its namespace. */
static void test_other_mount_namespace(void **state)
{
	int cmd[2], done[2];
	struct child c;
	json_t *e;

	need_daemon();
	in(disk, "other-mntns", P);
	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	c.pid = td_fork_child();
	if (c.pid == 0) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(2);
		if (open(P, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) < 0)
			_exit(2);
		child_say(done[1]);
		child_wait_cmd(cmd[0]);
		_exit(0);
	}
	c.cmd = cmd[1];
	c.done = done[0];
	parent_wait(&c);
	OPEN_NOW(P);
	WRITER_NOW(P, c.pid, -1, "w");
	e = td_entry(&D, P);
	assert_true(json_is_true(json_object_get(e, "other_mntns")));
	/* a private copy of this namespace: the same path from its root */
	assert_string_equal(json_string_value(json_object_get(e, "path")) ?: "(none)", P);
	json_decref(e);
	parent_say(&c);
	assert_int_equal(reap(c.pid), 0);
	assert_true(td_wait_state(&D, P, "not_open"));
	close(cmd[0]), close(cmd[1]), close(done[0]), close(done[1]);
}

/* A file opened before the daemon started is in its first table. */
static void test_opened_before_start(void **state)
{
	json_t *e;
	int fd;

	need_daemon();
	in(disk, "before-start", P);
	assert_int_equal(td_stop(&D), 0);
	fd = open_w(P, 0);
	assert_int_equal(td_start(&D, NULL), 0);
	OPEN_NOW(P);
	WRITER_NOW(P, getpid(), fd, "w");
	e = td_entry(&D, P);
	assert_true(json_is_true(json_object_get(e, "opened_before_start")));
	assert_string_equal(json_string_value(json_object_get(e, "path")), P);
	json_decref(e);
	close(fd);
	assert_true(td_wait_state(&D, P, "not_open"));
}

/* 10,000 files open at once, all listed, all gone after close. */
static void test_ten_thousand_files(void **state)
{
	enum { N = 10000 };
	struct rlimit rl = {N + 512, N + 512};
	char dir[PATH_MAX], last[PATH_MAX];
	static int fds[N];

	need_daemon();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	in(tmpfs, "many", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%05d", i);
		fds[i] = open_w(in(dir, name, last), 0);
	}
	OPEN_NOW(last);
	assert_int_equal(td_count_under(&D, dir), N);
	for (int i = 0; i < N; i++)
		close(fds[i]);
	assert_true(td_wait_count_under(&D, dir, 0));
}

/* Events the kernel cannot queue (the daemon is stopped, the buffer
 * fills): the daemon notices, reconciles, and its first answers after the
 * storm are right, for the files whose records were lost too. */
static void test_lost_events_reconciled(void **state)
{
	static const char *const args[] = {"--ring-size", "64K", NULL};
	enum { N = 3000 };
	struct rlimit rl = {N + 512, N + 512};
	struct tdaemon small = {0};
	char dir[PATH_MAX];
	static char req[N * 64];
	static int fds[N];
	json_t *r;
	int n;

	need_daemon();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(td_start(&small, args), 0);
	in(tmpfs, "lost", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(kill(small.pid, SIGSTOP), 0);
	for (int i = 0; i < N; i++) {
		char name[32], path[PATH_MAX];

		snprintf(name, sizeof(name), "f%05d", i);
		fds[i] = open_w(in(dir, name, path), 0);
	}
	for (int i = 0; i < N / 2; i++)
		close(fds[i]);
	assert_int_equal(kill(small.pid, SIGCONT), 0);
	/* the first answer: every held file open (most of their records were
	 * lost), asked at once */
	n = snprintf(req, sizeof(req), "{\"op\":\"list\",\"id\":1,\"paths\":[");
	for (int i = N / 2; i < N; i++)
		n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\"%s/f%05d\"",
			      i > N / 2 ? "," : "", dir, i);
	snprintf(req + n, sizeof(req) - (size_t)n, "]}");
	r = td_call(&small, "%s", req);
	assert_non_null(r);
	for (int i = 0; i < N - N / 2; i++) {
		json_t *p = json_array_get(json_object_get(r, "paths"), (size_t)i);
		const char *st = json_string_value(json_object_get(p, "state"));

		if (!st || strcmp(st, "open"))
			fail_msg("right after the storm, %s is %s",
				 json_string_value(json_object_get(p, "path")) ?: "?",
				 st ? st : "(none)");
	}
	json_decref(r);
	assert_true(td_stat(&small, "events_lost") > 0);
	assert_true(td_stat(&small, "reconciliations") >= 2);
	assert_true(td_wait_count_under(&small, dir, N - N / 2));
	for (int i = N / 2; i < N; i++)
		close(fds[i]);
	assert_true(td_wait_count_under(&small, dir, 0));
	assert_int_equal(td_stop(&small), 0);
}

/* Asks for the states of dir/f00 .. dir/f(n-1) in one request; fails
 * unless every one is want. */
static void all_states_are(struct tdaemon *d, const char *dir, int n, const char *want)
{
	static char req[1 << 16];
	json_t *r;
	int len = snprintf(req, sizeof(req), "{\"op\":\"list\",\"id\":1,\"paths\":[");

	for (int k = 0; k < n; k++)
		len += snprintf(req + len, sizeof(req) - (size_t)len, "%s\"%s/f%02d\"",
				k ? "," : "", dir, k);
	snprintf(req + len, sizeof(req) - (size_t)len, "]}");
	r = td_call(d, "%s", req);
	assert_non_null(r);
	for (int k = 0; k < n; k++) {
		json_t *p = json_array_get(json_object_get(r, "paths"), (size_t)k);
		const char *st = json_string_value(json_object_get(p, "state"));

		if (!st || strcmp(st, want))
			fail_msg("%s is %s, wanted %s",
				 json_string_value(json_object_get(p, "path")) ?: "?",
				 st ? st : "(none)", want);
	}
	json_decref(r);
}

static bool all_closed(struct tdaemon *d, const char *dir, int n)
{
	for (int i = 0; i < 5000; i++) {
		char path[PATH_MAX];
		int k;

		for (k = 0; k < n; k++) {
			const char *st;

			snprintf(path, sizeof(path), "%s/f%02d", dir, k);
			st = td_state(d, path);
			if (!st || strcmp(st, "not_open"))
				break;
		}
		if (k == n)
			return true;
		usleep(2000);
	}
	return false;
}

/* A table of --max-files 16 with more files than that open: listings say
 * table_full and the table stays within its bound; the files it took are
 * listed with their writers; and every file held is still answered "open"
 * at once (the kernel is asked when the table cannot know), every one
 * closed "not_open". */
static void test_table_full(void **state)
{
	static const char *const args[] = {"--max-files", "16", NULL};
	enum { N = 40 };
	struct tdaemon small = {0};
	char dir[PATH_MAX], path[PATH_MAX];
	int fds[N];
	json_t *r, *f;
	size_t i, ours = 0;

	need_daemon();
	assert_int_equal(td_start(&small, args), 0);
	in(disk, "full", dir);
	assert_int_equal(mkdir(dir, 0755), 0);
	for (int k = 0; k < N; k++) {
		char name[32];

		snprintf(name, sizeof(name), "f%02d", k);
		fds[k] = open_w(in(dir, name, path), 0);
	}
	all_states_are(&small, dir, N, "open");
	r = td_call(&small, "{\"op\":\"list\",\"id\":1}");
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "table_full")));
	assert_true(json_integer_value(json_object_get(r, "count")) <= 16);
	assert_true(json_array_size(json_object_get(r, "files")) <= 16);
	json_array_foreach(json_object_get(r, "files"), i, f)
	{
		const char *p = json_string_value(json_object_get(f, "path"));

		if (!p || strncmp(p, dir, strlen(dir)))
			continue;
		/* one of ours: held by this process, on the fd it says */
		for (int k = 0; k < N; k++) {
			char name[PATH_MAX];

			snprintf(name, sizeof(name), "%s/f%02d", dir, k);
			if (!strcmp(p, name)) {
				assert_non_null(td_entry_writer(f, getpid(), fds[k]));
				ours++;
			}
		}
	}
	json_decref(r);
	assert_true(td_stat(&small, "table_full_events") > 0);
	fprintf(stderr, "table full: %zu of our %d files in the table\n", ours, N);
	for (int k = 0; k < N; k++)
		close(fds[k]);
	assert_true(all_closed(&small, dir, N));
	assert_int_equal(td_stop(&small), 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_writer_disk),
	    cmocka_unit_test(test_plain_writer_tmpfs),
	    cmocka_unit_test(test_rdwr_and_flags),
	    cmocka_unit_test(test_every_open_syscall),
	    cmocka_unit_test(test_openat2_flags_gone),
	    cmocka_unit_test(test_readers_and_opath_never_appear),
	    cmocka_unit_test(test_dup_then_close_original),
	    cmocka_unit_test(test_dup2_over_writer),
	    cmocka_unit_test(test_fork_child_holds),
	    cmocka_unit_test(test_exit_without_close),
	    cmocka_unit_test(test_exec_cloexec),
	    cmocka_unit_test(test_threads_share_fds),
	    cmocka_unit_test(test_close_range),
	    cmocka_unit_test(test_mmap_outlives_fd),
	    cmocka_unit_test(test_private_mappings),
	    cmocka_unit_test(test_scm_rights),
	    cmocka_unit_test(test_scm_in_flight),
	    cmocka_unit_test(test_io_uring_open_close),
	    cmocka_unit_test(test_io_uring_fixed_file),
	    cmocka_unit_test(test_rename_and_unlink),
	    cmocka_unit_test(test_hard_links),
	    cmocka_unit_test(test_non_files_never_listed),
	    cmocka_unit_test(test_writer_cgroup),
	    cmocka_unit_test(test_other_mount_namespace),
	    cmocka_unit_test(test_opened_before_start),
	    cmocka_unit_test(test_ten_thousand_files),
	    cmocka_unit_test(test_lost_events_reconciled),
	    cmocka_unit_test(test_table_full),
	};

	return cmocka_run_group_tests_name("inused writers", tests, group_setup, group_teardown);
}
