// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * job.c - the command, run as a guarded job: inuse-run makes itself the
 * job's first member (its own reads are not recorded), forks the command,
 * which with everything it starts is in the job, waits for it, and asks
 * inused what the job read while another process held, opened or wrote it.
 */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/jname.h"
#include "inuse.h"
#include "inuse-run/run.h"

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* Runs the command; its exit status (128 + signal when killed). */
static int run_command(struct run *r)
{
	struct sigaction fw = {.sa_handler = forward}, ign = {.sa_handler = SIG_IGN}, oint, oquit,
			 oterm, ohup;
	int st;
	pid_t pid;

	/* like system(3): the terminal's signals reach the command (one
	 * process group); the ones sent to inuse-run are passed on */
	sigemptyset(&fw.sa_mask);
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	sigaction(SIGTERM, &fw, &oterm);
	sigaction(SIGHUP, &fw, &ohup);
	pid = fork();
	if (pid < 0) {
		warn("cannot start the command: %s", strerror(errno));
		return RUN_EXIT_NOEXEC;
	}
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		sigaction(SIGTERM, &oterm, NULL);
		sigaction(SIGHUP, &ohup, NULL);
		signal(SIGPIPE, SIG_DFL);
		/* a command that outlived inuse-run would go on unguarded */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execvp(r->argv[0], r->argv);
		fprintf(stderr, "inuse-run: %s: %s\n", r->argv[0], strerror(errno));
		_exit(errno == ENOENT ? RUN_EXIT_NOTFOUND : RUN_EXIT_NOEXEC);
	}
	child_pid = pid;
	r->ran = true;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			st = 0;
			break;
		}
	child_pid = 0;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	sigaction(SIGTERM, &oterm, NULL);
	sigaction(SIGHUP, &ohup, NULL);
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static const char *why_text(const char *reason)
{
	static const struct {
		const char *reason, *text;
	} t[] = {
	    {"written", "written while the command read it"},
	    {"written_before", "written just before the command read it by a writer holding it "
			       "(a write in the same timestamp tick would not show)"},
	    {"opened", "opened for writing while the command read it"},
	    {"mapped", "mapped shared and writable while the command read it (writes through a "
		       "mapping do not always show)"},
	    {"gone", "the command did not close it, and it was gone before its end could be seen"},
	    {"held", "held open for writing by another process, not written while read"},
	    {"changed", "its metadata changed while the command read it"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (reason && !strcmp(reason, t[i].reason))
			return t[i].text;
	return reason ? reason : "?";
}

/* "(by 1234/qemu)" from a file's writers, when the answer has them. */
static void writers_note(json_t *f, char *buf, size_t len)
{
	json_t *w;
	size_t i, off = 0;

	buf[0] = '\0';
	json_array_foreach(json_object_get(f, "writers"), i, w)
	{
		char *comm = jname_get(json_object_get(w, "comm"), 64, NULL);
		int n = snprintf(buf + off, len - off, "%s%lld/%s", off ? "," : " (by ",
				 (long long)json_integer_value(json_object_get(w, "pid")),
				 comm ? comm : "?");

		free(comm);
		if (n < 0 || (size_t)n >= len - off - 1)
			break;
		off += (size_t)n;
		if (i >= 3)
			break;
	}
	if (off && off + 1 < len)
		strcat(buf, ")");
}

/* Torn files no name reached: looked for under the sources by device and
 * inode (a file renamed meanwhile); one not found there is not part of the
 * backup (the tool's own files, a file deleted since). */
struct lost {
	dev_t dev;
	ino_t ino;
	char *path;
};

static struct lost *lost_v;
static size_t lost_n;

static int find_lost(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type != FTW_F)
		return 0;
	for (size_t i = 0; i < lost_n; i++)
		if (!lost_v[i].path && st->st_dev == lost_v[i].dev && st->st_ino == lost_v[i].ino)
			lost_v[i].path = strdup(path);
	return 0;
}

static void name_lost(struct run *r)
{
	for (size_t i = 0; i < r->nsrc; i++) {
		struct stat st;

		if (r->src[i].dir)
			nftw(r->src[i].abs, find_lost, 32, FTW_PHYS | FTW_MOUNT);
		else if (stat(r->src[i].abs, &st) == 0)
			find_lost(r->src[i].abs, &st, FTW_F, NULL);
	}
}

static bool deleted(json_t *files, size_t i)
{
	return json_is_true(json_object_get(json_array_get(files, i), "deleted"));
}

/*
 * A file another process held open for writing while the command read it,
 * not written meanwhile: the copy is one state of the file, but perhaps
 * one halfway through its writer's update. Settled when the policy copies
 * such files as they are, or when it had gone unwritten for its quiet
 * period (the rule's, else --quiet) before the read began. *quiet: the
 * period it fell short of.
 */
static bool held_settled(struct run *r, const char *path, const struct inuse_guard_file *f,
			 double *quiet)
{
	double unwritten = f->read_from - f->mtime_at_read;
	const char *when_open = NULL;
	struct inuse_result *res;
	json_t *a, *x;

	*quiet = r->quiet;
	if (!inuse_client__check(r->c, &path, 1, &res)) {
		a = json_loads(inuse_result__json(res), 0, NULL);
		x = json_array_get(json_object_get(a, "files"), 0);
		if (json_number_value(json_object_get(x, "quiet")) > 0)
			*quiet = json_number_value(json_object_get(x, "quiet"));
		when_open = json_string_value(json_object_get(x, "when_open"));
		if (when_open && !strcmp(when_open, "copy")) {
			json_decref(a);
			inuse_result__free(res);
			return true;
		}
		json_decref(a);
		inuse_result__free(res);
	}
	return f->read_from > 0 && f->mtime_at_read > 0 && unwritten >= *quiet;
}

static void take_report(struct run *r, struct inuse_guard_report *g)
{
	json_t *a = json_loads(inuse_guard_report__json(g), 0, NULL);
	json_t *files = json_object_get(a, "files");
	size_t n = inuse_guard_report__count(g), k = 0;

	r->reads = inuse_guard_report__reads(g);
	r->dropped = inuse_guard_report__dropped(g);
	r->unjoined = inuse_guard_report__unjoined(g);
	r->running = inuse_guard_report__running(g);
	lost_v = calloc(n ? n : 1, sizeof(*lost_v));
	for (size_t i = 0; lost_v && i < n; i++) {
		const struct inuse_guard_file *f = inuse_guard_report__file(g, i);

		if (!f->path && f->torn && !deleted(files, i))
			lost_v[lost_n++] = (struct lost){.dev = makedev(f->dev_major, f->dev_minor),
							 .ino = (ino_t)f->ino};
	}
	if (lost_n && r->nsrc)
		name_lost(r);
	for (size_t i = 0; i < n; i++) {
		const struct inuse_guard_file *f = inuse_guard_report__file(g, i);
		enum item_kind kind = f->torn ? IT_TORN
				      : !strcmp(f->state ?: "", "held") ? IT_HELD
									: IT_CHANGED;
		const char *fpath = f->path;
		char path[64], note[160];
		struct item *it;

		if (!fpath) {
			/* deleted since: no longer part of what is backed up */
			if (!f->torn || deleted(files, i) || !lost_v)
				continue;
			fpath = lost_v[k++].path;
			if (!fpath && r->nsrc)
				continue; /* not under a source: not part of the backup */
			if (!fpath) {
				/* no name reaches it, no source to look in: still said */
				snprintf(path, sizeof(path), "(device %u:%u inode %llu)",
					 f->dev_major, f->dev_minor, f->ino);
				fpath = path;
			}
		} else if (r->nsrc && source_of(r, fpath) < 0) {
			continue; /* the tool's own files: its repository, its cache */
		}
		if ((it = item_find(r, fpath)) && it->kind >= IT_EXCLUDED)
			continue; /* left out: not read from here */
		it = item_add(r, fpath, kind);
		if (!it)
			continue;
		writers_note(json_array_get(files, i), note, sizeof(note));
		snprintf(it->why, sizeof(it->why), "%s%s", why_text(f->reason), note);
		if (kind == IT_HELD) {
			double quiet;

			if (!held_settled(r, fpath, f, &quiet)) {
				it->kind = kind = IT_TORN;
				snprintf(it->why, sizeof(it->why),
					 "held open for writing by another process, and written "
					 "%.2fs before the command read it (less than its quiet "
					 "period, %gs)%s",
					 f->read_from - f->mtime_at_read, quiet, note);
			}
		}
		it->retry = kind == IT_TORN && r->retry && it->name;
	}
	json_decref(a);
	for (size_t i = 0; i < lost_n; i++)
		free(lost_v[i].path);
	free(lost_v);
	lost_v = NULL;
	lost_n = 0;
}

int job_run(struct run *r)
{
	struct inuse_guard_report *g;
	int err = inuse_client__guard(r->c, 0, &r->job);

	if (err) {
		warn("inused cannot guard the command: %s",
		     err == -EBUSY	 ? "too many guarded jobs"
		     : err == -EREMOTEIO ? "refused (is inuse-run already inside a guarded job?)"
					 : strerror(-err));
		r->status = RUN_EXIT_FAILED;
		return -1;
	}
	info(r, "guarded job %lu", r->job);
	r->status = run_command(r);
	err = inuse_client__guard_end(r->c, &g);
	if (err) {
		warn("inused could not say what the command read: %s; its copies are not "
		     "vouched for",
		     strerror(-err));
		return -1;
	}
	r->guarded = true;
	take_report(r, g);
	inuse_guard_report__free(g);
	return 0;
}
