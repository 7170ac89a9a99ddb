/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * corebtf.h - the part of the kernel's type table that the BPF programs'
 * CO-RE relocations can resolve to.
 *
 * libbpf resolves a relocation by searching the whole kernel type table
 * (126,585 types on Linux 6.18) once for every type the programs name: the
 * largest part of loading them. Type ids follow the order in which the
 * kernel's types were deduplicated, and the programs' types come early
 * (the highest, io_open, is 29,775 here). corebtf writes a copy of the
 * table cut after the last type a relocation can reach, with the same ids:
 * every type of a name the programs use (their flavours' names without
 * the "___suffix"), and whatever such a type holds by value (members,
 * array elements, typedefs and qualifiers; a pointer's target is not
 * followed). The types before that point which none of those reach are
 * replaced by nameless "void *" entries, and references past the cut by
 * void, so that nothing dangles. libbpf, given the copy as its CO-RE
 * target (btf_custom_path), finds the same types at the same ids, so the
 * relocated programs are the same instruction for instruction
 * (tests/unit/test_corebtf.c loads both ways and compares).
 *
 * libbpf does not look in kernel modules' types when given a CO-RE target,
 * so the copy is not used where modules have types of their own
 * (/sys/kernel/btf holds more than vmlinux): there a btrfs or overlay type
 * may live in a module.
 */
#ifndef INUSED_COREBTF_H
#define INUSED_COREBTF_H

#include <stddef.h>
#include <stdint.h>

struct btf;

struct corebtf_stats {
	uint32_t kernel_types; /* in the kernel's table */
	uint32_t kept;	       /* ids in the copy */
	uint32_t reached;      /* of those, types the relocations can reach */
	uint64_t ns;	       /* time taken to write them (set by the caller) */
};

/* Whether the kernel's types are all in vmlinux (no module has its own). */
int corebtf_usable(void);

/*
 * Writes to fd (an empty file, such as a memfd) the kernel's type table
 * cut after the last type that a relocation of a program whose own types
 * are local can resolve to. 0, or -errno (then the caller loads without
 * it).
 */
int corebtf_write(const struct btf *local, int fd, struct corebtf_stats *st);

#endif
