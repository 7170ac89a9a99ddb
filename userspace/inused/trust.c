// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/trust.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/strbuf.h"

#define MAX_LINKS 40

static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* path shown safely in a message */
static void say(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void say(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	struct strbuf b = {0};
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	name_display(&b, path, strlen(path));
	snprintf(err, errlen, "%s: %s", b.buf ? b.buf : "?", what);
	sb_free(&b);
}

/* Checks one thing met on the walk (st of the object named by shown). */
static int check_one(const struct stat *st, const char *shown, char *err, size_t errlen)
{
	if (!trusted_owner(st->st_uid)) {
		say(err, errlen, shown, "owned by uid %u, not by root: refused",
		    (unsigned)st->st_uid);
		return -EPERM;
	}
	if (S_ISLNK(st->st_mode))
		return 0;
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return 0; /* others may add entries, not replace root's */
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		say(err, errlen, shown, "writable by %s: refused",
		    (st->st_mode & S_IWOTH) ? "others" : "its group");
		return -EPERM;
	}
	return 0;
}

struct walk {
	char *rest; /* components still to walk, '/'-separated */
	char shown[PATH_MAX];
	size_t shown_len;
};

/* Appends a component to the path shown in messages. */
static void shown_add(struct walk *w, const char *c)
{
	size_t n = strlen(c);

	if (w->shown_len + n + 2 >= sizeof(w->shown))
		return;
	if (w->shown_len != 1)
		w->shown[w->shown_len++] = '/';
	memcpy(w->shown + w->shown_len, c, n + 1);
	w->shown_len += n;
}

static int open_root(struct walk *w, char *err, size_t errlen)
{
	struct stat st;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	strcpy(w->shown, "/");
	w->shown_len = 1;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		say(err, errlen, "/", "%s", strerror(-e));
		return e;
	}
	if (check_one(&st, "/", err, errlen)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int trust_open(const char *path, enum trust_kind kind, char *err, size_t errlen)
{
	struct walk w = {0};
	char cwd[PATH_MAX];
	int dir, links = 0, ret = -EINVAL;
	char *rest, *c;

	if (!path || !*path) {
		snprintf(err, errlen, "an empty path");
		return -EINVAL;
	}
	if (path[0] == '/') {
		w.rest = strdup(path);
	} else {
		if (!getcwd(cwd, sizeof(cwd))) {
			snprintf(err, errlen, "cannot tell the working directory: %s",
				 strerror(errno));
			return -errno;
		}
		if (asprintf(&w.rest, "%s/%s", cwd, path) < 0)
			w.rest = NULL;
	}
	if (!w.rest) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	dir = open_root(&w, err, errlen);
	if (dir < 0) {
		free(w.rest);
		return dir;
	}
	rest = w.rest;
	for (;;) {
		struct stat st;
		size_t shown_before = w.shown_len;
		bool last;
		int fd;

		while (*rest == '/')
			rest++;
		if (!*rest) {
			/* the path names a directory (or "/") */
			if (kind != TRUST_DIR) {
				say(err, errlen, path, "not a file");
				ret = -EISDIR;
				break;
			}
			ret = dir;
			dir = -1;
			break;
		}
		c = rest;
		rest += strcspn(rest, "/");
		last = !rest[strspn(rest, "/")];
		if (*rest)
			*rest++ = '\0';
		fd = openat(dir, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		shown_add(&w, c);
		if (fd < 0 || fstat(fd, &st) != 0) {
			ret = -errno;
			say(err, errlen, w.shown, "%s", strerror(errno));
			if (fd >= 0)
				close(fd);
			break;
		}
		if ((ret = check_one(&st, w.shown, err, errlen))) {
			close(fd);
			break;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX], *nrest;
			ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

			close(fd);
			if (n <= 0 || ++links > MAX_LINKS) {
				ret = n <= 0 ? -errno : -ELOOP;
				say(err, errlen, w.shown, "%s", strerror(-ret));
				break;
			}
			target[n] = '\0';
			if (asprintf(&nrest, "%s/%s", target, rest) < 0) {
				ret = -ENOMEM;
				snprintf(err, errlen, "out of memory");
				break;
			}
			free(w.rest);
			w.rest = rest = nrest;
			/* messages name the path the link leads to */
			w.shown_len = shown_before;
			w.shown[shown_before] = '\0';
			if (target[0] == '/') {
				close(dir);
				if ((dir = open_root(&w, err, errlen)) < 0) {
					ret = dir;
					break;
				}
			}
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			close(dir);
			dir = fd;
			continue;
		}
		if (!last) {
			close(fd);
			ret = -ENOTDIR;
			say(err, errlen, w.shown, "not a directory");
			break;
		}
		/* the last component: a file */
		if (kind == TRUST_DIR || !S_ISREG(st.st_mode)) {
			close(fd);
			ret = kind == TRUST_DIR ? -ENOTDIR : -EINVAL;
			say(err, errlen, w.shown,
			    kind == TRUST_DIR ? "not a directory" : "not a regular file");
			break;
		}
		if (kind == TRUST_PROGRAM && !(st.st_mode & S_IXUSR)) {
			close(fd);
			ret = -EACCES;
			say(err, errlen, w.shown, "not executable");
			break;
		}
		if (kind == TRUST_FILE) {
			/* the file checked, opened for reading through its
			 * checked directory; the same inode or nothing */
			int rfd = openat(dir, c, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
			struct stat rst;

			close(fd);
			if (rfd < 0 || fstat(rfd, &rst) != 0 || rst.st_dev != st.st_dev ||
			    rst.st_ino != st.st_ino) {
				ret = rfd < 0 ? -errno : -ESTALE;
				say(err, errlen, w.shown, "%s", strerror(-ret));
				if (rfd >= 0)
					close(rfd);
				break;
			}
			fd = rfd;
		}
		ret = fd;
		break;
	}
	if (dir >= 0)
		close(dir);
	free(w.rest);
	return ret;
}
