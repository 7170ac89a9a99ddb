// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_tools.c - real restic, borg, rsync (into an existing mirror) and GNU
 * tar, unmodified, run by inuse-run --exclude-busy --retry over a tree
 * where everything that makes backups go wrong is at work: an SQLite
 * database in WAL mode written continuously, a log appended every 100 ms,
 * a disk image rewritten in place in passes and never closed, files held
 * open and never written, and a file whose method fails. Each backup is
 * restored and checked: the database passes its integrity check, the image
 * is one generation or named in the report and in the backup's own record,
 * the log ends with a whole line, quiet files are byte for byte what they
 * were, and every file of the source is restored or named in the report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
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

#define IMG_BLOCKS  8192 /* 32 MiB of 4 KiB blocks */
#define QUIET_FILES 200

static struct tdaemon D;
static char top[PATH_MAX], src[PATH_MAX], conf[PATH_MAX];
static pid_t kids[16];
static int nkids;
static char out[1 << 16];

#define sh(...) td_sh(out, sizeof(out), __VA_ARGS__)

static const char policy[] =
    "policy = {\n"
    "  default = { open = \"defer\"; defer_max = \"20s\"; fallback = \"flag\"; };\n"
    "  rules = (\n"
    "    { name = \"sqlite\"; match = [ \"*.db\" ];\n"
    "      method = [ \"python3\", \"-I\", \"-c\", \"import sqlite3, sys; "
    "s = sqlite3.connect(sys.argv[1], timeout=10); d = sqlite3.connect(sys.argv[2]); "
    "s.backup(d); d.close(); s.close()\", \"{path}\", \"{dest}\" ]; },\n"
    "    { name = \"broken\"; match = [ \"*.notes\" ]; method = [ \"false\", \"{path}\", "
    "\"{dest}\" ]; },\n"
    "    { name = \"sqlite-journal\"; match = [ \"*.db-wal\", \"*.db-shm\", \"*.db-journal\" ];\n"
    "      open = \"skip\"; },\n"
    "    { name = \"logs\"; match = [ \"*.log\" ]; quiet = \"1s\"; open = \"flag\"; },\n"
    "    { name = \"images\"; match = [ \"*.img\" ]; quiet = \"1s\"; },\n"
    "    { name = \"records\"; match = [ \"*.rec\" ]; open = \"snapshot\"; freeze_max = "
    "\"5s\"; }\n"
    "  );\n"
    "};\n";

static pid_t child(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	else
		kids[nkids++] = pid;
	return pid;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- the writers ---- */

/* SQLite in WAL mode, written continuously: the sqlite3 shell, fed
 * transactions through a pipe. */
static void start_db(const char *db)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	if (child() == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(p[0], 0);
		dup2(null, 1);
		close(p[1]);
		execlp("sqlite3", "sqlite3", db, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	if (child() == 0) {
		char buf[8192];
		long n = 0;

		signal(SIGPIPE, SIG_DFL);
		dprintf(p[1], ".timeout 10000\nPRAGMA journal_mode=WAL;\n"
			      "CREATE TABLE IF NOT EXISTS t (n INTEGER, pad BLOB);\n");
		for (;;) {
			size_t len = (size_t)snprintf(buf, sizeof(buf), "BEGIN;\n");

			for (int i = 0; i < 20; i++)
				len += (size_t)snprintf(
				    buf + len, sizeof(buf) - len,
				    "INSERT INTO t VALUES (%ld, randomblob(300));\n", ++n);
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "COMMIT;\n");
			if (write(p[1], buf, len) != (ssize_t)len)
				_exit(2);
			usleep(20000);
		}
	}
	close(p[1]);
}

/* A log: one whole line every 100 ms. */
static void start_log(const char *path)
{
	if (child() == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		char line[64];

		for (long n = 1; fd >= 0; n++) {
			int len = snprintf(line, sizeof(line), "line %08ld ok\n", n);

			if (write(fd, line, (size_t)len) != len)
				_exit(2);
			usleep(100000);
		}
		_exit(2);
	}
}

/* A disk image never closed: rewritten in place, every block stamped with
 * the pass's generation, over about 1.5 s; then 2.5 s idle. */
static void start_image(const char *path)
{
	if (child() == 0) {
		int fd = open(path, O_WRONLY | O_CREAT, 0644);
		static char blk[4096];

		for (unsigned long gen = 1; fd >= 0; gen++) {
			for (int i = 0; i < IMG_BLOCKS; i++) {
				snprintf(blk, sizeof(blk), "gen %08lu", gen);
				if (pwrite(fd, blk, sizeof(blk), (off_t)i * 4096) != sizeof(blk))
					_exit(2);
				if (i % 512 == 511)
					usleep(90000);
			}
			usleep(2500000);
		}
		_exit(2);
	}
}

/* Records appended without a pause, each by one write: never quiet, so
 * only a snapshot (its writer frozen for a moment) catches whole records. */
static void start_records(const char *path)
{
	if (child() == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		char rec[64];

		for (long n = 1; fd >= 0; n++) {
			memset(rec, 'r', sizeof(rec));
			snprintf(rec, sizeof(rec), "rec %010ld", n);
			rec[14] = ' ';
			rec[63] = '\n';
			if (write(fd, rec, sizeof(rec)) != sizeof(rec))
				_exit(2);
			usleep(500);
		}
		_exit(2);
	}
}

/* Files held open for writing, never written. */
static void start_holder(const char *a, const char *b, const char *c)
{
	if (child() == 0) {
		int fa = open(a, O_WRONLY), fb = open(b, O_WRONLY), fc = open(c, O_RDWR);

		if (fa < 0 || fb < 0 || fc < 0)
			_exit(2);
		pause();
		_exit(0);
	}
}

/* ---- the tree ---- */

static char **files;
static size_t nfiles;

static int list_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type == FTW_F && S_ISREG(st->st_mode)) {
		files = realloc(files, (nfiles + 1) * sizeof(*files));
		files[nfiles++] = strdup(path + strlen(src) + 1);
	}
	return 0;
}

static int group_setup(void **state)
{
	const char *args[] = {"--config", conf, NULL};
	char p[PATH_MAX * 2], q[PATH_MAX * 2], r[PATH_MAX * 2];

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(top, "/var/tmp/inuse-tools-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(src, sizeof(src), "%s/src", top);
	snprintf(conf, sizeof(conf), "%s/inused.conf", top);
	if (mkdir(src, 0755))
		return -1;
	put(conf, policy);
	/* the tools' caches and keys stay here */
	snprintf(p, sizeof(p), "%s/cache", top);
	setenv("RESTIC_CACHE_DIR", p, 1);
	setenv("RESTIC_PASSWORD", "inuse-test", 1);
	snprintf(p, sizeof(p), "%s/borg-base", top);
	setenv("BORG_BASE_DIR", p, 1);
	setenv("BORG_PASSPHRASE", "", 1);
	setenv("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes", 1);
	setenv("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes", 1);
	setenv("TMPDIR", top, 1);
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	setenv("INUSE_SOCKET", D.sock, 1);

	for (int d = 0; d < 10; d++) {
		snprintf(p, sizeof(p), "%s/dir%d", src, d);
		mkdir(p, 0755);
		for (int i = 0; i < QUIET_FILES / 10; i++) {
			snprintf(q, sizeof(q), "%s/quiet-%d.txt", p, i);
			snprintf(r, sizeof(r), "quiet file %d/%d\n", d, i);
			put(q, r);
		}
	}
	snprintf(p, sizeof(p), "%s/idle-1.bin", src);
	put(p, "idle one\n");
	snprintf(q, sizeof(q), "%s/idle-2.bin", src);
	put(q, "idle two\n");
	snprintf(r, sizeof(r), "%s/my notes.notes", src);
	put(r, "notes that a broken method cannot copy\n");
	start_holder(p, q, r);
	snprintf(p, sizeof(p), "%s/app.db", src);
	start_db(p);
	snprintf(p, sizeof(p), "%s/app.log", src);
	start_log(p);
	snprintf(p, sizeof(p), "%s/disk.img", src);
	start_image(p);
	snprintf(p, sizeof(p), "%s/ring.rec", src);
	start_records(p);
	/* every writer at work before any backup */
	{
		static const char *const names[] = {"app.db",	     "app.db-wal", "app.log",
						    "disk.img",	     "idle-1.bin", "idle-2.bin",
						    "my notes.notes"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", src, names[i]);
			for (int k = 0; k < 500 && access(p, F_OK); k++)
				usleep(10000);
			if (!td_wait_state(&D, p, "open"))
				return -1;
		}
	}
	usleep(1500000); /* the image's first pass, the log's first lines */
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

/* ---- checks of a restored tree ---- */

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
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		n = 0;
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* The report's item for a file of the source (by its name in it). */
static json_t *item(json_t *rep, const char *name)
{
	char path[PATH_MAX * 2];
	json_t *f;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", src, name);
	json_array_foreach(json_object_get(rep, "files"), i, f)
	{
		const char *p = json_string_value(json_object_get(f, "path"));

		if (p && !strcmp(p, path))
			return f;
	}
	return NULL;
}

static bool flagged(json_t *rep, const char *name)
{
	json_t *f = item(rep, name);

	return f && json_is_true(json_object_get(f, "may_be_torn_or_missing"));
}

/* The generations of the image's blocks: 1 when whole. */
static int generations(const char *path)
{
	size_t len;
	char *img = slurp(path, &len), first[16] = "";
	int gens = 1;

	assert_non_null(img);
	assert_int_equal(len, (size_t)IMG_BLOCKS * 4096);
	for (size_t off = 0; off < len; off += 4096) {
		if (off == 0)
			memcpy(first, img, 12);
		else if (memcmp(first, img + off, 12)) {
			gens = 2;
			break;
		}
	}
	free(img);
	return gens;
}

/*
 * restored: where the source's files are after the restore; rep: the
 * report inuse-run wrote; rc: its exit status; record: the report as the
 * backup itself holds it (NULL: not stored).
 */
static void check_restore(const char *tool, const char *restored, json_t *rep, int rc,
			  json_t *record)
{
	char p[PATH_MAX * 2], cmd[PATH_MAX * 3];
	size_t len;
	char *s;

	fprintf(stderr, "%s: exit %d, %lld flagged\n", tool, rc,
		(long long)json_integer_value(json_object_get(rep, "flagged")));
	assert_true(json_is_true(json_object_get(rep, "guarded")));
	/* the tool's own failure first (borg's warning 1 included); tar's
	 * "file changed as we read it" is the guard's to judge */
	{
		int status = (int)json_integer_value(json_object_get(rep, "status"));
		int want = json_integer_value(json_object_get(rep, "flagged")) ? 75 : 0;

		if (status && !(status == 1 && !strcmp(tool, "tar")))
			want = status;
		assert_int_equal(rc, want);
	}
	/* the database: SQLite's own copy, whole */
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 '%s/app.db' 'PRAGMA integrity_check; SELECT count(*) > 0 FROM t'",
		 restored);
	assert_int_equal(sh("%s", cmd), 0);
	assert_string_equal(out, "ok\n1\n");
	/* the image: one generation, or named as such in the report and in
	 * the backup's record */
	snprintf(p, sizeof(p), "%s/disk.img", restored);
	if (generations(p) != 1) {
		fprintf(stderr, "%s: the image is torn, and must be named\n", tool);
		assert_true(flagged(rep, "disk.img"));
		assert_non_null(record);
		assert_true(flagged(record, "disk.img"));
	}
	/* the log: whole lines */
	snprintf(p, sizeof(p), "%s/app.log", restored);
	s = slurp(p, &len);
	assert_non_null(s);
	assert_true(len > 0 && s[len - 1] == '\n');
	{
		char *last = len > 1 ? memrchr(s, '\n', len - 1) : NULL;
		unsigned long n;
		char tail[16];

		last = last ? last + 1 : s;
		assert_int_equal(sscanf(last, "line %08lu %2s\n", &n, tail), 2);
		assert_string_equal(tail, "ok");
	}
	free(s);
	/* records never quiet: a snapshot, whole records only */
	snprintf(p, sizeof(p), "%s/ring.rec", restored);
	s = slurp(p, &len);
	assert_non_null(s);
	assert_true(len > 0 && len % 64 == 0);
	for (size_t off = 0; off < len; off += 64)
		if (strncmp(s + off, "rec ", 4) || s[off + 63] != '\n')
			fail_msg("%s: ring.rec has a torn record at %zu", tool, off);
	free(s);
	{
		json_t *f = item(rep, "ring.rec");

		assert_non_null(f);
		assert_string_equal(json_string_value(json_object_get(f, "outcome")), "snapshot");
	}
	/* the method that fails: a plain copy, flagged */
	snprintf(p, sizeof(p), "%s/my notes.notes", restored);
	assert_int_equal(access(p, F_OK), 0);
	assert_true(flagged(rep, "my notes.notes"));
	/* every file of the source: restored (quiet ones as they were), or
	 * named in the report */
	for (size_t i = 0; i < nfiles; i++) {
		snprintf(p, sizeof(p), "%s/%s", restored, files[i]);
		if (access(p, F_OK) != 0) {
			if (!item(rep, files[i]))
				fail_msg("%s: %s is neither restored nor reported", tool, files[i]);
			continue;
		}
		{
			int d, k;
			char want[64];

			if (sscanf(files[i], "dir%d/quiet-%d.txt", &d, &k) != 2)
				continue;
			s = slurp(p, NULL);
			snprintf(want, sizeof(want), "quiet file %d/%d\n", d, k);
			assert_string_equal(s, want);
			free(s);
		}
	}
}

static json_t *run_tool(const char *tag, const char *command, int *rc)
{
	char rep[PATH_MAX];
	json_t *j;

	snprintf(rep, sizeof(rep), "%s/report-%s.json", top, tag);
	*rc = sh("%s --exclude-busy --retry --max-wait 12s --report %s -- %s 2>&1",
		 td_bin("inuse-run"), rep, command);
	fprintf(stderr, "--- %s\n%s---\n", tag, out);
	j = json_load_file(rep, 0, NULL);
	assert_non_null(j);
	return j;
}

static void before(void)
{
	td_need(&D);
	alarm(300);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	nfiles = 0;
	assert_int_equal(nftw(src, list_one, 16, FTW_PHYS), 0);
	assert_true(nfiles >= QUIET_FILES + 5);
}

static void test_tar(void **state)
{
	char cmd[PATH_MAX * 3], r[PATH_MAX], restored[PATH_MAX * 2];
	json_t *rep, *record;
	int rc;

	before();
	snprintf(cmd, sizeof(cmd), "tar -czf %s/backup.tgz -C %s src", top, top);
	rep = run_tool("tar", cmd, &rc);
	snprintf(r, sizeof(r), "%s/restore-tar", top);
	mkdir(r, 0755);
	assert_int_equal(sh("tar -xzf %s/backup.tgz -C %s", top, r), 0);
	snprintf(restored, sizeof(restored), "%s/src", r);
	snprintf(cmd, sizeof(cmd), "%s/.inuse-run-report.json", r);
	record = json_load_file(cmd, 0, NULL);
	assert_non_null(record);
	check_restore("tar", restored, rep, rc, record);
	json_decref(record);
	json_decref(rep);
}

/* Into a mirror an earlier plain rsync made: its -wal and -shm of the
 * database must not stay beside the new copy. */
static void test_rsync(void **state)
{
	char cmd[PATH_MAX * 3], mirror[PATH_MAX], p[PATH_MAX * 2];
	json_t *rep, *record;
	int rc;

	before();
	snprintf(mirror, sizeof(mirror), "%s/mirror", top);
	assert_int_equal(sh("rsync -a %s/ %s/", src, mirror), 0);
	snprintf(p, sizeof(p), "%s/app.db-wal", mirror);
	assert_int_equal(access(p, F_OK), 0); /* the stale companion is there */
	/* no --delete: only inuse-run's retry can take the stale ones away */
	snprintf(cmd, sizeof(cmd), "rsync -a %s/ %s/", src, mirror);
	rep = run_tool("rsync", cmd, &rc);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/app.db-shm", mirror);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/.inuse-run-report.json", mirror);
	record = json_load_file(p, 0, NULL);
	assert_non_null(record);
	check_restore("rsync", mirror, rep, rc, record);
	json_decref(record);
	json_decref(rep);
}

static void test_borg(void **state)
{
	char cmd[PATH_MAX * 3], repo[PATH_MAX], r[PATH_MAX], restored[PATH_MAX * 2];
	json_t *rep, *record;
	int rc;

	before();
	snprintf(repo, sizeof(repo), "%s/borg-repo", top);
	assert_int_equal(sh("borg init -e none %s 2>&1", repo), 0);
	snprintf(cmd, sizeof(cmd), "borg create %s::first %s", repo, src);
	rep = run_tool("borg", cmd, &rc);
	snprintf(r, sizeof(r), "%s/restore-borg", top);
	mkdir(r, 0755);
	assert_int_equal(sh("cd %s && borg extract %s::first && borg extract %s::first.inuse-retry",
			    r, repo, repo),
			 0);
	/* the first archive's comment names what it lacks */
	assert_int_equal(sh("borg info %s::first", repo), 0);
	assert_non_null(strstr(out, "app.db (excluded"));
	snprintf(restored, sizeof(restored), "%s%s", r, src);
	snprintf(cmd, sizeof(cmd), "%s/.inuse-run-report.json", r);
	record = json_load_file(cmd, 0, NULL);
	assert_non_null(record);
	check_restore("borg", restored, rep, rc, record);
	json_decref(record);
	json_decref(rep);
}

static void test_restic(void **state)
{
	char cmd[PATH_MAX * 3], repo[PATH_MAX], r[PATH_MAX], restored[PATH_MAX * 2];
	json_t *rep, *record, *snaps, *s;
	const char *first = NULL, *retry = NULL;
	size_t i;
	int rc;

	before();
	snprintf(repo, sizeof(repo), "%s/restic-repo", top);
	assert_int_equal(sh("restic init -q -r %s 2>&1", repo), 0);
	snprintf(cmd, sizeof(cmd), "restic -r %s backup -q %s", repo, src);
	rep = run_tool("restic", cmd, &rc);
	assert_int_equal(sh("restic -r %s snapshots --json", repo), 0);
	snaps = json_loads(out, 0, NULL);
	assert_non_null(snaps);
	json_array_foreach(snaps, i, s)
	{
		json_t *tags = json_object_get(s, "tags"), *t;
		size_t k;

		json_array_foreach(tags, k, t)
		{
			if (!strcmp(json_string_value(t), "inuse-flagged"))
				first = json_string_value(json_object_get(s, "id"));
			if (!strcmp(json_string_value(t), "inuse-retry"))
				retry = json_string_value(json_object_get(s, "id"));
		}
	}
	assert_non_null(first);
	assert_non_null(retry);
	snprintf(r, sizeof(r), "%s/restore-restic", top);
	assert_int_equal(sh("restic -r %s restore -q %s --target %s && "
			    "restic -r %s restore -q %s --target %s",
			    repo, first, r, repo, retry, r),
			 0);
	json_decref(snaps);
	snprintf(restored, sizeof(restored), "%s%s", r, src);
	snprintf(cmd, sizeof(cmd), "%s/.inuse-run-report.json", r);
	record = json_load_file(cmd, 0, NULL);
	assert_non_null(record);
	check_restore("restic", restored, rep, rc, record);
	json_decref(record);
	json_decref(rep);
}

/* The copy loop's last step, a snapshot: records never quiet, copied by
 * inuse-copy --snapshot whole. */
static void test_copy_snapshot(void **state)
{
	char dest[PATH_MAX];
	size_t len;
	char *s;

	before();
	snprintf(dest, sizeof(dest), "%s/ring.copy", top);
	assert_int_equal(sh("%s --snapshot --quiet 1s --timeout 2s %s/ring.rec %s",
			    td_bin("inuse-copy"), src, dest),
			 0);
	assert_non_null(strstr(out, "snapshot"));
	s = slurp(dest, &len);
	assert_non_null(s);
	assert_true(len > 0 && len % 64 == 0);
	for (size_t off = 0; off < len; off += 64)
		if (strncmp(s + off, "rec ", 4) || s[off + 63] != '\n')
			fail_msg("ring.copy has a torn record at %zu", off);
	free(s);
	/* without it: flagged (the records never stop) */
	assert_int_equal(
	    sh("%s --quiet 1s --timeout 2s %s/ring.rec %s", td_bin("inuse-copy"), src, dest), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tar),		  cmocka_unit_test(test_rsync),
	    cmocka_unit_test(test_borg),	  cmocka_unit_test(test_restic),
	    cmocka_unit_test(test_copy_snapshot),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("restic, borg, rsync and tar under inuse-run", tests,
					   group_setup, group_teardown);
}
