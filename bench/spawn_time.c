// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * spawn_time.c - how long a command takes, process start included.
 *
 *   spawn_time OUTFILE CMD [ARG]...
 *
 * Runs CMD with its standard output in OUTFILE (truncated) and standard
 * error discarded, and prints the nanoseconds from fork to the end of
 * waitpid, then CMD's exit status.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	int out, st;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn_time OUTFILE CMD [ARG]...\n");
		return 2;
	}
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		perror(argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(out, 1);
		dup2(null, 2);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		perror("spawn_time");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld %d\n",
	       (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
