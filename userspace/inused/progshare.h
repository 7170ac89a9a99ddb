/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * progshare.h - tracepoint programs whose code is the same (the exits of
 * the five open calls, of the three renames) loaded and verified
 * once, and that one program attached to each of their tracepoints: every
 * program verified costs start-up time.
 */
#ifndef INUSED_PROGSHARE_H
#define INUSED_PROGSHARE_H

#include <bpf/libbpf.h>
#include <stdbool.h>

#define PROGSHARE_MAX 8

struct progshare {
	struct {
		struct bpf_program *keep; /* loaded, attached to dup's tracepoint too */
		char category[32], name[64];
		struct bpf_link *link;
	} v[PROGSHARE_MAX];
	int n;
};

/* Before the object is loaded: when dup is a tracepoint program with the
 * same instructions as keep, dup is not loaded and keep stands for it.
 * Returns whether it does. */
bool progshare_add(struct progshare *s, struct bpf_program *keep, struct bpf_program *dup);

/* After the object is attached: each kept program to the tracepoints of
 * the programs it stands for. 0 or -errno. */
int progshare_attach(struct progshare *s);

void progshare_detach(struct progshare *s);

#endif
