// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* spawn.c - helper programs: the tool again for retries and records,
 * compressors, application methods. Never through a shell. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "inuse-run/run.h"

void say_command(const char *what, char *const *argv)
{
	struct strbuf b = {0};

	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_adds(&b, " ");
		name_display(&b, argv[i], strlen(argv[i]));
	}
	fprintf(stderr, "inuse-run: %s: %s\n", what, b.buf ? b.buf : "");
	sb_free(&b);
}

/* Waits for the child: its exit status, 128 + signal, or -1. */
static int child_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

int spawn(char *const *argv, const char *cwd, const char *stdin_data, size_t stdin_len, char *out,
	  size_t outlen)
{
	int in[2] = {-1, -1}, o[2] = {-1, -1};
	size_t fed = 0, got = 0;
	pid_t pid;

	if ((stdin_data && pipe2(in, O_CLOEXEC)) || (out && pipe2(o, O_CLOEXEC)))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (stdin_data)
			dup2(in[0], 0);
		else if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		if (out)
			dup2(o[1], 1);
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	if (stdin_data)
		close(in[0]);
	if (out)
		close(o[1]);
	/* feed and drain together: neither side may block the other */
	while ((stdin_data && in[1] >= 0) || (out && o[0] >= 0)) {
		struct pollfd p[2];
		int np = 0, wi = -1, ri = -1;

		if (stdin_data && in[1] >= 0) {
			p[np] = (struct pollfd){.fd = in[1], .events = POLLOUT};
			wi = np++;
		}
		if (out && o[0] >= 0) {
			p[np] = (struct pollfd){.fd = o[0], .events = POLLIN};
			ri = np++;
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (wi >= 0 && p[wi].revents) {
			ssize_t n =
			    fed < stdin_len ? write(in[1], stdin_data + fed, stdin_len - fed) : 0;

			if (n > 0)
				fed += (size_t)n;
			if (n <= 0 || fed == stdin_len) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (ri >= 0 && p[ri].revents) {
			char sink[4096];
			ssize_t n;

			if (got + 1 < outlen)
				n = read(o[0], out + got, outlen - 1 - got);
			else
				n = read(o[0], sink, sizeof(sink));
			if (n > 0 && got + 1 < outlen)
				got += (size_t)n;
			if (n <= 0) {
				close(o[0]);
				o[0] = -1;
			}
		}
	}
	if (out)
		out[got] = '\0';
	return child_status(pid);
}

int spawn_fd(char *const *argv, const char *cwd, int in_fd, int out_fd)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (in_fd >= 0)
			dup2(in_fd, 0);
		else if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	return child_status(pid);
}
