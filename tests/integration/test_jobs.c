// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_guard.c - guarded jobs against the real daemon and kernel: a job's
 * processes read files while other processes write, hold, open or map
 * them; the job's report must name exactly those, and nothing read by
 * processes outside the job. Every step is synchronised through pipes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inuse.h"
#include "tdaemon.h"
#include "tproc.h"

static struct tdaemon D;
static char dir[PATH_MAX];

static int group_setup(void **state)
{
	return td_group_start(&D, dir, "/var/tmp/inuse-guard-XXXXXX");
}

static int group_teardown(void **state)
{
	return td_group_stop(&D, dir);
}

static const char *in(const char *name)
{
	return td_path(dir, name);
}

/* A file written long enough ago that no write can share its timestamp. */
static void make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef", 16), 16);
	assert_int_equal(futimens(fd, old), 0);
	close(fd);
}

/* ---- helper processes, driven by one-byte commands over pipes ---- */

struct proc {
	pid_t pid;
	int cmd; /* we write commands */
	int ack; /* it answers one byte per command */
};

static void send_cmd(struct proc *p, char c)
{
	char a;

	assert_int_equal(write(p->cmd, &c, 1), 1);
	assert_int_equal(read(p->ack, &a, 1), 1);
	assert_int_equal(a, c);
}

static void proc_end(struct proc *p)
{
	int st;

	if (p->pid <= 0)
		return;
	/* other helpers hold copies of this pipe: EOF cannot be relied on */
	if (write(p->cmd, "x", 1) != 1)
		kill(p->pid, SIGKILL);
	close(p->cmd);
	waitpid(p->pid, &st, 0);
	close(p->ack);
	p->pid = 0;
}

typedef void (*proc_fn)(const char *path, int cmd, int ack);

static struct proc start(proc_fn fn, const char *path)
{
	int c[2], a[2];
	struct proc p;
	char ready;

	assert_int_equal(pipe(c), 0);
	assert_int_equal(pipe(a), 0);
	p.pid = fork();
	assert_true(p.pid >= 0);
	if (p.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(c[1]);
		close(a[0]);
		fn(path, c[0], a[1]);
		_exit(0);
	}
	close(c[0]);
	close(a[1]);
	p.cmd = c[1];
	p.ack = a[0];
	assert_int_equal(read(p.ack, &ready, 1), 1); /* set up */
	return p;
}

/* Commands: 'w' write, 'o' open, 'c' close, 'x' exit without closing,
 * 'f' fork a child that reads the file (open, then close on the next 'c'). */
static void serve(int cmd, int ack, int *fd, const char *path, int flags)
{
	char c;

	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case 'w':
			if (pwrite(*fd, "written", 7, 0) != 7)
				_exit(2);
			break;
		case 'o':
			*fd = open(path, flags);
			if (*fd < 0)
				_exit(2);
			break;
		case 'c':
			close(*fd);
			break;
		case 'm': /* a change of mode through the descriptor */
			if (fchmod(*fd, 0640))
				_exit(2);
			break;
		case 'M': /* by name */
			if (chmod(path, 0600))
				_exit(2);
			break;
		case 'T': { /* times set by name, no write */
			const struct timespec t[2] = {{1000, 0}, {1000, 0}};

			if (utimensat(AT_FDCWD, path, t, 0))
				_exit(2);
			break;
		}
		case 'x':
			_exit(0);
		}
		if (write(ack, &c, 1) != 1)
			_exit(2);
	}
}

/* Holds path open for writing; writes on 'w'. */
static void writer(const char *path, int cmd, int ack)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(ack, "r", 1) != 1)
		_exit(2);
	serve(cmd, ack, &fd, path, O_WRONLY);
}

/* Maps path shared and writable, and holds the mapping. */
static void mapper(const char *path, int cmd, int ack)
{
	int fd = open(path, O_RDWR);
	void *m = fd >= 0 ? mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;

	if (m == MAP_FAILED || write(ack, "r", 1) != 1)
		_exit(2);
	close(fd);
	serve(cmd, ack, &fd, path, O_WRONLY);
}

/* Opens path for writing on 'o', closes it on 'c'. */
static void opener(const char *path, int cmd, int ack)
{
	int fd = -1;

	if (write(ack, "r", 1) != 1)
		_exit(2);
	serve(cmd, ack, &fd, path, O_WRONLY);
}

/* Opens path for reading on 'o', reads and closes it on 'c'. */
static void reader(const char *path, int cmd, int ack)
{
	int fd = -1;

	if (write(ack, "r", 1) != 1)
		_exit(2);
	serve(cmd, ack, &fd, path, O_RDONLY);
}

/* A reader one process further down: the child of a child. */
static void deep_reader(const char *path, int cmd, int ack)
{
	pid_t pid = fork();

	if (pid < 0)
		_exit(2);
	if (pid == 0) {
		reader(path, cmd, ack);
		_exit(0);
	}
	close(cmd);
	close(ack);
	waitpid(pid, NULL, 0);
}

/* ---- jobs ---- */

static struct inuse_client *job_start(bool self)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock};
	struct inuse_client *c = NULL;
	unsigned long job = 0;

	assert_int_equal(inuse_client__open(&o, &c), 0);
	assert_int_equal(inuse_client__guard(c, self ? INUSE_GUARD_SELF : 0, &job), 0);
	assert_true(job > 0);
	return c;
}

/* Ends the job: its report (JSON). */
static json_t *job_end(struct inuse_client *c)
{
	struct inuse_guard_report *r;
	json_t *j;

	assert_int_equal(inuse_client__guard_end(c, &r), 0);
	j = json_loads(inuse_guard_report__json(r), 0, NULL);
	inuse_guard_report__free(r);
	inuse_client__free(c);
	assert_non_null(j);
	return j;
}

/* The report's entry for path, or NULL. */
static json_t *find(json_t *rep, const char *path)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(rep, "files"), i, f)
	{
		const char *p = json_string_value(json_object_get(f, "path"));

		if (p && !strcmp(p, path))
			return f;
	}
	return NULL;
}

static const char *field(json_t *f, const char *k)
{
	return json_string_value(json_object_get(f, k)) ?: "";
}

static void dump(json_t *rep)
{
	char *s = json_dumps(rep, JSON_INDENT(1));

	fprintf(stderr, "report: %s\n", s);
	free(s);
}

/* The report's entry for path; the test fails (the report printed) when
 * there is none. */
static json_t *found(json_t *rep, const char *path)
{
	json_t *f = find(rep, path);

	if (!f)
		dump(rep);
	assert_non_null(f);
	return f;
}

/* Written while a member read it: torn. A file read beside it with no
 * writer: not named (and counted as read). */
static void test_written_while_read(void **state)
{
	const char *busy = in("written.dat"), *quiet = in("quiet-1.dat");
	struct proc w, r1, r2;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(busy);
	make_file(quiet);
	w = start(writer, busy);
	c = job_start(false);
	r1 = start(reader, busy);
	r2 = start(reader, quiet);
	send_cmd(&r1, 'o');
	send_cmd(&r2, 'o');
	send_cmd(&w, 'w');
	send_cmd(&r1, 'c');
	send_cmd(&r2, 'c');
	proc_end(&r1);
	proc_end(&r2);
	rep = job_end(c);
	proc_end(&w);
	f = found(rep, busy);
	assert_string_equal(field(f, "state"), "torn");
	assert_string_equal(field(f, "reason"), "written");
	assert_true(json_is_true(json_object_get(f, "held")));
	assert_true(json_is_true(json_object_get(f, "closed")));
	assert_null(find(rep, quiet));
	assert_true(json_integer_value(json_object_get(rep, "reads")) >= 2);
	json_decref(rep);
}

/* Held open for writing by another process, not written: held, not torn.
 * The same file written while read afterwards: torn (positive control). */
static void test_held_not_written(void **state)
{
	const char *p = in("held.dat");
	struct proc w, r;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(p);
	w = start(writer, p);
	c = job_start(false);
	r = start(reader, p);
	send_cmd(&r, 'o');
	send_cmd(&r, 'c');
	proc_end(&r);
	rep = job_end(c);
	f = found(rep, p);
	assert_string_equal(field(f, "state"), "held");
	assert_false(json_is_true(json_object_get(f, "written")));
	json_decref(rep);

	c = job_start(false);
	r = start(reader, p);
	send_cmd(&r, 'o');
	send_cmd(&w, 'w');
	send_cmd(&r, 'c');
	proc_end(&r);
	rep = job_end(c);
	proc_end(&w);
	f = found(rep, p);
	assert_string_equal(field(f, "state"), "torn");
	json_decref(rep);
}

/* A writer opened it (and closed it) while it was read: torn, "opened". */
static void test_opened_while_read(void **state)
{
	const char *p = in("opened.dat");
	struct proc o, r;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(p);
	o = start(opener, p);
	c = job_start(false);
	r = start(reader, p);
	send_cmd(&r, 'o');
	send_cmd(&o, 'o');
	send_cmd(&o, 'c');
	send_cmd(&r, 'c');
	proc_end(&r);
	rep = job_end(c);
	proc_end(&o);
	f = found(rep, p);
	assert_string_equal(field(f, "state"), "torn");
	assert_string_equal(field(f, "reason"), "opened");
	json_decref(rep);
}

/* Mapped shared and writable by another process: its stores may not show,
 * so the copy may be torn: "mapped". */
static void test_mapped_while_read(void **state)
{
	const char *p = in("mapped.dat");
	struct proc m, r;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(p);
	m = start(mapper, p);
	c = job_start(false);
	r = start(reader, p);
	send_cmd(&r, 'o');
	send_cmd(&r, 'c');
	proc_end(&r);
	rep = job_end(c);
	proc_end(&m);
	f = found(rep, p);
	assert_string_equal(field(f, "state"), "torn");
	assert_string_equal(field(f, "reason"), "mapped");
	json_decref(rep);
}

/* The job is the whole process tree: a grandchild's read is the job's. */
static void test_tree(void **state)
{
	const char *p = in("deep.dat");
	struct proc w, r;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(p);
	w = start(writer, p);
	c = job_start(false);
	r = start(deep_reader, p);
	send_cmd(&r, 'o');
	send_cmd(&w, 'w');
	send_cmd(&r, 'c');
	proc_end(&r);
	rep = job_end(c);
	proc_end(&w);
	f = found(rep, p);
	assert_string_equal(field(f, "state"), "torn");
	json_decref(rep);
}

/* A process outside the job reading a written file is not the job's; a
 * member reading another written file at the same time is (control). */
static void test_outside_not_recorded(void **state)
{
	const char *a = in("outside.dat"), *b = in("inside.dat");
	struct proc wa, wb, out, r;
	struct inuse_client *c;
	json_t *rep;

	td_need(&D);
	make_file(a);
	make_file(b);
	wa = start(writer, a);
	wb = start(writer, b);
	out = start(reader, a); /* started before the job: not in it */
	c = job_start(false);
	r = start(reader, b);
	send_cmd(&out, 'o');
	send_cmd(&r, 'o');
	send_cmd(&wa, 'w');
	send_cmd(&wb, 'w');
	send_cmd(&out, 'c');
	send_cmd(&r, 'c');
	proc_end(&r);
	rep = job_end(c);
	proc_end(&out);
	proc_end(&wa);
	proc_end(&wb);
	if (!find(rep, b) || find(rep, a))
		dump(rep);
	assert_non_null(find(rep, b));
	assert_null(find(rep, a));
	json_decref(rep);
}

/* The client's own reads: not recorded unless asked ("self"). */
static void test_self(void **state)
{
	const char *p = in("self.dat");
	struct proc w;
	struct inuse_client *c;
	json_t *rep;
	char buf[16];
	int fd;

	td_need(&D);
	make_file(p);
	w = start(writer, p);
	for (int self = 0; self < 2; self++) {
		c = job_start(self);
		fd = open(p, O_RDONLY);
		assert_true(fd >= 0);
		send_cmd(&w, 'w');
		assert_true(read(fd, buf, sizeof(buf)) > 0);
		close(fd);
		rep = job_end(c);
		if (self)
			assert_non_null(find(rep, p));
		else
			assert_null(find(rep, p));
		json_decref(rep);
	}
	proc_end(&w);
}

/* Read, never closed by the member (it exits holding it), written after:
 * judged at the job's end. */
static void test_not_closed(void **state)
{
	const char *p = in("unclosed.dat");
	struct proc w, r;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(p);
	w = start(writer, p);
	c = job_start(false);
	r = start(reader, p);
	send_cmd(&r, 'o');
	proc_end(&r); /* exits holding it */
	send_cmd(&w, 'w');
	rep = job_end(c);
	proc_end(&w);
	f = found(rep, p);
	assert_false(json_is_true(json_object_get(f, "closed")));
	assert_string_equal(field(f, "state"), "torn");
	json_decref(rep);
}

/* What the job writes itself is its output (rsync's temporary file, read
 * back before its rename): not reported; the same read while another
 * process writes is (control). */
static void test_own_output(void **state)
{
	const char *own = in("own.tmp"), *other = in("other.tmp");
	struct inuse_client *c;
	struct proc w;
	json_t *rep;
	pid_t pid;
	int st;

	td_need(&D);
	make_file(other);
	w = start(writer, other);
	c = job_start(false);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[16];
		int fw = open(own, O_RDWR | O_CREAT | O_EXCL, 0600), fr, fo;

		if (fw < 0 || write(fw, "written", 7) != 7)
			_exit(2);
		fr = open(own, O_RDONLY);
		fo = open(other, O_RDONLY);
		if (fr < 0 || fo < 0 || read(fr, buf, sizeof(buf)) < 0)
			_exit(2);
		if (pwrite(fw, "again", 5, 0) != 5)
			_exit(2);
		close(fr);
		close(fw);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rep = job_end(c);
	proc_end(&w);
	if (find(rep, own) || !find(rep, other))
		dump(rep);
	assert_null(find(rep, own));
	assert_non_null(find(rep, other)); /* held by the writer: held */
	json_decref(rep);
}

/*
 * A change the job makes itself to a file it reads (rsync sets the mode
 * of the file it wrote through a read-only descriptor) is not reported;
 * the same change by another process is, and another process
 * setting the file's times while the job changes its mode is a write
 * (torn): the job's own change hides nobody else's.
 */
static void test_own_change(void **state)
{
	const char *mine = in("mine.dat"), *theirs = in("theirs.dat"), *both = in("both.dat");
	struct proc r1, r2, r3, o2, o3;
	struct inuse_client *c;
	json_t *rep, *f;

	td_need(&D);
	make_file(mine);
	make_file(theirs);
	make_file(both);
	o2 = start(opener, theirs); /* outside the job */
	o3 = start(opener, both);
	c = job_start(false);
	r1 = start(reader, mine);
	r2 = start(reader, theirs);
	r3 = start(reader, both);
	send_cmd(&r1, 'o');
	send_cmd(&r1, 'm');
	send_cmd(&r1, 'c');
	send_cmd(&r2, 'o');
	send_cmd(&o2, 'M');
	send_cmd(&r2, 'c');
	send_cmd(&r3, 'o');
	send_cmd(&r3, 'm');
	send_cmd(&o3, 'T');
	send_cmd(&r3, 'c');
	proc_end(&r1);
	proc_end(&r2);
	proc_end(&r3);
	rep = job_end(c);
	proc_end(&o2);
	proc_end(&o3);
	if (find(rep, mine) || !find(rep, theirs) || !find(rep, both))
		dump(rep);
	assert_null(find(rep, mine));
	/* changed, or written: a change of mode marks the inode dirty whole
	 * on some file systems (ext4), which the write hook cannot tell from
	 * a write */
	f = found(rep, theirs);
	assert_true(!strcmp(field(f, "state"), "changed") || !strcmp(field(f, "state"), "torn"));
	f = found(rep, both);
	assert_string_equal(field(f, "state"), "torn");
	json_decref(rep);
}

/* One job per connection; jobs do not nest; a job ends with its
 * connection (the same process can start another). */
static void test_refusals(void **state)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock};
	struct inuse_client *c, *c2;
	unsigned long job;
	json_t *r;
	pid_t pid;
	int st;

	td_need(&D);
	c = job_start(false);
	assert_int_equal(inuse_client__guard(c, 0, &job), -EREMOTEIO);
	/* a member (a child of the client) cannot start a job of its own */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct inuse_client *cc = NULL;

		if (inuse_client__open(&o, &cc))
			_exit(3);
		_exit(inuse_client__guard(cc, 0, &job) == -EREMOTEIO ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* gone with its connection: this process may start a job again */
	inuse_client__free(c);
	c2 = job_start(false);
	json_decref(job_end(c2));
	/* guard_end without a job */
	r = td_call(&D, "{\"op\":\"guard_end\",\"id\":1}");
	assert_non_null(r);
	assert_false(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_written_while_read),
	    cmocka_unit_test(test_held_not_written),
	    cmocka_unit_test(test_opened_while_read),
	    cmocka_unit_test(test_mapped_while_read),
	    cmocka_unit_test(test_tree),
	    cmocka_unit_test(test_outside_not_recorded),
	    cmocka_unit_test(test_self),
	    cmocka_unit_test(test_not_closed),
	    cmocka_unit_test(test_own_output),
	    cmocka_unit_test(test_own_change),
	    cmocka_unit_test(test_refusals),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("guarded jobs", tests, group_setup, group_teardown);
}
