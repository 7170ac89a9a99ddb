// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_trust.c - the walk that decides whether a file the daemon relies on
 * is out of other users' reach (trust.h); lookups with a client's
 * credentials (creds.h); what each user holds, and root's room (users.h).
 * The cases that need another owner, or another identity, run as root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inused/creds.h"
#include "inused/trust.h"
#include "inused/users.h"

static char dir[64];

static const char *in(const char *rel)
{
	static char buf[8][PATH_MAX];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], PATH_MAX, "%s/%s", dir, rel);
	return buf[k];
}

static void mkfile(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/inuse-trust-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Opens path as kind; returns 0 (closing it) or the error, with the
 * message in err. */
static int try(const char *path, enum trust_kind kind, char *err, size_t errlen)
{
	int fd;

	err[0] = '\0';
	fd = trust_open(path, kind, err, errlen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static void test_trusted_paths(void **state)
{
	char err[512], cwd[PATH_MAX];

	mkfile(in("ok.conf"), 0644);
	assert_int_equal(try(in("ok.conf"), TRUST_FILE, err, sizeof(err)), 0);
	assert_int_equal(try(dir, TRUST_DIR, err, sizeof(err)), 0);
	/* a relative path, and one through ".." */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(try("ok.conf", TRUST_FILE, err, sizeof(err)), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(mkdir(in("sub"), 0755), 0);
	assert_int_equal(try(in("sub/../ok.conf"), TRUST_FILE, err, sizeof(err)), 0);
	/* a sticky directory others may write (as /tmp) */
	assert_int_equal(mkdir(in("sticky"), 0777), 0);
	assert_int_equal(chmod(in("sticky"), 01777), 0);
	mkfile(in("sticky/f"), 0644);
	assert_int_equal(try(in("sticky/f"), TRUST_FILE, err, sizeof(err)), 0);
	/* a symlink of the daemon's own user, followed */
	assert_int_equal(symlink(in("ok.conf"), in("link")), 0);
	assert_int_equal(try(in("link"), TRUST_FILE, err, sizeof(err)), 0);
	assert_int_equal(symlink("ok.conf", in("rel-link")), 0);
	assert_int_equal(try(in("rel-link"), TRUST_FILE, err, sizeof(err)), 0);
	/* a program */
	mkfile(in("prog"), 0755);
	assert_int_equal(try(in("prog"), TRUST_PROGRAM, err, sizeof(err)), 0);
}

static void test_untrusted_paths(void **state)
{
	char err[512];

	mkfile(in("g.conf"), 0664);
	assert_int_equal(try(in("g.conf"), TRUST_FILE, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by its group"));
	assert_non_null(strstr(err, "g.conf"));
	mkfile(in("o.conf"), 0646);
	assert_int_equal(try(in("o.conf"), TRUST_FILE, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by others"));
	/* a directory others may write, not sticky: what is in it is not */
	assert_int_equal(mkdir(in("open"), 0777), 0);
	assert_int_equal(chmod(in("open"), 0777), 0);
	mkfile(in("open/f"), 0644);
	assert_int_equal(try(in("open/f"), TRUST_FILE, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "/open: writable by others"));
	/* through a symlink into it */
	assert_int_equal(symlink(in("open/f"), in("to-open")), 0);
	assert_int_equal(try(in("to-open"), TRUST_FILE, err, sizeof(err)), -EPERM);
	/* not what was asked for */
	mkfile(in("noexec"), 0644);
	assert_int_equal(try(in("noexec"), TRUST_PROGRAM, err, sizeof(err)), -EACCES);
	assert_int_equal(try(in("noexec"), TRUST_DIR, err, sizeof(err)), -ENOTDIR);
	assert_int_equal(try(dir, TRUST_FILE, err, sizeof(err)), -EISDIR);
	assert_int_equal(try(in("none"), TRUST_FILE, err, sizeof(err)), -ENOENT);
	/* a loop of symlinks ends */
	assert_int_equal(symlink(in("loop-b"), in("loop-a")), 0);
	assert_int_equal(symlink(in("loop-a"), in("loop-b")), 0);
	assert_int_equal(try(in("loop-a"), TRUST_FILE, err, sizeof(err)), -ELOOP);
}

/* Other owners: a file, a directory on the way, a symlink followed. */
static void test_other_owners(void **state)
{
	char err[512];

	if (geteuid() != 0)
		skip();
	mkfile(in("u.conf"), 0644);
	assert_int_equal(chown(in("u.conf"), 4242, 4242), 0);
	assert_int_equal(try(in("u.conf"), TRUST_FILE, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "owned by uid 4242"));
	assert_int_equal(mkdir(in("udir"), 0755), 0);
	mkfile(in("udir/f"), 0644);
	assert_int_equal(chown(in("udir"), 4242, 4242), 0);
	assert_int_equal(try(in("udir/f"), TRUST_FILE, err, sizeof(err)), -EPERM);
	/* a user's symlink in a sticky directory, to root's file */
	assert_int_equal(mkdir(in("st"), 0777), 0);
	assert_int_equal(chmod(in("st"), 01777), 0);
	mkfile(in("target"), 0644);
	assert_int_equal(symlink(in("target"), in("st/l")), 0);
	assert_int_equal(lchown(in("st/l"), 4242, 4242), 0);
	assert_int_equal(try(in("st/l"), TRUST_FILE, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "owned by uid 4242"));
}

/* Lookups with a client's credentials reach what the client could reach,
 * and the daemon's own rights come back. */
static void test_creds(void **state)
{
	struct peer p = {.uid = 4242, .gid = 4242, .ngroups = 0};
	struct peer g = {.uid = 4242, .gid = 4242, .ngroups = 1};
	struct peer unknown = {.uid = (uid_t)-1, .gid = (gid_t)-1};
	gid_t grp = 4246;
	int fd;

	if (geteuid() != 0)
		skip();
	g.groups = &grp;
	assert_int_equal(mkdir(in("private"), 0750), 0);
	assert_int_equal(chown(in("private"), 0, 4246), 0);
	mkfile(in("private/f"), 0640);
	assert_int_equal(chown(in("private/f"), 0, 4246), 0);
	assert_int_equal(creds_enter(&p), 0);
	fd = open(in("private/f"), O_PATH | O_CLOEXEC);
	creds_leave();
	assert_true(fd < 0);
	/* the daemon's own rights are back */
	fd = open(in("private/f"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	/* a supplementary group counts */
	assert_int_equal(creds_enter(&g), 0);
	fd = open(in("private/f"), O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(faccessat(fd, "", R_OK, AT_EMPTY_PATH | AT_EACCESS), 0);
	close(fd);
	creds_leave();
	/* an unknown peer reaches nothing: no lookup is made */
	assert_int_not_equal(creds_enter(&unknown), 0);
	fd = open(in("private/f"), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	close(fd);
	assert_true(peer_in_group(&g, 4246));
	assert_true(peer_in_group(&g, 4242));
	assert_false(peer_in_group(&p, 4246));
	assert_false(peer_in_group(&unknown, (gid_t)-1));
}

static void test_users(void **state)
{
	struct user_limits lim = {
	    .conns = 2, .waits = 1, .wait_paths = 10, .subs = 1, .bytes = 100};
	struct users u;
	struct user_usage *a, *a2, *root;

	users_init(&u, &lim);
	a = users_ref(&u, 4242);
	a2 = users_ref(&u, 4242);
	root = users_ref(&u, 0);
	assert_ptr_equal(a, a2);
	assert_int_equal(u.nusers, 2);
	a->conns = 2;
	root->conns = 100;
	assert_true(users_conns_full(&u, a));
	assert_false(users_conns_full(&u, root));
	a->waits = 0;
	assert_false(users_waits_full(&u, a, 10));
	assert_true(users_waits_full(&u, a, 11));
	a->waits = 1;
	assert_true(users_waits_full(&u, a, 1));
	/* bytes: over at the bound, and told when it goes back under */
	assert_false(users_charge(&u, a, 99));
	assert_false(users_bytes_over(a));
	assert_false(users_charge(&u, a, 1));
	assert_true(users_bytes_over(a));
	assert_true(users_charge(&u, a, -50));
	assert_false(users_bytes_over(a));
	assert_false(users_charge(&u, root, 1000));
	assert_false(users_bytes_over(root));
	/* root's room: a sixteenth of a bound, at least one */
	assert_true(users_global_room(4242, 14, 16));
	assert_false(users_global_room(4242, 15, 16));
	assert_true(users_global_room(0, 15, 16));
	assert_false(users_global_room(0, 16, 16));
	assert_true(users_global_room(4242, 239, 256));
	assert_false(users_global_room(4242, 240, 256));
	users_unref(&u, a);
	users_unref(&u, a2);
	users_unref(&u, root);
	assert_int_equal(u.nusers, 0);
	users_fini(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_trusted_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_untrusted_paths, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_other_owners, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_creds, setup, teardown),
	    cmocka_unit_test(test_users),
	};

	return cmocka_run_group_tests_name("trusted files, credentials, users", tests, NULL, NULL);
}
