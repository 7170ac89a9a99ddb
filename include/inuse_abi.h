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

/* The longest path the kernel side walks (scan records, path probes). */
#define INUSE_PATH_MAX 4096

/* At most this many path components are walked in the kernel: enough for
 * any path of INUSE_PATH_MAX bytes ("/a" per component). */
#define INUSE_PATH_DEPTH 2049

/* How many inodes one writer-count probe run reads. */
#define INUSE_PROBE_BATCH 512
/* How many paths one path probe run walks. */
#define INUSE_WALK_BATCH 32
/* How many of the daemon's own descriptors one descriptor probe reads. */
#define INUSE_FDPROBE_BATCH 256

/* At most one WRITE event per inode per this many ns. */
#define INUSE_WRITE_EVENT_NS 1000000ULL
/* At most one RELEASE hint per this many ns, machine-wide (they come from
 * every close and exit while files without a known holder are tracked),
 * and one RENAME hint. */
#define INUSE_RELEASE_HINT_NS 4000000ULL
#define INUSE_RENAME_HINT_NS 2000000ULL

/* Pseudo file systems whose regular files are never tracked. */
#define INUSE_SKIP_MAGIC_MAX 16

/* io_uring fixed-file slots walked per ring in a scan. */
#define INUSE_URING_SLOTS_MAX 65536

enum inuse_ev_type {
	INUSE_EV_OPEN = 1,     /* a regular file was opened for writing */
	INUSE_EV_CLOSE = 2,    /* an fd of a tracked writable file was closed */
	INUSE_EV_HINT = 3,     /* writers may have gone in a way not seen per fd */
	INUSE_EV_FORK = 4,     /* a holder forked: the child inherits its fds */
	INUSE_EV_EXEC = 5,     /* a holder exec'd: O_CLOEXEC fds are gone */
	INUSE_EV_EXIT = 6,     /* the last thread of a holder exited */
	INUSE_EV_DISCOVER = 7, /* a write to an untracked file with writers */
	INUSE_EV_WRITE = 8,    /* a tracked file was written (rate-limited) */
	INUSE_EV_NAME = 9,     /* another name of a tracked inode (overlay upper) */
	INUSE_EV_SCAN = 10,    /* a scan found a writer (iterators only) */
};

/* Why a HINT was sent (ev.aux). */
enum inuse_hint {
	INUSE_HINT_CLOSE_RANGE = 1, /* the sender dropped many fds */
	INUSE_HINT_DUP2 = 2,
	INUSE_HINT_MUNMAP = 3,	    /* the sender unmapped memory */
	INUSE_HINT_URING_CLOSE = 4, /* the sender closed an io_uring file */
	INUSE_HINT_RELEASE = 5,	    /* something closed or exited while files
				     * with no known holder are tracked */
	INUSE_HINT_RENAME = 6,	    /* something was renamed: paths may be stale */
};

/* ev.evflags */
#define INUSE_EVF_PATH 0x1	 /* a path follows the header */
#define INUSE_EVF_TRUNC 0x2	 /* the path was longer than the buffer */
#define INUSE_EVF_NEW_INODE 0x4	 /* first writer of this inode seen */
#define INUSE_EVF_URING 0x8	 /* opened through io_uring */
#define INUSE_EVF_FOREIGN_NS 0x10 /* opener in another mount namespace */
#define INUSE_EVF_UNLINKED 0x20	 /* the dentry was already unlinked */
#define INUSE_EVF_DETACHED 0x40	 /* the path does not reach its fs root */
#define INUSE_EVF_FIXED 0x80	 /* fd is an io_uring fixed-file slot */
#define INUSE_EVF_MMAP 0x100	 /* SCAN: held by a mapping, not an fd */
#define INUSE_EVF_NAME_WANTED 0x200 /* OPEN, DISCOVER: a name the daemon does not
				     * know yet; it walks dentry_ptr itself */

/* Inode identity: dev and ino as stat(2) reports them for the inode that
 * holds the data (dev in the kernel's encoding, MAJOR << 20 | MINOR). */
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
	__u64 write_gen;     /* writes seen (data dirtied or mtime moved) */
	__u64 open_gen;	     /* write-opens seen */
	__u64 write_emit_ns; /* last WRITE event sent for this inode */
	__u64 mtime_ns;	     /* the inode's mtime when last seen written */
	__u32 watch;	     /* nonzero: wake the daemon on events of this inode */
	__u32 flags;
	__u32 guard_gen; /* a member of this guarded job opened it for writing: its output */
	__u32 pad;
};

/*
 * The header of every ring record (fixed size: no path on the syscall
 * path) and of every scan record (SCAN and NAME, followed by path_len bytes
 * of path: the path of dentry_ptr within the file system of device
 * sb_dev).
 */
struct inuse_ev {
	__u32 type;
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	__u64 ino;
	__u32 dev;
	__s32 fd;
	__u64 inode_ptr;      /* the inode that holds the data */
	__u64 cgroup_id;
	__u64 dentry_ptr;     /* the dentry whose path follows */
	__u64 name_inode_ptr; /* that dentry's inode (an overlay inode, or inode_ptr) */
	__u64 start_ns;	      /* the process's start, CLOCK_BOOTTIME */
	__u32 sb_dev;	      /* device of the super block the path is in */
	__u32 f_flags;	      /* file->f_flags */
	__u32 f_mode;	      /* file->f_mode */
	__u32 open_flags;     /* flags the opener asked for (O_CREAT, O_TRUNC...) */
	__u32 aux;	      /* FORK: child tgid; HINT: enum inuse_hint */
	__u32 evflags;	      /* INUSE_EVF_* */
	__u32 path_len;	      /* bytes of path after the header, no NUL */
	__u32 pad;
	__u64 name_hash;      /* fingerprint of the path (INUSE_NAME_HASH) */
	char comm[INUSE_COMM_LEN];
};
_Static_assert(sizeof(struct inuse_ev) == 136, "inuse_ev layout");

/* A scan record with its path (the iterators write header + path_len). */
struct inuse_ev_path_l {
	struct inuse_ev h;
	char path[INUSE_PATH_MAX];
};

/* Writer-count probe: userspace fills req, runs the probe, reads res. */
struct inuse_probe_req {
	__u64 inode_ptr;
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

#define INUSE_PROBE_GONE 0x1	   /* the inode is no longer there: no writer */
#define INUSE_PROBE_UNTRACKED 0x2 /* fdprobe: a kind of file never tracked (a memfd,
				   * a /proc or /sys knob) */

struct inuse_probe_res {
	__s32 writecount;
	__u32 nlink;
	__u32 flags;
	__u32 pad;
	__u64 mtime_ns; /* ns since the epoch */
};
_Static_assert(sizeof(struct inuse_probe_res) == 24, "probe layout");

/*
 * A path's fingerprint: folded from the dcache's own hash and length of
 * every component name (qstr.hash_len) from the dentry up to its file
 * system's root. A rename of the file or of any directory above it changes
 * it; it costs two reads per component and copies no name.
 */
#define INUSE_NAME_HASH_MUL 0x100000001b3ULL
#define INUSE_NAME_HASH_INIT 0xcbf29ce484222325ULL

/* Fingerprint probe: the current fingerprint of many dentries at once. */
#define INUSE_HASH_BATCH 512

struct inuse_hash_res {
	__u64 name_hash; /* 0: the dentry no longer names the inode */
	__u32 evflags;	 /* INUSE_EVF_UNLINKED */
	__u32 pad;
};

/* Path probe: the path of a dentry that may be stale (checked against the
 * inode it named); with INUSE_WALK_UPPER, the upper file of the overlay
 * inode inode_ptr. */
#define INUSE_WALK_UPPER 0x1

struct inuse_walk_req {
	__u64 dentry_ptr;
	__u64 inode_ptr;
	__u32 flags;
	__u32 pad;
};

struct inuse_walk_res {
	__u32 len;     /* bytes of path, 0: the dentry no longer names the inode */
	__u32 evflags; /* INUSE_EVF_TRUNC, _UNLINKED, _DETACHED */
	__u32 sb_dev;
	__u32 pad;
	__u64 name_hash;
	__u64 dentry_ptr; /* the dentry walked (the upper one, for INUSE_WALK_UPPER) */
	char path[INUSE_PATH_MAX];
};

/* Descriptor probe: what the kernel knows of the files behind some of the
 * daemon's own descriptors (opened with O_PATH on a queried path). */
struct inuse_fdprobe_res {
	__u64 ino;	    /* key of the data inode */
	__u32 dev;
	__s32 writecount;   /* writers of the data inode */
	__u64 inode_ptr;    /* the data inode */
	__s32 name_writecount; /* writers of the inode the path names (overlay) */
	__u32 flags;	       /* INUSE_PROBE_GONE: no such descriptor */
};
_Static_assert(sizeof(struct inuse_fdprobe_res) == 32, "fdprobe layout");

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
#define INUSE_HOLDER_URING 0x4 /* holds io_uring fixed files */


/* ---- guarded jobs (inuse-run): see bpf/guard.bpf.h ---- */

/* Jobs at once (slots of the guard_job array and of the guard_reads map). */
#define INUSE_GUARD_JOBS 64
/* Reads a job's map holds at once (open, or to be reported): the template
 * of bpf/guard.bpf.h and every job slot's map are this size. */
#define INUSE_GUARD_READS 65536
/* Bits of the members' filter ("guard_bits", by tgid modulo this). */
#define INUSE_GUARD_BITS 65536
/* How many records one guard probe run reads. */
#define INUSE_GUARD_PROBE_BATCH 256

/* A process of a job ("guard_tasks" map, by tgid). */
struct inuse_guard_task {
	__u32 slot;  /* the job's slot */
	__u32 gen;   /* the job's generation: a member of an ended job is dropped */
	__u32 flags; /* INUSE_GUARD_* */
	__u32 pad;
};

/* Only the process's children join the job: its own reads are not
 * recorded (the wrapper that started the job). */
#define INUSE_GUARD_INHERIT_ONLY 0x1

/* A job slot (the "guard_job" array in the object's data, written by the
 * daemon through memory; the counters by the programs). */
struct inuse_guard_job {
	__u32 gen;	/* nonzero while the job runs */
	__u32 pad;
	__u64 reads;	/* files read (first opens recorded) */
	__u64 clean;	/* reads closed with nothing seen: their records dropped */
	__u64 dropped;	/* reads not recorded: the job's map was full */
	__s64 members;	/* processes in the job now (the wrapper included) */
	__u64 joined;	/* processes that joined */
	__u64 unjoined; /* children that could not join: the task map was full */
};

/* What a file looked like at one moment of a read. */
struct inuse_guard_snap {
	__u64 ns;	/* CLOCK_BOOTTIME; 0: not taken */
	__u64 size;
	__u64 mtime_ns; /* ns since the epoch */
	__u64 ctime_ns;
	__s32 writecount;    /* inode->i_writecount: open writers */
	__u32 mmap_writable; /* shared writable mappings of the file */
	__u32 ctime_queried; /* a later change takes a fine-grained time */
	__u32 pad;
};
_Static_assert(sizeof(struct inuse_guard_snap) == 48, "guard snap layout");

/* inuse_guard_read.flags */
#define INUSE_GREAD_UNLINKED 0x1 /* the name was already deleted at open */
#define INUSE_GREAD_OWN	     0x2 /* the job itself opened it for writing: its output */
#define INUSE_GREAD_OWN_META 0x4 /* the job itself changed it (times, mode) while reading it */

/*
 * A file a job read (the job's map in "guard_reads", keyed by struct
 * inuse_key of the inode that holds the data). Kept from the first open by
 * the job to its last close; dropped at that close when nothing was seen.
 */
struct inuse_guard_read {
	struct inuse_guard_snap open;  /* at the first open */
	struct inuse_guard_snap close; /* at the last close; ns 0: still open */
	__u64 wopens;		       /* write-opens of the file meanwhile */
	__u64 writes;		       /* writes seen meanwhile (the write hook) */
	__u64 last_mtime_ns;	       /* mtime when the write hook last counted */
	__u64 inode_ptr;
	__u64 dentry_ptr;	/* the name it was opened by */
	__u64 name_inode_ptr;	/* that dentry's inode (an overlay inode, or inode_ptr) */
	__u32 sb_dev;		/* the file system of that dentry */
	__u32 tgid;		/* the first reader */
	__s32 open_now;		/* opens by the job not closed yet */
	__u32 opens;		/* opens by the job */
	__u32 flags;		/* INUSE_GREAD_* */
	__u32 gen;		/* the job's generation (the slot's map outlives jobs) */
};
_Static_assert(sizeof(struct inuse_guard_read) == 168, "guard read layout");

/* Guard probe: a file's state now (the end of a read the job never closed). */
struct inuse_guard_probe_req {
	__u64 inode_ptr;
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

struct inuse_guard_probe_res {
	struct inuse_guard_snap snap;
	__u32 flags; /* INUSE_PROBE_GONE */
	__u32 nlink; /* 0: deleted */
};

#endif /* INUSE_ABI_H */
