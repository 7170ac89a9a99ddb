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
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

const char *td_daemon_path(void)
{
	const char *d = getenv("INUSE_DAEMON");

	return d && *d ? d : td_bin("inused");
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

static void kill_watches(void);

int td_start(struct tdaemon *d, const char *const *extra)
{
	static char env_args[1024];
	const char *argv[32], *ea = getenv("INUSE_DAEMON_ARGS");
	int n = 0, fd;
	uint64_t deadline;

	if (!d->dir[0]) {
		strcpy(d->dir, "/tmp/inuse-test-XXXXXX");
		if (!mkdtemp(d->dir))
			return -errno;
		snprintf(d->sock, sizeof(d->sock), "%s/inuse.sock", d->dir);
		snprintf(d->log, sizeof(d->log), "%s/inused.log", d->dir);
	}
	argv[n++] = td_daemon_path();
	argv[n++] = "--socket";
	argv[n++] = d->sock;
	argv[n++] = "--log-level";
	argv[n++] = "debug";
	snprintf(env_args, sizeof(env_args), "%s", ea ? ea : "");
	for (char *save = NULL, *w = strtok_r(env_args, " ", &save); w && n < 20;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		/* a test that fails half-way leaves no daemon behind */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
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

	kill_watches();
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

static const char *state_name(const char *s)
{
	static const char *const states[] = {"open", "not_open", "missing", "not_regular", "error"};

	for (size_t i = 0; s && i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(s, states[i]))
			return states[i];
	return NULL;
}

static const char *looked_up_state(struct tdaemon *d, const char *path)
{
	json_t *r = list_path(d, path);
	const char *ret;

	if (!r)
		return NULL;
	ret = state_name(json_string_value(
	    json_object_get(json_array_get(json_object_get(r, "paths"), 0), "state")));
	json_decref(r);
	return ret;
}

/* What check answers from this process's own stat(2) of path (the
 * identity form, docs/protocol.md), as libinuse asks as root. */
static const char *identity_state(struct tdaemon *d, const char *path)
{
	json_t *p = json_string(path), *r;
	char *ps = json_dumps(p, JSON_ENCODE_ANY);
	const char *ret;
	char rec[160];
	struct stat st;

	if (stat(path, &st) != 0)
		snprintf(rec, sizeof(rec), "%s", errno == ENOENT || errno == ENOTDIR ? "!" : "-");
	else
		snprintf(rec, sizeof(rec), "%llx,%llx,%x,%llx,%llx,%llx",
			 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, st.st_mode,
			 (unsigned long long)st.st_size,
			 (unsigned long long)st.st_mtim.tv_sec * NSEC_PER_SEC +
			     (unsigned long long)st.st_mtim.tv_nsec,
			 (unsigned long long)st.st_ctim.tv_sec * NSEC_PER_SEC +
			     (unsigned long long)st.st_ctim.tv_nsec);
	r = td_call(d, "{\"op\":\"check\",\"id\":1,\"paths\":[%s],\"stats\":\"%s\"}", ps, rec);
	free(ps);
	json_decref(p);
	if (!r)
		return NULL;
	ret = state_name(json_string_value(
	    json_object_get(json_array_get(json_object_get(r, "files"), 0), "state")));
	json_decref(r);
	return ret;
}

/*
 * The state, as the daemon's lookup of the path gives it. As root, every
 * state asked is also asked in the identity form; when it differs from
 * the lookups just before and after it, which agree (the file did not
 * change meanwhile), the answer is a state no test expects.
 */
const char *td_state(struct tdaemon *d, const char *path)
{
	const char *a = looked_up_state(d, path), *b, *c;

	if (!a || geteuid() != 0)
		return a;
	b = identity_state(d, path);
	if (b && !strcmp(a, b))
		return a;
	c = looked_up_state(d, path);
	if (c && !strcmp(a, c)) {
		fprintf(stderr, "td_state: %s: %s by a lookup, %s in the identity form\n", path, a,
			b ? b : "no answer");
		return "differs-in-the-identity-form";
	}
	return c;
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

bool td_state_is(struct tdaemon *d, const char *path, const char *state)
{
	const char *now = td_state(d, path);

	if (now && !strcmp(now, state))
		return true;
	fprintf(stderr, "td_state_is: %s is %s right now, wanted %s\n", path,
		now ? now : "(no answer)", state);
	return false;
}

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

json_t *td_entry_writer(json_t *e, pid_t pid, int fd)
{
	json_t *w;
	size_t i;

	json_array_foreach(json_object_get(e, "writers"), i, w)
	{
		if (json_integer_value(json_object_get(w, "pid")) != pid)
			continue;
		if (fd >= 0 && json_integer_value(json_object_get(w, "fd")) != fd)
			continue;
		if (fd >= 0 && !json_is_integer(json_object_get(w, "fd")))
			continue;
		return w;
	}
	return NULL;
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

static void print_entry(struct tdaemon *d, const char *path, const char *what)
{
	json_t *e = td_entry(d, path);
	char *s = e ? json_dumps(e, JSON_COMPACT) : NULL;

	fprintf(stderr, "%s: %s: %s\n", what, path, s ? s : "(not listed)");
	free(s);
	json_decref(e);
}

bool td_writer_is(struct tdaemon *d, const char *path, pid_t pid, int fd, const char *mode)
{
	if (has_writer(d, path, pid, fd, mode))
		return true;
	fprintf(stderr, "td_writer_is: no writer pid %d fd %d mode %s right now\n", (int)pid, fd,
		mode ? mode : "*");
	print_entry(d, path, "td_writer_is");
	return false;
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

static bool entry_pred(struct tdaemon *d, const char *path, bool (*pred)(json_t *e, void *arg),
		       void *arg)
{
	json_t *e = td_entry(d, path);
	bool v = pred(e, arg);

	json_decref(e);
	return v;
}

bool td_wait_entry(struct tdaemon *d, const char *path, bool (*pred)(json_t *e, void *arg),
		   void *arg, const char *what)
{
	bool ok = WAIT_FOR(entry_pred(d, path, pred, arg));

	if (!ok)
		print_entry(d, path, what);
	return ok;
}

static long nwriters(struct tdaemon *d, const char *path)
{
	json_t *e = td_entry(d, path);
	long n = e ? (long)json_array_size(json_object_get(e, "writers")) : -1;

	json_decref(e);
	return n;
}

bool td_nwriters_is(struct tdaemon *d, const char *path, size_t n)
{
	long now = nwriters(d, path);

	if (now == (long)n)
		return true;
	fprintf(stderr, "td_nwriters_is: %ld writers right now, wanted %zu\n", now, n);
	print_entry(d, path, "td_nwriters_is");
	return false;
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

/* ---- "never not_open during this window" ---- */

#define WATCH_MAX_PATHS 16

struct td_watch {
	pid_t pid;
	int cmd; /* to the checker: "p PATH\n", "m\n", "s\n" */
	int ack; /* from it: one byte per mark ('o' or 'b'), then the result */
	struct td_watch *next;
};

struct watch_result {
	long rounds;
	long bad;
	char first_bad[PATH_MAX + 128];
};

static struct td_watch *watches; /* running checkers, for cleanup */

static void watch_unlink(struct td_watch *w)
{
	for (struct td_watch **p = &watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			return;
		}
	}
}

static void watch_free(struct td_watch *w)
{
	watch_unlink(w);
	close(w->cmd);
	close(w->ack);
	free(w);
}

static void kill_watches(void)
{
	while (watches) {
		struct td_watch *w = watches;

		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
		watch_free(w);
	}
}

static bool full_write(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t r = write(fd, p, n);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

/* One request for the states of paths[0..n); checks every answer. */
static void watch_query(struct inuse_client *c, char **paths, size_t n, bool use_check,
			struct watch_result *res)
{
	json_t *req = json_pack("{s:s, s:i, s:[]}", "op", use_check ? "check" : "list", "id",
				(int)res->rounds, "paths");
	json_t *arr = json_object_get(req, "paths"), *ans = NULL, *items;
	char *s, *resp = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(paths[i]));
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	res->rounds++;
	if (s && inuse_client__call(c, s, strlen(s), &resp, NULL) == 0)
		ans = json_loads(resp, 0, NULL);
	free(s);
	free(resp);
	items = json_object_get(ans, use_check ? "files" : "paths");
	for (i = 0; i < n; i++) {
		const char *st =
		    json_string_value(json_object_get(json_array_get(items, i), "state"));

		if (st && !strcmp(st, "open"))
			continue;
		if (!res->bad++)
			snprintf(res->first_bad, sizeof(res->first_bad),
				 "answer %ld (%s): %s is %s", res->rounds,
				 use_check ? "check" : "list", paths[i], st ? st : "(no answer)");
	}
	json_decref(ans);
}

static __attribute__((noreturn)) void watch_child(const char *sock, int cmd, int ack)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .socket_path = sock, .timeout_ms = 20000};
	struct watch_result res = {0};
	char *paths[WATCH_MAX_PATHS], line[PATH_MAX + 8];
	size_t np = 0, len = 0;
	struct inuse_client *c;
	bool stop = false;

	if (inuse_client__open(&o, &c))
		_exit(2);
	while (!stop) {
		struct pollfd p = {.fd = cmd, .events = POLLIN};
		int marks = 0;

		/* commands first: a mark read here is answered after the query
		 * below, which was asked after it */
		if (poll(&p, 1, np ? 0 : -1) > 0) {
			char buf[512];
			ssize_t r = read(cmd, buf, sizeof(buf));

			if (r <= 0)
				_exit(3); /* the test is gone */
			for (ssize_t i = 0; i < r; i++) {
				if (buf[i] != '\n') {
					if (len < sizeof(line) - 1)
						line[len++] = buf[i];
					continue;
				}
				line[len] = '\0';
				len = 0;
				if (line[0] == 'p' && np < WATCH_MAX_PATHS)
					paths[np++] = strdup(line + 2);
				else if (line[0] == 'm')
					marks++;
				else if (line[0] == 's')
					stop = true;
			}
		}
		if (np)
			watch_query(c, paths, np, res.rounds % 2, &res);
		for (; marks > 0; marks--)
			if (!full_write(ack, res.bad ? "b" : "o", 1))
				_exit(3);
	}
	inuse_client__free(c);
	_exit(full_write(ack, &res, sizeof(res)) ? 0 : 3);
}

struct td_watch *td_watch_start(struct tdaemon *d)
{
	struct td_watch *w = calloc(1, sizeof(*w));
	int cmd[2], ack[2];

	kill_watches();		  /* left by a failed test */
	signal(SIGPIPE, SIG_IGN); /* a checker that died is reported, not fatal */
	if (!w || pipe2(cmd, O_CLOEXEC) || pipe2(ack, O_CLOEXEC)) {
		free(w);
		return NULL;
	}
	w->pid = fork();
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* only the two pipe ends it uses, on 3 and 4 */
		if (dup2(cmd[0], 100) < 0 || dup2(ack[1], 101) < 0 || dup2(100, 3) < 0 ||
		    dup2(101, 4) < 0)
			_exit(2);
		syscall(SYS_close_range, 5U, ~0U, 0);
		watch_child(d->sock, 3, 4);
	}
	close(cmd[0]);
	close(ack[1]);
	w->cmd = cmd[1];
	w->ack = ack[0];
	if (w->pid < 0) {
		close(w->cmd);
		close(w->ack);
		free(w);
		return NULL;
	}
	w->next = watches;
	watches = w;
	return w;
}

/* Reads n bytes from the checker, waiting at most TD_TIMEOUT_MS. */
static bool watch_read(struct td_watch *w, void *buf, size_t n)
{
	uint64_t deadline = clock_mono_ns() + TD_TIMEOUT_MS * NSEC_PER_MSEC;
	char *p = buf;

	while (n) {
		struct pollfd pf = {.fd = w->ack, .events = POLLIN};
		uint64_t now = clock_mono_ns();
		ssize_t r;

		if (now >= deadline ||
		    poll(&pf, 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1) <= 0)
			return false;
		r = read(w->ack, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

bool td_watch_mark(struct td_watch *w)
{
	char x = 0;

	if (!w || !full_write(w->cmd, "m\n", 2) || !watch_read(w, &x, 1)) {
		fprintf(stderr, "td_watch_mark: the checker does not answer\n");
		return false;
	}
	if (x != 'o')
		fprintf(stderr, "td_watch_mark: a wrong answer was seen in the window\n");
	return x == 'o';
}

bool td_watch_path(struct td_watch *w, const char *path)
{
	char line[PATH_MAX + 4];
	int n = snprintf(line, sizeof(line), "p %s\n", path);

	if (!w || n >= (int)sizeof(line) || !full_write(w->cmd, line, (size_t)n))
		return false;
	return td_watch_mark(w);
}

bool td_watch_end(struct td_watch *w)
{
	struct watch_result res = {0};
	bool got;
	int st = -1;

	if (!w)
		return false;
	got = full_write(w->cmd, "s\n", 2) && watch_read(w, &res, sizeof(res));
	if (!got)
		kill(w->pid, SIGKILL);
	waitpid(w->pid, &st, 0);
	watch_free(w);
	if (!got) {
		fprintf(stderr, "td_watch_end: the checker did not report\n");
		return false;
	}
	if (res.bad)
		fprintf(stderr, "td_watch_end: %ld of %ld answers were wrong; the first: %s\n",
			res.bad, res.rounds, res.first_bad);
	else if (!res.rounds)
		fprintf(stderr, "td_watch_end: no answer was checked\n");
	return !res.bad && res.rounds > 0;
}

/* ---- bench/burst results ---- */

json_t *td_burst_parse(const char *text)
{
	json_t *o = json_object();
	const char *l = text;

	while (l && *l) {
		char key[64];
		double v;

		if (sscanf(l, "%63s %lf", key, &v) == 2)
			json_object_set_new(o, key, json_real(v));
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	if (!json_object_size(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static double num(json_t *row, const char *key)
{
	json_t *v = json_object_get(row, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

const char *td_burst_problem(json_t *row, bool want_lost)
{
	if (!row)
		return "no result";
	if (num(row, "procs") <= 0)
		return "no storm process was started";
	if (num(row, "failed_procs") != 0)
		return "storm processes failed (or did not say)";
	if (num(row, "open_close_ops") <= 0)
		return "the storm opened and closed nothing";
	if (num(row, "checks") <= 0)
		return "nothing was asked during the storm";
	if (num(row, "wrong_during") != 0)
		return "wrong answers during the storm";
	if (num(row, "wrong_after") != 0)
		return "the table did not come back after the storm";
	if (num(row, "resync_ms") < 0)
		return "no resynchronisation time";
	if (want_lost && num(row, "events_lost") <= 0)
		return "the ring lost no event: the lost-events case was not tested";
	if (want_lost && num(row, "reconciliations") <= 0)
		return "events were lost but the daemon did not reconcile";
	return NULL;
}
