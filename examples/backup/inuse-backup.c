// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * inuse-backup - a directory backup with GNU tar that neither stores a torn
 * copy silently nor skips open files silently: an example of libinuse.
 *
 *   inuse-backup [--socket PATH] [--report FILE] [--max-wait SECONDS] SRC_DIR ARCHIVE
 *
 * For every regular file below SRC_DIR it asks inused (check) what to do:
 * copy it, defer it until its writer closes it (wait), skip it, flag it, or
 * let the application copy it (a method: a program and its arguments, run
 * without a shell, each file's path one whole argument), or take a
 * snapshot (inused freezes its writers for a moment and hands over a
 * consistent copy; refused or failed: a plain copy, flagged). After tar
 * has read the files, it asks whether any was opened or written meanwhile
 * (verify); those are waited for and appended again, once, and flagged if
 * they changed again. Every decision is a line of the report.
 *
 * Exit status: 0 all copied consistently, 1 archive written with flagged or
 * skipped files, 2 error.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "inuse.h"

#define BATCH 1000

struct file {
	char *abs;
	const char *rel; /* points into abs */
	char *token;
	enum inuse_decision decision;
	enum inuse_decision fallback;
	double defer_max;
	char **method; /* argv with "{path}" and "{dest}", or NULL */
	bool flagged;
};

static struct {
	struct file *f;
	size_t n, cap;
	size_t src_len;
} files;

static FILE *report;
static int flagged, skipped;
static const char *files_root; /* SRC_DIR */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fputc('\n', report);
	fflush(report);
}

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct file *f;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	if (files.n == files.cap) {
		size_t cap = files.cap ? files.cap * 2 : 256;
		struct file *nf = realloc(files.f, cap * sizeof(*nf));

		if (!nf)
			return -1;
		files.f = nf;
		files.cap = cap;
	}
	f = &files.f[files.n++];
	memset(f, 0, sizeof(*f));
	f->abs = strdup(path);
	if (!f->abs)
		return -1;
	f->rel = f->abs + files.src_len + 1;
	return 0;
}

static void argv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static char **argv_dup(const char *const *v)
{
	size_t n = 0;
	char **out;

	if (!v)
		return NULL;
	while (v[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out && i < n; i++) {
		if (!(out[i] = strdup(v[i]))) {
			argv_free(out);
			return NULL;
		}
	}
	return out;
}

/* Runs argv; returns its exit status, or -1. */
static int run(char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* tar --create or --append of the files marked in want[], read from dir. */
static int tar_files(const char *archive, const char *dir, bool append, bool *want)
{
	char list[] = "/tmp/inuse-backup-list-XXXXXX";
	int fd = mkstemp(list), rc;
	FILE *l;

	if (fd < 0 || !(l = fdopen(fd, "w")))
		return -1;
	for (size_t i = 0; i < files.n; i++)
		if (want[i])
			fwrite(files.f[i].rel, 1, strlen(files.f[i].rel) + 1, l);
	fclose(l);
	{
		char *argv[] = {"tar",
				append ? "--append" : "--create",
				"--file",
				(char *)archive,
				"-C",
				(char *)dir,
				"--null",
				"--verbatim-files-from",
				"--files-from",
				list,
				NULL};

		rc = run(argv);
	}
	unlink(list);
	/* 1: "file changed as we read it", which verify sorts out */
	return rc == 0 || rc == 1 ? 0 : -1;
}

/* Fills the decisions and tokens of the files marked in which[]. */
static int check(struct inuse_client *c, bool *which)
{
	const char *paths[BATCH];
	size_t idx[BATCH];

	for (size_t i = 0; i < files.n;) {
		struct inuse_result *r;
		size_t n = 0;
		int err;

		for (; i < files.n && n < BATCH; i++)
			if (which[i])
				idx[n] = i, paths[n++] = files.f[i].abs;
		if (!n)
			break;
		err = inuse_client__check(c, paths, n, &r);
		if (err) {
			fprintf(stderr, "inuse-backup: check: %s\n", strerror(-err));
			return -1;
		}
		if (inuse_result__count(r) != n) {
			/* answers must pair with the paths asked, one by one */
			fprintf(stderr, "inuse-backup: check: %zu answers for %zu paths\n",
				inuse_result__count(r), n);
			inuse_result__free(r);
			return -1;
		}
		for (size_t k = 0; k < n; k++) {
			const struct inuse_file *x = inuse_result__file(r, k);
			struct file *f = &files.f[idx[k]];

			free(f->token);
			argv_free(f->method);
			f->token = x->token ? strdup(x->token) : NULL;
			f->method = argv_dup(x->method_argv);
			f->decision = x->decision;
			f->fallback = x->fallback;
			f->defer_max = x->defer_max;
			if (x->decision == INUSE_SKIP || x->decision == INUSE_FLAG)
				say("%s %s: %s", x->decision == INUSE_SKIP ? "skipped" : "flagged",
				    f->abs, x->reason ? x->reason : "policy");
			skipped += x->decision == INUSE_SKIP;
			flagged += x->decision == INUSE_FLAG;
		}
		inuse_result__free(r);
	}
	return 0;
}

/* Waits for the files marked in which[] (up to timeout s). */
static int wait_for(struct inuse_client *c, bool *which, double timeout)
{
	const char **paths = calloc(files.n, sizeof(*paths));
	struct inuse_result *r;
	size_t n = 0;
	int err;

	if (!paths)
		return -1;
	for (size_t i = 0; i < files.n; i++)
		if (which[i])
			paths[n++] = files.f[i].abs;
	err = n ? inuse_client__wait(c, paths, n, timeout, 0, &r) : 0;
	free(paths);
	if (err) {
		fprintf(stderr, "inuse-backup: wait: %s\n", strerror(-err));
		return -1;
	}
	if (n)
		inuse_result__free(r);
	return 0;
}

/*
 * The method's arguments with "{path}" and "{dest}" replaced, each by one
 * whole argument: a file name, whatever bytes it holds, stays one
 * argument, and no shell ever reads it. Both are absolute, so neither can
 * be taken for an option. NULL when they are not.
 */
static char **fill_method(char **m, const char *path, const char *dest)
{
	size_t n = 0;
	char **out;

	if (path[0] != '/' || dest[0] != '/')
		return NULL;
	while (m[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out && i < n; i++)
		out[i] = !strcmp(m[i], "{path}")   ? (char *)path
			 : !strcmp(m[i], "{dest}") ? (char *)dest
						   : m[i];
	return out;
}

/* Appends root/rel to the archive; the name is read verbatim from a list,
 * so it is never taken for an option. */
static int append_one(const char *archive, const char *root, const char *rel)
{
	char list[] = "/tmp/inuse-backup-one-XXXXXX";
	int fd = mkstemp(list), rc;
	FILE *l = fd >= 0 ? fdopen(fd, "w") : NULL;
	char *argv[] = {"tar",		"--append",   "--file", (char *)archive,
			"-C",		(char *)root, "--null", "--verbatim-files-from",
			"--files-from", list,	      NULL};

	if (!l) {
		if (fd >= 0) {
			close(fd);
			unlink(list);
		}
		return -1;
	}
	fwrite(rel, 1, strlen(rel) + 1, l);
	fclose(l);
	rc = run(argv);
	unlink(list);
	return rc;
}

/* dest = stage/rel, its directories made. */
static void stage_path(char *dest, size_t cap, const char *stage, const char *rel)
{
	char *slash;

	snprintf(dest, cap, "%s/%s", stage, rel);
	for (slash = strchr(dest + strlen(stage) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dest, 0700);
		*slash = '/';
	}
}

/* Lets the application copy f into stage/rel; then appends it. A file
 * whose method cannot run or fails is never lost: a plain copy, flagged. */
static int method_copy(struct file *f, const char *stage, const char *archive)
{
	char dest[PATH_MAX], **argv;
	bool ran;
	int rc;

	stage_path(dest, sizeof(dest), stage, f->rel);
	argv = fill_method(f->method, f->abs, dest);
	ran = argv != NULL;
	rc = ran ? run(argv) : -1;
	free(argv);
	if (rc != 0) {
		if (append_one(archive, files_root, f->rel) != 0)
			return -1;
		if (!ran)
			say("flagged %s: method not run (not an absolute path): a plain copy is in "
			    "the archive",
			    f->abs);
		else
			say("flagged %s: method failed (status %d): a plain copy is in the archive",
			    f->abs, rc);
		flagged++;
		f->flagged = true;
		return 0;
	}
	if (append_one(archive, stage, f->rel) != 0)
		return -1;
	say("method %s", f->abs);
	return 0;
}

/* Writes what fd holds into a new file dest, with the owner, mode and
 * times of the source; 0 or -1. */
static int save_copy(int fd, const char *dest, const char *src)
{
	static char buf[1 << 16];
	struct stat st;
	off_t off = 0;
	ssize_t n = 0;
	int out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (out < 0)
		return -1;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
		off += n;
	}
	if (n == 0 && lstat(src, &st) == 0) {
		struct timespec ts[2] = {st.st_atim, st.st_mtim};

		if (fchown(out, st.st_uid, st.st_gid) || fchmod(out, st.st_mode & 07777))
			n = -1;
		futimens(out, ts);
	}
	if (close(out) || n != 0) {
		unlink(dest);
		return -1;
	}
	return 0;
}

/* Asks inused for a snapshot of f (its writers frozen for a moment, the
 * copy handed over as a descriptor) and appends it from stage/rel. Refused
 * or failed: a plain copy, flagged; never left out. */
static int snapshot_copy(struct inuse_client *c, struct file *f, const char *stage,
			 const char *archive)
{
	const char *paths[1] = {f->abs};
	const struct inuse_file *x = NULL;
	struct inuse_result *r = NULL;
	char dest[PATH_MAX];
	int err = inuse_client__snapshot(c, paths, 1, &r);
	const char *why;

	if (!err && inuse_result__count(r) == 1)
		x = inuse_result__file(r, 0);
	if (x && x->fd >= 0) {
		int cloned = x->cloned;

		stage_path(dest, sizeof(dest), stage, f->rel);
		err = save_copy(x->fd, dest, f->abs);
		inuse_result__free(r);
		if (!err && append_one(archive, stage, f->rel) == 0) {
			say("snapshot %s (%s)", f->abs, cloned ? "cloned" : "copied");
			return 0;
		}
		why = "the copy could not be stored";
	} else {
		inuse_result__free(r);
		why = err == -EPERM ? "refused" : err ? strerror(-err) : "no copy came";
	}
	if (append_one(archive, files_root, f->rel) != 0)
		return -1;
	say("flagged %s: snapshot not taken (%s): a plain copy is in the archive", f->abs, why);
	flagged++;
	f->flagged = true;
	return 0;
}

/* Verifies the copied files marked in which[]; clears the consistent ones
 * from which[] and returns how many are left. */
static long verify(struct inuse_client *c, bool *which)
{
	const char **paths = calloc(files.n, sizeof(*paths));
	const char **toks = calloc(files.n, sizeof(*toks));
	size_t *idx = calloc(files.n, sizeof(*idx)), n = 0;
	struct inuse_result *r = NULL;
	long left = 0;
	int err;

	if (!paths || !toks || !idx)
		return -1;
	for (size_t i = 0; i < files.n; i++)
		if (which[i])
			idx[n] = i, paths[n] = files.f[i].abs, toks[n++] = files.f[i].token;
	err = n ? inuse_client__verify(c, paths, toks, n, &r) : 0;
	if (err) {
		fprintf(stderr, "inuse-backup: verify: %s\n", strerror(-err));
		left = -1;
	}
	if (!err && n && inuse_result__count(r) != n) {
		fprintf(stderr, "inuse-backup: verify: %zu answers for %zu files\n",
			inuse_result__count(r), n);
		left = -1;
		err = -EPROTO;
	}
	for (size_t k = 0; !err && k < n; k++) {
		const struct inuse_file *x = inuse_result__file(r, k);

		if (x->consistent)
			which[idx[k]] = false;
		else
			left++;
	}
	if (r)
		inuse_result__free(r);
	free(paths);
	free(toks);
	free(idx);
	return left;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
					   {"report", required_argument, NULL, 'r'},
					   {"max-wait", required_argument, NULL, 'w'},
					   {"help", no_argument, NULL, 'h'},
					   {0}};
	struct inuse_client_opts o = {.sz = sizeof(o)};
	struct inuse_client *c;
	double max_wait = 60, defer = 0;
	char stage[] = "/tmp/inuse-backup-stage-XXXXXX";
	const char *src, *archive;
	bool *sel, *copy;
	int ch, err;

	report = stdout;
	while ((ch = getopt_long(argc, argv, "s:r:w:h", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket_path = optarg;
			break;
		case 'r':
			report = fopen(optarg, "w");
			if (!report) {
				perror(optarg);
				return 2;
			}
			break;
		case 'w':
			max_wait = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: inuse-backup [--socket PATH] [--report FILE] "
					"[--max-wait SECONDS] SRC_DIR ARCHIVE\n");
			return ch == 'h' ? 0 : 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "inuse-backup: need SRC_DIR and ARCHIVE\n");
		return 2;
	}
	src = argv[optind];
	archive = argv[optind + 1];
	files_root = src;
	if (src[0] != '/') {
		fprintf(stderr, "inuse-backup: SRC_DIR must be absolute\n");
		return 2;
	}
	files.src_len = strlen(src);
	while (files.src_len > 1 && src[files.src_len - 1] == '/')
		files.src_len--;
	if (nftw(src, collect, 32, FTW_PHYS) != 0) {
		perror(src);
		return 2;
	}
	o.timeout_ms = (int)(max_wait * 1000) + 30000;
	err = inuse_client__open(&o, &c);
	if (err) {
		fprintf(stderr, "inuse-backup: cannot reach inused: %s\n", strerror(-err));
		return 2;
	}
	sel = calloc(files.n + 1, sizeof(*sel));
	copy = calloc(files.n + 1, sizeof(*copy));
	if (!sel || !copy || !mkdtemp(stage))
		return 2;

	/* 1. what to do with each file */
	for (size_t i = 0; i < files.n; i++)
		sel[i] = true;
	if (check(c, sel))
		return 2;
	/* 2. deferred files: wait for their writers, then ask again */
	memset(sel, 0, files.n);
	for (size_t i = 0; i < files.n; i++) {
		if (files.f[i].decision == INUSE_DEFER) {
			sel[i] = true;
			if (files.f[i].defer_max > defer)
				defer = files.f[i].defer_max;
			say("deferred %s", files.f[i].abs);
		}
	}
	if (defer > max_wait)
		defer = max_wait;
	if (wait_for(c, sel, defer) || check(c, sel))
		return 2;
	for (size_t i = 0; i < files.n; i++) {
		struct file *f = &files.f[i];

		if (f->decision == INUSE_DEFER) { /* still open: the fallback */
			f->decision = f->fallback;
			if (f->decision == INUSE_SKIP) {
				say("skipped %s: still open for writing", f->abs);
				skipped++;
			} else if (f->decision == INUSE_FLAG) {
				say("flagged %s: still open for writing", f->abs);
				flagged++;
			}
		}
		copy[i] = (f->decision == INUSE_COPY || f->decision == INUSE_FLAG) && !f->method;
	}
	/* 3. the copy */
	if (tar_files(archive, src, false, copy)) {
		fprintf(stderr, "inuse-backup: tar failed\n");
		return 2;
	}
	for (size_t i = 0; i < files.n; i++) {
		struct file *f = &files.f[i];

		if ((f->decision == INUSE_COPY || f->decision == INUSE_FLAG) && f->method &&
		    method_copy(f, stage, archive))
			return 2;
		if (f->decision == INUSE_SNAPSHOT && snapshot_copy(c, f, stage, archive))
			return 2;
	}
	/* 4. the fence: anything opened or written while tar read it? */
	for (size_t i = 0; i < files.n; i++)
		sel[i] = copy[i] && files.f[i].decision == INUSE_COPY;
	if (verify(c, sel) > 0) {
		for (size_t i = 0; i < files.n; i++)
			if (sel[i])
				say("retried %s", files.f[i].abs);
		if (wait_for(c, sel, max_wait) || check(c, sel))
			return 2;
		if (tar_files(archive, src, true, sel))
			return 2;
		if (verify(c, sel) < 0)
			return 2;
		for (size_t i = 0; i < files.n; i++) {
			if (sel[i]) {
				say("flagged %s: written during the copy", files.f[i].abs);
				flagged++;
				files.f[i].flagged = true;
			}
		}
	}
	for (size_t i = 0; i < files.n; i++)
		if (copy[i] && files.f[i].decision == INUSE_COPY && !files.f[i].flagged)
			say("copied %s", files.f[i].abs);
	say("summary: %zu files, %d flagged, %d skipped", files.n, flagged, skipped);
	{
		char *argv2[] = {"rm", "-rf", stage, NULL};

		run(argv2);
	}
	inuse_client__free(c);
	free(sel);
	free(copy);
	for (size_t i = 0; i < files.n; i++) {
		free(files.f[i].abs);
		free(files.f[i].token);
		argv_free(files.f[i].method);
	}
	free(files.f);
	if (report != stdout)
		fclose(report);
	return flagged || skipped ? 1 : 0;
}
