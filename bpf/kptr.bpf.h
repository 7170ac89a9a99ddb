/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * kptr.bpf.h - kernel pointers read with plain loads, cheap to verify.
 *
 * A pointer cast with bpf_rdonly_cast() is an untrusted typed pointer: its
 * fields are read with plain loads that the kernel makes fault-safe (a bad
 * address reads as 0), with no helper call, and the cast itself is
 * rewritten into a register move. Loading a pointer field through a
 * *trusted* pointer (bpf_get_current_task_btf(), a tp_btf argument) costs
 * the verifier a walk of the kernel's whole type table per load, which
 * made most of the daemon's start-up time; untrusted pointers skip it.
 * Nothing read this way is passed to a helper that needs a trusted one.
 * Only types of the kernel proper are cast (the type id is looked up in
 * vmlinux); a module's (btrfs, overlay) are read with BPF_CORE_READ.
 */
#ifndef INUSE_KPTR_BPF_H
#define INUSE_KPTR_BPF_H

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

#define KCAST(type, p) ((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

/* The current task, as an untrusted typed pointer. */
#define KTASK() KCAST(struct task_struct, bpf_get_current_task())

#endif
