/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * inuse_abi.h - the record layout shared by the BPF programs and inused.
 *
 * Types and constants only: fixed-size fields, explicit padding, a size check
 * on every record. Included by bpf/inuse.bpf.c (after vmlinux.h) and by the
 * daemon (after <linux/types.h>).
 */
#ifndef INUSE_ABI_H
#define INUSE_ABI_H

#define INUSE_COMM_LEN 16

/* Path buffer sizes of the three open-event classes (header excluded). */
#define INUSE_PATH_SMALL 256
#define INUSE_PATH_MEDIUM 1024
#define INUSE_PATH_MAX 4096

/* At most this many path components are walked in the kernel. */
#define INUSE_PATH_DEPTH 48

/* How many inodes one writer-count probe run reads. */
#define INUSE_PROBE_BATCH 512

/* At most one WRITE event per inode per this many ns. */
#define INUSE_WRITE_EVENT_NS 1000000ULL

/* Pseudo file systems whose regular files are never tracked. */
#define INUSE_SKIP_MAGIC_MAX 16

enum inuse_ev_type {
	INUSE_EV_OPEN = 1,     /* a regular file was opened for writing */
	INUSE_EV_CLOSE = 2,    /* an fd of a tracked writable file was closed */
	INUSE_EV_HINT = 3,     /* a holder dropped fds in a way not seen per fd */
	INUSE_EV_FORK = 4,     /* a holder forked: the child inherits its fds */
	INUSE_EV_EXEC = 5,     /* a holder exec'd: O_CLOEXEC fds are gone */
	INUSE_EV_EXIT = 6,     /* the last thread of a holder exited */
	INUSE_EV_DISCOVER = 7, /* a write to an untracked file with writers */
	INUSE_EV_WRITE = 8,    /* a tracked file was written (rate-limited) */
};

/* Why a HINT was sent (ev.aux). */
enum inuse_hint {
	INUSE_HINT_CLOSE_RANGE = 1,
	INUSE_HINT_DUP2 = 2,
	INUSE_HINT_MUNMAP = 3,
	INUSE_HINT_URING_CLOSE = 4,
};

/* ev.evflags */
#define INUSE_EVF_PATH 0x1      /* a path follows the header */
#define INUSE_EVF_TRUNC 0x2     /* the path was longer than the buffer */
#define INUSE_EVF_NEW_INODE 0x4 /* first writer of this inode seen */
#define INUSE_EVF_URING 0x8     /* opened through io_uring */
#define INUSE_EVF_FOREIGN_NS 0x10 /* opener in another mount namespace */
#define INUSE_EVF_UNLINKED 0x20 /* the dentry was already unlinked */

/* Inode identity. dev is the kernel's s_dev (MAJOR << 20 | MINOR). */
struct inuse_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* Per-inode state kept in the kernel map "inodes". */
struct inuse_inode {
	__u64 inode_ptr;     /* struct inode * (identity checked on read) */
	__u64 dentry_ptr;    /* dentry of the first open (hard links differ) */
	__u64 first_open_ns; /* CLOCK_BOOTTIME */
	__u64 last_write_ns; /* CLOCK_BOOTTIME, 0 = not seen written */
	__u64 write_gen;     /* dirtying events seen */
	__u64 open_gen;      /* write-opens seen */
	__u64 write_emit_ns; /* last WRITE event sent for this inode */
	__u32 watch;         /* nonzero: wake the daemon on events of this inode */
	__u32 flags;
};

/* Event header; OPEN and DISCOVER may be followed by a path. */
struct inuse_ev {
	__u32 type;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 ino;
	__u32 dev;
	__s32 fd;
	__u64 inode_ptr;
	__u64 cgroup_id;
	__u32 f_flags;    /* file->f_flags */
	__u32 f_mode;     /* file->f_mode */
	__u32 open_flags; /* flags the opener asked for (O_CREAT, O_TRUNC...) */
	__u32 aux;        /* FORK: child tgid; HINT: enum inuse_hint */
	__u32 evflags;    /* INUSE_EVF_* */
	__u32 path_len;   /* bytes of path after the header, no NUL */
	char comm[INUSE_COMM_LEN];
};
_Static_assert(sizeof(struct inuse_ev) == 96, "inuse_ev layout");

struct inuse_ev_path_s {
	struct inuse_ev h;
	char path[INUSE_PATH_SMALL];
};
struct inuse_ev_path_m {
	struct inuse_ev h;
	char path[INUSE_PATH_MEDIUM];
};
struct inuse_ev_path_l {
	struct inuse_ev h;
	char path[INUSE_PATH_MAX];
};

/*
 * One record of the task_file / task_vma iterators: a writable regular file
 * held by a task through an fd (fd >= 0) or a shared writable mapping
 * (fd == -1).
 */
struct inuse_scan_rec {
	__u64 ino;
	__u32 dev;
	__s32 fd;
	__u32 tgid;
	__u32 uid;
	__u64 inode_ptr;
	__u64 cgroup_id;
	__u64 start_ns; /* task start, CLOCK_BOOTTIME */
	__u32 f_flags;
	__u32 f_mode;
	__u32 path_len;
	__u32 evflags;
	char comm[INUSE_COMM_LEN];
	char path[INUSE_PATH_MAX];
};
/* Records are written as the header plus path_len bytes of path. */
#define INUSE_SCAN_HDR 80
_Static_assert(sizeof(struct inuse_scan_rec) == INUSE_SCAN_HDR + INUSE_PATH_MAX, "scan layout");

/* Writer-count probe: userspace fills req, runs the probe, reads res. */
struct inuse_probe_req {
	__u64 inode_ptr;
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

#define INUSE_PROBE_GONE 0x1 /* the inode is no longer there: no writer */

struct inuse_probe_res {
	__s32 writecount;
	__u32 nlink;
	__u32 flags;
	__u32 pad;
};

/* Counters in the "stats" per-CPU array. */
enum inuse_stat {
	INUSE_STAT_EVENTS = 0,
	INUSE_STAT_LOST,
	INUSE_STAT_MAP_FULL,
	INUSE_STAT_WAKEUPS,
	INUSE_STAT_WRITES,
	INUSE_STAT_DISCOVERED,
	INUSE_STAT_NR,
};

/* "holders" map values: why a process is on the list. */
#define INUSE_HOLDER_FD 0x1
#define INUSE_HOLDER_MMAP 0x2

#endif /* INUSE_ABI_H */
