// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tproc.c - test helpers for processes, shell commands, files and scratch
 * directories. */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tdaemon.h"
#include "tproc.h"

int td_system(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t td_fork_child(void)
{
	pid_t pid = fork();

	if (pid == 0)
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	return pid;
}

static pid_t kids[16];
static int nkids;

pid_t td_fork_kid(void)
{
	pid_t pid = td_fork_child();

	assert_true(pid >= 0);
	if (pid > 0) {
		assert_true(nkids < (int)(sizeof(kids) / sizeof(kids[0])));
		kids[nkids++] = pid;
	}
	return pid;
}

void td_kill_kids(void)
{
	for (int i = 0; i < nkids; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	nkids = 0;
}

void td_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

char *td_slurp(const char *path, size_t *len)
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

const char *td_path(const char *dir, const char *name)
{
	static char buf[8][PATH_MAX];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], PATH_MAX, "%s/%s", dir, name);
	return buf[k];
}

int td_group_start(struct tdaemon *d, char *dir, const char *template)
{
	if (geteuid() != 0)
		return td_must_run() ? -1 : 0;
	snprintf(dir, PATH_MAX, "%s", template);
	if (!mkdtemp(dir))
		return -1;
	if (td_start(d, NULL) != 0)
		return td_must_run() ? -1 : 0;
	return 0;
}

int td_group_stop(struct tdaemon *d, const char *dir)
{
	td_stop(d);
	return td_rmtree(dir);
}
