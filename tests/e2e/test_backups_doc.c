// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_backups_doc.c - docs/backups.md runs as written: its sh blocks, in
 * order, in one shell (set -euo pipefail), with the programs of this build
 * first in PATH and a daemon of the test's own running the installed
 * default policy (contrib/inused.conf). The shell runs in a session of its
 * own, killed whole at the end: nothing it started outlives the test.
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
static char top[PATH_MAX], repo[PATH_MAX], bindir[PATH_MAX], conf[PATH_MAX * 2];

static int group_setup(void **state)
{
	const char *args[] = {"--config", conf, NULL};
	char *r = realpath(td_bin(".."), NULL), *b = realpath(td_bin("."), NULL);

	if (!r || !b) {
		free(r);
		free(b);
		return -1;
	}
	snprintf(repo, sizeof(repo), "%s", r);
	snprintf(bindir, sizeof(bindir), "%s", b); /* build/, or build-san/ */
	free(r);
	free(b);
	snprintf(conf, sizeof(conf), "%s/contrib/inused.conf", repo);
	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	strcpy(top, "/var/tmp/inuse-doc-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	if (td_start(&D, args) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

static int group_teardown(void **state)
{
	td_stop(&D);
	return top[0] ? td_rmtree(top) : 0;
}

/* The doc's sh blocks, after a preamble, into script. */
static size_t extract(const char *doc, const char *script)
{
	FILE *in = fopen(doc, "r"), *out = fopen(script, "w");
	char line[4096];
	bool in_sh = false;
	size_t blocks = 0;

	assert_non_null(in);
	assert_non_null(out);
	fprintf(out,
		"set -euo pipefail\n"
		"export PATH='%s':\"$PATH\"\n"
		"export INUSE_SOCKET='%s' DEMO='%s/demo' TMPDIR='%s'\n"
		"export RESTIC_CACHE_DIR='%s/restic-cache' BORG_BASE_DIR='%s/borg-base'\n"
		"set -x\n",
		bindir, D.sock, top, top, top, top);
	while (fgets(line, sizeof(line), in)) {
		if (!in_sh && !strcmp(line, "```sh\n")) {
			in_sh = true;
			blocks++;
			continue;
		}
		if (in_sh && !strcmp(line, "```\n")) {
			in_sh = false;
			continue;
		}
		if (in_sh)
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
	return blocks;
}

static void test_backups_doc_runs(void **state)
{
	char doc[PATH_MAX * 2], script[PATH_MAX * 2], log[PATH_MAX * 2];
	pid_t pid;
	int st;

	td_need(&D);
	alarm(600);
	snprintf(doc, sizeof(doc), "%s/docs/backups.md", repo);
	snprintf(script, sizeof(script), "%s/doc.sh", top);
	snprintf(log, sizeof(log), "%s/doc.log", top);
	assert_true(extract(doc, script) >= 10);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setsid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/bin/bash", "bash", script, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	kill(-pid, SIGKILL); /* whatever the doc left behind */
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char cmd[PATH_MAX * 3];

		snprintf(cmd, sizeof(cmd), "tail -n 60 %s >&2", log);
		if (system(cmd) < 0)
			(void)0;
		fail_msg("docs/backups.md does not run as written (status %d)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backups_doc_runs),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests_name("docs/backups.md", tests, group_setup, group_teardown);
}
