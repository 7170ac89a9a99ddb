// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/snapcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timeutil.h"

#define CHUNK (8 << 20)

/* An unnamed file in dir (O_TMPFILE), or -errno. */
static int tmpfile_in(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd >= 0 ? fd : -errno;
}

/* The directory of path, into buf. */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/* A read-only descriptor of the same file; the writable one is closed. */
static int reopen_ro(int fd)
{
	char p[64];
	int ro;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	ro = open(p, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		ro = -errno;
	close(fd);
	return ro;
}

bool snap_can_clone(const char *dir)
{
	int a = tmpfile_in(dir), b;
	bool ok = false;

	if (a < 0)
		return false;
	b = tmpfile_in(dir);
	if (b >= 0) {
		ok = write(a, "x", 1) == 1 && ioctl(b, FICLONE, a) == 0;
		close(b);
	}
	close(a);
	return ok;
}

/* Plain copy of src_fd into fd, in chunks, the deadline checked between
 * them. */
static int copy_chunks(int src_fd, int fd, uint64_t size, uint64_t deadline)
{
	static char buf[1 << 16];
	loff_t in = 0, out = 0;

	while ((uint64_t)in < size) {
		size_t want = size - (uint64_t)in < CHUNK ? (size_t)(size - (uint64_t)in) : CHUNK;
		ssize_t n = copy_file_range(src_fd, &in, fd, &out, want, 0);

		if (n < 0 &&
		    (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) {
			/* by hand */
			size_t done = 0;

			while (done < want) {
				size_t w = want - done < sizeof(buf) ? want - done : sizeof(buf);
				ssize_t r = pread(src_fd, buf, w, in);

				if (r < 0)
					return -errno;
				if (r == 0)
					break;
				if (pwrite(fd, buf, (size_t)r, out) != r)
					return -EIO;
				in += r;
				out += r;
				done += (size_t)r;
			}
			n = (ssize_t)done;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			break; /* shorter than it was */
		if (clock_mono_ns() >= deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

int snap_copy(int src_fd, const char *src_path, const char *spool, uint64_t max_size,
	      uint64_t deadline, struct snapcopy *out, const char **why)
{
	char dir[PATH_MAX];
	struct stat st;
	int fd, err;

	out->fd = -1;
	out->bytes = 0;
	out->cloned = false;
	*why = NULL;
	if (fstat(src_fd, &st)) {
		*why = "cannot stat the file";
		return -errno;
	}
	/* a clone beside the file: the same file system, no data copied */
	dir_of(src_path, dir, sizeof(dir));
	fd = tmpfile_in(dir);
	if (fd >= 0 && ioctl(fd, FICLONE, src_fd) == 0) {
		out->cloned = true;
	} else {
		if (fd >= 0)
			close(fd);
		if (max_size && (uint64_t)st.st_size > max_size) {
			*why = "larger than snapshot_max_size, and the file system cannot clone it";
			return -EFBIG;
		}
		fd = tmpfile_in(spool);
		if (fd < 0) {
			*why = "cannot create the copy in the spool directory";
			return fd;
		}
		err = copy_chunks(src_fd, fd, (uint64_t)st.st_size, deadline);
		if (err) {
			close(fd);
			*why = err == -ETIMEDOUT ? "the copy took longer than freeze_max"
						 : "the copy failed";
			return err;
		}
	}
	fd = reopen_ro(fd);
	if (fd < 0) {
		*why = "cannot reopen the copy";
		return fd;
	}
	if (fstat(fd, &st) == 0)
		out->bytes = (uint64_t)st.st_size;
	out->fd = fd;
	return 0;
}
