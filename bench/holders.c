// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * holders.c - P processes, each holding F regular files open for writing,
 * for the listing and start-up benchmarks.
 *
 *   holders [--noise] [--share] DIR P F
 *
 * Child p opens DIR/h<p>_<f> (f < F) with O_WRONLY|O_CREAT; with --share
 * every child opens the same F files DIR/s_<f>. With --noise each child also
 * holds a read-only file, a pipe and a socket pair, which must not be listed.
 * When every child holds its files, "ready <pid>..." is printed on one line;
 * the children stay until holders reads end-of-file on its standard input or
 * gets SIGTERM, and die with it (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int hold(const char *dir, long p, long f, int noise, int share, int ready_fd)
{
	char path[4096];
	int fds[2];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (long i = 0; i < f; i++) {
		if (share)
			snprintf(path, sizeof(path), "%s/s_%ld", dir, i);
		else
			snprintf(path, sizeof(path), "%s/h%ld_%ld", dir, p, i);
		if (open(path, O_WRONLY | O_CREAT, 0644) < 0) {
			fprintf(stderr, "holders: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	if (noise) {
		snprintf(path, sizeof(path), "%s/readonly", dir);
		if (open(path, O_RDONLY) < 0 || pipe(fds) ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, fds)) {
			fprintf(stderr, "holders: noise: %s\n", strerror(errno));
			return 1;
		}
	}
	if (write(ready_fd, "", 1) != 1)
		return 1;
	close(ready_fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	int noise = 0, share = 0, ready[2], a = 1;
	struct rlimit rl;
	long p, f, ok = 0;
	pid_t *pids;
	char c, path[4096];

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--noise"))
			noise = 1;
		else if (!strcmp(argv[a], "--share"))
			share = 1;
		else
			break;
	}
	if (argc - a != 3 || (p = atol(argv[a + 1])) <= 0 || (f = atol(argv[a + 2])) <= 0) {
		fprintf(stderr, "usage: holders [--noise] [--share] DIR P F\n");
		return 2;
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < (rlim_t)f + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (noise) {
		snprintf(path, sizeof(path), "%s/readonly", argv[a]);
		close(open(path, O_WRONLY | O_CREAT, 0644));
	}
	if (pipe(ready))
		return 2;
	pids = calloc((size_t)p, sizeof(*pids));
	for (long i = 0; i < p; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("holders: fork");
			return 2;
		}
		if (!pids[i]) {
			close(ready[0]);
			_exit(hold(argv[a], i, f, noise, share, ready[1]));
		}
	}
	close(ready[1]);
	while (ok < p && read(ready[0], &c, 1) == 1)
		ok++;
	if (ok < p) {
		fprintf(stderr, "holders: only %ld of %ld children are ready\n", ok, p);
		kill(0, SIGKILL);
		return 2;
	}
	printf("ready");
	for (long i = 0; i < p; i++)
		printf(" %d", pids[i]);
	printf("\n");
	fflush(stdout);
	signal(SIGTERM, SIG_IGN);
	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < p; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	free(pids);
	return 0;
}
