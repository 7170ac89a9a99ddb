/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ctx.bpf.h - the programs' contexts, declared without CO-RE.
 *
 * Every type a program reads with CO-RE relocations costs the daemon's
 * start a search of the kernel's whole type table (about 126,000 types
 * here, some 1.5 ms each). These layouts are fixed by the kernel's ABI and
 * need none: the records of the syscall tracepoints (their format files:
 * 8 bytes of common fields, the call's number, then its arguments or
 * return value), the arguments of a raw tracepoint run on demand (an
 * array of u64, <linux/bpf.h>), and the contexts of the task iterators
 * (their arguments, one u64 slot each: meta, task, then fd or vma).
 */
#ifndef INUSE_CTX_BPF_H
#define INUSE_CTX_BPF_H

struct sys_enter_ctx {
	__u64 common;
	int nr; /* followed by padding */
	unsigned long args[6];
};

struct sys_exit_ctx {
	__u64 common;
	int nr;
	long ret;
};

struct raw_args {
	__u64 args[4];
};

struct iter_meta {
	struct seq_file *seq;
};

struct iter_task_file {
	struct iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

struct iter_task_vma {
	struct iter_meta *meta;
	struct task_struct *task;
	struct vm_area_struct *vma;
};

#endif
