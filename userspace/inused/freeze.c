// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/freeze.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inused/log.h"

#define DEFAULT_STATE "/run/inuse/frozen.state"

uint64_t proc_start_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* after ") ": state is field 3; starttime is field 22 */
	for (int f = 3; p && f <= 22; f++)
		p = strchr(p + 1, ' ');
	if (p && sscanf(p + 1, "%llu", &v) != 1)
		v = 0;
	return v;
}

/* The state letter of one task (/proc/PID/task/TID/stat), '?' if gone. */
static char task_state(const char *statpath)
{
	char buf[512], *p;
	ssize_t n;
	int fd = open(statpath, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Is every thread of pid stopped (or gone)? */
static bool process_stopped(pid_t pid)
{
	char dir[64], path[320];
	struct dirent *d;
	bool all = true;
	DIR *dh;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	dh = opendir(dir);
	if (!dh)
		return true; /* gone: writes nothing */
	while (all && (d = readdir(dh))) {
		char st;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", dir, d->d_name);
		st = task_state(path);
		all = st == 'T' || st == 't' || st == 'Z' || st == 'X' || st == '?';
	}
	closedir(dh);
	return all;
}

/* The "0::/path" cgroup of pid, into buf. */
static int proc_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64], line[1024];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + 3);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int freezer_init(struct freezer *fz, const char *state_file)
{
	char dev[256], dir[256], type[64];
	FILE *f;

	memset(fz, 0, sizeof(*fz));
	snprintf(fz->state_file, sizeof(fz->state_file), "%s",
		 state_file ? state_file : DEFAULT_STATE);
	fz->self = getpid();
	proc_cgroup(fz->self, fz->self_cg, sizeof(fz->self_cg));
	f = fopen("/proc/self/mounts", "re");
	while (f && fscanf(f, "%255s %255s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(fz->cg_root, sizeof(fz->cg_root), "%s", dir);
			break;
		}
	}
	if (f)
		fclose(f);
	return 0;
}

/* Writes value to file (a cgroup knob). */
static int write_knob(const char *file, const char *value)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

static bool cgroup_frozen(const char *dir)
{
	char path[600], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "frozen 1") != NULL;
}

/* A cgroup path from the state file or /proc: under the cgroup2 root, no
 * ".." anywhere. */
static bool cgroup_dir_ok(const struct freezer *fz, const char *dir)
{
	size_t rl = strlen(fz->cg_root);

	return rl && !strncmp(dir, fz->cg_root, rl) && dir[rl] == '/' && !strstr(dir, "/..") &&
	       !strstr(dir, "../");
}

/* Records f's units before they are frozen. */
static int state_write(struct freezer *fz, const struct freeze *f)
{
	char tmp[600];
	FILE *out;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.new", fz->state_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (f->u[i].cgroup)
			fprintf(out, "cgroup %s\n", f->u[i].path);
		else
			fprintf(out, "pid %d %llu\n", (int)f->u[i].pid,
				(unsigned long long)f->u[i].start);
	}
	if (fflush(out) || fsync(fd)) {
		fclose(out);
		unlink(tmp);
		return -EIO;
	}
	fclose(out);
	if (rename(tmp, fz->state_file)) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

int freezer_recover(struct freezer *fz)
{
	char line[700];
	int n = 0;
	FILE *f;
	int fd = open(fz->state_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0)
		return 0;
	/* trusted only if the daemon wrote it */
	if (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 022)) {
		log_warn("%s: not the daemon's own file: ignored", fz->state_file);
		close(fd);
		return 0;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char path[600];
		unsigned long long start;
		int pid;

		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "cgroup ", 7) && cgroup_dir_ok(fz, line + 7)) {
			snprintf(path, sizeof(path), "%s/cgroup.freeze", line + 7);
			if (write_knob(path, "0") == 0) {
				log_warn("thawed cgroup %s, left frozen by a daemon that stopped "
					 "during a snapshot",
					 line + 7);
				n++;
			}
		} else if (sscanf(line, "pid %d %llu", &pid, &start) == 2 && pid > 1 && start &&
			   proc_start_ticks(pid) == start) {
			if (kill(pid, SIGCONT) == 0) {
				log_warn("continued process %d, left stopped by a daemon that "
					 "stopped during a snapshot",
					 pid);
				n++;
			}
		}
	}
	fclose(f);
	unlink(fz->state_file);
	fz->recovered += (uint64_t)n;
	return n;
}

/* A writer in this cgroup must not be frozen at all: systemd's own, or one
 * the rules name. */
static bool never(const struct freeze_rules *r, const char *cg)
{
	if (!strcmp(cg, "/init.scope"))
		return true;
	for (size_t i = 0; r->never && r->never[i]; i++)
		if (fnmatch(r->never[i], cg, 0) == 0)
			return true;
	return false;
}

/* This cgroup may be frozen as a whole: not the root, not the daemon's,
 * not the requester's. */
static bool cgroup_freezable(const struct freezer *fz, const char *cg, const char *client_cg)
{
	return fz->cg_root[0] && strcmp(cg, "/") && strcmp(cg, fz->self_cg) &&
	       strcmp(cg, client_cg);
}

/* Are all processes of cgroup dir (and it has no child cgroups) among
 * pids? */
static bool cgroup_only(const char *dir, const pid_t *pids, size_t n)
{
	char path[600], line[64];
	bool only = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.stat", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long v;

		if (sscanf(line, "nr_descendants %lu", &v) == 1 && v)
			only = false;
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (only && fgets(line, sizeof(line), f)) {
		pid_t p = (pid_t)atoi(line);
		bool found = false;

		for (size_t i = 0; i < n && !found; i++)
			found = pids[i] == p;
		only = found;
	}
	fclose(f);
	return only;
}

int freeze_plan(struct freezer *fz, const struct freeze_rules *r, const pid_t *pids,
		const uint64_t *starts, size_t n, struct freeze *f, const char **why)
{
	char client_cg[512] = "";
	long hz = sysconf(_SC_CLK_TCK);

	*why = NULL;
	if (r->client > 0)
		proc_cgroup(r->client, client_cg, sizeof(client_cg));
	for (size_t i = 0; i < n; i++) {
		pid_t pid = pids[i];
		char cg[512], dir[600];
		uint64_t start = proc_start_ticks(pid);
		bool dup = false, use_cg;

		for (size_t k = 0; k < i && !dup; k++)
			dup = pids[k] == pid;
		for (size_t k = 0; k < f->n && !dup; k++)
			dup = !f->u[k].cgroup && f->u[k].pid == pid;
		if (dup)
			continue;
		if (!start)
			continue; /* gone: writes nothing */
		if (starts && starts[i] && hz > 0 &&
		    start != starts[i] / (NSEC_PER_SEC / (uint64_t)hz))
			continue; /* another process with the pid: not a writer */
		if (pid == 1 || pid == fz->self || pid == r->client) {
			*why = pid == 1		 ? "a writer is init"
			       : pid == fz->self ? "a writer is inused"
						 : "a writer is the requester";
			fz->refused++;
			return -EPERM;
		}
		if (proc_cgroup(pid, cg, sizeof(cg)))
			continue;
		if (never(r, cg)) {
			*why = "a writer is in a cgroup that must not be frozen";
			fz->refused++;
			return -EPERM;
		}
		snprintf(dir, sizeof(dir), "%s%s", fz->cg_root, cg);
		use_cg = cgroup_freezable(fz, cg, client_cg) &&
			 (r->how == FREEZE_CGROUP ||
			  (r->how == FREEZE_AUTO && cgroup_only(dir, pids, n)));
		if (r->how == FREEZE_CGROUP && !use_cg) {
			*why = "a writer's cgroup cannot be frozen";
			fz->refused++;
			return -EPERM;
		}
		if (use_cg) {
			bool have = false;

			for (size_t k = 0; k < f->n && !have; k++)
				have = f->u[k].cgroup && !strcmp(f->u[k].path, dir);
			if (have)
				continue;
		}
		if (f->n == FREEZE_MAX_UNITS) {
			*why = "too many writers to freeze";
			return -E2BIG;
		}
		f->u[f->n].cgroup = use_cg;
		snprintf(f->u[f->n].path, sizeof(f->u[f->n].path), "%s", use_cg ? dir : "");
		f->u[f->n].pid = pid;
		f->u[f->n].start = start;
		f->n++;
	}
	return 0;
}

static void sleep_us(long us)
{
	struct timespec ts = {0, us * 1000};

	nanosleep(&ts, NULL);
}

int freeze_do(struct freezer *fz, struct freeze *f, uint64_t deadline, const char **why)
{
	int err;

	*why = NULL;
	if (!f->n)
		return 0;
	err = state_write(fz, f);
	if (err) {
		*why = "cannot record the freeze";
		return err;
	}
	if (!f->started_ns) {
		f->started_ns = clock_mono_ns();
		fz->freezes++;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct freeze_unit *u = &f->u[i];

		if (u->done)
			continue;
		u->done = true;
		if (u->cgroup) {
			char knob[600];

			snprintf(knob, sizeof(knob), "%s/cgroup.freeze", u->path);
			if (write_knob(knob, "1")) {
				*why = "cannot freeze a writer's cgroup";
				freeze_undo(fz, f);
				return -EIO;
			}
		} else {
			char st[64];

			snprintf(st, sizeof(st), "/proc/%d/stat", (int)u->pid);
			u->was_stopped = task_state(st) == 'T';
			if (!u->was_stopped && proc_start_ticks(u->pid) == u->start &&
			    kill(u->pid, SIGSTOP) && errno != ESRCH) {
				*why = "cannot stop a writer";
				freeze_undo(fz, f);
				return -EPERM;
			}
		}
	}
	for (;;) {
		bool all = true;

		for (size_t i = 0; i < f->n && all; i++)
			all = f->u[i].cgroup ? cgroup_frozen(f->u[i].path)
					     : process_stopped(f->u[i].pid);
		if (all)
			break;
		if (clock_mono_ns() >= deadline) {
			*why = "the writers did not freeze in time";
			freeze_undo(fz, f);
			return -ETIMEDOUT;
		}
		sleep_us(100);
	}
	f->frozen_ns = clock_mono_ns();
	return 0;
}

bool freeze_holds(const struct freezer *fz, const struct freeze *f, pid_t pid)
{
	char cg[512], dir[1100];
	bool cg_known = false;

	for (size_t i = 0; i < f->n; i++) {
		size_t ul = strlen(f->u[i].path);

		if (!f->u[i].cgroup) {
			if (f->u[i].pid == pid)
				return true;
			continue;
		}
		if (!cg_known) {
			if (proc_cgroup(pid, cg, sizeof(cg)))
				return false;
			snprintf(dir, sizeof(dir), "%s%s", fz->cg_root, cg);
			cg_known = true;
		}
		/* its cgroup, or one below it */
		if (!strncmp(dir, f->u[i].path, ul) && (dir[ul] == '\0' || dir[ul] == '/'))
			return true;
	}
	return false;
}

void freeze_undo(struct freezer *fz, struct freeze *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct freeze_unit *u = &f->u[i];

		if (!u->done)
			continue; /* planned, never frozen */
		if (u->cgroup) {
			char knob[600];

			snprintf(knob, sizeof(knob), "%s/cgroup.freeze", u->path);
			if (write_knob(knob, "0"))
				log_err("cannot thaw cgroup %s: %s", u->path, strerror(errno));
		} else if (!u->was_stopped && proc_start_ticks(u->pid) == u->start) {
			kill(u->pid, SIGCONT);
		}
	}
	if (f->n) {
		fz->thaws++;
		unlink(fz->state_file);
	}
	f->n = 0;
}
