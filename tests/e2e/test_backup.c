// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_backup.c - a real backup, end to end: the real daemon, real writer
 * processes, GNU tar, SQLite, and examples/backup/inuse-backup. What the
 * archive holds is extracted and compared with what the writers wrote.
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"

static struct tdaemon D;
static char top[PATH_MAX], src[PATH_MAX], out[PATH_MAX], conf[PATH_MAX];
static pid_t kids[8];
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
    "s.backup(d); d.close(); s.close()\", \"{path}\", \"{dest}\" ]; }\n"
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
	if (mkdir(src, 0755) || mkdir(out, 0755) || !(f = fopen(conf, "w")))
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

/* One backup of a directory where every kind of writer is at work. */
static void test_backup_with_writers(void **state)
{
	char p_closed[PATH_MAX], p_late[PATH_MAX], p_held[PATH_MAX], p_busy[PATH_MAX],
	    p_db[PATH_MAX], archive[PATH_MAX], rep[PATH_MAX], path[PATH_MAX * 2];
	int ready[2];
	char *report, *got, *want;
	size_t glen, wlen;
	int rc;
	char x;

	td_need(&D);
	alarm(240);
	snprintf(p_closed, sizeof(p_closed), "%s/closed.txt", src);
	snprintf(p_late, sizeof(p_late), "%s/late.txt", src);
	snprintf(p_held, sizeof(p_held), "%s/held.txt", src);
	snprintf(p_busy, sizeof(p_busy), "%s/busy.dat", src);
	snprintf(p_db, sizeof(p_db), "%s/app.sqlite", src);
	snprintf(archive, sizeof(archive), "%s/backup.tar", top);
	snprintf(rep, sizeof(rep), "%s/report.txt", top);
	put(p_closed, "nobody writes me\n");
	assert_int_equal(pipe(ready), 0);

	/* (b) finishes within the defer time: open now, final content in 1 s */
	if (spawn() == 0) {
		int fd = open(p_late, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, "partial", 7) != 7 || write(ready[1], "b", 1) != 1)
			_exit(2);
		usleep(1000000);
		if (pwrite(fd, "complete content\n", 17, 0) != 17)
			_exit(2);
		close(fd);
		pause();
		_exit(0);
	}
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
	for (int i = 0; i < 4; i++)
		assert_int_equal(read(ready[0], &x, 1), 1);
	assert_true(td_wait_state(&D, p_late, "open"));
	assert_true(td_wait_state(&D, p_held, "open"));
	assert_true(td_wait_state(&D, p_db, "open"));

	rc = sh("%s --socket %s --report %s --max-wait 4 %s %s", td_bin("inuse-backup"), D.sock,
		rep, src, archive);
	report = slurp(rep, NULL);
	assert_non_null(report);
	fprintf(stderr, "--- report\n%s---\n", report);
	assert_int_equal(rc, 1); /* written, with flagged files */
	assert_int_equal(sh("tar -xf %s -C %s", archive, out), 0);

	/* (a) */
	snprintf(path, sizeof(path), "%s/closed.txt", out);
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_string_equal(got, "nobody writes me\n");
	free(got);
	snprintf(path, sizeof(path), "copied %s\n", p_closed);
	assert_non_null(strstr(report, path));
	/* (b) deferred, then copied after its writer closed it: final content */
	snprintf(path, sizeof(path), "deferred %s\n", p_late);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "%s/late.txt", out);
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_string_equal(got, "complete content\n");
	free(got);
	snprintf(path, sizeof(path), "flagged %s", p_late);
	assert_null(strstr(report, path));
	/* (c) open for writing throughout: flagged */
	snprintf(path, sizeof(path), "flagged %s: still open for writing", p_held);
	assert_non_null(strstr(report, path));
	/* (d) written while tar read it: retried, and flagged if written again;
	 * never stored silently torn */
	snprintf(path, sizeof(path), "retried %s", p_busy);
	assert_non_null(strstr(report, path));
	snprintf(path, sizeof(path), "flagged %s: written during the copy", p_busy);
	if (!strstr(report, path)) {
		/* the retry was consistent: the archived bytes are a state the file
		 * had, all 'd's followed by whole appended lines of 'e's */
		snprintf(path, sizeof(path), "%s/busy.dat", out);
		got = slurp(path, &glen);
		assert_non_null(got);
		assert_true(glen >= (128u << 20) && (glen - (128u << 20)) % 4096 == 0);
		free(got);
	}
	/* (e) through its method: a consistent copy with rows */
	snprintf(path, sizeof(path), "method %s\n", p_db);
	assert_non_null(strstr(report, path));
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
	(void)wlen;
	free(want);
	free(report);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backup_with_writers),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("backup end to end", tests, group_setup, group_teardown);
}
