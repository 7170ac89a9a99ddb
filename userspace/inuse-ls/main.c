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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/pathutil.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inuse-ls/between.h"
#include "inuse-ls/passthru.h"
#include "inuse.h"

enum { EXIT_NONE_OPEN = 0, EXIT_SOME_OPEN = 1, EXIT_ERR = 2, EXIT_MISSING = 3 };

/* Columns of the WRITERS column: longer lists are cut (",+N"). */
#define WRITERS_WIDTH 30

/* how a successful answer to our list request (id 1) begins */
#define LIST_OK "{\"id\":1,\"ok\":true,"

static const char usage[] =
    "Usage: inuse-ls [OPTION]... [PATH]...\n"
    "List the regular files open for writing on this machine, with their writers,\n"
    "from inused. With PATHs, tell for each file whether it is open for writing,\n"
    "and for each directory which files under it are.\n"
    "\n"
    "  -j, --json              print the daemon's JSON answers (see docs/protocol.md;\n"
    "                          a whole listing in its lean form, each writing\n"
    "                          process named once in \"processes\")\n"
    "  -f, --follow            then show files as they are opened and closed, until\n"
    "                          interrupted (with --json: the event stream as is)\n"
    "  -u, --under DIR         only files below DIR\n"
    "  -p, --pid PID           only files PID writes\n"
    "  -U, --user USER         only files USER's processes write (name or uid)\n"
    "  -o, --older-than DUR    only files open for writing longer than DUR (90s, 2h)\n"
    "  -b, --between T1 T2     every file open for writing (so maybe written) at\n"
    "                          some time from T1 to T2, from inused's history\n"
    "                          (now, -2h, 14:00, '2026-11-30 14:00', @UNIXTIME);\n"
    "                          with --under, below DIR only\n"
    "  -s, --socket PATH       inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -h, --help              show this help and exit\n"
    "  -V, --version           show the version and exit\n"
    "\n"
    "Exit status: 0 nothing asked about is open for writing (or a plain listing\n"
    "was printed); 1 some given file, a file under a given directory, or a file\n"
    "that --under, --pid, --user or --older-than select is open for writing;\n"
    "3 a given PATH does not exist (and none is open); 2 error. With --between:\n"
    "1 some file was open for writing in the window, 0 none, 2 error or a\n"
    "window before inused's history begins (when none was found).\n";

struct args {
	const char *between[2];
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
	    {"json", no_argument, NULL, 'j'},
	    {"under", required_argument, NULL, 'u'},
	    {"follow", no_argument, NULL, 'f'},
	    {"pid", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'U'},
	    {"older-than", required_argument, NULL, 'o'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"between", required_argument, NULL, 'b'},
	    {0},
	};
	uint64_t ns;
	char *end;
	int c;

	memset(a, 0, sizeof(*a));
	a->uid = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jfu:p:U:o:s:hVb:", lo, NULL)) != -1) {
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
		case 'b':
			/* two values: T1 here, T2 next */
			if (optind >= argc)
				die_usage("--between needs T1 and T2", NULL);
			a->between[0] = optarg;
			a->between[1] = argv[optind++];
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

/* A list request with the filters of a, and either the PATHs given
 * (paths, n) or, with dir, the files under dir. */
static json_t *build_request(const struct args *a, char *const *paths, size_t n, const char *dir)
{
	json_t *req = json_pack("{s:s, s:i}", "op", "list", "id", 1);
	const char *under = dir ? dir : a->under;

	if (under) {
		char *r = realpath(under, NULL);

		if (!r) {
			fprintf(stderr, "inuse-ls: %s: %s\n", under, strerror(errno));
			exit(errno == ENOENT ? EXIT_MISSING : EXIT_ERR);
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
	if (n) {
		json_t *ps = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(ps, jname_new(paths[i], strlen(paths[i])));
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

/* Display width of a terminal-safe text (escaped by name_display): one
 * column per character. */
static size_t text_width(const char *s, size_t len)
{
	size_t w = 0;

	for (size_t i = 0; i < len; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/*
 * The writers of a file as pid/command(user), each process once (a process
 * that holds the file by several descriptors and mappings is one writer),
 * [mmap] or [uring] when it holds it that way only. With width, as many as
 * fit in that many columns, then ",+N" for the rest.
 */
static void writers_text(json_t *f, struct strbuf *b, size_t width)
{
	json_t *ws = json_object_get(f, "writers"), *w;
	size_t i, n = json_array_size(ws), shown_n = 0, procs = 0;
	long long dropped = json_integer_value(json_object_get(f, "writers_dropped"));

	for (i = 0; i < n; i++) {
		long long pid = json_integer_value(json_object_get(json_array_get(ws, i), "pid"));
		bool fd = false, mmap = false, uring = false, first = true;
		struct strbuf one = {0}, cb = {0};
		char uid[32], more[32];
		size_t j;

		json_array_foreach(ws, j, w)
		{
			const char *mode = json_string_value(json_object_get(w, "mode")) ?: "";

			if (json_integer_value(json_object_get(w, "pid")) != pid)
				continue;
			if (j < i)
				first = false;
			mmap |= !strcmp(mode, "mmap");
			uring |= !strcmp(mode, "uring");
			fd |= strcmp(mode, "mmap") && strcmp(mode, "uring");
		}
		if (!first)
			continue; /* shown with its first writer */
		procs++;
		w = json_array_get(ws, i);
		sb_printf(
		    &one, "%s%lld/%s(%s)%s", shown_n ? "," : "", pid,
		    shown(json_object_get(w, "comm"), &cb) ?: "?",
		    user_name(json_integer_value(json_object_get(w, "uid")), uid, sizeof(uid)),
		    fd	    ? ""
		    : mmap  ? "[mmap]"
		    : uring ? "[uring]"
			    : "");
		sb_free(&cb);
		/* room left for ",+N" after it, if others may follow */
		snprintf(more, sizeof(more), ",+%zu", n);
		if (width && shown_n &&
		    text_width(b->buf ?: "", b->len) + text_width(one.buf, one.len) +
			    (i + 1 < n || dropped ? strlen(more) : 0) >
			width) {
			sb_free(&one);
			continue;
		}
		sb_add(b, one.buf, one.len);
		sb_free(&one);
		shown_n++;
	}
	if (n == 0)
		sb_adds(b, "?");
	if (procs > shown_n || dropped)
		sb_printf(b, ",+%lld", (long long)(procs - shown_n) + dropped);
	if (width && text_width(b->buf, b->len) > width) {
		/* one writer alone is wider: cut it, marked */
		size_t cols = 0, k = 0;

		for (; k < b->len; k++) {
			if (((unsigned char)b->buf[k] & 0xc0) != 0x80 && ++cols == width)
				break;
		}
		b->len = k;
		sb_adds(b, ">");
	}
}

static void print_file(json_t *f, double now, double started)
{
	double first = json_number_value(json_object_get(f, "first_open"));
	double lw = json_number_value(json_object_get(f, "last_write"));
	struct strbuf pb = {0}, w = {0};
	const char *path = shown(json_object_get(f, "path"), &pb);
	char open_for[32], written[32];
	size_t pad;

	if (json_is_null(json_object_get(f, "first_open"))) {
		/* opened before inused started: at least since then */
		ago(started, now, open_for + 1, sizeof(open_for) - 1);
		open_for[0] = '>';
	} else {
		ago(first, now, open_for, sizeof(open_for));
	}
	ago(lw, now, written, sizeof(written));
	writers_text(f, &w, WRITERS_WIDTH);
	if (!path) {
		/* not reachable from here: where it is within its file system */
		struct strbuf fb = {0};
		const char *fs = shown(json_object_get(f, "fs_path"), &fb);
		const char *dev = json_string_value(json_object_get(f, "fs_dev"));

		sb_free(&pb);
		if (fs && json_is_true(json_object_get(f, "path_truncated")))
			sb_adds(&pb, fs); /* its end, marked below */
		else if (fs)
			sb_printf(&pb, "(not mounted here: %s on device %s)", fs, dev ? dev : "?");
		else
			sb_adds(&pb, "(unknown path)");
		sb_free(&fb);
		path = pb.buf;
	}
	pad = text_width(w.buf ?: "", w.len);
	pad = pad < WRITERS_WIDTH ? WRITERS_WIDTH - pad : 0;
	printf(
	    "%-8s %-8s %s%*s %s%s%s%s\n", open_for, written, w.buf ? w.buf : "", (int)pad, "", path,
	    json_is_true(json_object_get(f, "path_truncated")) ? " (path too long: its end)" : "",
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
			writers_text(f, &w, 0);
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

/* One list request; the answer line (malloc'ed) and its parsed form. */
static json_t *ask(struct inuse_client *c, json_t *req, char **line, size_t *len)
{
	char *reqs = json_dumps(req, JSON_COMPACT);
	json_t *resp;
	int err;

	json_decref(req);
	err = reqs ? inuse_client__call(c, reqs, strlen(reqs), line, len) : -ENOMEM;
	free(reqs);
	if (err) {
		fprintf(stderr, "inuse-ls: asking inused failed: %s\n", strerror(-err));
		exit(EXIT_ERR);
	}
	resp = json_loadb(*line, *len, 0, NULL);
	if (!resp || !json_is_true(json_object_get(resp, "ok"))) {
		json_t *e = json_object_get(resp, "error");

		exit_if_busy(resp);
		fprintf(stderr, "inuse-ls: inused refused: %s\n",
			e ? json_string_value(json_object_get(e, "message")) : "bad answer");
		exit(EXIT_ERR);
	}
	return resp;
}

static void print_header(void)
{
	printf("%-8s %-8s %-*s %s\n", "OPEN", "WRITTEN", WRITERS_WIDTH, "WRITERS", "PATH");
}

static void print_notes(json_t *resp)
{
	if (json_is_true(json_object_get(resp, "table_full")))
		fprintf(stderr, "inuse-ls: warning: inused's table is full; files may be "
				"missing (raise --max-files)\n");
	if (!json_is_true(json_object_get(resp, "complete")))
		fprintf(stderr, "inuse-ls: note: only files your own processes write are shown\n");
}

/* The worse of two exit statuses: error, then open, then missing. */
static int worse(int a, int b)
{
	static const int rank[] = {
	    [EXIT_NONE_OPEN] = 0, [EXIT_MISSING] = 1, [EXIT_SOME_OPEN] = 2, [EXIT_ERR] = 3};

	return rank[b] > rank[a] ? b : a;
}

/* The PATHs that are files (or missing): states and the open ones. */
static int ask_paths(struct inuse_client *c, const struct args *a, char **paths, char **given,
		     size_t n, double started)
{
	json_t *resp, *ps, *p, *files, *f;
	int ret = EXIT_NONE_OPEN;
	char *line;
	size_t len, i;

	resp = ask(c, build_request(a, paths, n, NULL), &line, &len);
	ps = json_object_get(resp, "paths");
	files = json_object_get(resp, "files");
	json_array_foreach(ps, i, p)
	{
		const char *st = json_string_value(json_object_get(p, "state")) ?: "?";
		struct strbuf nb = {0};

		if (!strcmp(st, "open"))
			ret = worse(ret, EXIT_SOME_OPEN);
		else if (!strcmp(st, "missing"))
			ret = worse(ret, EXIT_MISSING);
		else if (strcmp(st, "not_open"))
			ret = worse(ret, EXIT_ERR);
		if (a->json || i >= n)
			continue;
		name_display(&nb, given[i], strlen(given[i]));
		printf("%s: %s\n", nb.buf,
		       !strcmp(st, "open")	    ? "open for writing"
		       : !strcmp(st, "not_open")    ? "not open for writing"
		       : !strcmp(st, "missing")	    ? "no such file"
		       : !strcmp(st, "not_regular") ? "not a regular file"
						    : st);
		sb_free(&nb);
	}
	if (a->json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else if (json_array_size(files)) {
		double now = (double)clock_real_ns() / 1e9;

		printf("\n");
		print_header();
		json_array_foreach(files, i, f) print_file(f, now, started);
	}
	if (!a->json)
		print_notes(resp);
	json_decref(resp);
	free(line);
	return ret;
}

/* A listing (of everything, of what the filters select, or of the files
 * under dir): exit status 1 when it holds a file and something was asked
 * (a filter or a directory), 0 otherwise. */
static int ask_list(struct inuse_client *c, const struct args *a, const char *dir,
		    const char *given, double started)
{
	bool asked = dir || a->under || a->pid || a->uid >= 0 || a->older;
	json_t *resp, *files, *f;
	char *line;
	size_t len, i;
	long long count;

	resp = ask(c, build_request(a, NULL, 0, dir), &line, &len);
	files = json_object_get(resp, "files");
	count = (long long)json_array_size(files);
	if (a->json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		double now = (double)clock_real_ns() / 1e9;

		if (dir) {
			struct strbuf nb = {0};

			name_display(&nb, given, strlen(given));
			printf("%s: %lld file%s open for writing under it\n", nb.buf, count,
			       count == 1 ? "" : "s");
			sb_free(&nb);
		}
		if (count || !dir)
			print_header();
		json_array_foreach(files, i, f) print_file(f, now, started);
		print_notes(resp);
	}
	json_decref(resp);
	free(line);
	return asked && count ? EXIT_SOME_OPEN : EXIT_NONE_OPEN;
}

int main(int argc, char **argv)
{
	struct inuse_client_opts o = {.sz = sizeof(o)};
	struct inuse_client *c = NULL;
	struct args a;
	char **files, **given, **dirs, **dgiven;
	size_t nfiles = 0, ndirs = 0;
	int err, ret = EXIT_NONE_OPEN;
	double started = 0;

	parse_args(&a, argc, argv);
	/* a PATH that is a directory stands for the files under it */
	files = calloc((size_t)a.npaths + 1, sizeof(*files));
	given = calloc((size_t)a.npaths + 1, sizeof(*given));
	dirs = calloc((size_t)a.npaths + 1, sizeof(*dirs));
	dgiven = calloc((size_t)a.npaths + 1, sizeof(*dgiven));
	if (!files || !given || !dirs || !dgiven) {
		ret = EXIT_ERR;
		goto out;
	}
	for (int i = 0; i < a.npaths; i++) {
		char *ab = path_absolute(a.paths[i]);
		struct stat st;

		if (!ab) {
			fprintf(stderr, "inuse-ls: %s: %s\n", a.paths[i], strerror(errno));
			ret = EXIT_ERR;
			goto out;
		}
		if (stat(ab, &st) == 0 && S_ISDIR(st.st_mode)) {
			dirs[ndirs] = ab;
			dgiven[ndirs++] = a.paths[i];
		} else {
			files[nfiles] = ab;
			given[nfiles++] = a.paths[i];
		}
	}
	o.socket_path = a.socket;
	err = inuse_client__open(&o, &c);
	if (err) {
		ret = connect_error(err, a.socket		    ? a.socket
					 : getenv(INUSE_SOCKET_ENV) ? getenv(INUSE_SOCKET_ENV)
								    : INUSE_DEFAULT_SOCKET_PATH);
		goto out;
	}
	if (a.between[0]) {
		double now = (double)clock_real_ns() / 1e9, t1, t2;

		if (when_parse(a.between[0], now, &t1) || when_parse(a.between[1], now, &t2) ||
		    t2 < t1) {
			fprintf(stderr, "inuse-ls: --between: bad times (try '-2h now', "
					"'02:00 04:30', '@1764500000 @1764503600')\n");
			inuse_client__free(c);
			ret = EXIT_ERR;
			goto out;
		}
		ret = ls_between(c, t1, t2, a.under, a.json);
		inuse_client__free(c);
		goto out;
	}
	if (!a.json)
		started = hello_started(c);
	if (!a.npaths && a.json) {
		/* A whole listing as JSON is passed through, in the lean form
		 * (docs/protocol.md), as it arrives: every answer begins with
		 * its id and "ok", so it needs no parsing. */
		json_t *req = build_request(&a, NULL, 0, NULL);
		char *reqs, *other = NULL;
		bool asked = a.under || a.pid || a.uid >= 0 || a.older;
		long long count = 0;

		json_object_set_new(req, "lean", json_true());
		json_object_set_new(req, "processes", json_true());
		reqs = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		err =
		    reqs ? passthru_list(c, reqs, strlen(reqs), LIST_OK, &count, &other) : -ENOMEM;
		free(reqs);
		inuse_client__free(c);
		if (err || other) {
			if (other)
				exit_if_busy(json_loads(other, 0, NULL));
			fprintf(stderr, "inuse-ls: asking inused failed: %s\n",
				err ? strerror(-err) : "refused");
			free(other);
			ret = EXIT_ERR;
			goto out;
		}
		ret = asked && count ? EXIT_SOME_OPEN : EXIT_NONE_OPEN;
		goto follow;
	}
	if (nfiles)
		ret = worse(ret, ask_paths(c, &a, files, given, nfiles, started));
	for (size_t i = 0; i < ndirs; i++)
		ret = worse(ret, ask_list(c, &a, dirs[i], dgiven[i], started));
	if (!a.npaths)
		ret = ask_list(c, &a, NULL, NULL, started);
	inuse_client__free(c);
follow:
	if (a.follow) {
		/* the table as it was, then what changes */
		fflush(stdout);
		o.timeout_ms = -1;
		if ((err = inuse_client__open(&o, &c))) {
			ret = connect_error(err, a.socket ? a.socket : INUSE_DEFAULT_SOCKET_PATH);
			goto out;
		}
		ret = follow(c, &a);
		inuse_client__free(c);
	}
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(files);
	free(given);
	free(dirs);
	free(dgiven);
	return ret;
}
