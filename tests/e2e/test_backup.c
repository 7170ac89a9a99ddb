// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_backup.c - real backups, end to end: the real daemon, real writer
 * processes, GNU tar, SQLite and examples/backup/inuse-backup; and rsync
 * driven through libinuse's check, wait and verify. What the copies hold is
 * compared, byte for byte, with what the writers wrote. No step depends on
 * timing: writers finish when the backup is seen waiting for them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inuse.h"
#include "tdaemon.h"

static struct tdaemon D;
static char top[PATH_MAX], src[PATH_MAX], out[PATH_MAX], conf[PATH_MAX], src2[PATH_MAX],
    dst[PATH_MAX];
static pid_t kids[16];
/* the records of the file written in place (f) */
#define REC_SIZE  (64 * 1024)
#define REC_COUNT 32
static int nkids;

static const char policy[] =
    "policy = {\n"
    "  default = { open = \"defer\"; defer_max = \"4s\"; fallback = \"flag\"; };\n"
    "  rules = (\n"
    "    { name = \"db-journal\";\n"
    "      match = [ \"*.sqlite-journal\", \"*.sqlite-wal\", \"*.sqlite-shm\" ];\n"
    "      open = \"skip\"; },\n"
    "    { name = \"db\"; match = [ \"*.sqlite\" ];\n"
    "      method = [ \"python3\", \"-I\", \"-c\", \"import sqlite3, sys; "
    "s = sqlite3.connect(sys.argv[1], timeout=10); d = sqlite3.connect(sys.argv[2]); "
    "s.backup(d); d.close(); s.close()\", \"{path}\", \"{dest}\" ]; },\n"
    "    { name = \"records\"; match = [ \"*.rec\" ]; open = \"snapshot\"; freeze_max = \"5s\"; }\n"
    "  );\n"
    "};\n";

static int group_setup(void **state)
{
	const char *args[] = {"--config", conf, NULL};
	FILE *f;

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(top, "/var/tmp/inuse-e2e-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(src, sizeof(src), "%s/src", top);
	snprintf(out, sizeof(out), "%s/out", top);
	snprintf(conf, sizeof(conf), "%s/inused.conf", top);
	snprintf(src2, sizeof(src2), "%s/src2", top);
	snprintf(dst, sizeof(dst), "%s/dst", top);
	if (mkdir(src, 0755) || mkdir(out, 0755) || mkdir(src2, 0755) || mkdir(dst, 0755) ||
	    !(f = fopen(conf, "w")))
		return -1;
	fputs(policy, f);
	fclose(f);
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < nkids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	td_stop(&D);
	return td_rmtree(top);
}

static pid_t spawn(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	else
		kids[nkids++] = pid;
	return pid;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define sh(fmt, ...) td_sh(NULL, 0, fmt, ##__VA_ARGS__)

/* Requests waiting for files on the daemon now (only this test's). */
static long long waiting_now(void)
{
	json_t *st = td_call(&D, "{\"op\":\"stats\"}");
	long long n =
	    st ? json_integer_value(json_object_get(json_object_get(st, "requests"), "waiting"))
	       : -1;

	json_decref(st);
	return n;
}

/* Waits (bounded) until a wait request is pending on the daemon. With
 * pid > 0, false as soon as that process ended first (its status in
 * *status: it was reaped). */
static bool wait_pending(pid_t pid, int *status)
{
	for (int i = 0; i < 5000; i++) {
		if (waiting_now() >= 1)
			return true;
		if (pid > 0 && waitpid(pid, status, WNOHANG) == pid) {
			fprintf(stderr, "wait_pending: the backup ended without waiting\n");
			return false;
		}
		usleep(2000);
	}
	fprintf(stderr, "wait_pending: nothing waits\n");
	return false;
}

static void say(int fd)
{
	assert_int_equal(write(fd, "g", 1), 1);
}

static void hear(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char x;

	assert_int_equal(poll(&p, 1, TD_TIMEOUT_MS), 1);
	assert_int_equal(read(fd, &x, 1), 1);
}

/* A writer that opens path (truncated), writes "partial", says so on
 * ready, and, when told on go, writes its final content, closes, says so
 * again and stays. */
static void late_writer(const char *path, int ready, int go)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	char x;

	if (fd < 0 || write(fd, "partial", 7) != 7 || write(ready, "b", 1) != 1 ||
	    read(go, &x, 1) != 1)
		_exit(2);
	if (pwrite(fd, "complete content\n", 17, 0) != 17)
		_exit(2);
	close(fd);
	if (write(ready, "c", 1) != 1)
		_exit(2);
	pause();
	_exit(0);
}

/* Is buf n bytes of a then any number of whole lines of linelen bytes of
 * b? (The states an appended file goes through.) */
static bool appended_state(const char *buf, size_t len, size_t n, char a, char b, size_t linelen)
{
	if (len < n || (len - n) % linelen)
		return false;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (i < n ? a : b))
			return false;
	return true;
}

/* One backup of a directory where every kind of writer is at work. */
static void test_backup_with_writers(void **state)
{
	char p_closed[PATH_MAX], p_late[PATH_MAX], p_held[PATH_MAX], p_busy[PATH_MAX],
	    p_db[PATH_MAX], p_rec[PATH_MAX], archive[PATH_MAX], rep[PATH_MAX], path[PATH_MAX * 2];
	int ready[2], late_ready[2], late_go[2];
	char *report, *got, *want, backup_cmd[PATH_MAX * 4];
	size_t glen, wlen;
	bool flagged_busy, waited;
	pid_t backup, rec_writer;
	int rc, st = -1;
	char x;

	td_need(&D);
	alarm(240);
	snprintf(p_closed, sizeof(p_closed), "%s/closed.txt", src);
	snprintf(p_late, sizeof(p_late), "%s/late.txt", src);
	snprintf(p_held, sizeof(p_held), "%s/held.txt", src);
	snprintf(p_busy, sizeof(p_busy), "%s/busy.dat", src);
	snprintf(p_db, sizeof(p_db), "%s/app.sqlite", src);
	snprintf(p_rec, sizeof(p_rec), "%s/ring.rec", src);
	snprintf(archive, sizeof(archive), "%s/backup.tar", top);
	snprintf(rep, sizeof(rep), "%s/report.txt", top);
	put(p_closed, "nobody writes me\n");
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(late_ready), 0);
	assert_int_equal(pipe(late_go), 0);

	/* (b) open at the check; finishes while the backup waits for it */
	if (spawn() == 0)
		late_writer(p_late, late_ready[1], late_go[0]);
	/* (c) held open for the whole run, written now and then */
	if (spawn() == 0) {
		int fd = open(p_held, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || write(ready[1], "c", 1) != 1)
			_exit(2);
		for (;;) {
			if (write(fd, "tick\n", 5) != 5)
				_exit(2);
			usleep(200000);
		}
	}
	/* (d) a large file appended to over and over, open only briefly each
	 * time, so that its check finds it closed but tar reads it while it
	 * grows */
	{
		int fd = open(p_busy, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		static char block[1 << 20];

		memset(block, 'd', sizeof(block));
		for (int i = 0; i < 128; i++)
			assert_int_equal(write(fd, block, sizeof(block)), (ssize_t)sizeof(block));
		close(fd);
	}
	if (spawn() == 0) {
		static char line[4096];

		memset(line, 'e', sizeof(line));
		if (write(ready[1], "d", 1) != 1)
			_exit(2);
		for (;;) {
			int fd = open(p_busy, O_WRONLY | O_APPEND);

			if (fd < 0 || write(fd, line, sizeof(line)) != (ssize_t)sizeof(line))
				_exit(2);
			close(fd);
			usleep(2000);
		}
	}
	/* (e) an SQLite database under write load, held open */
	if (spawn() == 0) {
		char prog[PATH_MAX + 512];

		snprintf(prog, sizeof(prog),
			 "import sqlite3, os\n"
			 "c = sqlite3.connect('%s')\n"
			 "c.execute('pragma journal_mode=wal')\n"
			 "c.execute('create table if not exists t (n integer, pad blob)')\n"
			 "c.commit()\n"
			 "os.write(%d, b'e')\n"
			 "n = 0\n"
			 "while True:\n"
			 "    for i in range(50):\n"
			 "        n += 1\n"
			 "        c.execute('insert into t values (?, randomblob(200))', (n,))\n"
			 "    c.commit()\n",
			 p_db, ready[1]);
		execlp("python3", "python3", "-c", prog, (char *)NULL);
		_exit(127);
	}
	/* (f) records rewritten in place, one pwrite(2) each, never closed:
	 * only a snapshot (the writer frozen between two writes) holds every
	 * record whole */
	if ((rec_writer = spawn()) == 0) {
		static char rec[REC_SIZE];
		int fd = open(p_rec, O_RDWR | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			_exit(2);
		for (unsigned gen = 0;; gen++) {
			memset(rec, 'a' + (int)(gen % 26), sizeof(rec));
			for (int i = 0; i < REC_COUNT; i++)
				if (pwrite(fd, rec, sizeof(rec), (off_t)i * REC_SIZE) != REC_SIZE)
					_exit(2);
			if (gen == 0 && write(ready[1], "f", 1) != 1)
				_exit(2);
			usleep(500);
		}
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(read(ready[0], &x, 1), 1);
	hear(late_ready[0]);

	/* the backup runs; once it waits for the deferred files, (b) finishes */
	snprintf(backup_cmd, sizeof(backup_cmd), "%s --socket %s --report %s --max-wait 4 %s %s",
		 td_bin("inuse-backup"), D.sock, rep, src, archive);
	backup = fork();
	assert_true(backup >= 0);
	if (backup == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sh", "sh", "-c", backup_cmd, (char *)NULL);
		_exit(127);
	}
	waited = wait_pending(backup, &st);
	say(late_go[1]);
	hear(late_ready[0]); /* closed with its final content */
	if (waited)
		assert_int_equal(waitpid(backup, &st, 0), backup);
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	report = slurp(rep, NULL);
	assert_non_null(report);
	fprintf(stderr, "--- report\n%s---\n", report);
	assert_int_equal(sh("tar -xf %s -C %s", archive, out), 0);

	/* first, what the archive holds */
	/* (a) */
	snprintf(path, sizeof(path), "%s/closed.txt", out);
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_string_equal(got, "nobody writes me\n");
	free(got);
	/* (b) copied after its writer closed it: the final content */
	snprintf(path, sizeof(path), "%s/late.txt", out);
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_string_equal(got, "complete content\n");
	free(got);
	/* (d) written while tar read it: retried, and flagged if written again;
	 * never stored silently torn. Not flagged, the retry was consistent,
	 * and the archived bytes must be a state the file had, all 'd's
	 * followed by whole appended lines of 'e's, every byte checked.
	 * Flagged, the copy may be inconsistent (it says so), but tar read an
	 * append-only file: still such a state. */
	snprintf(path, sizeof(path), "flagged %s: written during the copy", p_busy);
	flagged_busy = strstr(report, path) != NULL;
	snprintf(path, sizeof(path), "%s/busy.dat", out);
	got = slurp(path, &glen);
	assert_non_null(got);
	if (!appended_state(got, glen, 128u << 20, 'd', 'e', 4096))
		fail_msg("busy.dat (%sflagged) archived as %zu bytes that the file never held",
			 flagged_busy ? "" : "not ", glen);
	free(got);
	/* (e) through its method: a consistent copy with rows */
	snprintf(path, sizeof(path), "%s/app.sqlite", out);
	want = NULL;
	{
		char cmd[PATH_MAX * 2], res[256] = "";
		FILE *p;

		snprintf(cmd, sizeof(cmd), "sqlite3 %s 'PRAGMA integrity_check'", path);
		p = popen(cmd, "r");
		assert_non_null(p);
		assert_non_null(fgets(res, sizeof(res), p));
		pclose(p);
		assert_string_equal(res, "ok\n");
		snprintf(cmd, sizeof(cmd), "sqlite3 %s 'select count(*) > 0 from t'", path);
		p = popen(cmd, "r");
		assert_non_null(fgets(res, sizeof(res), p));
		pclose(p);
		assert_string_equal(res, "1\n");
	}

	/* (f) by snapshot: every record whole */
	snprintf(path, sizeof(path), "%s/ring.rec", out);
	got = slurp(path, &glen);
	assert_non_null(got);
	assert_int_equal(glen, (size_t)REC_COUNT * REC_SIZE);
	for (size_t r = 0; r < REC_COUNT; r++)
		for (size_t k = 1; k < REC_SIZE; k++)
			if (got[r * REC_SIZE + k] != got[r * REC_SIZE])
				fail_msg("ring.rec: record %zu torn at byte %zu", r, k);
	free(got);

	kill(rec_writer, SIGKILL);

	/* then, how the backup got there */
	assert_true(waited);
	assert_int_equal(rc, 1); /* written, with flagged files */
	snprintf(path, sizeof(path), "copied %s\n", p_closed);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "deferred %s\n", p_late);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "flagged %s", p_late);
	assert_null(strstr(report, path));
	/* (c) open for writing throughout: flagged */
	snprintf(path, sizeof(path), "flagged %s: still open for writing", p_held);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "retried %s", p_busy);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "method %s\n", p_db);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "snapshot %s (", p_rec);
	assert_non_null(strstr(report, path));
	(void)wlen;
	free(want);
	free(report);
	close(ready[0]), close(ready[1]), close(late_ready[0]), close(late_ready[1]);
	close(late_go[0]), close(late_go[1]);
}

/* Copies the files of src2 named in names (NULL-terminated) into dst with
 * rsync. */
static void rsync_files(const char *const *names)
{
	char list[PATH_MAX + 16];
	FILE *f;

	snprintf(list, sizeof(list), "%s/rsync-list", top);
	f = fopen(list, "w");
	assert_non_null(f);
	for (int i = 0; names[i]; i++)
		fprintf(f, "%s\n", names[i]);
	fclose(f);
	assert_int_equal(sh("rsync -a --files-from=%s %s/ %s/", list, src2, dst), 0);
}

static char *src2_path(const char *name)
{
	static char buf[8][PATH_MAX];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], PATH_MAX, "%s/%s", src2, name);
	return buf[k];
}

static void assert_copy_is(const char *name, const char *want)
{
	char path[PATH_MAX * 2];
	char *got;

	snprintf(path, sizeof(path), "%s/%s", dst, name);
	got = slurp(path, NULL);
	if (!got)
		fail_msg("%s was not copied", name);
	assert_string_equal(got, want);
	free(got);
}

/*
 * A backup with rsync, driven by the protocol: check decides (copy the
 * closed files, defer the open ones), rsync copies, verify catches a file
 * written after its check (copied again), wait releases a deferred file
 * when its writer closes it, and a file held throughout is copied under
 * its fallback (flag). The copies hold exactly what the writers wrote: the
 * final content, never the partial one.
 */
static void test_backup_with_rsync(void **state)
{
	static const char *const first[] = {"closed.txt", "changed.dat", NULL};
	static const char *const again[] = {"changed.dat", NULL};
	static const char *const late[] = {"late.txt", NULL};
	static const char *const held[] = {"held.txt", NULL};
	const char *paths[4];
	const char *toks[2];
	char *tok[4], req[PATH_MAX + 128], *line = NULL;
	int ready[2], go[2], hready[2];
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = D.sock, .timeout_ms = 30000};
	struct inuse_client *c;
	struct inuse_result *r, *v;
	json_t *j;
	FILE *f;

	td_need(&D);
	alarm(240);
	paths[0] = src2_path("closed.txt");
	paths[1] = src2_path("changed.dat");
	paths[2] = src2_path("late.txt");
	paths[3] = src2_path("held.txt");
	put(paths[0], "nobody writes me\n");
	put(paths[1], "version 1\n");
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(hready), 0);
	if (spawn() == 0)
		late_writer(paths[2], ready[1], go[0]);
	if (spawn() == 0) {
		int fd = open(paths[3], O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || write(hready[1], "h", 1) != 1)
			_exit(2);
		for (;;) {
			if (write(fd, "tick\n", 5) != 5)
				_exit(2);
			usleep(200000);
		}
	}
	hear(ready[0]);
	hear(hready[0]);
	assert_int_equal(inuse_client__open(&o, &c), 0);

	/* 1. check */
	assert_int_equal(inuse_client__check(c, paths, 4, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_COPY);
	assert_int_equal(inuse_result__file(r, 1)->decision, INUSE_COPY);
	assert_int_equal(inuse_result__file(r, 2)->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 2)->decision, INUSE_DEFER);
	assert_int_equal(inuse_result__file(r, 3)->state, INUSE_OPEN);
	assert_int_equal(inuse_result__file(r, 3)->decision, INUSE_DEFER);
	assert_int_equal(inuse_result__file(r, 3)->fallback, INUSE_FLAG);
	for (int i = 0; i < 2; i++)
		tok[i] = strdup(inuse_result__file(r, i)->token);
	inuse_result__free(r);

	/* 2. copy the closed files; one is written after its check */
	rsync_files(first);
	f = fopen(paths[1], "a");
	assert_non_null(f);
	fputs("version 2\n", f);
	fclose(f);
	toks[0] = tok[0], toks[1] = tok[1];
	assert_int_equal(inuse_client__verify(c, paths, toks, 2, &v), 0);
	assert_true(inuse_result__file(v, 0)->consistent);
	assert_string_equal(inuse_result__file(v, 0)->reason, "unchanged");
	assert_false(inuse_result__file(v, 1)->consistent);
	assert_string_equal(inuse_result__file(v, 1)->reason, "written");
	inuse_result__free(v);
	/* copied again, and this time consistent */
	assert_int_equal(inuse_client__check(c, &paths[1], 1, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_COPY);
	tok[2] = strdup(inuse_result__file(r, 0)->token);
	inuse_result__free(r);
	rsync_files(again);
	toks[0] = tok[2];
	assert_int_equal(inuse_client__verify(c, &paths[1], toks, 1, &v), 0);
	assert_true(inuse_result__file(v, 0)->consistent);
	inuse_result__free(v);

	/* 3. the deferred file: wait, seen pending, released by the close */
	snprintf(req, sizeof(req), "{\"id\":3,\"op\":\"wait\",\"paths\":[\"%s\"],\"timeout\":%d}",
		 paths[2], TD_TIMEOUT_MS / 1000);
	assert_int_equal(inuse_client__send(c, req, strlen(req)), 0);
	assert_true(wait_pending(0, NULL));
	say(go[1]);
	assert_int_equal(inuse_client__recv(c, &line, NULL), 0);
	j = json_loads(line, 0, NULL);
	free(line);
	assert_true(json_is_true(json_object_get(j, "done")));
	json_decref(j);
	hear(ready[0]); /* the writer says it closed: before the answer, surely */
	assert_int_equal(inuse_client__check(c, &paths[2], 1, &r), 0);
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_NOT_OPEN);
	assert_int_equal(inuse_result__file(r, 0)->decision, INUSE_COPY);
	tok[3] = strdup(inuse_result__file(r, 0)->token);
	inuse_result__free(r);
	rsync_files(late);
	toks[0] = tok[3];
	assert_int_equal(inuse_client__verify(c, &paths[2], toks, 1, &v), 0);
	assert_true(inuse_result__file(v, 0)->consistent);
	inuse_result__free(v);

	/* 4. held throughout: the wait times out with it open; its fallback */
	assert_int_equal(inuse_client__wait(c, &paths[3], 1, 0.3, 0, &r), 0);
	assert_false(inuse_result__done(r));
	assert_int_equal(inuse_result__file(r, 0)->state, INUSE_OPEN);
	inuse_result__free(r);
	rsync_files(held);

	/* what the copies hold */
	assert_copy_is("closed.txt", "nobody writes me\n");
	assert_copy_is("changed.dat", "version 1\nversion 2\n");
	assert_copy_is("late.txt", "complete content\n");
	{
		/* flagged: copied, its content not judged */
		char path[PATH_MAX * 2];

		snprintf(path, sizeof(path), "%s/held.txt", dst);
		assert_int_equal(access(path, F_OK), 0);
	}
	for (int i = 0; i < 4; i++)
		free(tok[i]);
	inuse_client__free(c);
	close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
	close(hready[0]), close(hready[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backup_with_writers),
	    cmocka_unit_test(test_backup_with_rsync),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("backup end to end", tests, group_setup, group_teardown);
}
