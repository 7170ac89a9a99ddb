// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/progshare.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

bool progshare_add(struct progshare *s, struct bpf_program *keep, struct bpf_program *dup)
{
	const char *sec = bpf_program__section_name(dup);
	size_t n = bpf_program__insn_cnt(keep);
	int got;

	if (s->n == PROGSHARE_MAX || !sec || strcmp(bpf_program__section_name(keep), sec) == 0 ||
	    bpf_program__type(keep) != BPF_PROG_TYPE_TRACEPOINT ||
	    bpf_program__type(dup) != BPF_PROG_TYPE_TRACEPOINT || bpf_program__insn_cnt(dup) != n ||
	    memcmp(bpf_program__insns(keep), bpf_program__insns(dup), n * sizeof(struct bpf_insn)))
		return false;
	/* "tracepoint/CATEGORY/NAME" (or "tp/") */
	got = sscanf(sec, "%*[^/]/%31[^/]/%63s", s->v[s->n].category, s->v[s->n].name);
	if (got != 2)
		return false;
	s->v[s->n].keep = keep;
	s->v[s->n].link = NULL;
	s->n++;
	bpf_program__set_autoload(dup, false);
	return true;
}

int progshare_attach(struct progshare *s)
{
	for (int i = 0; i < s->n; i++) {
		s->v[i].link =
		    bpf_program__attach_tracepoint(s->v[i].keep, s->v[i].category, s->v[i].name);
		if (!s->v[i].link) {
			int err = -errno;

			progshare_detach(s);
			return err ? err : -EINVAL;
		}
	}
	return 0;
}

void progshare_detach(struct progshare *s)
{
	for (int i = 0; i < s->n; i++) {
		bpf_link__destroy(s->v[i].link);
		s->v[i].link = NULL;
	}
}
