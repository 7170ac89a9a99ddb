// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_security.c - the access model, the limits per user and the files
 * the daemon trusts, tried as an unprivileged user would (issue 10's
 * items). Each test has a positive control for what it says is refused
 * or hidden.
 *
 * Users are numeric (no /etc/passwd entries needed): A and B are plain
 * users, G_ADMIN the admin group of the daemon under test, G_SHARE a group
 * only A is a member of. The socket is opened to every user by hand
 * (0666), as an admin who wants per-user backups would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inuse.h"
#include "lib/internal.h"
#include "tdaemon.h"

#define UID_A	4242
#define UID_B	4243
#define G_ADMIN 4244
#define G_OTHER 4245
#define G_SHARE 4246
#define UID_E	4248 /* a user nothing else in these tests uses */
#define CALL_MS 20000

static struct tdaemon D;
static char top[PATH_MAX], conf[PATH_MAX];
/* files root holds open for writing */
static int held[4] = {-1, -1, -1, -1};

static const char conf_text[] = "admin_group = \"4244\";\n"
				"policy = { default = { open = \"copy\"; }; };\n";

struct user {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[4];
};

static const struct user A = {UID_A, UID_A, 0, {0}};
static const struct user A_share = {UID_A, UID_A, 1, {G_SHARE}};
static const struct user A_admin = {UID_A, UID_A, 1, {G_ADMIN}};
static const struct user A_other = {UID_A, UID_A, 1, {G_OTHER}};
static const struct user B = {UID_B, UID_B, 0, {0}};
static const struct user E = {UID_E, UID_E, 0, {0}};

static const char *at(const char *rel)
{
	static char buf[16][PATH_MAX];
	static int k;

	k = (k + 1) % 16;
	snprintf(buf[k], PATH_MAX, "%s/%s", top, rel);
	return buf[k];
}

/* In a child: in and out become its fds 0 and 1, stderr /dev/null, every
 * other is closed, so that no child keeps another child's pipe open. */
static void keep_only(int in, int out)
{
	if (in >= 0 && dup2(in, 0) < 0)
		_exit(122);
	if (out >= 0 && dup2(out, 1) < 0)
		_exit(122);
	/* stderr too may be a file open for writing (a test's log), which
	 * the child, once a user, would be listed as writing */
	{
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null >= 0 && dup2(null, 2) < 0)
			_exit(122);
	}
	syscall(SYS_close_range, 3U, ~0U, 0);
}

/* Takes the user's identity in a child (and dies with the test). The
 * files the test holds open for writing are not the child's to hold. */
static void become(const struct user *u)
{
	pid_t parent = getppid();

	for (int i = 0; i < 4; i++)
		if (held[i] >= 0)
			close(held[i]);
	if (setgroups((size_t)u->ngroups, u->groups) || setresgid(u->gid, u->gid, u->gid) ||
	    setresuid(u->uid, u->uid, u->uid))
		_exit(120);
	/* after the change of credentials, which clears it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(121);
}

/* What a test started, stopped by the teardown of each test (a failed
 * assertion leaves the test at once) and when the test program is killed
 * by its alarm. */
#define REG_MAX 32
static pid_t registered[REG_MAX];

static void reg(pid_t pid)
{
	for (int i = 0; i < REG_MAX; i++) {
		if (!registered[i]) {
			registered[i] = pid;
			return;
		}
	}
}

static void unreg(pid_t pid)
{
	for (int i = 0; i < REG_MAX; i++)
		if (registered[i] == pid)
			registered[i] = 0;
}

static void on_alarm(int sig)
{
	for (int i = 0; i < REG_MAX; i++)
		if (registered[i] > 0)
			kill(registered[i], SIGKILL);
	if (D.pid > 0)
		kill(D.pid, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int teardown_each(void **state)
{
	for (int i = 0; i < REG_MAX; i++) {
		if (registered[i] > 0) {
			kill(registered[i], SIGTERM);
			waitpid(registered[i], NULL, 0);
		}
		registered[i] = 0;
	}
	return 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	for (;;) {
		ssize_t n;

		if (len + 1 >= cap)
			buf = realloc(buf, cap *= 2);
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* A client as user u, on sock: the answer to one request line (NULL if
 * none came; then *err says why), parsed. */
static json_t *call_on(const char *sock, const struct user *u, const char *req, int *err)
{
	int p[2], st;
	pid_t pid;
	char *out;
	json_t *j;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct inuse_client_opts o = {
		    .sz = sizeof(o), .socket_path = sock, .timeout_ms = CALL_MS};
		struct inuse_client *c;
		char *resp = NULL;
		int e;

		keep_only(-1, p[1]);
		become(u);
		e = inuse_client__open(&o, &c);
		if (!e)
			e = inuse_client__call(c, req, strlen(req), &resp, NULL);
		if (e) {
			dprintf(1, "ERR %d", -e);
			_exit(1);
		}
		write_all(1, resp, strlen(resp));
		_exit(0);
	}
	close(p[1]);
	out = read_all(p[0]);
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (err)
		*err = !strncmp(out, "ERR ", 4) ? atoi(out + 4) : 0;
	j = json_loads(out, 0, NULL);
	free(out);
	return j;
}

static json_t *call_as(const struct user *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *call_as(const struct user *u, const char *fmt, ...)
{
	char *req;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	assert_true(vasprintf(&req, fmt, ap) >= 0);
	va_end(ap);
	j = call_on(D.sock, u, req, NULL);
	if (!j) {
		td_dump_log(&D);
		fail_msg("no answer to %s", req);
	}
	free(req);
	return j;
}

static const char *sval(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static json_t *file_i(json_t *ans, size_t i)
{
	return json_array_get(json_object_get(ans, "files"), i);
}

/* A JSON string of a path (static buffer, for requests). */
static const char *js(const char *path)
{
	static char buf[16][PATH_MAX + 8];
	static int k;

	k = (k + 1) % 16;
	snprintf(buf[k], sizeof(buf[k]), "\"%s\"", path);
	return buf[k];
}

/* A child of user u holding path open for writing until kid_end. */
struct kid {
	pid_t pid;
	int ctl; /* closing it ends the child */
};

static void kid_hold(struct kid *k, const struct user *u, const char *path)
{
	int p[2], r[2];
	char c;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		int fd;

		keep_only(p[0], r[1]);
		become(u);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		write_all(1, fd >= 0 ? "y" : "n", 1);
		if (read(0, &c, 1) < 0)
			(void)0;
		_exit(0);
	}
	reg(k->pid);
	close(p[0]);
	close(r[1]);
	assert_int_equal(read(r[0], &c, 1), 1);
	close(r[0]);
	k->ctl = p[1];
	if (c != 'y')
		fail_msg("user %u could not open %s", (unsigned)u->uid, path);
}

static void kid_end(struct kid *k)
{
	int st;

	if (k->pid <= 0)
		return;
	close(k->ctl);
	waitpid(k->pid, &st, 0);
	unreg(k->pid);
	k->pid = 0;
}

/* Runs a command line; its exit status, output (stdout and stderr) in out. */
#define sh(out, fmt, ...) td_sh(out, out ? sizeof(out) : 0, fmt " 2>&1", ##__VA_ARGS__)

/* A new file of root's (whatever was there goes). */
static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	write_all(fd, text, strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int group_setup(void **state)
{
	const char *args[] = {"--config", conf, NULL};

	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(top, "/var/tmp/inuse-sec-XXXXXX");
	if (!mkdtemp(top) || chmod(top, 0755))
		return -1;
	snprintf(conf, sizeof(conf), "%s/inused.conf", top);
	if (mkdir(at("secret"), 0700) || mkdir(at("pub"), 0777) || chmod(at("pub"), 01777) ||
	    mkdir(at("grp"), 0750) || chown(at("grp"), 0, G_SHARE) || mkdir(at("ro"), 0755))
		return -1;
	{
		FILE *f = fopen(conf, "w");

		if (!f)
			return -1;
		fputs(conf_text, f);
		fclose(f);
	}
	held[0] = open(at("secret/f"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	held[1] = open(at("grp/f"), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	held[2] = open(at("ro/unreadable"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	held[3] = open(at("ro/readable"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (chown(at("grp/f"), 0, G_SHARE))
		return -1;
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	/* every local user may connect, as the admin did by hand */
	chmod(D.dir, 0755);
	chmod(D.sock, 0666);
	for (int i = 0; i < 4; i++)
		if (held[i] < 0)
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < 4; i++)
		if (held[i] >= 0)
			close(held[i]);
	td_stop(&D);
	if (D.dir[0])
		td_rmtree(D.dir);
	return td_rmtree(top);
}

static void need(void)
{
	td_need(&D);
	assert_true(td_wait_state(&D, at("secret/f"), "open"));
	assert_true(td_wait_state(&D, at("grp/f"), "open"));
	assert_true(td_wait_state(&D, at("ro/unreadable"), "open"));
	assert_true(td_wait_state(&D, at("ro/readable"), "open"));
}

/* Symlinks the user makes, as the user. */
static void user_symlink(const struct user *u, const char *target, const char *link)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		become(u);
		unlink(link);
		_exit(symlink(target, link) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* Asserts that an answer item tells nothing of the file: an error, with
 * neither size, token nor writers. */
static void assert_told_nothing(json_t *f, const char *what)
{
	if (!f || strcmp(sval(f, "state") ?: "", "error") || json_object_get(f, "size") ||
	    json_object_get(f, "token") || json_object_get(f, "writers")) {
		char *s = f ? json_dumps(f, JSON_COMPACT) : NULL;

		fail_msg("%s: told %s", what, s ? s : "(nothing at all)");
	}
}

/* Item 1: a symlink the user made, pointing into a directory it cannot
 * search, tells nothing: not the state, not the size, not whether the
 * target exists; through a linked directory neither; for check, list,
 * wait and verify. What the user can reach is told (positive controls). */
static void test_symlinks_followed_with_the_users_rights(void **state)
{
	json_t *j, *t;
	char tok[256];

	need();
	user_symlink(&A, at("secret/f"), at("pub/l_file"));
	user_symlink(&A, at("secret"), at("pub/l_dir"));
	user_symlink(&A, at("secret/nothing"), at("pub/l_missing"));
	user_symlink(&A, at("ro/readable"), at("pub/l_readable"));
	td_touch(at("pub/plain"));

	j = call_as(&A, "{\"id\":1,\"op\":\"check\",\"paths\":[%s,%s,%s,%s,%s,%s]}",
		    js(at("pub/l_file")), js(at("pub/l_dir/f")), js(at("pub/l_missing")),
		    js(at("secret/f")), js(at("pub/l_readable")), js(at("pub/plain")));
	assert_told_nothing(file_i(j, 0), "check through a symlink");
	assert_told_nothing(file_i(j, 1), "check through a linked directory");
	assert_told_nothing(file_i(j, 2), "check of a missing target");
	assert_told_nothing(file_i(j, 3), "check of the path itself");
	/* positive controls: what the user may read is told, links followed */
	assert_string_equal(sval(file_i(j, 4), "state"), "open");
	assert_non_null(json_object_get(file_i(j, 4), "token"));
	assert_string_equal(sval(file_i(j, 5), "state"), "not_open");
	json_decref(j);

	j = call_as(&A, "{\"id\":2,\"op\":\"list\",\"paths\":[%s,%s,%s,%s]}", js(at("pub/l_file")),
		    js(at("pub/l_dir/f")), js(at("pub/l_missing")), js(at("pub/l_readable")));
	t = json_object_get(j, "paths");
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(sval(json_array_get(t, i), "state"), "error");
	assert_string_equal(sval(json_array_get(t, 3), "state"), "open");
	json_decref(j);

	j = call_as(&A, "{\"id\":3,\"op\":\"wait\",\"timeout\":0,\"paths\":[%s,%s,%s]}",
		    js(at("pub/l_file")), js(at("pub/l_missing")), js(at("pub/l_readable")));
	assert_string_equal(sval(file_i(j, 0), "state"), "error");
	assert_string_equal(sval(file_i(j, 1), "state"), "error");
	assert_string_equal(sval(file_i(j, 2), "state"), "open");
	json_decref(j);

	/* verify: root's token of the hidden file, through the user's link */
	j = td_call(&D, "{\"op\":\"check\",\"paths\":[%s]}", js(at("secret/f")));
	snprintf(tok, sizeof(tok), "%s", sval(file_i(j, 0), "token") ?: "");
	json_decref(j);
	assert_true(tok[0]);
	j = call_as(&A, "{\"id\":4,\"op\":\"verify\",\"files\":[{\"path\":%s,\"token\":\"%s\"}]}",
		    js(at("pub/l_file")), tok);
	assert_string_equal(sval(file_i(j, 0), "reason"), "error");
	json_decref(j);
	/* root may follow the link (positive control) */
	j = td_call(&D, "{\"op\":\"verify\",\"files\":[{\"path\":%s,\"token\":\"%s\"}]}",
		    js(at("pub/l_file")), tok);
	assert_string_equal(sval(file_i(j, 0), "reason"), "unchanged");
	json_decref(j);
}

/* A stat(2) as a "stats" record of check (docs/protocol.md). */
static const char *stat_record(const char *path)
{
	static char buf[4][160];
	static int k;
	struct stat st;

	k = (k + 1) % 4;
	assert_int_equal(stat(path, &st), 0);
	snprintf(buf[k], sizeof(buf[k]), "%llx,%llx,%x,%llx,%llx,%llx",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, st.st_mode,
		 (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec,
		 (unsigned long long)st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec);
	return buf[k];
}

/* The identity form of check is an admin's: a user who gives the
 * daemon what "its own stat(2)" found (the identity of a file it may read,
 * claimed for a file it may not reach, or for a file that is open) learns
 * nothing from it; each path is looked up with the user's rights, as
 * without "stats". The same forgery from root is taken (positive
 * control: the daemon does read "stats"). */
static void test_forged_identities_ignored(void **state)
{
	json_t *j;
	const char *plain;

	need();
	td_touch(at("pub/plain"));
	plain = stat_record(at("pub/plain"));
	/* the daemon learns the file system (the first path on one is looked
	 * up whatever its record says), so that what follows would be taken
	 * from an admin */
	j = td_call(&D, "{\"op\":\"check\",\"paths\":[%s],\"stats\":\"-\"}", js(at("pub/plain")));
	assert_string_equal(sval(file_i(j, 0), "state"), "not_open");
	json_decref(j);
	j = call_as(&A, "{\"id\":1,\"op\":\"check\",\"paths\":[%s,%s,%s],\"stats\":\"%s;%s;%s\"}",
		    js(at("secret/f")), js(at("ro/readable")), js(at("ro/unreadable")), plain,
		    plain, "8,1,81a4,0,0,0");
	assert_told_nothing(file_i(j, 0), "check of a hidden file with a forged identity");
	assert_string_equal(sval(file_i(j, 1), "state"), "open");
	assert_told_nothing(file_i(j, 2), "check of an unreadable file with a forged identity");
	json_decref(j);
	/* a record saying "missing" tells the user nothing either */
	j = call_as(&A, "{\"id\":2,\"op\":\"check\",\"paths\":[%s],\"stats\":\"!\"}",
		    js(at("ro/readable")));
	assert_string_equal(sval(file_i(j, 0), "state"), "open");
	json_decref(j);
	/* malformed: refused for anyone */
	j = call_as(&A, "{\"id\":3,\"op\":\"check\",\"paths\":[%s],\"stats\":\"-;-\"}",
		    js(at("ro/readable")));
	assert_string_equal(sval(json_object_get(j, "error"), "code"), "bad_request");
	json_decref(j);
	/* root's forgery is taken: the open file claimed to be the plain one */
	j = td_call(&D, "{\"op\":\"check\",\"paths\":[%s],\"stats\":\"%s\"}", js(at("ro/readable")),
		    plain);
	assert_string_equal(sval(file_i(j, 0), "state"), "not_open");
	json_decref(j);
}

/* The same forgeries in a verify (both its forms: rows read without a
 * tree, and JSON): a user's identities are dropped, each path looked up
 * with its rights. A token of a readable file and that file's identity,
 * given for a hidden file, tell nothing ("error"); for another readable
 * file, "replaced" (not "unchanged"). Root's forgery is taken. */
static void test_forged_identities_ignored_in_verify(void **state)
{
	const char *plain, *tok;
	json_t *chk, *j;

	need();
	td_touch(at("pub/plain"));
	plain = stat_record(at("pub/plain"));
	chk = call_as(&A, "{\"op\":\"check\",\"paths\":[%s]}", js(at("pub/plain")));
	tok = sval(file_i(chk, 0), "token");
	assert_non_null(tok);
	j = td_call(&D, "{\"op\":\"check\",\"paths\":[%s],\"stats\":\"-\"}", js(at("pub/plain")));
	json_decref(j);
	for (int form = 0; form < 2; form++) {
		json_t *rows;

		j = call_as(
		    &A,
		    form ? "{\"op\":\"verify\",\"compact\":true,\"paths\":[%s,%s],\"tokens\":"
			   "[\"%s\",\"%s\"],\"stats\":\"%s;%s\"}"
			 : "{\"id\":4,\"op\":\"verify\",\"compact\":true,\"paths\":[%s,%s],"
			   "\"tokens\":[\"%s\",\"%s\"],\"stats\":\"%s;%s\"}",
		    js(at("secret/f")), js(at("ro/readable")), tok, tok, plain, plain);
		rows = json_object_get(j, "rows");
		assert_int_equal(json_array_size(rows), 2);
		assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 0), 0)),
				    "error");
		assert_string_equal(json_string_value(json_array_get(json_array_get(rows, 1), 0)),
				    "replaced");
		json_decref(j);
	}
	/* the genuine file verifies (positive control) */
	j = call_as(&A, "{\"op\":\"verify\",\"compact\":true,\"paths\":[%s],\"tokens\":[\"%s\"]}",
		    js(at("pub/plain")), tok);
	assert_string_equal(
	    json_string_value(json_array_get(json_array_get(json_object_get(j, "rows"), 0), 0)),
	    "unchanged");
	json_decref(j);
	/* root's forgery is taken: the open file claimed to be the plain one */
	j = td_call(&D,
		    "{\"op\":\"verify\",\"compact\":true,\"paths\":[%s],\"tokens\":[\"%s\"],"
		    "\"stats\":\"%s\"}",
		    js(at("ro/readable")), tok, plain);
	assert_string_equal(
	    json_string_value(json_array_get(json_array_get(json_object_get(j, "rows"), 0), 0)),
	    "unchanged");
	json_decref(j);
	json_decref(chk);
}

/* Item 1: the user's supplementary groups count (a member of a
 * directory's group reaches it); a file the user may not read is not
 * told even in a directory it may search. */
static void test_lookups_with_supplementary_groups(void **state)
{
	json_t *j;

	need();
	j = call_as(&A_share, "{\"op\":\"check\",\"paths\":[%s]}", js(at("grp/f")));
	assert_string_equal(sval(file_i(j, 0), "state"), "open");
	json_decref(j);
	j = call_as(&A, "{\"op\":\"check\",\"paths\":[%s]}", js(at("grp/f")));
	assert_told_nothing(file_i(j, 0), "a group directory, not a member");
	json_decref(j);
	j = call_as(&B, "{\"op\":\"check\",\"paths\":[%s,%s]}", js(at("ro/unreadable")),
		    js(at("ro/readable")));
	assert_told_nothing(file_i(j, 0), "a file the user may not read");
	assert_string_equal(sval(file_i(j, 1), "state"), "open");
	json_decref(j);
}

/* The token's text as bytes: does it hold this number, in hex or decimal? */
static bool token_holds(const char *tok, uint64_t v)
{
	char hex[32], dec[32];

	snprintf(hex, sizeof(hex), "%" PRIx64, v);
	snprintf(dec, sizeof(dec), "%" PRIu64, v);
	return strstr(tok, hex) || strstr(tok, dec);
}

/* Item 2: a token tells nothing of the file (another user's file: its
 * identity, size, times and generations are not in it), and verify
 * refuses one made up, altered, or issued by another start of the daemon;
 * the genuine one verifies (positive control). */
static void test_tokens_opaque_and_unforgeable(void **state)
{
	const char *p = at("pub/b_file");
	char tok[256], tok2[256], forged[512], bad[256];
	struct tdaemon D2 = {0};
	const char *args[] = {"--config", conf, NULL};
	struct kid k;
	struct stat st;
	json_t *j;
	int fd;

	need();
	kid_hold(&k, &B, p);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "0123456789", 10, 0x1234 - 10), 10); /* size 0x1234 */
	close(fd);
	assert_int_equal(stat(p, &st), 0);
	assert_true(td_wait_state(&D, p, "open"));

	j = call_as(&A, "{\"op\":\"check\",\"paths\":[%s]}", js(p));
	assert_string_equal(sval(file_i(j, 0), "state"), "open");
	assert_null(json_object_get(file_i(j, 0), "writers")); /* B's */
	snprintf(tok, sizeof(tok), "%s", sval(file_i(j, 0), "token") ?: "");
	json_decref(j);
	j = call_as(&A, "{\"op\":\"check\",\"paths\":[%s]}", js(p));
	snprintf(tok2, sizeof(tok2), "%s", sval(file_i(j, 0), "token") ?: "");
	json_decref(j);
	assert_true(tok[0] && tok2[0]);
	/* nothing in clear: not the inode, not the size, and two tokens of
	 * the same unchanged file differ */
	assert_false(token_holds(tok, st.st_ino));
	assert_false(token_holds(tok, 0x1234));
	assert_string_not_equal(tok, tok2);

	/* the genuine token verifies */
	j = call_as(&A, "{\"op\":\"verify\",\"files\":[{\"path\":%s,\"token\":\"%s\"}]}", js(p),
		    tok);
	assert_string_equal(sval(file_i(j, 0), "reason"), "unchanged");
	json_decref(j);

	/* altered: one character changed */
	snprintf(bad, sizeof(bad), "%s", tok);
	bad[strlen(bad) / 2] = bad[strlen(bad) / 2] == 'A' ? 'B' : 'A';
	/* made up from the facts (of the file now closed), in the format
	 * tokens once had */
	kid_end(&k);
	assert_true(td_wait_state(&D, p, "not_open"));
	assert_int_equal(stat(p, &st), 0);
	snprintf(
	    forged, sizeof(forged), "1.%x.%" PRIx64 ".%" PRIx64 ".%" PRIx64 ".%" PRIx64 ".0.0.0.1",
	    (unsigned)((major(st.st_dev) << 20) | minor(st.st_dev)), (uint64_t)st.st_ino,
	    (uint64_t)st.st_size, (uint64_t)(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec),
	    (uint64_t)(st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec));
	j = call_as(&A,
		    "{\"op\":\"verify\",\"files\":[{\"path\":%s,\"token\":\"%s\"},"
		    "{\"path\":%s,\"token\":\"%s\"},{\"path\":%s,\"token\":\"2.%s\"}]}",
		    js(p), bad, js(p), forged, js(p),
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	for (size_t i = 0; i < 3; i++) {
		assert_false(json_is_true(json_object_get(file_i(j, i), "consistent")));
		assert_string_equal(sval(file_i(j, i), "reason"), "bad_token");
	}
	json_decref(j);

	/* another start of the daemon has another key: "expired" */
	assert_int_equal(td_start(&D2, args), 0);
	reg(D2.pid);
	j = td_call(&D2, "{\"op\":\"verify\",\"files\":[{\"path\":%s,\"token\":\"%s\"}]}", js(p),
		    tok);
	unreg(D2.pid);
	td_stop(&D2);
	td_rmtree(D2.dir);
	assert_string_equal(sval(file_i(j, 0), "reason"), "expired");
	json_decref(j);
}

/* Item 3: stats tell a user the files its own processes write, nothing
 * of the rest of the machine; root gets every counter. */
static void test_stats_of_a_user_are_its_own(void **state)
{
	struct kid k;
	json_t *j;

	need();
	j = call_as(&E, "{\"op\":\"stats\"}");
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_integer_value(json_object_get(j, "files")), 0);
	assert_null(json_object_get(j, "events"));
	assert_null(json_object_get(j, "kernel_events"));
	json_decref(j);
	kid_hold(&k, &E, at("pub/e_stats"));
	assert_true(td_wait_state(&D, at("pub/e_stats"), "open"));
	j = call_as(&E, "{\"op\":\"stats\"}");
	if (json_integer_value(json_object_get(j, "files")) != 1 ||
	    json_integer_value(json_object_get(j, "writers")) != 1) {
		json_t *l = call_as(&E, "{\"op\":\"list\"}");
		char *ls = json_dumps(l, JSON_COMPACT);

		fail_msg("stats of a user holding one file: %s; its list: %s",
			 json_dumps(j, JSON_COMPACT), ls);
	}
	json_decref(j);
	kid_end(&k);
	/* root: the whole machine (at least the four files it holds) */
	j = td_call(&D, "{\"op\":\"stats\"}");
	assert_true(json_integer_value(json_object_get(j, "files")) >= 4);
	assert_non_null(json_object_get(j, "events"));
	json_decref(j);
}

/* Connects as u, hands the connection to the caller (SCM_RIGHTS) and
 * exits; returns the connection and the pid it had. */
static int connect_and_leave(const struct user *u, pid_t *pid_out)
{
	int sp[2], st, fd = -1;
	pid_t pid;
	char cbuf[CMSG_SPACE(sizeof(int))], c = 0;
	struct iovec iov = {&c, 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int s;

		become(u);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", D.sock);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)))
			_exit(1);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &s, sizeof(int));
		_exit(sendmsg(sp[1], &m, 0) == 1 ? 0 : 1);
	}
	close(sp[1]);
	if (recvmsg(sp[0], &m, 0) == 1 && (cm = CMSG_FIRSTHDR(&m)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	close(sp[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(fd >= 0);
	*pid_out = pid;
	return fd;
}

/* A process of user u with exactly this pid, waiting until kid_end. */
static bool spawn_with_pid(struct kid *k, const struct user *u, pid_t want)
{
	struct clone_args ca = {.exit_signal = SIGCHLD};
	pid_t tid = want;
	int p[2];
	long pid;
	char c;

	ca.set_tid = (uint64_t)(uintptr_t)&tid;
	ca.set_tid_size = 1;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return false;
	}
	if (pid == 0) {
		keep_only(p[0], -1);
		become(u);
		if (read(0, &c, 1) < 0)
			(void)0;
		_exit(0);
	}
	close(p[0]);
	k->pid = (pid_t)pid;
	k->ctl = p[1];
	reg(k->pid);
	return true;
}

/* One line from a raw connection. */
static json_t *raw_call(int fd, const char *req)
{
	struct inuse_client *c = NULL;
	char *line = NULL;
	json_t *j = NULL;
	int dupfd = dup(fd);

	assert_int_equal(inuse__client_from_fd(dupfd, CALL_MS, 0, &c), 0);
	if (inuse_client__call(c, req, strlen(req), &line, NULL) == 0)
		j = json_loads(line, 0, NULL);
	free(line);
	inuse_client__free(c);
	return j;
}

/* Item 4: whether a client is an admin is decided when it connects. A
 * connection made by a user outside the admin group stays so when its
 * process is gone and its pid belongs to an admin's process; a connection
 * made in the admin group is an admin's (positive control). */
static void test_admin_decided_at_connect(void **state)
{
	struct kid k = {0};
	json_t *j;
	int fd = -1, tries;
	pid_t pid;

	need();
	j = call_as(&A_admin, "{\"op\":\"hello\"}");
	assert_true(json_is_true(json_object_get(j, "admin")));
	json_decref(j);
	for (tries = 0; tries < 10; tries++) {
		fd = connect_and_leave(&A, &pid);
		/* the pid, free again, is taken by a process in the admin group */
		if (spawn_with_pid(&k, &A_admin, pid))
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fail_msg("could not give a freed pid to another process");
	j = raw_call(fd, "{\"op\":\"hello\"}");
	assert_non_null(j);
	assert_false(json_is_true(json_object_get(j, "admin")));
	json_decref(j);
	j = raw_call(fd, "{\"op\":\"stats\"}");
	assert_null(json_object_get(j, "events"));
	json_decref(j);
	kid_end(&k);
	close(fd);
}

/* Runs inused on its own socket with these arguments until it exits or 5 s
 * pass (then it is stopped: it should not have started); its status and
 * output. */
static int inused_once(char *out, size_t outlen, const char *args)
{
	return td_sh(out, outlen,
		     "cd / && timeout -s KILL 5 %s --socket %s/once.sock %s 2>&1; echo \"rc=$?\"",
		     td_bin("inused"), top, args) == 0
		   ? atoi(strstr(out, "rc=") ? strstr(out, "rc=") + 3 : "-1")
		   : -1;
}

/* Item 5: a config file (or what it includes, or the hook's program) that
 * another user could change is refused, at start and on SIGHUP, with a
 * message naming it; root's own loads (positive control). */
static void test_config_must_be_roots(void **state)
{
	static const struct {
		const char *what, *owner_of, *mode_of;
		uid_t uid;
		mode_t mode;
	} cases[] = {
	    {"owned by a user", "cfg/a.conf", NULL, UID_A, 0},
	    {"writable by its group", NULL, "cfg/a.conf", 0, 0664},
	    {"writable by others", NULL, "cfg/a.conf", 0, 0646},
	    {"in a directory writable by others", NULL, "cfg", 0, 0777},
	    {"in a directory of a user's", "cfg", NULL, UID_A, 0},
	    {"including a user's file", "cfg/inc.conf", NULL, UID_A, 0},
	    {"with a hook of a user's", "cfg/hook", NULL, UID_A, 0},
	};
	char out[8192], args[PATH_MAX * 2];
	json_t *j;

	need();
	assert_true(mkdir(at("cfg"), 0755) == 0 || errno == EEXIST);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[PATH_MAX * 2];

		chmod(at("cfg"), 0755);
		chown(at("cfg"), 0, 0);
		write_file(at("cfg/hook"), "#!/bin/sh\ntouch /tmp/inuse-sec-hook-ran\n", 0755);
		write_file(at("cfg/inc.conf"), "admin_group = \"4244\";\n", 0644);
		snprintf(text, sizeof(text),
			 "@include \"%s\"\n"
			 "alerts = { hook = \"%s\"; };\n",
			 at("cfg/inc.conf"), at("cfg/hook"));
		write_file(at("cfg/a.conf"), text, 0644);
		/* positive control: all root's, it loads (and the daemon
		 * starts: stopped by the timeout) */
		snprintf(args, sizeof(args), "--config %s", at("cfg/a.conf"));
		if (i == 0) {
			int rc = inused_once(out, sizeof(out), args);

			if (rc == 1)
				fail_msg("root's config refused: %s", out);
		}
		if (cases[i].owner_of)
			assert_int_equal(chown(at(cases[i].owner_of), cases[i].uid, cases[i].uid),
					 0);
		if (cases[i].mode_of)
			assert_int_equal(chmod(at(cases[i].mode_of), cases[i].mode), 0);
		if (inused_once(out, sizeof(out), args) != 1 || !strstr(out, "refused"))
			fail_msg("a config %s: not refused: %s", cases[i].what, out);
	}
	chmod(at("cfg"), 0755);
	chown(at("cfg"), 0, 0);

	/* SIGHUP: a changed config of a user's is refused, the old one stays */
	{
		char log[65536] = "";
		FILE *f;
		size_t n;
		struct stat st;

		write_file(conf,
			   "admin_group = \"4244\";\n"
			   "policy = { default = { open = \"copy\"; };\n"
			   "  rules = ( { name = \"users\"; match = \"*.users\"; open = \"skip\"; "
			   "} ); };\n",
			   0644);
		assert_int_equal(chown(conf, UID_A, UID_A), 0);
		kill(D.pid, SIGHUP);
		for (int t = 0; t < 1000 && !strstr(log, "SIGHUP:"); t++) {
			usleep(10000);
			f = fopen(D.log, "r");
			n = f ? fread(log, 1, sizeof(log) - 1, f) : 0;
			log[n] = '\0';
			if (f)
				fclose(f);
		}
		assert_non_null(strstr(log, "owned by uid 4242"));
		j = td_call(&D, "{\"op\":\"check\",\"paths\":[%s]}", js(at("ro/x.users")));
		assert_string_equal(sval(file_i(j, 0), "rule"), "default");
		json_decref(j);
		/* positive control: root's, it loads */
		assert_int_equal(chown(conf, 0, 0), 0);
		assert_int_equal(stat(conf, &st), 0);
		kill(D.pid, SIGHUP);
		for (int t = 0; t < 1000; t++) {
			j = td_call(&D, "{\"op\":\"check\",\"paths\":[%s]}", js(at("ro/x.users")));
			if (!strcmp(sval(file_i(j, 0), "rule") ?: "", "users")) {
				json_decref(j);
				break;
			}
			json_decref(j);
			assert_true(t < 999);
			usleep(10000);
		}
		write_file(conf, conf_text, 0644);
		kill(D.pid, SIGHUP);
	}
}

/* Item 7: the lock file beside the socket is never followed: a symlink
 * there (in a sticky directory), or a directory others may write, stops
 * the daemon before it opens anything; the file it points to is left as
 * it was. Without the symlink, it starts (positive control). */
static void test_lock_file_not_followed(void **state)
{
	char out[8192], victim[PATH_MAX], lock[PATH_MAX], buf[64] = "";
	int fd;

	need();
	snprintf(victim, sizeof(victim), "%s", at("victim"));
	write_file(victim, "precious\n", 0644);
	assert_int_equal(mkdir(at("sticky"), 0777), 0);
	assert_int_equal(chmod(at("sticky"), 01777), 0);
	assert_int_equal(mkdir(at("open"), 0777), 0);
	assert_int_equal(chmod(at("open"), 0777), 0);

	/* a sticky directory (as /tmp), the lock a symlink */
	snprintf(lock, sizeof(lock), "%s", at("sticky/s.sock.lock"));
	assert_int_equal(symlink(victim, lock), 0);
	assert_int_equal(td_sh(out, sizeof(out), "timeout -s KILL 5 %s --socket %s 2>&1",
			       td_bin("inused"), at("sticky/s.sock")),
			 1);
	assert_non_null(strstr(out, "symlink"));
	/* a directory any user may write (no sticky bit): a user's symlink */
	snprintf(lock, sizeof(lock), "%s", at("open/s.sock.lock"));
	user_symlink(&A, victim, lock);
	assert_int_equal(td_sh(out, sizeof(out), "timeout -s KILL 5 %s --socket %s 2>&1",
			       td_bin("inused"), at("open/s.sock")),
			 1);
	assert_non_null(strstr(out, "writable by others"));
	fd = open(victim, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	assert_string_equal(buf, "precious\n");

	/* positive control: the sticky directory without the symlink */
	unlink(at("sticky/s.sock.lock"));
	{
		struct tdaemon S = {0};
		const char *args[] = {"--config", conf, NULL};

		snprintf(S.dir, sizeof(S.dir), "%s", at("sticky"));
		snprintf(S.sock, sizeof(S.sock), "%s", at("sticky/s.sock"));
		snprintf(S.log, sizeof(S.log), "%s", at("sticky.log"));
		assert_int_equal(td_start(&S, args), 0);
		reg(S.pid);
		unreg(S.pid);
		assert_int_equal(td_stop(&S), 0);
	}
}

/* ---- actors: a child of a user, driving connections on command ---- */

#define ACTOR_CONNS 40

struct actor {
	pid_t pid;
	FILE *cmd;  /* commands to it */
	FILE *resp; /* one line per command back */
};

struct aconn {
	int fd;
	char *buf;
	size_t len, cap;
};

/* A complete line from c (NULL: none yet); with wait, blocks up to
 * CALL_MS. */
static char *aconn_line(struct aconn *c, bool wait)
{
	uint64_t deadline = clock_mono_ns() + (uint64_t)CALL_MS * NSEC_PER_MSEC;

	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - c->buf);
			char *line = strndup(c->buf, l);

			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return line;
		}
		if (c->len + 65536 > c->cap) {
			c->cap = (c->len + 65536) * 2;
			c->buf = realloc(c->buf, c->cap);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0)
			return strdup("closed");
		if (errno != EAGAIN && errno != EINTR)
			return strdup("closed");
		if (!wait || clock_mono_ns() >= deadline)
			return NULL;
		usleep(1000);
	}
}

static void actor_main(const struct user *u, const char *sock, FILE *in, FILE *out)
{
	struct aconn conns[ACTOR_CONNS];
	char *line = NULL;
	size_t cap = 0;
	int held_fd = -1;

	memset(conns, 0, sizeof(conns));
	become(u);
	signal(SIGPIPE, SIG_IGN); /* a refused connection is closed at once */
	while (getline(&line, &cap, in) > 0) {
		char *arg = strchr(line, ' ');
		int k = 0;

		line[strcspn(line, "\n")] = '\0';
		if (arg)
			*arg++ = '\0';
		else
			arg = line + strlen(line);
		/* commands on a connection: "CMD K [TEXT]" */
		if (strstr(" open send part recv poll close ", line) && *line) {
			k = atoi(arg);
			if (k < 0 || k >= ACTOR_CONNS)
				k = 0;
			arg = strchr(arg, ' ') ? strchr(arg, ' ') + 1 : arg + strlen(arg);
		}
		if (!strcmp(line, "open")) {
			struct sockaddr_un a = {.sun_family = AF_UNIX};

			conns[k].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
			fprintf(out, "%s\n",
				connect(conns[k].fd, (struct sockaddr *)&a, sizeof(a)) ? "err"
										       : "ok");
		} else if (!strcmp(line, "send")) {
			size_t n = strlen(arg);

			arg[n] = '\n';
			write_all(conns[k].fd, arg, n + 1);
			fprintf(out, "ok\n");
		} else if (!strcmp(line, "part")) {
			/* arg: how many bytes of a line, without its end. What
			 * the socket's buffers take once the daemon stops
			 * reading depends on where the kernel cut the stream,
			 * so the writer gives up after 3 s without progress
			 * and says how much went */
			size_t n = strtoul(arg, NULL, 10), sent = 0;
			char *x = malloc(n);

			memset(x, 'x', n);
			while (sent < n) {
				struct pollfd p = {.fd = conns[k].fd, .events = POLLOUT};
				ssize_t w = send(conns[k].fd, x + sent, n - sent, MSG_DONTWAIT);

				if (w > 0)
					sent += (size_t)w;
				else if (w < 0 && errno != EAGAIN && errno != EINTR)
					break;
				else if (w < 0 && errno == EAGAIN && poll(&p, 1, 3000) == 0)
					break;
			}
			free(x);
			if (sent == n)
				fprintf(out, "ok\n");
			else
				fprintf(out, "sent %zu\n", sent);
		} else if (!strcmp(line, "recv") || !strcmp(line, "poll")) {
			char *l = aconn_line(&conns[k], !strcmp(line, "recv"));

			fprintf(out, "%s\n", l ? l : "none");
			free(l);
		} else if (!strcmp(line, "close")) {
			close(conns[k].fd);
			conns[k].fd = -1;
			conns[k].len = 0;
			fprintf(out, "ok\n");
		} else if (!strcmp(line, "hold")) {
			held_fd = open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
			fprintf(out, "%s\n", held_fd >= 0 ? "ok" : "err");
		} else if (!strcmp(line, "release")) {
			close(held_fd);
			held_fd = -1;
			fprintf(out, "ok\n");
		} else if (!strcmp(line, "name")) {
			/* arg: the command name, in hex */
			char name[16] = "";

			for (size_t i = 0; i < 15 && arg[2 * i] && arg[2 * i + 1]; i++) {
				unsigned int b;

				sscanf(arg + 2 * i, "%2x", &b);
				name[i] = (char)b;
			}
			fprintf(out, "%s\n", prctl(PR_SET_NAME, name) ? "err" : "ok");
		} else if (!strcmp(line, "pid")) {
			fprintf(out, "%d\n", (int)getpid());
		} else {
			fprintf(out, "unknown\n");
		}
		fflush(out);
	}
	_exit(0);
}

static void actor_start(struct actor *a, const struct user *u, const char *sock)
{
	int c[2], r[2];

	assert_int_equal(pipe2(c, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	a->pid = fork();
	assert_true(a->pid >= 0);
	if (a->pid == 0) {
		keep_only(c[0], r[1]);
		actor_main(u, sock, fdopen(0, "r"), fdopen(1, "w"));
	}
	reg(a->pid);
	close(c[0]);
	close(r[1]);
	a->cmd = fdopen(c[1], "w");
	a->resp = fdopen(r[0], "r");
}

/* A command; its answer line (static buffer). */
static const char *actor(struct actor *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *actor(struct actor *a, const char *fmt, ...)
{
	static char *line;
	static size_t cap;
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vfprintf(a->cmd, fmt, ap);
	va_end(ap);
	if (getenv("TEST_TRACE")) {
		va_start(ap, fmt);
		fprintf(stderr, "%.3f actor %d: ", (double)clock_mono_ns() / 1e9, (int)a->pid);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fputc('\n', a->cmd);
	fflush(a->cmd);
	n = getline(&line, &cap, a->resp);
	if (n <= 0) {
		int st = 0;

		waitpid(a->pid, &st, 0);
		unreg(a->pid);
		a->pid = 0;
		fail_msg("the actor is gone (status 0x%x)", st);
	}
	line[strcspn(line, "\n")] = '\0';
	return line;
}

/* The answer line of a command, parsed (NULL when not JSON). */
static json_t *actor_json(struct actor *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static json_t *actor_json(struct actor *a, const char *fmt, ...)
{
	char cmd[PATH_MAX * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return json_loads(actor(a, "%s", cmd), 0, NULL);
}

static void actor_end(struct actor *a)
{
	int st;

	if (a->pid <= 0)
		return;
	fclose(a->cmd);
	fclose(a->resp);
	waitpid(a->pid, &st, 0);
	unreg(a->pid);
	a->pid = 0;
}

static const char *err_code(json_t *j)
{
	return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* Another daemon, with these options, reachable by every user. */
static void start_other(struct tdaemon *S, const char *const *extra)
{
	const char *args[16] = {"--config", conf};
	int n = 2;

	for (int i = 0; extra && extra[i] && n < 15; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	memset(S, 0, sizeof(*S));
	assert_int_equal(td_start(S, args), 0);
	reg(S->pid);
	chmod(S->dir, 0755);
	chmod(S->sock, 0666);
}

static void stop_other(struct tdaemon *S)
{
	unreg(S->pid);
	td_stop(S);
	td_rmtree(S->dir);
}

/* Item 8: one user cannot lock everyone out: root keeps room when a user
 * holds every other connection; the refused client's libinuse call fails
 * with -EBUSY and inuse-ls says inused is busy. */
static void test_root_keeps_room(void **state)
{
	const char *extra[] = {"--max-clients", "8", NULL};
	struct tdaemon S;
	struct actor a;
	char out[8192];
	int ok = 0, err = 0;
	json_t *j;

	need();
	start_other(&S, extra);
	actor_start(&a, &A, S.sock);
	for (int k = 0; k < 12; k++) {
		json_t *h;

		assert_string_equal(actor(&a, "open %d", k), "ok");
		actor(&a, "send %d {\"op\":\"hello\"}", k);
		h = actor_json(&a, "recv %d", k);
		if (json_is_true(json_object_get(h, "ok")))
			ok++;
		else
			assert_string_equal(err_code(h) ?: "?", "busy");
		json_decref(h);
	}
	/* all but root's room taken by one user */
	assert_int_equal(ok, 7);
	/* root still gets in */
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s %s 2>&1", td_bin("inuse-ls"),
			       S.sock, at("ro/readable")),
			 1);
	assert_non_null(strstr(out, "open for writing"));
	/* another user is refused, and told "busy" (libinuse: -EBUSY) */
	j = call_on(S.sock, &B, "{\"op\":\"hello\"}", &err);
	assert_string_equal(err_code(j) ?: "?", "busy");
	json_decref(j);
	{
		int p[2], st;
		pid_t pid;
		char buf[64] = "";

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		if (pid == 0) {
			struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = S.sock};
			struct inuse_client *c;
			struct inuse_result *r;
			const char *path = at("ro/readable");
			int e;

			become(&B);
			e = inuse_client__open(&o, &c);
			if (!e)
				e = inuse_client__check(c, &path, 1, &r);
			dprintf(p[1], "%d", e);
			_exit(0);
		}
		close(p[1]);
		assert_true(read(p[0], buf, sizeof(buf) - 1) > 0);
		close(p[0]);
		waitpid(pid, &st, 0);
		assert_int_equal(atoi(buf), -EBUSY);
	}
	assert_int_equal(td_sh(out, sizeof(out),
			       "setpriv --reuid=%d --regid=%d --clear-groups %s --socket %s 2>&1",
			       UID_B, UID_B, td_bin("inuse-ls"), S.sock),
			 2);
	assert_non_null(strstr(out, "busy"));
	actor_end(&a);
	stop_other(&S);
}

/* Item 8: connections, waits and subscriptions are bounded per user (the
 * defaults: 32, 256, 16): the user at its bound is told "busy" (libinuse:
 * -EBUSY; inuse-wait says so), another user and root are not. */
static void test_limits_per_user(void **state)
{
	struct tdaemon S;
	struct actor a, b;
	char out[8192];
	json_t *j;
	int k;

	need();
	start_other(&S, NULL);
	actor_start(&a, &A, S.sock);
	actor_start(&b, &B, S.sock);
	for (k = 0; k < 33; k++) {
		assert_string_equal(actor(&a, "open %d", k), "ok");
		actor(&a, "send %d {\"id\":%d,\"op\":\"hello\"}", k, k);
		j = actor_json(&a, "recv %d", k);
		if (k < 32) {
			assert_true(json_is_true(json_object_get(j, "ok")));
		} else {
			assert_string_equal(err_code(j) ?: "?", "busy");
			assert_non_null(strstr(json_string_value(json_object_get(
						   json_object_get(j, "error"), "message")),
					       "this user"));
		}
		json_decref(j);
	}
	actor(&a, "close 32");
	/* another user still gets in */
	assert_string_equal(actor(&b, "open 0"), "ok");
	actor(&b, "send 0 {\"op\":\"hello\"}");
	j = actor_json(&b, "recv 0");
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);

	/* waits: 256 pending, the next refused */
	for (int w = 0; w < 256; w++)
		actor(&a, "send 0 {\"id\":%d,\"op\":\"wait\",\"timeout\":60,\"paths\":[%s]}",
		      1000 + w, js(at("ro/readable")));
	actor(&a, "send 0 {\"id\":2000,\"op\":\"wait\",\"timeout\":60,\"paths\":[%s]}",
	      js(at("ro/readable")));
	j = actor_json(&a, "recv 0");
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 2000);
	assert_string_equal(err_code(j) ?: "?", "busy");
	json_decref(j);
	/* through a connection of its own: inuse-wait is refused, and says so */
	actor(&a, "close 31");
	assert_int_equal(td_sh(out, sizeof(out),
			       "setpriv --reuid=%d --regid=%d --clear-groups %s --socket %s "
			       "--timeout 60 %s 2>&1",
			       UID_A, UID_A, td_bin("inuse-wait"), S.sock, at("ro/readable")),
			 2);
	assert_non_null(strstr(out, "busy"));
	/* root's wait is not refused */
	j = td_call(&S, "{\"op\":\"wait\",\"timeout\":5,\"paths\":[%s]}", js(at("secret/none")));
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);

	/* subscriptions: 16, the next refused; root's not */
	for (k = 1; k <= 16; k++) {
		actor(&a, "send %d {\"id\":%d,\"op\":\"subscribe\"}", k, 100 + k);
		j = actor_json(&a, "recv %d", k);
		assert_true(json_is_true(json_object_get(j, "ok")));
		json_decref(j);
	}
	actor(&a, "send 17 {\"id\":200,\"op\":\"subscribe\"}");
	j = actor_json(&a, "recv 17");
	assert_string_equal(err_code(j) ?: "?", "busy");
	json_decref(j);
	{
		struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = S.sock};
		struct inuse_client *c;
		static const char req[] = "{\"op\":\"subscribe\"}";
		char *line = NULL;

		assert_int_equal(inuse_client__open(&o, &c), 0);
		assert_int_equal(inuse_client__call(c, req, sizeof(req) - 1, &line, NULL), 0);
		if (!strstr(line, "\"subscribed\":true"))
			fail_msg("root could not subscribe: %s", line);
		free(line);
		inuse_client__free(c);
	}
	actor_end(&a);
	actor_end(&b);
	stop_other(&S);
}

/* Item 8: bytes are bounded per user: a user whose clients hold more than
 * its bound (here a request line never finished) is not read from until
 * they let go, on any of its connections; another user is served
 * meanwhile (positive control, after which the absence is checked). */
static void test_bytes_bounded_per_user(void **state)
{
	const char *extra[] = {"--max-user-bytes", "1M", NULL};
	struct tdaemon S;
	struct actor a, b;
	const char *r;
	json_t *j;

	need();
	start_other(&S, extra);
	actor_start(&a, &A, S.sock);
	actor_start(&b, &B, S.sock);
	assert_string_equal(actor(&a, "open 0"), "ok");
	assert_string_equal(actor(&a, "open 1"), "ok");
	assert_string_equal(actor(&b, "open 0"), "ok");
	/* 1.1 MB of a line on one connection: the daemon reads it (it reads
	 * until the user is over its bound, and the rest fits in the
	 * socket's buffers) */
	r = actor(&a, "part 0 1153434");
	if (strcmp(r, "ok"))
		assert_true(strncmp(r, "sent ", 5) == 0 && strtoul(r + 5, NULL, 10) > (1ul << 20));
	actor(&a, "send 1 {\"id\":1,\"op\":\"hello\"}");
	/* another user is served after that */
	actor(&b, "send 0 {\"id\":2,\"op\":\"hello\"}");
	j = actor_json(&b, "recv 0");
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	actor(&b, "send 0 {\"id\":3,\"op\":\"stats\"}");
	json_decref(actor_json(&b, "recv 0"));
	/* the user over its bound is not */
	assert_string_equal(actor(&a, "poll 1"), "none");
	/* it lets go: its other request is answered */
	actor(&a, "close 0");
	j = actor_json(&a, "recv 1");
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 1);
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	actor_end(&a);
	actor_end(&b);
	stop_other(&S);
}

/* Item 9: a request is bounded in what it may hold (JSON values), and a
 * long one is answered in turns: paths 2000 directories deep are looked up
 * once each (not a lookup per prefix), and another client is served while
 * a client that does not read holds most of its answer back. */
static void test_long_requests_in_turns(void **state)
{
	struct actor a, b;
	struct strbuf req = {0};
	char deep[PATH_MAX];
	size_t n, got = 0;
	json_t *j;
	int fd;

	need();
	/* too many values: refused at once; a thousand paths are fine */
	sb_adds(&req, "{\"op\":\"check\",\"paths\":[");
	for (int i = 0; i < 300000; i++)
		sb_adds(&req, i ? ",\"/\"" : "\"/\"");
	sb_adds(&req, "]}");
	j = td_call(&D, "%s", req.buf);
	assert_string_equal(err_code(j) ?: "?", "bad_request");
	assert_non_null(strstr(
	    json_string_value(json_object_get(json_object_get(j, "error"), "message")), "at most"));
	json_decref(j);
	sb_reset(&req);
	sb_adds(&req, "{\"op\":\"check\",\"paths\":[");
	for (int i = 0; i < 1000; i++)
		sb_printf(&req, "%s%s", i ? "," : "", js(at("ro/readable")));
	sb_adds(&req, "]}");
	j = td_call(&D, "%s", req.buf);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1000);
	json_decref(j);

	/* 2000 directories deep */
	snprintf(deep, sizeof(deep), "%s", at("pub/deep"));
	assert_int_equal(mkdir(deep, 0755), 0);
	fd = open(deep, O_PATH | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 2000; i++) {
		int nfd;

		assert_int_equal(mkdirat(fd, "a", 0755), 0);
		nfd = openat(fd, "a", O_PATH | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = nfd;
		assert_true(fd >= 0);
	}
	close(openat(fd, "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	close(fd);
	n = strlen(deep);
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "/a");
	snprintf(deep + n, sizeof(deep) - n, "/f");
	sb_reset(&req);
	sb_adds(&req, "send 0 {\"id\":7,\"op\":\"check\",\"paths\":[");
	for (int i = 0; i < 1000; i++)
		sb_printf(&req, "%s\"%s\"", i ? "," : "", deep);
	sb_adds(&req, "]}");

	actor_start(&a, &A, D.sock);
	actor_start(&b, &B, D.sock);
	assert_string_equal(actor(&a, "open 0"), "ok");
	assert_string_equal(actor(&b, "open 0"), "ok");
	actor(&a, "%s", req.buf);
	/* A reads nothing; B is answered meanwhile */
	actor(&b, "send 0 {\"id\":8,\"op\":\"hello\"}");
	j = actor_json(&b, "recv 0");
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	/* A's answer, read now, is whole and right */
	j = actor_json(&a, "recv 0");
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 1000);
	for (size_t i = 0; i < 1000; i++)
		got += !strcmp(sval(file_i(j, i), "state") ?: "", "not_open");
	assert_int_equal(got, 1000);
	json_decref(j);
	actor_end(&a);
	actor_end(&b);
	sb_free(&req);
	td_rmtree(at("pub/deep"));
}

/* Item 10: a process whose name is not UTF-8 is listed as a writer, its
 * name as its bytes. */
static void test_writer_with_a_name_of_bytes(void **state)
{
	static const struct user root = {0, 0, 0, {0}};
	const char *p = at("ro/named");
	struct actor a;
	json_t *e, *w, *comm;
	size_t i;
	int pid;
	bool found = false;

	need();
	actor_start(&a, &root, D.sock);
	pid = atoi(actor(&a, "pid"));
	assert_string_equal(actor(&a, "name fffe626164"), "ok"); /* "\xff\xfe" "bad" */
	assert_string_equal(actor(&a, "hold %s", p), "ok");
	assert_true(td_wait_state(&D, p, "open"));
	assert_true(td_wait_writer(&D, p, pid, -1, NULL));
	e = td_entry(&D, p);
	json_array_foreach(json_object_get(e, "writers"), i, w)
	{
		if (json_integer_value(json_object_get(w, "pid")) != pid)
			continue;
		found = true;
		comm = json_object_get(w, "comm");
		assert_true(json_is_array(comm));
		assert_int_equal(json_array_size(comm), 5);
		assert_int_equal(json_integer_value(json_array_get(comm, 0)), 0xff);
		assert_int_equal(json_integer_value(json_array_get(comm, 1)), 0xfe);
		assert_int_equal(json_integer_value(json_array_get(comm, 4)), 'd');
	}
	json_decref(e);
	assert_true(found);
	actor(&a, "release");
	actor_end(&a);
}

/* Item 11: a subscriber that is not an admin gets the opening and the
 * closing of its own files, and nothing of another user's. */
static void test_subscriber_gets_close_of_its_own(void **state)
{
	struct actor s, mine, other;
	json_t *j;

	need();
	actor_start(&s, &A, D.sock);
	actor_start(&mine, &A, D.sock);
	actor_start(&other, &B, D.sock);
	assert_string_equal(actor(&s, "open 0"), "ok");
	actor(&s, "send 0 {\"id\":1,\"op\":\"subscribe\",\"under\":%s}", js(at("pub")));
	j = actor_json(&s, "recv 0");
	assert_true(json_is_true(json_object_get(j, "ok")));
	json_decref(j);
	/* another user's file comes and goes first */
	assert_string_equal(actor(&other, "hold %s", at("pub/b11")), "ok");
	assert_true(td_wait_state(&D, at("pub/b11"), "open"));
	actor(&other, "release");
	assert_true(td_wait_state(&D, at("pub/b11"), "not_open"));
	/* then the user's own */
	assert_string_equal(actor(&mine, "hold %s", at("pub/a11")), "ok");
	assert_true(td_wait_state(&D, at("pub/a11"), "open"));
	actor(&mine, "release");
	assert_true(td_wait_state(&D, at("pub/a11"), "not_open"));
	j = actor_json(&s, "recv 0");
	assert_string_equal(sval(j, "event") ?: "?", "open");
	assert_string_equal(sval(json_object_get(j, "file"), "path") ?: "?", at("pub/a11"));
	json_decref(j);
	j = actor_json(&s, "recv 0");
	assert_string_equal(sval(j, "event") ?: "?", "close");
	assert_string_equal(sval(json_object_get(j, "file"), "path") ?: "?", at("pub/a11"));
	json_decref(j);
	actor_end(&s);
	actor_end(&mine);
	actor_end(&other);
}

/* Item 12: a change of admin_group takes effect on SIGHUP, for new clients
 * and for those connected (judged again from the credentials they
 * connected with). */
static void test_admin_group_reload(void **state)
{
	struct actor a;
	json_t *j;
	bool admin = false;

	need();
	actor_start(&a, &A_other, D.sock);
	assert_string_equal(actor(&a, "open 0"), "ok");
	actor(&a, "send 0 {\"op\":\"hello\"}");
	j = actor_json(&a, "recv 0");
	assert_false(json_is_true(json_object_get(j, "admin")));
	json_decref(j);
	/* (all_users keeps the socket open to every user: its group follows
	 * the admin group, its mode the config) */
	write_file(conf, "admin_group = \"4245\";\nall_users = true;\n", 0644);
	kill(D.pid, SIGHUP);
	for (int t = 0; t < 1000 && !admin; t++) {
		j = call_as(&A_other, "{\"op\":\"hello\"}");
		admin = json_is_true(json_object_get(j, "admin"));
		json_decref(j);
		if (!admin)
			usleep(10000);
	}
	assert_true(admin);
	/* the client connected before, too */
	actor(&a, "send 0 {\"op\":\"hello\"}");
	j = actor_json(&a, "recv 0");
	assert_true(json_is_true(json_object_get(j, "admin")));
	json_decref(j);
	/* and back (seen on the connection made before) */
	write_file(conf, conf_text, 0644);
	kill(D.pid, SIGHUP);
	for (int t = 0; t < 1000 && admin; t++) {
		actor(&a, "send 0 {\"op\":\"hello\"}");
		j = actor_json(&a, "recv 0");
		admin = json_is_true(json_object_get(j, "admin"));
		json_decref(j);
		if (admin)
			usleep(10000);
	}
	assert_false(admin);
	chmod(D.sock, 0666); /* open to every user by hand again, for the others */
	j = call_as(&A_admin, "{\"op\":\"hello\"}");
	assert_true(json_is_true(json_object_get(j, "admin")));
	json_decref(j);
	actor_end(&a);
}

/* Item 12: an op name cut in the middle of a character (it is named in
 * the error up to a bound) is an unknown op, told in valid JSON. */
static void test_op_name_cut_mid_character(void **state)
{
	struct strbuf op = {0};
	json_t *j;
	const char *msg;

	need();
	sb_adds(&op, "x");
	for (int i = 0; i < 60; i++)
		sb_adds(&op, "\xc3\xa9"); /* é */
	j = td_call(&D, "{\"id\":5,\"op\":\"%s\"}", op.buf);
	assert_non_null(j);
	assert_string_equal(err_code(j) ?: "?", "unknown_op");
	msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "x\xc3\xa9"));
	json_decref(j);
	sb_free(&op);
}

/* Item 13: the command-line tools end without leaks (under SANITIZE=1,
 * LeakSanitizer makes a leaking program exit with a status other than 0). */
static void test_tools_exit_clean(void **state)
{
	char out[8192];

	need();
	td_touch(at("ro/closed"));
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s --timeout 5 %s %s 2>&1",
			       td_bin("inuse-wait"), D.sock, at("ro/closed"), at("ro/closed")),
			 0);
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s %s 2>&1", td_bin("inuse-ls"),
			       D.sock, at("ro/closed")),
			 0);
	/* a directory with nothing open under it: 0 (1 would mean a match) */
	mkdir(at("ro/none"), 0755);
	assert_int_equal(td_sh(out, sizeof(out), "%s --socket %s --json --under %s 2>&1",
			       td_bin("inuse-ls"), D.sock, at("ro/none")),
			 0);
}

/* Item 14: the service unit lets --metrics listen (AF_INET, AF_INET6) and
 * keeps the capabilities lookups with a client's credentials need. */
static void test_unit_allows_metrics_and_lookups(void **state)
{
	char *repo = realpath(td_bin(".."), NULL), path[PATH_MAX], line[1024];
	bool families = false, caps = false;
	FILE *f;

	assert_non_null(repo);
	snprintf(path, sizeof(path), "%s/contrib/systemd/inused.service.in", repo);
	free(repo);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "RestrictAddressFamilies=", 24)) {
			families = strstr(line, "AF_UNIX") && strstr(line, "AF_INET ") &&
				   strstr(line, "AF_INET6");
		}
		if (!strncmp(line, "CapabilityBoundingSet=", 22))
			caps = strstr(line, "CAP_SETUID") && strstr(line, "CAP_SETGID");
	}
	fclose(f);
	assert_true(families);
	assert_true(caps);
}

/* --all-users (or all_users in the config) opens the socket to every
 * local user; without it, 0660. */
static void test_all_users_option(void **state)
{
	const char *extra[] = {"--config", conf, "--all-users", NULL};
	struct tdaemon S;
	struct stat st;
	json_t *j;

	need();
	memset(&S, 0, sizeof(S));
	{
		assert_int_equal(td_start(&S, extra), 0);
		reg(S.pid);
		assert_int_equal(stat(S.sock, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0666);
		chmod(S.dir, 0755);
		j = call_on(S.sock, &A, "{\"op\":\"hello\"}", NULL);
		assert_true(json_is_true(json_object_get(j, "ok")));
		assert_false(json_is_true(json_object_get(j, "admin")));
		json_decref(j);
		stop_other(&S);
	}
	{
		const char *args[] = {"--config", conf, NULL};

		memset(&S, 0, sizeof(S));
		assert_int_equal(td_start(&S, args), 0);
		reg(S.pid);
		assert_int_equal(stat(S.sock, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0660);
		stop_other(&S);
	}
}

/* Item 6: a method is a program and its arguments; a command line for a
 * shell is refused, and a file named like options stays one argument: the
 * copy is made, and nothing the name says is run. */
static void test_method_is_an_argument_list(void **state)
{
	char out[16384], args[PATH_MAX * 2], cmd[PATH_MAX * 4], src[PATH_MAX], db[PATH_MAX];
	const char *bk = at("bk");
	struct tdaemon S;
	const char *sargs[] = {"--config", NULL, NULL};

	need();
	assert_int_equal(mkdir(bk, 0755), 0);
	snprintf(src, sizeof(src), "%s/src", bk);
	assert_int_equal(mkdir(src, 0755), 0);
	/* what sqlite3 would run given "-init EVIL" */
	snprintf(cmd, sizeof(cmd), ".shell touch %s/MARKER\n", bk);
	write_file(at("bk/EVIL"), cmd, 0644);
	snprintf(db, sizeof(db), "%s/x -init EVIL y.sqlite", src);
	assert_int_equal(td_sh(out, sizeof(out),
			       "python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
			       "c.execute(\"create table t(a)\"); c.execute(\"insert into t "
			       "values (42)\"); c.commit()' '%s'",
			       db),
			 0);
	/* a shell command line: refused, naming the list form */
	write_file(at("bk/shell.conf"),
		   "policy = { rules = ( { name = \"db\"; match = \"*.sqlite\";\n"
		   "  method = \"sqlite3 {path} \\\".backup '{dest}'\\\"\"; } ); };\n",
		   0644);
	snprintf(args, sizeof(args), "--config %s", at("bk/shell.conf"));
	if (inused_once(out, sizeof(out), args) != 1 || !strstr(out, "list of arguments"))
		fail_msg("a shell method was not refused: %s", out);
	/* the list form: loaded, and the file's name is one argument */
	write_file(at("bk/list.conf"),
		   "policy = { rules = ( { name = \"db\"; match = \"*.sqlite\";\n"
		   "  method = [ \"python3\", \"-I\", \"-c\", \"import sqlite3, sys; "
		   "s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); "
		   "s.backup(d); d.close()\", \"{path}\", \"{dest}\" ]; } ); };\n",
		   0644);
	sargs[1] = at("bk/list.conf");
	memset(&S, 0, sizeof(S));
	assert_int_equal(td_start(&S, sargs), 0);
	reg(S.pid);
	/* held open for writing, so the method is what copies it */
	{
		int fd = open(db, O_RDWR | O_CLOEXEC);
		int rc;

		assert_true(fd >= 0);
		assert_true(td_wait_state(&S, db, "open"));
		rc = td_sh(out, sizeof(out), "cd %s && %s --socket %s %s %s/out.tar", bk,
			   td_bin("inuse-backup"), S.sock, src, bk);
		close(fd);
		if (rc != 0 && rc != 1)
			fail_msg("inuse-backup: %d: %s", rc, out);
	}
	stop_other(&S);
	assert_non_null(strstr(out, "method "));
	assert_true(access(at("bk/MARKER"), F_OK) != 0);
	/* positive control: the copy, through the method, has the row */
	assert_int_equal(td_sh(out, sizeof(out),
			       "cd %s && mkdir x && tar -C x -xf out.tar && python3 -c 'import "
			       "sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select a "
			       "from t\").fetchone()[0])' 'x/x -init EVIL y.sqlite'",
			       bk),
			 0);
	assert_non_null(strstr(out, "42"));
}

/* Names reach the log escaped: a config file named with control bytes is
 * refused with a message of one line, no escape sequence in it; the name is
 * there, escaped (positive control). */
static void test_log_without_control_bytes(void **state)
{
	char out[8192], args[PATH_MAX];
	const char *nl;

	need();
	snprintf(args, sizeof(args), "--config '%s/x\033[31m\nfake: ok'", top);
	assert_int_equal(inused_once(out, sizeof(out), args), 1);
	assert_null(strchr(out, '\033'));
	nl = strchr(out, '\n');
	assert_non_null(nl);
	/* the message is one line: the next holds the shell's "rc=" */
	assert_int_equal(strncmp(nl + 1, "rc=", 3), 0);
	assert_non_null(strstr(out, "x\\e[31m\\nfake: ok"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_symlinks_followed_with_the_users_rights, teardown_each),
	    cmocka_unit_test_teardown(test_lookups_with_supplementary_groups, teardown_each),
	    cmocka_unit_test_teardown(test_forged_identities_ignored, teardown_each),
	    cmocka_unit_test_teardown(test_forged_identities_ignored_in_verify, teardown_each),
	    cmocka_unit_test_teardown(test_tokens_opaque_and_unforgeable, teardown_each),
	    cmocka_unit_test_teardown(test_stats_of_a_user_are_its_own, teardown_each),
	    cmocka_unit_test_teardown(test_admin_decided_at_connect, teardown_each),
	    cmocka_unit_test_teardown(test_config_must_be_roots, teardown_each),
	    cmocka_unit_test_teardown(test_lock_file_not_followed, teardown_each),
	    cmocka_unit_test_teardown(test_root_keeps_room, teardown_each),
	    cmocka_unit_test_teardown(test_limits_per_user, teardown_each),
	    cmocka_unit_test_teardown(test_bytes_bounded_per_user, teardown_each),
	    cmocka_unit_test_teardown(test_long_requests_in_turns, teardown_each),
	    cmocka_unit_test_teardown(test_writer_with_a_name_of_bytes, teardown_each),
	    cmocka_unit_test_teardown(test_subscriber_gets_close_of_its_own, teardown_each),
	    cmocka_unit_test_teardown(test_admin_group_reload, teardown_each),
	    cmocka_unit_test_teardown(test_op_name_cut_mid_character, teardown_each),
	    cmocka_unit_test_teardown(test_tools_exit_clean, teardown_each),
	    cmocka_unit_test_teardown(test_unit_allows_metrics_and_lookups, teardown_each),
	    cmocka_unit_test_teardown(test_all_users_option, teardown_each),
	    cmocka_unit_test_teardown(test_method_is_an_argument_list, teardown_each),
	    cmocka_unit_test_teardown(test_log_without_control_bytes, teardown_each),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	if (getenv("INUSE_TEST_FILTER"))
		cmocka_set_test_filter(getenv("INUSE_TEST_FILTER"));
	return cmocka_run_group_tests_name("access, limits, trusted files", tests, group_setup,
					   group_teardown);
}
