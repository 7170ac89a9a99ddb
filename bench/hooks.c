// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hooks - loads and attaches bench/hooks.bpf.c (programs that do nothing
 * on inused's tracepoints), prints "ready", and holds them until its
 * standard input closes or it is signalled.
 *
 *     hooks
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bench/hooks.skel.h"

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct hooks_bpf *s;
	char c;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: hooks\n");
		return 2;
	}
	libbpf_set_print(quiet);
	/* tracepoint/ programs attach through tracefs */
	if (access("/sys/kernel/tracing/events", F_OK) != 0 &&
	    mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0) {
		fprintf(stderr, "hooks: cannot mount tracefs: %s\n", strerror(errno));
		return 1;
	}
	s = hooks_bpf__open_and_load();
	if (!s || hooks_bpf__attach(s)) {
		fprintf(stderr, "hooks: cannot load or attach: %s\n", strerror(errno));
		hooks_bpf__destroy(s);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	hooks_bpf__destroy(s);
	return 0;
}
