// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * hooks.bpf.c - the floor of inused's hook design: a program that returns
 * at once on every tracepoint inused attaches to on the paths bench/loop
 * measures (the system calls of the open family, close, dup2/dup3,
 * close_range, munmap, the renames; process fork, exec and exit; an inode
 * dirtied). What these cost a process is what any tracker on the same
 * hooks costs before it does anything (bench/run, section overhead).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NOTHING(sec, name)                                                                     \
	SEC(sec)                                                                               \
	int name(void *ctx)                                                                    \
	{                                                                                      \
		return 0;                                                                      \
	}

NOTHING("tracepoint/syscalls/sys_exit_openat", exit_openat)
NOTHING("tracepoint/syscalls/sys_exit_open", exit_open)
NOTHING("tracepoint/syscalls/sys_exit_creat", exit_creat)
NOTHING("tracepoint/syscalls/sys_exit_openat2", exit_openat2)
NOTHING("tracepoint/syscalls/sys_exit_open_by_handle_at", exit_open_by_handle_at)
NOTHING("tracepoint/syscalls/sys_enter_close", enter_close)
NOTHING("tracepoint/syscalls/sys_enter_dup2", enter_dup2)
NOTHING("tracepoint/syscalls/sys_enter_dup3", enter_dup3)
NOTHING("tracepoint/syscalls/sys_exit_close_range", exit_close_range)
NOTHING("tracepoint/syscalls/sys_exit_munmap", exit_munmap)
NOTHING("tracepoint/syscalls/sys_exit_rename", exit_rename)
NOTHING("tracepoint/syscalls/sys_exit_renameat", exit_renameat)
NOTHING("tracepoint/syscalls/sys_exit_renameat2", exit_renameat2)
NOTHING("tp_btf/sched_process_fork", on_fork)
NOTHING("tp_btf/sched_process_exec", on_exec)
NOTHING("tp_btf/sched_process_exit", on_exit)
NOTHING("tp_btf/writeback_mark_inode_dirty", on_dirty)
