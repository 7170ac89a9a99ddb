// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tool_rsync.c - rsync, into a mirror. Sources: the local arguments before
 * the last (the destination). Names: relative to each source's transfer
 * root (its contents with a trailing slash, the directory itself
 * without). Excludes: a merged filter file; a busy file is "- /name"
 * (hidden and protected: the mirror keeps its earlier copy), a companion of
 * a database copied by method is "H /name" (hidden only: --delete removes
 * a stale one). Retries: rsync again with the staging tree as its source,
 * --files-from the staged names, --ignore-times, and --delete-missing-args
 * for the companions, so that a mirror never keeps a -wal, -shm or
 * -journal beside a database copied by method.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jname.h"
#include "inuse-run/run.h"

struct rsync_state {
	int dest; /* index of the destination argument */
	bool relative;
};

static const char *const long_values[] = {"--rsh",
					  "--rsync-path",
					  "--filter",
					  "--exclude",
					  "--exclude-from",
					  "--include",
					  "--include-from",
					  "--files-from",
					  "--temp-dir",
					  "--compare-dest",
					  "--copy-dest",
					  "--link-dest",
					  "--backup-dir",
					  "--suffix",
					  "--chmod",
					  "--chown",
					  "--usermap",
					  "--groupmap",
					  "--max-size",
					  "--min-size",
					  "--max-delete",
					  "--max-alloc",
					  "--timeout",
					  "--contimeout",
					  "--port",
					  "--sockopts",
					  "--password-file",
					  "--log-file",
					  "--log-file-format",
					  "--out-format",
					  "--bwlimit",
					  "--partial-dir",
					  "--compress-choice",
					  "--zc",
					  "--compress-level",
					  "--zl",
					  "--checksum-choice",
					  "--cc",
					  "--checksum-seed",
					  "--skip-compress",
					  "--iconv",
					  "--write-batch",
					  "--only-write-batch",
					  "--read-batch",
					  "--protocol",
					  "--info",
					  "--debug",
					  "--stop-after",
					  "--stop-at",
					  "--outbuf",
					  "--remote-option",
					  "--address",
					  "--modify-window",
					  "--block-size",
					  "--copy-as",
					  "--early-input",
					  "--stderr",
					  NULL};
static const char short_values[] = "eBTMf@";

/* Options a retry leaves out: deletions, filters, lists, and what would
 * keep a staged copy from replacing the mirror's. */
static const char *const dropped[] = {"--delete",
				      "--del",
				      "--delete-before",
				      "--delete-during",
				      "--delete-delay",
				      "--delete-after",
				      "--delete-excluded",
				      "--delete-missing-args",
				      "--remove-source-files",
				      "--filter",
				      "--exclude",
				      "--exclude-from",
				      "--include",
				      "--include-from",
				      "--files-from",
				      "--from0",
				      "--cvs-exclude",
				      "--existing",
				      "--ignore-existing",
				      "--update",
				      "--max-delete",
				      "--prune-empty-dirs",
				      "--list-only",
				      "--ignore-missing-args",
				      NULL};
static const char dropped_letters[] = "uCFm0";

static bool remote(const char *a)
{
	const char *colon = strchr(a, ':'), *slash = strchr(a, '/');

	return !strncmp(a, "rsync://", 8) || (colon && (!slash || colon < slash));
}

static int rsync_parse(struct run *r)
{
	struct rsync_state *t = calloc(1, sizeof(*t));
	int *pos = calloc((size_t)r->argc, sizeof(*pos)), npos = 0;
	bool names_only = false;

	if (!t || !pos)
		return -1;
	r->tstate = t;
	for (int i = 1; i < r->argc; i++) {
		const char *a = r->argv[i];

		if (!names_only && !strcmp(a, "--")) {
			names_only = true;
		} else if (!names_only && !strncmp(a, "--", 2)) {
			if (!strcmp(a, "--relative"))
				t->relative = true;
			if (!strchr(a, '=') && opt_in(a, long_values))
				i++;
		} else if (!names_only && a[0] == '-' && a[1]) {
			for (const char *l = a + 1; *l; l++) {
				if (*l == 'R')
					t->relative = true;
				if (strchr(short_values, *l)) {
					if (!l[1])
						i++;
					break;
				}
			}
		} else {
			pos[npos++] = i;
		}
	}
	if (npos >= 2) {
		t->dest = pos[npos - 1];
		for (int k = 0; k < npos - 1; k++)
			if (!remote(r->argv[pos[k]]) && source_add(r, r->argv[pos[k]], NULL)) {
				free(pos);
				return -1;
			}
	}
	free(pos);
	return 0;
}

/* The name below the transfer root (no leading slash). */
static char *rsync_name(const struct run *r, const struct source *s, const char *path)
{
	const struct rsync_state *t = r->tstate;
	const char *rest = path + strlen(s->abs);
	char *o;

	if (t->relative) {
		/* the path as given, from an "/./" marker if any */
		const char *g = strstr(s->given, "/./");
		size_t n;

		g = g ? g + 3 : strip_slashes(s->given);
		n = strlen(g);
		while (n && g[n - 1] == '/')
			n--;
		return asprintf(&o, "%.*s%s", (int)n, g, rest) < 0 ? NULL : o;
	}
	if (s->slash || !s->dir) {
		if (!s->dir) /* a file: its own name */
			return strdup(strrchr(s->abs, '/') + 1);
		return strdup(strip_slashes(rest));
	}
	return asprintf(&o, "%s%s", strrchr(s->abs, '/') + 1, rest) < 0 ? NULL : o;
}

/* A filter rule for an item: "- /name" (hidden and protected), "H /name"
 * for a companion (hidden only); the name escaped when it holds a
 * wildcard. */
static int put_rule(FILE *f, const struct item *it)
{
	const char *name = it->name;
	char kind = it->kind == IT_COMPANION ? 'H' : '-';
	bool wild = strpbrk(name, "*?[") != NULL;

	if (strpbrk(name, "\n\r"))
		return -1; /* a rule is a line */
	fprintf(f, "%c /", kind);
	for (const char *c = name; *c; c++) {
		if (wild && strchr("*?[\\", *c))
			fputc('\\', f);
		fputc(*c, f);
	}
	fputc('\n', f);
	return 0;
}

static int rsync_exclude(struct run *r)
{
	int n = exclude_write(r, ".filter", true, "an rsync rule", put_rule);

	if (n <= 0)
		return n;
	return exclude_option(r, 1, "--filter=merge ");
}

static bool keep_option(const char *a)
{
	if (!strncmp(a, "--", 2))
		return !opt_in(a, dropped);
	return true;
}

/* The user's options for a retry (values kept, the dropped ones left
 * out), into v. */
static void user_options(struct run *r, struct vec *v)
{
	const struct rsync_state *t = r->tstate;
	int last_opt = t->dest;

	for (int i = 1; i < last_opt; i++) {
		const char *a = r->orig[i];
		bool takes = false;

		if (!strcmp(a, "--"))
			break;
		if (!strncmp(a, "--", 2)) {
			takes = !strchr(a, '=') && opt_in(a, long_values);
			if (keep_option(a)) {
				vec_add(v, a);
				if (takes && i + 1 < last_opt)
					vec_add(v, r->orig[i + 1]);
			}
			i += takes;
		} else if (a[0] == '-' && a[1]) {
			char b[256];
			size_t n = 0;

			b[n++] = '-';
			for (const char *l = a + 1; *l && n < sizeof(b) - 1; l++) {
				if (strchr(short_values, *l)) {
					/* a value: the rest of the word, or the next one */
					bool keep = *l != 'f';

					if (keep) {
						b[n++] = *l;
						b[n] = '\0';
						if (l[1])
							snprintf(b + n, sizeof(b) - n, "%s", l + 1);
					}
					if (n > 1)
						vec_add(v, b);
					n = 0;
					if (!l[1] && i + 1 < last_opt) {
						if (keep)
							vec_add(v, r->orig[i + 1]);
						i++;
					}
					break;
				}
				if (!strchr(dropped_letters, *l))
					b[n++] = *l;
			}
			if (n > 1) {
				b[n] = '\0';
				vec_add(v, b);
			}
		}
		/* sources are not passed on */
	}
}

/* rsync from the staging tree: the list's files, and the list's missing
 * names deleted at the destination. */
static int send(struct run *r, const char *list, size_t len, const char *what)
{
	const struct rsync_state *t = r->tstate;
	struct vec v = {0};
	char *listfile;
	int rc;

	if (!t->dest || !(listfile = list_write(r, ".files", list, len)))
		return -1;
	vec_add(&v, r->orig[0]);
	user_options(r, &v);
	vec_add(&v, "--from0");
	vec_addf(&v, "--files-from=%s", listfile);
	vec_add(&v, "--delete-missing-args");
	vec_add(&v, "--ignore-times");
	vec_addf(&v, "%s/", r->tree);
	vec_add(&v, r->orig[t->dest]);
	if (r->verbose)
		say_command("sending", v.v);
	rc = spawn(v.v, NULL, NULL, 0, NULL, 0);
	vec_free(&v);
	free(listfile);
	if (rc != 0)
		snprintf(r->retry_note, sizeof(r->retry_note), "rsync of %s failed (%d)", what, rc);
	return rc ? -1 : 0;
}

static int rsync_retry(struct run *r, const char *report)
{
	static const char *const comp[] = {"-wal", "-shm", "-journal"};
	char *list = NULL, *c;
	size_t len = 0, copies = 0, removed = 0;
	int ret;

	for (size_t i = 0; i < r->nit; i++) {
		const struct item *it = &r->it[i];

		if (!it->staged)
			continue;
		list_add(&list, &len, it->name);
		copies++;
		if (it->out != OUT_METHOD)
			continue;
		/* its companions go from the mirror: the copy stands alone */
		for (size_t k = 0; k < 3; k++)
			if (asprintf(&c, "%s%s", it->name, comp[k]) >= 0) {
				list_add(&list, &len, c);
				free(c);
			}
	}
	if (report)
		list_add(&list, &len, REPORT_MEMBER);
	ret = len ? send(r, list, len, "the retried copies") : 0;
	free(list);
	if (ret)
		retry_failed(r);
	for (size_t i = 0; i < r->nit; i++) {
		struct item *it = &r->it[i];

		if (it->kind == IT_COMPANION && !ret && it->companion_of) {
			struct item *db = item_find(r, it->companion_of);

			if (db && db->out == OUT_METHOD) {
				it->out = OUT_REMOVED;
				removed++;
			}
		}
	}
	if (!ret) {
		snprintf(r->retry_note, sizeof(r->retry_note),
			 "sent %zu retried cop%s to %s%s; companions of databases copied by "
			 "method removed there: %zu",
			 copies, copies == 1 ? "y" : "ies",
			 r->orig[((struct rsync_state *)r->tstate)->dest],
			 report ? " with the report (" REPORT_MEMBER ")" : "", removed);
		if (report)
			snprintf(r->record_note, sizeof(r->record_note),
				 "recorded in the mirror as " REPORT_MEMBER);
	}
	return ret;
}

static int rsync_record(struct run *r, const char *report)
{
	char *list = NULL;
	size_t len = 0;
	int ret;

	if (!report)
		return -1;
	list_add(&list, &len, REPORT_MEMBER);
	ret = send(r, list, len, "the report");
	free(list);
	if (!ret)
		snprintf(r->record_note, sizeof(r->record_note),
			 "recorded in the mirror as " REPORT_MEMBER);
	return ret;
}

const struct tool tool_rsync = {
    .name = "rsync",
    .parse = rsync_parse,
    .name_of = rsync_name,
    .exclude = rsync_exclude,
    .retry = rsync_retry,
    .record = rsync_record,
};
