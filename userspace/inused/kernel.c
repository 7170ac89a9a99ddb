// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/kernel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.skel.h"
#include "inused/corebtf.h"
#include "inused/fault.h"
#include "inused/iterread.h"
#include "inused/log.h"

/* Pseudo file systems whose "regular files" are control knobs, not data. */
static const uint32_t skip_magics[] = {
    0x9fa0,	/* proc */
    0x62656572, /* sysfs */
    0x27e0eb,	/* cgroup */
    0x63677270, /* cgroup2 */
    0x64626720, /* debugfs */
    0x74726163, /* tracefs */
    0x73636673, /* securityfs */
    0xcafe4a11, /* bpf */
    0x62656570, /* configfs */
    0x6165676c, /* pstore */
    0xde5e81e4, /* efivarfs */
    0xf97cff8c, /* selinuxfs */
    0x65735543, /* fusectl */
    0x42494e4d, /* binfmt_misc */
};

int kernel_mount_fs(void)
{
	struct stat st;

	if (stat("/sys/kernel/tracing/events", &st) == 0 ||
	    stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0) {
		int err = -errno;

		log_err("cannot mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
		return err;
	}
	log_info("mounted tracefs on /sys/kernel/tracing");
	return 0;
}

static uint32_t host_mntns(void)
{
	char buf[64] = "";
	unsigned int inum = 0;

	if (readlink("/proc/self/ns/mnt", buf, sizeof(buf) - 1) > 0)
		sscanf(buf, "mnt:[%u]", &inum);
	return inum;
}

bool kernel_record_ok(const struct inuse_ev *ev, size_t len)
{
	if (len < sizeof(*ev))
		return false;
	if (!(ev->evflags & INUSE_EVF_PATH))
		return true;
	return ev->path_len > 0 && ev->path_len < INUSE_PATH_MAX &&
	       ev->path_len <= len - sizeof(*ev);
}

static int ring_cb(void *ctx, void *data, size_t len)
{
	struct kernel *k = ctx;
	struct inuse_ev ev;

	/* records are 8-byte aligned in the ring; copied anyway, the
	 * header is small and the callee may keep pointers into it */
	if (len < sizeof(ev))
		return 0; /* not ours: skip, keep draining */
	memcpy(&ev, data, sizeof(ev));
	if (!kernel_record_ok(&ev, len))
		return 0;
	k->on_event(k->ctx, data, len);
	return 0;
}

/* With core, CO-RE relocations are resolved against a copy of the
 * kernel's type table cut short (corebtf.h), written to a memfd that libbpf
 * reads during the load. */
static int open_and_load(struct kernel *k, const struct kernel_opts *o, bool uring, bool core)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct corebtf_stats cs;
	struct inuse_bpf *s;
	char path[64];
	int err, mfd = -1;

	if (core) {
		mfd = memfd_create("inuse-core-btf", MFD_CLOEXEC);
		if (mfd < 0)
			return -errno;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
		oo.btf_custom_path = path;
	}
	s = inuse_bpf__open_opts(&oo);
	if (!s) {
		err = -errno ? -errno : -ENOMEM;
		goto out;
	}
	if (core) {
		uint64_t t0 = clock_mono_ns();

		err = corebtf_write(bpf_object__btf(s->obj), mfd, &cs);
		cs.ns = clock_mono_ns() - t0;
		if (err) {
			inuse_bpf__destroy(s);
			goto out;
		}
		k->core = cs;
	}
	bpf_map__set_max_entries(s->maps.inodes, (uint32_t)o->max_files);
	bpf_map__set_max_entries(s->maps.holders,
				 (uint32_t)(o->max_files < 65536 ? 65536 : o->max_files));
	bpf_map__set_max_entries(s->maps.events, (uint32_t)o->ring_bytes);
	s->rodata->wake_interval_ns = o->wake_interval_ns;
	s->rodata->ring_wake_bytes = o->ring_bytes / 4;
	s->rodata->host_mntns = host_mntns();
	/* the open exits tell the calls apart by number */
#ifdef SYS_open
	s->rodata->nr_open = SYS_open;
#endif
#ifdef SYS_creat
	s->rodata->nr_creat = SYS_creat;
#endif
	s->rodata->nr_openat2 = SYS_openat2;
	for (size_t i = 0; i < sizeof(skip_magics) / sizeof(skip_magics[0]); i++)
		s->rodata->skip_magic[i] = skip_magics[i];
	if (FAULT(NO_PSEUDO_FILTER))
		s->rodata->skip_magic[0] = 0;
	bpf_program__set_autoload(s->progs.on_uring_complete, uring);
	bpf_program__set_autoattach(s->progs.scan_files, false);
	bpf_program__set_autoattach(s->progs.scan_vmas, false);
	bpf_program__set_autoattach(s->progs.probe, false);
	bpf_program__set_autoattach(s->progs.walk, false);
	bpf_program__set_autoattach(s->progs.fdprobe, false);
	bpf_program__set_autoattach(s->progs.hashprobe, false);
	bpf_program__set_autoattach(s->progs.guard_probe, false);
	/* the same code verified once */
	k->share.n = 0;
	progshare_add(&k->share, s->progs.exit_openat, s->progs.exit_open);
	progshare_add(&k->share, s->progs.exit_openat, s->progs.exit_creat);
	progshare_add(&k->share, s->progs.exit_openat, s->progs.exit_openat2);
	progshare_add(&k->share, s->progs.exit_openat, s->progs.exit_open_by_handle_at);
	progshare_add(&k->share, s->progs.exit_rename, s->progs.exit_renameat);
	progshare_add(&k->share, s->progs.exit_rename, s->progs.exit_renameat2);

	err = inuse_bpf__load(s);
	if (err) {
		inuse_bpf__destroy(s);
		goto out;
	}
	k->skel = s;
	k->uring = uring;
out:
	if (mfd >= 0)
		close(mfd);
	if (err)
		memset(&k->core, 0, sizeof(k->core));
	return err;
}

/* The types cut short where the kernel's are all in vmlinux (else, or if
 * that fails, libbpf's own search of everything). */
static int load(struct kernel *k, const struct kernel_opts *o, bool uring)
{
	if (!o->full_btf && corebtf_usable()) {
		int err = open_and_load(k, o, uring, true);

		if (!err) {
			log_debug("CO-RE resolved against %u of the kernel's %u types (%u of them "
				  "reachable; written in %.1f ms)",
				  k->core.kept, k->core.kernel_types, k->core.reached,
				  (double)k->core.ns / 1e6);
			return 0;
		}
		log_debug("loading with the kernel's types cut short failed (%s); "
			  "loading with all of them",
			  strerror(-err));
	}
	return open_and_load(k, o, uring, false);
}

/* One page of the ring map read-only: the consumer position is on the
 * first page, the producer position on the second. */
static const unsigned long *map_ring_page(int fd, size_t page, off_t off)
{
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static int map_ring_positions(struct kernel *k)
{
	int fd = bpf_map__fd(k->skel->maps.events);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	k->ring_cons = map_ring_page(fd, page, 0);
	k->ring_prod = map_ring_page(fd, page, (off_t)page);
	if (!k->ring_cons || !k->ring_prod) {
		int err = -errno;

		log_err("cannot map the ring buffer's positions: %s", strerror(errno));
		kernel_close(k);
		return err;
	}
	return 0;
}

int kernel_open(struct kernel *k, const struct kernel_opts *o, kernel_event_fn fn, void *ctx)
{
	int err;

	memset(k, 0, sizeof(*k));
	k->on_event = fn;
	k->ctx = ctx;
	err = kernel_mount_fs();
	if (err)
		return err;

	err = o->no_uring ? -1 : load(k, o, true);
	if (err) {
		if (!o->no_uring)
			log_warn("io_uring hook does not load here (%s); io_uring opens are found "
				 "by their writes instead",
				 strerror(-err));
		err = load(k, o, false);
	}
	if (err) {
		log_err("cannot load the BPF programs: %s (inused needs Linux 6.2 or later with "
			"BTF)",
			strerror(-err));
		return err;
	}
	err = inuse_bpf__attach(k->skel);
	if (!err)
		err = progshare_attach(&k->share);
	if (err) {
		log_err("cannot attach the BPF programs: %s", strerror(-err));
		kernel_close(k);
		return err;
	}
	k->rb = ring_buffer__new(bpf_map__fd(k->skel->maps.events), ring_cb, k, NULL);
	if (!k->rb) {
		err = -errno;
		log_err("cannot set up the ring buffer: %s", strerror(errno));
		kernel_close(k);
		return err;
	}
	return map_ring_positions(k);
}

void kernel_close(struct kernel *k)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (k->ring_cons)
		munmap((void *)k->ring_cons, page);
	if (k->ring_prod)
		munmap((void *)k->ring_prod, page);
	k->ring_cons = k->ring_prod = NULL;
	ring_buffer__free(k->rb);
	k->rb = NULL;
	progshare_detach(&k->share);
	inuse_bpf__destroy(k->skel);
	k->skel = NULL;
}

int kernel_ring_fd(const struct kernel *k)
{
	if (!k->skel)
		return -1;
	return ring_buffer__epoll_fd(k->rb);
}

int kernel_drain(struct kernel *k)
{
	if (!k->skel)
		return 0; /* no BPF (tests): no events */
	return ring_buffer__consume(k->rb);
}

bool kernel_ring_pending(const struct kernel *k)
{
	if (!k->ring_cons || !k->ring_prod)
		return false;
	/* the producer position moves at the reservation, before the commit */
	return __atomic_load_n(k->ring_prod, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(k->ring_cons, __ATOMIC_ACQUIRE);
}

static int run_batch(struct bpf_program *prog, struct bpf_map *reqm, const void *req,
		     struct bpf_map *resm, void *res, size_t n);

int kernel_probe(struct kernel *k, const struct inuse_probe_req *req, struct inuse_probe_res *res,
		 size_t n)
{
	int err;

	if (!k->skel)
		return -ENODEV;
	if (n > INUSE_PROBE_BATCH)
		return -E2BIG;
	err = run_batch(k->skel->progs.probe, k->skel->maps.probe_req, req, k->skel->maps.probe_res,
			res, n);
	if (!err && n)
		k->probes++;
	return err;
}

int kernel_scan_records(char *data, size_t *len, char *rec, kernel_scan_fn fn, void *ctx)
{
	size_t off = 0;
	int ret = 0;

	while (*len - off >= sizeof(struct inuse_ev)) {
		struct inuse_ev h;
		size_t rl;

		/* copied out: records follow each other unaligned */
		memcpy(&h, data + off, sizeof(h));
		if ((h.type != INUSE_EV_SCAN && h.type != INUSE_EV_NAME) ||
		    h.path_len >= INUSE_PATH_MAX) {
			ret = -EPROTO;
			break;
		}
		rl = sizeof(h) + h.path_len;
		if (*len - off < rl)
			break;
		/* handed over aligned, with its path */
		memcpy(rec, data + off, rl);
		fn(ctx, (const struct inuse_ev *)(void *)rec, rl);
		off += rl;
	}
	memmove(data, data + off, *len - off);
	*len -= off;
	return ret;
}

struct scan_buf {
	char data[1 << 16];
	size_t len;
	kernel_scan_fn fn;
	void *ctx;
	/* one record, aligned for the callback */
	_Alignas(8) char rec[sizeof(struct inuse_ev) + INUSE_PATH_MAX];
};

/* The iterator's next bytes: its complete records to fn, the rest kept
 * (a record may straddle two reads; each fits in data). */
static int scan_feed(void *ctx, const char *buf, size_t len)
{
	struct scan_buf *b = ctx;

	while (len) {
		size_t n = sizeof(b->data) - b->len;
		int ret;

		if (n > len)
			n = len;
		memcpy(b->data + b->len, buf, n);
		b->len += n;
		buf += n;
		len -= n;
		ret = kernel_scan_records(b->data, &b->len, b->rec, b->fn, b->ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int kernel_scan(struct kernel *k, uint32_t pid, bool vmas, kernel_scan_fn fn, void *ctx)
{
	if (!k->skel)
		return -ENODEV;
	struct bpf_program *progs[2] = {k->skel->progs.scan_files, k->skel->progs.scan_vmas};
	union bpf_iter_link_info linfo;
	struct scan_buf *b;
	int ret = 0;

	b = malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->fn = fn;
	b->ctx = ctx;
	for (int p = 0; p < (vmas ? 2 : 1) && ret == 0; p++) {
		LIBBPF_OPTS(bpf_iter_attach_opts, o);
		struct bpf_link *link;
		int fd;

		memset(&linfo, 0, sizeof(linfo));
		if (pid) {
			linfo.task.pid = pid;
			o.link_info = &linfo;
			o.link_info_len = sizeof(linfo);
		}
		link = bpf_program__attach_iter(progs[p], pid ? &o : NULL);
		if (!link) {
			ret = -errno;
			break;
		}
		fd = bpf_iter_create(bpf_link__fd(link));
		if (fd < 0) {
			ret = -errno;
			bpf_link__destroy(link);
			break;
		}
		b->len = 0;
		/* a walk of every process is read on a second thread while
		 * this one takes its records */
		ret = iterread(fd, pid == 0, scan_feed, b);
		close(fd);
		bpf_link__destroy(link);
		k->scans++;
	}
	free(b);
	return ret;
}

/* Runs an on-demand program over n entries of its request map. */
static int run_batch(struct bpf_program *prog, struct bpf_map *reqm, const void *req,
		     struct bpf_map *resm, void *res, size_t n)
{
	int reqfd = bpf_map__fd(reqm), resfd = bpf_map__fd(resm);
	__u64 args[1] = {n};
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args, .ctx_size_in = sizeof(args));
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t keys[INUSE_PROBE_BATCH];
	uint32_t count = (uint32_t)n;

	_Static_assert(INUSE_HASH_BATCH <= INUSE_PROBE_BATCH, "batch keys");
	if (n == 0)
		return 0;
	if (n > INUSE_PROBE_BATCH)
		return -E2BIG;
	for (uint32_t i = 0; i < count; i++)
		keys[i] = i;
	if (bpf_map_update_batch(reqfd, keys, req, &count, &bopts))
		return -errno;
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &topts))
		return -errno;
	count = (uint32_t)n;
	if (bpf_map_lookup_batch(resfd, NULL, &(uint32_t){0}, keys, res, &count, &bopts) &&
	    errno != ENOENT)
		return -errno;
	return count < n ? -EIO : 0;
}

int kernel_walk(struct kernel *k, const struct inuse_walk_req *req, struct inuse_walk_res *res,
		size_t n)
{
	if (!k->skel)
		return -ENODEV;
	if (n > INUSE_WALK_BATCH)
		return -E2BIG;
	return run_batch(k->skel->progs.walk, k->skel->maps.walk_req, req, k->skel->maps.walk_res,
			 res, n);
}

int kernel_hashprobe(struct kernel *k, const struct inuse_walk_req *req, struct inuse_hash_res *res,
		     size_t n)
{
	if (!k->skel)
		return -ENODEV;
	if (n > INUSE_HASH_BATCH)
		return -E2BIG;
	return run_batch(k->skel->progs.hashprobe, k->skel->maps.hash_req, req,
			 k->skel->maps.hash_res, res, n);
}

int kernel_fdprobe(struct kernel *k, const int32_t *fds, struct inuse_fdprobe_res *res, size_t n)
{
	if (!k->skel)
		return -ENODEV;
	if (n > INUSE_FDPROBE_BATCH)
		return -E2BIG;
	return run_batch(k->skel->progs.fdprobe, k->skel->maps.fdprobe_req, fds,
			 k->skel->maps.fdprobe_res, res, n);
}

void kernel_set_hints(struct kernel *k, uint32_t holderless, uint32_t tracked)
{
	if (!k->skel)
		return;
	if (k->skel->bss->holderless_files != holderless)
		__atomic_store_n(&k->skel->bss->holderless_files, holderless, __ATOMIC_RELAXED);
	if (k->skel->bss->tracked_files != tracked)
		__atomic_store_n(&k->skel->bss->tracked_files, tracked, __ATOMIC_RELAXED);
}

static int inodes_fd(struct kernel *k)
{
	return bpf_map__fd(k->skel->maps.inodes);
}

int kernel_forget(struct kernel *k, uint32_t dev, uint64_t ino)
{
	if (!k->skel)
		return -ENODEV;
	struct inuse_key key = {.ino = ino, .dev = dev};

	if (bpf_map_delete_elem(inodes_fd(k), &key) && errno != ENOENT)
		return -errno;
	return 0;
}

int kernel_restore(struct kernel *k, uint32_t dev, uint64_t ino, uint64_t inode_ptr,
		   uint64_t mtime_ns)
{
	if (!k->skel)
		return -ENODEV;
	struct inuse_key key = {.ino = ino, .dev = dev};
	struct inuse_inode v = {.inode_ptr = inode_ptr, .open_gen = 1, .mtime_ns = mtime_ns};

	v.first_open_ns = clock_boot_ns();

	if (bpf_map_update_elem(inodes_fd(k), &key, &v, BPF_NOEXIST) && errno != EEXIST)
		return -errno;
	return 0;
}

int kernel_read_inode(struct kernel *k, uint32_t dev, uint64_t ino, struct inuse_inode *out)
{
	if (!k->skel)
		return -ENODEV;
	struct inuse_key key = {.ino = ino, .dev = dev};

	if (bpf_map_lookup_elem(inodes_fd(k), &key, out))
		return -errno;
	return 0;
}

int kernel_set_watch(struct kernel *k, uint32_t dev, uint64_t ino, bool watch)
{
	if (!k->skel)
		return -ENODEV;
	struct inuse_key key = {.ino = ino, .dev = dev};
	struct inuse_inode v;

	if (bpf_map_lookup_elem(inodes_fd(k), &key, &v))
		return -errno;
	v.watch = watch;
	if (bpf_map_update_elem(inodes_fd(k), &key, &v, BPF_EXIST))
		return -errno;
	return 0;
}

int kernel_holder_set(struct kernel *k, uint32_t pid, uint32_t flags)
{
	if (!k->skel)
		return -ENODEV;
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.holders), &pid, &flags, BPF_ANY))
		return -errno;
	return 0;
}

int kernel_holder_del(struct kernel *k, uint32_t pid)
{
	if (!k->skel)
		return -ENODEV;
	if (bpf_map_delete_elem(bpf_map__fd(k->skel->maps.holders), &pid) && errno != ENOENT)
		return -errno;
	return 0;
}

uint64_t kernel_lost(const struct kernel *k)
{
	if (!k->skel)
		return 0;
	return __atomic_load_n(&k->skel->bss->lost_events, __ATOMIC_RELAXED);
}

uint64_t kernel_map_full(const struct kernel *k)
{
	if (!k->skel)
		return 0;
	return __atomic_load_n(&k->skel->bss->map_full_events, __ATOMIC_RELAXED);
}

int kernel_stats(struct kernel *k, uint64_t out[INUSE_STAT_NR])
{
	if (!k->skel)
		return -ENODEV;
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(k->skel->maps.stats);
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (uint32_t i = 0; i < INUSE_STAT_NR; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

size_t kernel_attached(const struct kernel *k, const char **names, size_t max)
{
	struct bpf_program *p;
	size_t n = 0;

	if (!k->skel)
		return 0;
	bpf_object__for_each_program(p, k->skel->obj)
	{
		if (n < max && bpf_program__autoload(p) && bpf_program__autoattach(p))
			names[n++] = bpf_program__name(p);
	}
	return n;
}
