// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inuse-ls - list the files open for writing, as inused sees them. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/pathutil.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inuse.h"

enum { EXIT_NONE_OPEN = 0, EXIT_SOME_OPEN = 1, EXIT_ERR = 2 };

/* how a successful answer to our list request (id 1) begins */
#define LIST_OK "{\"id\":1,\"ok\":true,"

static const char usage[] =
    "Usage: inuse-ls [OPTION]... [PATH]...\n"
    "List the regular files open for writing on this machine, with their writers,\n"
    "from inused. With PATHs, tell for each whether it is open for writing.\n"
    "\n"
    "  -j, --json              print the daemon's JSON answer (see docs/protocol.md)\n"
    "  -f, --follow            then show files as they are opened and closed, until\n"
    "                          interrupted (with --json: the event stream as is)\n"
    "  -u, --under DIR         only files below DIR\n"
    "  -p, --pid PID           only files PID writes\n"
    "  -U, --user USER         only files USER's processes write (name or uid)\n"
    "  -o, --older-than DUR    only files open for writing longer than DUR (90s, 2h)\n"
    "  -s, --socket PATH       inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Exit status: 0 when none of the given PATHs is open for writing (or, without\n"
    "PATHs, when the list was printed), 1 when some are, 2 on error.\n";

struct args {
	bool json;
	bool follow;
	const char *under;
	long pid;
	long long uid;
	const char *older;
	const char *socket;
	char **paths;
	int npaths;
};

static void die_usage(const char *msg, const char *arg)
{
	fprintf(stderr, "inuse-ls: %s%s%s\nTry 'inuse-ls --help'.\n", msg, arg ? ": " : "",
		arg ? arg : "");
	exit(EXIT_ERR);
}

static long long parse_user(const char *s)
{
	struct passwd *pw = getpwnam(s);
	char *end;
	long long v;

	if (pw)
		return pw->pw_uid;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !*s || *end || v < 0 || v > UINT32_MAX)
		die_usage("no such user", s);
	return v;
}

static void parse_args(struct args *a, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"json", no_argument, NULL, 'j'},	      {"under", required_argument, NULL, 'u'},
	    {"follow", no_argument, NULL, 'f'},	      {"pid", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'U'},   {"older-than", required_argument, NULL, 'o'},
	    {"socket", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {0},
	};
	uint64_t ns;
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->uid = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jfu:p:U:o:s:hV", lo, NULL)) != -1) {
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'f':
			a->follow = true;
			break;
		case 'u':
			a->under = optarg;
			break;
		case 'p':
			errno = 0;
			a->pid = strtol(optarg, &end, 10);
			if (errno || *end || a->pid <= 0)
				die_usage("bad pid", optarg);
			break;
		case 'U':
			a->uid = parse_user(optarg);
			break;
		case 'o':
			if (parse_duration(optarg, &ns))
				die_usage("bad duration (try 90s, 15m, 2h)", optarg);
			a->older = optarg;
			break;
		case 's':
			a->socket = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("inuse-ls %s\n", INUSE_VERSION);
			exit(0);
		case ':':
			die_usage("option needs a value", argv[optind - 1]);
			break;
		default:
			die_usage("unknown option", argv[optind - 1]);
		}
	}
	a->paths = argv + optind;
	a->npaths = argc - optind;
}

static json_t *build_request(const struct args *a)
{
	json_t *req = json_pack("{s:s, s:i}", "op", "list", "id", 1);

	if (a->under) {
		char *r = realpath(a->under, NULL);

		if (!r) {
			fprintf(stderr, "inuse-ls: %s: %s\n", a->under, strerror(errno));
			exit(EXIT_ERR);
		}
		json_object_set_new(req, "under", jname_new(r, strlen(r)));
		free(r);
	}
	if (a->pid)
		json_object_set_new(req, "pid", json_integer(a->pid));
	if (a->uid >= 0)
		json_object_set_new(req, "uid", json_integer(a->uid));
	if (a->older)
		json_object_set_new(req, "older_than", json_string(a->older));
	if (a->npaths) {
		json_t *ps = json_array();

		for (int i = 0; i < a->npaths; i++) {
			char *ab = path_absolute(a->paths[i]);

			if (!ab) {
				fprintf(stderr, "inuse-ls: %s: %s\n", a->paths[i], strerror(errno));
				exit(EXIT_ERR);
			}
			json_array_append_new(ps, jname_new(ab, strlen(ab)));
			free(ab);
		}
		json_object_set_new(req, "paths", ps);
	}
	return req;
}

static const char *user_name(json_int_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	if (pw)
		return pw->pw_name;
	snprintf(buf, len, "%lld", (long long)uid);
	return buf;
}

static void ago(double wall, double now, char *buf, size_t len)
{
	if (wall <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	format_duration(now > wall ? (uint64_t)((now - wall) * 1e9) : 0, buf, len);
}

/* A name from an answer (a string, or an array of bytes), escaped for the
 * terminal into tmp; NULL when absent. */
static const char *shown(json_t *v, struct strbuf *tmp)
{
	size_t len;
	char *raw = jname_get(v, (size_t)1 << 20, &len);

	sb_reset(tmp);
	if (!raw)
		return NULL;
	name_display(tmp, raw, len);
	free(raw);
	return tmp->buf;
}

static void writers_text(json_t *f, struct strbuf *b)
{
	json_t *ws = json_object_get(f, "writers"), *w;
	size_t i;

	json_array_foreach(ws, i, w)
	{
		const char *mode = json_string_value(json_object_get(w, "mode")) ?: "";
		struct strbuf cb = {0};
		char uid[32];

		if (i)
			sb_adds(b, ",");
		sb_printf(
		    b, "%lld/%s(%s)", (long long)json_integer_value(json_object_get(w, "pid")),
		    shown(json_object_get(w, "comm"), &cb) ?: "?",
		    user_name(json_integer_value(json_object_get(w, "uid")), uid, sizeof(uid)));
		if (!strcmp(mode, "mmap") || !strcmp(mode, "uring"))
			sb_printf(b, "[%s]", mode);
		sb_free(&cb);
	}
	if (json_array_size(ws) == 0)
		sb_adds(b, "?");
	if (json_integer_value(json_object_get(f, "writers_dropped")))
		sb_printf(b, ",+%lld more",
			  (long long)json_integer_value(json_object_get(f, "writers_dropped")));
}

static void print_file(json_t *f, double now, double started)
{
	double first = json_number_value(json_object_get(f, "first_open"));
	double lw = json_number_value(json_object_get(f, "last_write"));
	struct strbuf pb = {0}, w = {0};
	const char *path = shown(json_object_get(f, "path"), &pb);
	char open_for[32], written[32];

	if (json_is_null(json_object_get(f, "first_open"))) {
		/* opened before inused started: at least since then */
		ago(started, now, open_for + 1, sizeof(open_for) - 1);
		open_for[0] = '>';
	} else {
		ago(first, now, open_for, sizeof(open_for));
	}
	ago(lw, now, written, sizeof(written));
	writers_text(f, &w);
	if (!path) {
		/* not reachable from here: where it is within its file system */
		const char *fs = shown(json_object_get(f, "fs_path"), &pb);
		const char *dev = json_string_value(json_object_get(f, "fs_dev"));

		sb_free(&pb);
		if (fs)
			sb_printf(&pb, "(not mounted here: %s on device %s)", fs, dev ? dev : "?");
		else
			sb_adds(&pb, "(unknown path)");
		path = pb.buf;
	}
	printf("%-8s %-8s %-30s %s%s%s%s\n", open_for, written, w.buf ? w.buf : "", path,
	       json_is_true(json_object_get(f, "path_truncated")) ? " (path too long: its end)"
								  : "",
	       json_is_true(json_object_get(f, "deleted")) ? " (deleted)" : "",
	       json_is_true(json_object_get(f, "path_stale")) ? " (renamed: old name)" : "");
	sb_free(&w);
	sb_free(&pb);
}

/* An answer with error "busy" (the daemon is at one of its bounds):
 * says so and exits. */
static void exit_if_busy(json_t *r)
{
	json_t *e = json_object_get(r, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	struct strbuf m = {0};
	const char *msg;

	if (!code || strcmp(code, "busy"))
		return;
	msg = json_string_value(json_object_get(e, "message"));
	if (msg)
		name_display(&m, msg, strlen(msg));
	fprintf(stderr, "inuse-ls: inused is busy: %s; try again later\n",
		m.buf ? m.buf : "at one of its bounds");
	sb_free(&m);
	exit(EXIT_ERR);
}

/* Streams open and close events until the daemon goes or a signal. */
static int follow(struct inuse_client *c, const struct args *a)
{
	json_t *req = json_pack("{s:s, s:i}", "op", "subscribe", "id", 2);
	char *reqs, *line = NULL;
	size_t len;
	int err;

	if (a->under) {
		char *r = realpath(a->under, NULL);

		if (r)
			json_object_set_new(req, "under", jname_new(r, strlen(r)));
		free(r);
	}
	reqs = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	err = reqs ? inuse_client__send(c, reqs, strlen(reqs)) : -ENOMEM;
	free(reqs);
	while (!err && (err = inuse_client__recv(c, &line, &len)) == 0) {
		json_t *ev = json_loadb(line, len, 0, NULL);
		const char *kind = json_string_value(json_object_get(ev, "event"));

		if (a->json) {
			fwrite(line, 1, len, stdout);
			fputc('\n', stdout);
		} else if (kind && !strcmp(kind, "lost")) {
			printf("(%lld events lost: this listener was too slow)\n",
			       (long long)json_integer_value(json_object_get(ev, "count")));
		} else if (kind) {
			json_t *f = json_object_get(ev, "file");
			struct strbuf w = {0};
			time_t t = (time_t)json_number_value(json_object_get(ev, "time"));
			char ts[16];

			struct strbuf pb = {0};

			strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&t));
			writers_text(f, &w);
			printf("%s %-5s %s%s%s\n", ts, kind,
			       shown(json_object_get(f, "path"), &pb) ?: "(unknown path)",
			       !strcmp(kind, "open") ? "  by " : "",
			       !strcmp(kind, "open") && w.buf ? w.buf : "");
			sb_free(&w);
			sb_free(&pb);
		} else if (!json_is_true(json_object_get(ev, "ok"))) {
			exit_if_busy(ev);
			fprintf(stderr, "inuse-ls: inused refused to stream events\n");
			json_decref(ev);
			free(line);
			return EXIT_ERR;
		}
		fflush(stdout);
		json_decref(ev);
		free(line);
	}
	fprintf(stderr, "inuse-ls: the event stream ended: %s\n", strerror(-err));
	return EXIT_ERR;
}

static double hello_started(struct inuse_client *c)
{
	static const char req[] = "{\"op\":\"hello\",\"id\":0}";
	char *resp = NULL;
	double started = 0;

	if (inuse_client__call(c, req, sizeof(req) - 1, &resp, NULL) == 0) {
		json_t *r = json_loads(resp, 0, NULL);

		exit_if_busy(r);
		started = json_number_value(json_object_get(r, "started"));
		json_decref(r);
	}
	free(resp);
	return started;
}

static int connect_error(int err, const char *path)
{
	fprintf(stderr, "inuse-ls: cannot reach inused at %s: %s\n", path, strerror(-err));
	if (err == -ENOENT || err == -ECONNREFUSED)
		fprintf(stderr, "inuse-ls: is inused running? Start it as root with 'inused' "
				"(or 'systemctl start inused').\n");
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, "inuse-ls: the socket is for root and inused's group; run as "
				"root or ask to join that group.\n");
	return EXIT_ERR;
}

int main(int argc, char **argv)
{
	struct inuse_client_opts o = {.sz = sizeof(o)};
	struct inuse_client *c = NULL;
	struct args a;
	json_t *req, *resp, *files, *f;
	char *reqs, *line = NULL;
	size_t len, i;
	int err, ret = EXIT_NONE_OPEN;
	double now, started = 0;

	parse_args(&a, argc, argv);
	o.socket_path = a.socket;
	err = inuse_client__open(&o, &c);
	if (err)
		return connect_error(err, a.socket		     ? a.socket
					  : getenv(INUSE_SOCKET_ENV) ? getenv(INUSE_SOCKET_ENV)
								     : INUSE_DEFAULT_SOCKET_PATH);
	if (!a.json)
		started = hello_started(c);
	req = build_request(&a);
	reqs = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	err = reqs ? inuse_client__call(c, reqs, strlen(reqs), &line, &len) : -ENOMEM;
	free(reqs);
	if (err) {
		fprintf(stderr, "inuse-ls: asking inused failed: %s\n", strerror(-err));
		inuse_client__free(c);
		return EXIT_ERR;
	}
	inuse_client__free(c);
	/* A whole listing as JSON is passed through: every answer begins with
	 * its id and "ok" (docs/protocol.md), so it needs no parsing. */
	if (a.json && !a.npaths && !strncmp(line, LIST_OK, sizeof(LIST_OK) - 1)) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
		free(line);
		goto follow;
	}
	resp = json_loadb(line, len, 0, NULL);
	if (!resp || !json_is_true(json_object_get(resp, "ok"))) {
		json_t *e = json_object_get(resp, "error");

		exit_if_busy(resp);

		fprintf(stderr, "inuse-ls: inused refused: %s\n",
			e ? json_string_value(json_object_get(e, "message")) : "bad answer");
		json_decref(resp);
		free(line);
		return EXIT_ERR;
	}
	if (a.npaths) {
		json_t *ps = json_object_get(resp, "paths"), *p;

		json_array_foreach(ps, i, p)
		{
			const char *st = json_string_value(json_object_get(p, "state"));

			if (st && !strcmp(st, "open"))
				ret = EXIT_SOME_OPEN;
			else if (st && strcmp(st, "not_open") && strcmp(st, "not_regular") &&
				 strcmp(st, "missing"))
				ret = ret == EXIT_SOME_OPEN ? ret : EXIT_ERR;
		}
	}
	if (a.json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		now = (double)clock_real_ns() / 1e9;
		files = json_object_get(resp, "files");
		if (a.npaths) {
			json_t *ps = json_object_get(resp, "paths"), *p;

			json_array_foreach(ps, i, p)
			{
				const char *st =
				    json_string_value(json_object_get(p, "state")) ?: "?";
				struct strbuf nb = {0};

				if (i >= (size_t)a.npaths)
					break;
				name_display(&nb, a.paths[i], strlen(a.paths[i]));
				printf("%s: %s\n", nb.buf,
				       !strcmp(st, "open")	    ? "open for writing"
				       : !strcmp(st, "not_open")    ? "not open for writing"
				       : !strcmp(st, "missing")	    ? "no such file"
				       : !strcmp(st, "not_regular") ? "not a regular file"
								    : st);
				sb_free(&nb);
			}
			if (json_array_size(files))
				printf("\n");
		}
		if (json_array_size(files) || !a.npaths)
			printf("%-8s %-8s %-30s %s\n", "OPEN", "WRITTEN", "WRITERS", "PATH");
		json_array_foreach(files, i, f) print_file(f, now, started);
		if (json_is_true(json_object_get(resp, "table_full")))
			fprintf(stderr, "inuse-ls: warning: inused's table is full; files may be "
					"missing (raise --max-files)\n");
		if (!json_is_true(json_object_get(resp, "complete")))
			fprintf(stderr, "inuse-ls: note: only files your own processes write are "
					"shown\n");
	}
	json_decref(resp);
	free(line);
follow:
	if (a.follow) {
		/* the table as it was, then what changes */
		fflush(stdout);
		o.timeout_ms = -1;
		if ((err = inuse_client__open(&o, &c)))
			return connect_error(err, a.socket ? a.socket : INUSE_DEFAULT_SOCKET_PATH);
		ret = follow(c, &a);
		inuse_client__free(c);
	}
	return ret;
}
