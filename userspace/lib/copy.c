/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * copy.c - the copy loop: a consistent copy of a file that may never close
 * (a disk image, a log): wait until it is quiet, check, copy, verify, and
 * again until a copy verifies or the time is up; then the caller's
 * fallback (a frozen snapshot, later), else the last copy, flagged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"
#include "lib/client_timeout.h"

#define DEFAULT_TIMEOUT 300.0
/* A wait answers at its timeout: the call itself is given this much more. */
#define CALL_MARGIN_MS 2000

/* Waits (in slices the client's call timeout allows) until src is quiet or
 * closed (*done), or until deadline (mono ns). 0 or -errno. */
static int wait_quiet(struct inuse_client *c, const char *src, double quiet, uint64_t deadline,
		      bool *done)
{
	int tmo = inuse_client_timeout_ms(c);

	for (;;) {
		uint64_t now = clock_mono_ns();
		double left = now < deadline ? (double)(deadline - now) / 1e9 : 0;
		struct inuse_result *r;
		int err;

		if (tmo >= 0 && left > (double)(tmo - CALL_MARGIN_MS) / 1e3)
			left = tmo > CALL_MARGIN_MS ? (double)(tmo - CALL_MARGIN_MS) / 1e3 : 0;
		err = inuse_client__wait(c, &src, 1, left, quiet, &r);
		if (err)
			return err;
		*done = inuse_result__done(r);
		inuse_result__free(r);
		if (*done || clock_mono_ns() >= deadline)
			return 0;
	}
}

/* Copies the bytes, mode, owner (where allowed) and times of in to out. */
static int copy_fd(int in, int out)
{
	struct stat st;
	struct timespec ts[2];
	char buf[1 << 16];

	if (fstat(in, &st) != 0)
		return -errno;
	if (ftruncate(out, 0) != 0 || lseek(out, 0, SEEK_SET) != 0)
		return -errno;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (n == 0)
			break;
		if (n > 0)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		/* across file systems that cannot: by hand */
		while ((n = read(in, buf, sizeof(buf))) > 0)
			for (ssize_t o = 0; o < n;) {
				ssize_t w = write(out, buf + o, (size_t)(n - o));

				if (w < 0)
					return -errno;
				o += w;
			}
		if (n < 0)
			return -errno;
		break;
	}
	if (fchown(out, st.st_uid, st.st_gid) != 0 && errno != EPERM)
		return -errno;
	if (fchmod(out, st.st_mode & 07777) != 0)
		return -errno;
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (futimens(out, ts) != 0)
		return -errno;
	return 0;
}

/* Checks src (its token into *token) and copies it into tmpfd. */
static int check_and_copy(struct inuse_client *c, const char *src, int tmpfd, char **token)
{
	struct inuse_result *r;
	const struct inuse_file *f;
	int err, in;

	err = inuse_client__check(c, &src, 1, &r);
	if (err)
		return err;
	f = inuse_result__file(r, 0);
	if (!f || f->state == INUSE_MISSING)
		err = -ENOENT;
	else if (f->state == INUSE_NOT_REGULAR)
		err = -EINVAL;
	else if (f->state == INUSE_ERROR || !f->token)
		err = -EIO;
	else if (!(*token = strdup(f->token)))
		err = -ENOMEM;
	inuse_result__free(r);
	if (err)
		return err;
	in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (in < 0)
		return errno == ENOENT ? -ENOENT : -errno;
	err = copy_fd(in, tmpfd);
	close(in);
	return err;
}

/* Did src stay unchanged since its check? 1, 0 (reason set), or -errno. */
static int verified(struct inuse_client *c, const char *src, const char *token, char *reason,
		    size_t len)
{
	struct inuse_result *r;
	const struct inuse_file *f;
	int err = inuse_client__verify(c, &src, &token, 1, &r), ok;

	if (err)
		return err;
	f = inuse_result__file(r, 0);
	ok = f && f->consistent;
	snprintf(reason, len, "%s while copied", f && f->reason ? f->reason : "unknown");
	inuse_result__free(r);
	return ok;
}

int inuse_copy_file(struct inuse_client *c, const char *src, const char *dest,
		    const struct inuse_copy_opts *opts, struct inuse_copy_result *res)
{
	struct inuse_copy_opts o = {.sz = sizeof(o)};
	struct inuse_copy_result out = {.outcome = INUSE_COPY_FLAGGED};
	uint64_t start = clock_mono_ns(), deadline, waited = 0;
	char *tmp;
	int fd, err = 0;

	if (!src || !dest || !res)
		return -EINVAL;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (o.timeout <= 0)
		o.timeout = DEFAULT_TIMEOUT;
	if (o.quiet < 0)
		return -EINVAL;
	deadline = start + (uint64_t)(o.timeout * 1e9);
	if (asprintf(&tmp, "%s.inuse-XXXXXX", dest) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	for (;;) {
		uint64_t t0 = clock_mono_ns();
		char *token = NULL;
		bool quiet = false;
		int ok;

		err = wait_quiet(c, src, o.quiet, deadline, &quiet);
		waited += clock_mono_ns() - t0;
		if (!err)
			err = check_and_copy(c, src, fd, &token);
		if (!err) {
			out.attempts++;
			ok = verified(c, src, token, out.reason, sizeof(out.reason));
			err = ok < 0 ? ok : 0;
			/* a copy taken in the middle of a burst of writes is a state
			 * the file passed through, not one it rested in */
			if (ok > 0 && !quiet) {
				ok = 0;
				snprintf(out.reason, sizeof(out.reason), "%s",
					 o.quiet > 0 ? "never quiet" : "never closed");
			}
		}
		free(token);
		if (err)
			break;
		if (ok) {
			out.outcome = INUSE_COPY_CONSISTENT;
			out.reason[0] = '\0';
			break;
		}
		if (clock_mono_ns() >= deadline ||
		    (o.max_attempts && out.attempts >= o.max_attempts))
			break;
	}
	if (!err && out.outcome != INUSE_COPY_CONSISTENT && o.fallback &&
	    o.fallback(o.fallback_ctx, src, dest) == 0) {
		out.outcome = INUSE_COPY_FALLBACK;
		unlink(tmp);
	} else if (!err && rename(tmp, dest) != 0) {
		err = -errno;
	}
	if (err)
		unlink(tmp);
	close(fd);
	free(tmp);
	if (err)
		return err;
	out.waited = (double)waited / 1e9;
	*res = out;
	return 0;
}
