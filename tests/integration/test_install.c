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
	    "usr/lib/libinuse.so.0",
	    "usr/lib/libinuse.so",
	    "usr/lib/libinuse.a",
	    "usr/lib/pkgconfig/libinuse.pc",
	    "usr/include/inuse.h",
	    "usr/lib/systemd/system/inused.service",
	    "etc/inuse/inused.conf.example",
	    "usr/share/man/man1/inuse-ls.1",
	    "usr/share/man/man1/inuse-wait.1",
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
	for (char *l = strtok_r(syms, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strstr(l, " T ") && !strstr(l, "@@LIBINUSE_0.1"))
			fail_msg("exported without the version: %s", l);
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
	static const char *const pages[] = {"man1/inuse-ls.1", "man1/inuse-wait.1",
					    "man5/inused.conf.5", "man8/inused.8"};

	if (sh("command -v man >/dev/null") != 0)
		td_skip_or_fail("man (man-db) is not installed");
	for (size_t i = 0; i < 4; i++) {
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
	    cmocka_unit_test(test_unit_verifies),
	    cmocka_unit_test(test_man_pages_render),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	td_filter_tests();
	return cmocka_run_group_tests_name("make install", tests, setup, teardown);
}
