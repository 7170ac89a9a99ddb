// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <cmocka.h>

#include "tdaemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inuse.h"

const char *td_bin(const char *name)
{
	static char buf[PATH_MAX];
	const char *b = getenv("INUSE_BUILD");
	char self[PATH_MAX];
	ssize_t n;

	if (b) {
		snprintf(buf, sizeof(buf), "%s/%s", b, name);
		return buf;
	}
	/* the test binary lives in build/tests/ */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(buf, sizeof(buf), "%s/../%s", self, name);
		return buf;
	}
	snprintf(buf, sizeof(buf), "build/%s", name);
	return buf;
}

bool td_must_run(void)
{
	const char *ci = getenv("CI");

	return ci && !strcmp(ci, "true");
}

void td_dump_log(const struct tdaemon *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "tail -n 30 %s >&2", d->log);
	if (system(cmd) < 0)
		(void)0;
}

static json_t *call(const char *sock, const char *req)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = sock, .timeout_ms = 20000};
	struct inuse_client *c;
	char *resp = NULL;
	json_t *j = NULL;

	if (inuse_client__open(&o, &c))
		return NULL;
	if (inuse_client__call(c, req, strlen(req), &resp, NULL) == 0)
		j = json_loads(resp, 0, NULL);
	free(resp);
	inuse_client__free(c);
	return j;
}

int td_start(struct tdaemon *d, const char *const *extra)
{
	const char *argv[32];
	int n = 0, fd;
	uint64_t deadline;

	if (!d->dir[0]) {
		strcpy(d->dir, "/tmp/inuse-test-XXXXXX");
		if (!mkdtemp(d->dir))
			return -errno;
		snprintf(d->sock, sizeof(d->sock), "%s/inuse.sock", d->dir);
		snprintf(d->log, sizeof(d->log), "%s/inused.log", d->dir);
	}
	argv[n++] = td_bin("inused");
	argv[n++] = "--socket";
	argv[n++] = d->sock;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	deadline = clock_mono_ns() + 30 * NSEC_PER_SEC;
	while (clock_mono_ns() < deadline) {
		json_t *r;
		int status;

		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			d->pid = 0;
			td_dump_log(d);
			return -ECHILD;
		}
		r = call(d->sock, "{\"op\":\"hello\",\"id\":0}");
		if (r) {
			bool ok = json_is_true(json_object_get(r, "ok"));

			json_decref(r);
			if (ok)
				return 0;
		}
		usleep(10000);
	}
	td_dump_log(d);
	td_stop(d);
	return -ETIMEDOUT;
}

int td_stop(struct tdaemon *d)
{
	int status = -1;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	if (waitpid(d->pid, &status, 0) != d->pid)
		status = -1;
	d->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json_t *td_call(struct tdaemon *d, const char *fmt, ...)
{
	char *req;
	va_list ap;
	json_t *r;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&req, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	r = call(d->sock, req);
	free(req);
	return r;
}

static json_t *list_path(struct tdaemon *d, const char *path)
{
	json_t *p = json_string(path);
	char *ps = json_dumps(p, JSON_ENCODE_ANY);
	json_t *r = td_call(d, "{\"op\":\"list\",\"id\":1,\"paths\":[%s]}", ps);

	free(ps);
	json_decref(p);
	return r;
}

const char *td_state(struct tdaemon *d, const char *path)
{
	static const char *const states[] = {"open", "not_open", "missing", "not_regular",
					     "error"};
	json_t *r = list_path(d, path);
	const char *s, *ret = NULL;

	if (!r)
		return NULL;
	s = json_string_value(
		json_object_get(json_array_get(json_object_get(r, "paths"), 0), "state"));
	for (size_t i = 0; s && i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(s, states[i]))
			ret = states[i];
	json_decref(r);
	return ret;
}

/* Polls cond until it holds or TD_TIMEOUT_MS passed. */
#define WAIT_FOR(cond)                                                                             \
	({                                                                                         \
		uint64_t _dl = clock_mono_ns() + TD_TIMEOUT_MS * NSEC_PER_MSEC;                    \
		bool _ok = false;                                                                  \
		while (!(_ok = (cond)) && clock_mono_ns() < _dl)                                   \
			usleep(2000);                                                              \
		_ok;                                                                               \
	})

bool td_wait_state(struct tdaemon *d, const char *path, const char *state)
{
	const char *last = NULL;
	bool ok = WAIT_FOR((last = td_state(d, path)) && !strcmp(last, state));

	if (!ok)
		fprintf(stderr, "td_wait_state: %s is %s, wanted %s\n", path,
			last ? last : "(no answer)", state);
	return ok;
}

json_t *td_entry(struct tdaemon *d, const char *path)
{
	json_t *r = list_path(d, path), *e;

	if (!r)
		return NULL;
	e = json_array_get(json_object_get(r, "files"), 0);
	json_incref(e);
	json_decref(r);
	return e;
}

static bool has_writer(struct tdaemon *d, const char *path, pid_t pid, int fd, const char *mode)
{
	json_t *e = td_entry(d, path), *w;
	bool found = false;
	size_t i;

	json_array_foreach(json_object_get(e, "writers"), i, w)
	{
		if (json_integer_value(json_object_get(w, "pid")) != pid)
			continue;
		if (fd >= 0 && json_integer_value(json_object_get(w, "fd")) != fd)
			continue;
		if (mode && strcmp(json_string_value(json_object_get(w, "mode")) ?: "", mode))
			continue;
		found = true;
	}
	json_decref(e);
	return found;
}

bool td_wait_writer(struct tdaemon *d, const char *path, pid_t pid, int fd, const char *mode)
{
	bool ok = WAIT_FOR(has_writer(d, path, pid, fd, mode));

	if (!ok) {
		json_t *e = td_entry(d, path);
		char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;

		fprintf(stderr, "td_wait_writer: no writer pid %d fd %d mode %s for %s: %s\n",
			(int)pid, fd, mode ? mode : "*", path, s ? s : "(not listed)");
		free(s);
		json_decref(e);
	}
	return ok;
}

static long nwriters(struct tdaemon *d, const char *path)
{
	json_t *e = td_entry(d, path);
	long n = e ? (long)json_array_size(json_object_get(e, "writers")) : -1;

	json_decref(e);
	return n;
}

bool td_wait_nwriters(struct tdaemon *d, const char *path, size_t n)
{
	long last = -1;
	bool ok = WAIT_FOR((last = nwriters(d, path)) == (long)n);

	if (!ok)
		fprintf(stderr, "td_wait_nwriters: %s has %ld writers, wanted %zu\n", path, last,
			n);
	return ok;
}

long td_count_under(struct tdaemon *d, const char *dir)
{
	json_t *p = json_string(dir);
	char *ps = json_dumps(p, JSON_ENCODE_ANY);
	json_t *r = td_call(d, "{\"op\":\"list\",\"id\":2,\"under\":%s}", ps);
	long n = r ? (long)json_integer_value(json_object_get(r, "count")) : -1;

	free(ps);
	json_decref(p);
	json_decref(r);
	return n;
}

bool td_wait_count_under(struct tdaemon *d, const char *dir, long count)
{
	long last = -2;
	bool ok = WAIT_FOR((last = td_count_under(d, dir)) == count);

	if (!ok)
		fprintf(stderr, "td_wait_count_under: %ld files under %s, wanted %ld\n", last, dir,
			count);
	return ok;
}

bool td_barrier(struct tdaemon *d, const char *dir)
{
	char path[PATH_MAX];
	bool ok;
	int fd;

	snprintf(path, sizeof(path), "%s/.barrier", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	ok = td_wait_state(d, path, "open");
	close(fd);
	return td_wait_state(d, path, "not_open") && ok;
}

long long td_stat(struct tdaemon *d, const char *name)
{
	json_t *r = td_call(d, "{\"op\":\"stats\",\"id\":3}");
	json_t *v = json_object_get(r, name);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;

	json_decref(r);
	return n;
}

int td_sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[16384], sink[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
	}
	while (fread(sink, 1, sizeof(sink), p) > 0)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

json_t *td_recv_json(struct inuse_client *c)
{
	char *line = NULL;
	json_t *j = NULL;

	if (inuse_client__recv(c, &line, NULL) == 0)
		j = json_loads(line, 0, NULL);
	free(line);
	if (!j)
		fail_msg("no answer from inused");
	return j;
}

int td_rmtree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

void td_touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
}
