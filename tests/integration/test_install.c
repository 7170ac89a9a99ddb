// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_install.c - `make install DESTDIR=... PREFIX=/usr` puts everything in
 * place; a program builds against the installed header and library; the
 * unit file passes `systemd-analyze verify`; the man pages render.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"

static char dest[PATH_MAX], repo[PATH_MAX];

#define sh(fmt, ...) td_sh(NULL, 0, fmt, ##__VA_ARGS__)

static int setup(void **state)
{
	char *r = realpath(td_bin(".."), NULL);

	if (!r)
		return -1;
	snprintf(repo, sizeof(repo), "%s", r);
	free(r);
	strcpy(dest, "/tmp/inuse-install-XXXXXX");
	return mkdtemp(dest) ? 0 : -1;
}

static int teardown(void **state)
{
	return td_rmtree(dest);
}

static void test_make_install(void **state)
{
	static const char *const files[] = {
	    "usr/sbin/inused",
	    "usr/bin/inuse-ls",
	    "usr/bin/inuse-wait",
	    "usr/bin/inuse-run",
	    "usr/bin/inuse-copy",
	    "usr/bin/inuse-check",
	    "etc/inuse/inused.conf",
	    "usr/lib/libinuse.so.0",
	    "usr/lib/libinuse.so",
	    "usr/lib/libinuse.a",
	    "usr/lib/pkgconfig/libinuse.pc",
	    "usr/include/inuse.h",
	    "usr/lib/systemd/system/inused.service",
	    "etc/inuse/inused.conf.example",
	    "usr/share/man/man1/inuse-ls.1",
	    "usr/share/man/man1/inuse-wait.1",
	    "usr/share/man/man1/inuse-run.1",
	    "usr/share/man/man1/inuse-copy.1",
	    "usr/share/man/man1/inuse-check.1",
	    "usr/share/man/man5/inused.conf.5",
	    "usr/share/man/man8/inused.8",
	};
	char path[PATH_MAX * 2];

	assert_int_equal(sh("make -s -C %s install DESTDIR=%s PREFIX=/usr >/dev/null", repo, dest),
			 0);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dest, files[i]);
		if (access(path, F_OK))
			fail_msg("not installed: %s", files[i]);
	}
	/* the installed unit starts the installed daemon */
	assert_int_equal(sh("grep -q '^ExecStart=/usr/sbin/inused ' "
			    "%s/usr/lib/systemd/system/inused.service",
			    dest),
			 0);
	assert_int_equal(sh("grep -q '^prefix=/usr$' %s/usr/lib/pkgconfig/libinuse.pc", dest), 0);
}

/* A client builds against the installed header and library, and runs. */
static void test_build_against_installed_lib(void **state)
{
	static char syms[1 << 16];
	char src[PATH_MAX + 16], *save = NULL;
	FILE *f;

	snprintf(src, sizeof(src), "%s/client.c", dest);
	f = fopen(src, "w");
	assert_non_null(f);
	fputs("#include <errno.h>\n#include <inuse.h>\n"
	      "int main(void) {\n"
	      "  struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = \"/nonexistent\"};\n"
	      "  struct inuse_client *c;\n"
	      "  return inuse_client__open(&o, &c) == -ENOENT ? 0 : 1;\n}\n",
	      f);
	fclose(f);
	/* $INUSE_TEST_CFLAGS: a sanitized build's library needs the same */
	assert_int_equal(sh("cc $INUSE_TEST_CFLAGS -o %s/client %s -I%s/usr/include -L%s/usr/lib "
			    "-linuse -ljansson",
			    dest, src, dest, dest),
			 0);
	assert_int_equal(sh("LD_LIBRARY_PATH=%s/usr/lib %s/client", dest, dest), 0);
	/* only the API is exported, versioned: nm lists the API (the positive
	 * control: nm ran and read the library), and no function without
	 * the version */
	if (sh("command -v nm >/dev/null") != 0)
		td_skip_or_fail("nm (binutils) is not installed");
	assert_int_equal(
	    td_sh(syms, sizeof(syms), "nm -D --defined-only %s/usr/lib/libinuse.so.0", dest), 0);
	assert_non_null(strstr(syms, " T inuse_client__open@@LIBINUSE_0.1\n"));
	assert_non_null(strstr(syms, " T inuse_client__check@@LIBINUSE_0.1\n"));
	assert_non_null(strstr(syms, " T inuse_client__guard@@LIBINUSE_0.2\n"));
	for (char *l = strtok_r(syms, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strstr(l, " T ") && !strstr(l, "@@LIBINUSE_0.1") &&
		    !strstr(l, "@@LIBINUSE_0.2"))
			fail_msg("exported without the version: %s", l);
}

/* The config is installed when there is none, and never replaced. */
static void test_config_kept(void **state)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/etc/inuse/inused.conf", dest);
	assert_int_equal(sh("echo '# mine' >> %s", path), 0);
	assert_int_equal(sh("make -s -C %s install DESTDIR=%s PREFIX=/usr >/dev/null", repo, dest),
			 0);
	assert_int_equal(sh("tail -n 1 %s | grep -qx '# mine'", path), 0);
}

/* The service as installed starts: the unit's command line, with the
 * installed config (its paths under DESTDIR, a socket of the test's own). */
static void test_unit_starts(void **state)
{
	char unit[PATH_MAX * 2], line[4096], sock[PATH_MAX * 2], cmd[PATH_MAX * 8];
	FILE *f;
	char *exec = NULL;
	int rc;

	if (geteuid() != 0) {
		if (td_must_run())
			fail_msg("starting inused needs root");
		skip();
	}
	snprintf(unit, sizeof(unit), "%s/usr/lib/systemd/system/inused.service", dest);
	f = fopen(unit, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "ExecStart=", 10)) {
			line[strcspn(line, "\n")] = '\0';
			exec = strdup(line + 10);
		}
	fclose(f);
	assert_non_null(exec);
	assert_non_null(strstr(exec, "--config /etc/inuse/inused.conf"));
	snprintf(sock, sizeof(sock), "%s/inused.sock", dest);
	/* /usr/sbin/inused --config /etc/... -> $DEST/usr/sbin/inused --config $DEST/etc/... */
	snprintf(cmd, sizeof(cmd),
		 "set -- %s; bin=$1; shift; cfg=$(echo \"$*\" | sed 's|/etc/|%s/etc/|'); "
		 "%s$bin $cfg --socket %s >%s/inused.log 2>&1 & pid=$!; "
		 "for i in $(seq 1 200); do %s/usr/bin/inuse-ls --socket %s /etc/hosts >/dev/null 2>&1 "
		 "&& break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done; "
		 "%s/usr/bin/inuse-ls --socket %s /etc/hosts; rc=$?; kill $pid; wait $pid; exit $rc",
		 exec, dest, dest, sock, dest, dest, sock, dest, sock);
	rc = sh("%s", cmd);
	if (rc != 0)
		td_sh(NULL, 0, "cat %s/inused.log >&2", dest);
	assert_int_equal(rc, 0);
	free(exec);
}

static void test_unit_verifies(void **state)
{
	if (sh("command -v systemd-analyze >/dev/null") != 0)
		td_skip_or_fail("systemd-analyze (systemd) is not installed");
	/* verify wants ExecStart to exist and the Documentation= pages to be
	 * found: point both into DESTDIR */
	assert_int_equal(sh("sed 's|/usr/sbin/inused|%s/usr/sbin/inused|' "
			    "%s/usr/lib/systemd/system/inused.service > %s/inused.service",
			    dest, dest, dest),
			 0);
	assert_int_equal(
	    sh("MANPATH=%s/usr/share/man systemd-analyze verify %s/inused.service", dest, dest), 0);
}

static void test_man_pages_render(void **state)
{
	static const char *const pages[] = {"man1/inuse-ls.1",	  "man1/inuse-wait.1",
					    "man1/inuse-run.1",	  "man1/inuse-copy.1",
					    "man1/inuse-check.1", "man5/inused.conf.5",
					    "man8/inused.8"};

	if (sh("command -v man >/dev/null") != 0)
		td_skip_or_fail("man (man-db) is not installed");
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		char out[1 << 16], err[PATH_MAX + 16];

		/* rendered (a NAME section, bold: N\bN...), and without a warning */
		snprintf(err, sizeof(err), "%s/man.err", dest);
		assert_int_equal(td_sh(out, sizeof(out), "man -l -Tutf8 %s/usr/share/man/%s 2>%s",
				       dest, pages[i], err),
				 0);
		assert_non_null(strstr(out, "N\bNA\bAM\bME\bE"));
		assert_int_equal(sh("test -s %s", err), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_make_install),
	    cmocka_unit_test(test_build_against_installed_lib),
	    cmocka_unit_test(test_config_kept),
	    cmocka_unit_test(test_unit_starts),
	    cmocka_unit_test(test_unit_verifies),
	    cmocka_unit_test(test_man_pages_render),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("make install", tests, setup, teardown);
}
