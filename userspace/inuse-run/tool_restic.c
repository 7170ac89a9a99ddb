// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tool_restic.c - restic backup (0.14). Sources: the paths after
 * "backup". Names: as restic stores them, the path as given (relative
 * paths from the working directory). Excludes: --exclude-file, one
 * absolute path a line, its pattern characters escaped (restic expands
 * $VARIABLES in these lines: a $ is written [$]). Retries: a second
 * snapshot from the staging tree (--files-from-raw, run there, so that each
 * copy is stored under its own path), tagged inuse-retry (and
 * inuse-retry-flagged when a copy in it may be inconsistent); the first
 * snapshot is tagged inuse-flagged (restic tag: its ID changes).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/jname.h"
#include "inuse-run/run.h"

struct restic_state {
	int backup; /* index of "backup" */
};

static const char *const long_values[] = {"--repo",
					  "--repository-file",
					  "--password-file",
					  "--password-command",
					  "--cacert",
					  "--cache-dir",
					  "--key-hint",
					  "--limit-download",
					  "--limit-upload",
					  "--option",
					  "--tls-client-cert",
					  "--compression",
					  "--pack-size",
					  "--exclude",
					  "--exclude-file",
					  "--iexclude",
					  "--iexclude-file",
					  "--exclude-if-present",
					  "--exclude-larger-than",
					  "--files-from",
					  "--files-from-verbatim",
					  "--files-from-raw",
					  "--host",
					  "--hostname",
					  "--parent",
					  "--tag",
					  "--time",
					  "--stdin-filename",
					  "--read-concurrency",
					  NULL};
static const char short_values[] = "rpoeH";

/* Global options, for the helper commands (snapshots, tag). */
static const char *const globals[] = {"--repo",
				      "--repository-file",
				      "--password-file",
				      "--password-command",
				      "--cacert",
				      "--cache-dir",
				      "--key-hint",
				      "--limit-download",
				      "--limit-upload",
				      "--option",
				      "--tls-client-cert",
				      "--no-cache",
				      "--insecure-tls",
				      "--no-lock",
				      "--compression",
				      "--pack-size",
				      NULL};
/* Backup options a retry leaves out. */
static const char *const dropped[] = {"--exclude",
				      "--exclude-file",
				      "--iexclude",
				      "--iexclude-file",
				      "--exclude-if-present",
				      "--exclude-larger-than",
				      "--exclude-caches",
				      "--files-from",
				      "--files-from-verbatim",
				      "--files-from-raw",
				      "--parent",
				      "--time",
				      "--stdin",
				      "--stdin-filename",
				      "--one-file-system",
				      "--json",
				      NULL};

static int restic_parse(struct run *r)
{
	struct restic_state *t = calloc(1, sizeof(*t));
	bool names_only = false;

	if (!t)
		return -1;
	r->tstate = t;
	for (int i = 1; i < r->argc; i++) {
		const char *a = r->argv[i];

		if (!names_only && !strcmp(a, "--")) {
			names_only = true;
		} else if (!names_only && !strncmp(a, "--", 2)) {
			if (!strchr(a, '=') && opt_in(a, long_values))
				i++;
		} else if (!names_only && a[0] == '-' && a[1]) {
			if (strchr(short_values, a[strlen(a) - 1]) && strlen(a) == 2)
				i++;
		} else if (!t->backup) {
			if (strcmp(a, "backup"))
				return 0; /* not a backup */
			t->backup = i;
		} else if (source_add(r, a, NULL)) {
			return -1;
		}
	}
	return 0;
}

/* An exclude line that matches exactly path (absolute). */
static int put_pattern(FILE *f, const struct item *it)
{
	const char *path = it->path;
	size_t n = strlen(path);

	if (strpbrk(path, "\n\r"))
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = path[i];
		bool edge = i == 0 || i == n - 1;

		if (strchr("*?[\\", c))
			fprintf(f, "\\%c", c);
		else if (c == '$' || (edge && (c == ' ' || c == '\t' || c == '#')))
			fprintf(f, "[%c]", c); /* a class: neither expanded nor trimmed */
		else
			fputc(c, f);
	}
	fputc('\n', f);
	return 0;
}

static int restic_exclude(struct run *r)
{
	struct restic_state *t = r->tstate;
	int n;

	if (!t->backup)
		return 0;
	/* every excluded item, by its absolute path (named by the tool or not) */
	n = exclude_write(r, ".excludes", false, "a restic pattern", put_pattern);
	if (n <= 0)
		return n;
	return exclude_option(r, t->backup + 1, "--exclude-file=");
}

/* Global options whose value is a local path. */
static const char *const path_globals[] = {"--repo",	  "--repository-file", "--password-file",
					   "--cache-dir", "--cacert",	       "--tls-client-cert",
					   NULL};

/* A global option's value, a relative local path made absolute (the
 * retries run in the staging tree). */
static void add_value(struct vec *v, const char *opt, const char *value)
{
	bool pathy = opt_in(opt, path_globals) || !strcmp(opt, "-r") || !strcmp(opt, "-p");
	bool repo = !strncmp(opt, "--repo", 6) || !strcmp(opt, "-r");
	char *a = NULL;

	if (pathy && value[0] != '/' &&
	    !(repo && strchr(value, ':') && strncmp(value, "local:", 6)))
		a = abs_path(!strncmp(value, "local:", 6) ? value + 6 : value);
	vec_add(v, a ? a : value);
	free(a);
}

/* restic, its global options as given anywhere, and sub. */
static void command_start(struct run *r, struct vec *v, const char *sub)
{
	vec_add(v, r->orig[0]);
	for (int i = 1; i < r->norig; i++) {
		const char *a = r->orig[i];
		const char *eq = strchr(a, '=');

		if (!strcmp(a, "--"))
			break;
		if (!strncmp(a, "--", 2) && opt_in(a, globals)) {
			if (eq) {
				char opt[64];

				snprintf(opt, sizeof(opt), "%.*s", (int)(eq - a), a);
				vec_add(v, opt);
				add_value(v, opt, eq + 1);
			} else {
				vec_add(v, a);
				if (opt_in(a, long_values) && i + 1 < r->norig)
					add_value(v, a, r->orig[++i]);
			}
		} else if (a[0] == '-' && strlen(a) == 2 && strchr("rpo", a[1]) &&
			   i + 1 < r->norig) {
			vec_add(v, a);
			add_value(v, a, r->orig[++i]);
		} else if (a[0] == '-' && a[1] != '-' && strchr("rpo", a[1]) && a[2]) {
			char opt[3] = {'-', a[1], 0};

			vec_add(v, opt); /* -rREPO */
			add_value(v, opt, a + 2);
		}
	}
	vec_add(v, sub);
}

/* The snapshot the run made: the newest with the run's paths. */
static char *made_snapshot(struct run *r)
{
	struct vec v = {0};
	static char out[1 << 20];
	json_t *a, *s, *best = NULL;
	char *id = NULL;
	size_t i;

	command_start(r, &v, "snapshots");
	vec_add(&v, "--quiet");
	vec_add(&v, "--json");
	for (size_t k = 0; k < r->nsrc; k++)
		vec_addf(&v, "--path=%s", r->src[k].abs);
	if (spawn(v.v, NULL, NULL, 0, out, sizeof(out)) != 0) {
		vec_free(&v);
		return NULL;
	}
	vec_free(&v);
	a = json_loads(out, 0, NULL);
	json_array_foreach(a, i, s)
	{
		const char *t = json_string_value(json_object_get(s, "time"));
		const char *bt = best ? json_string_value(json_object_get(best, "time")) : NULL;

		/* RFC 3339 times of one zone compare as text */
		if (t && (!bt || strcmp(t, bt) > 0))
			best = s;
	}
	if (best && json_string_value(json_object_get(best, "id")))
		id = strdup(json_string_value(json_object_get(best, "id")));
	json_decref(a);
	return id;
}

static int restic_record(struct run *r, const char *report)
{
	char *id = made_snapshot(r);
	struct vec v = {0};
	int rc;

	if (!id)
		return -1;
	command_start(r, &v, "tag");
	vec_add(&v, "--quiet");
	vec_add(&v, "--add");
	vec_add(&v, "inuse-flagged");
	vec_add(&v, id);
	if (r->verbose)
		say_command("tagging", v.v);
	rc = spawn(v.v, NULL, NULL, 0, NULL, 0);
	vec_free(&v);
	if (rc == 0) {
		/* restic tag rewrites the snapshot: it has a new ID */
		char *now = made_snapshot(r);

		snprintf(r->record_note, sizeof(r->record_note),
			 "recorded as tag inuse-flagged on snapshot %.8s (was %.8s)",
			 now ? now : "?", id);
		free(now);
	}
	free(id);
	return rc ? -1 : 0;
}

/* The user's backup options a retry keeps. */
static void backup_options(struct run *r, struct vec *v)
{
	const struct restic_state *t = r->tstate;

	for (int i = t->backup + 1; i < r->norig; i++) {
		const char *a = r->orig[i];
		bool takes;

		if (!strcmp(a, "--"))
			break;
		if (a[0] != '-' || !a[1] || opt_in(a, globals))
			continue;
		takes = !strncmp(a, "--", 2) ? !strchr(a, '=') && opt_in(a, long_values)
					     : strlen(a) == 2 && strchr(short_values, a[1]);
		if (!strncmp(a, "--", 2) ? !opt_in(a, dropped)
					 : strcmp(a, "-e") && strcmp(a, "-x")) {
			vec_add(v, a);
			if (takes && i + 1 < r->norig)
				vec_add(v, r->orig[i + 1]);
		}
		i += takes;
	}
}

static int restic_retry(struct run *r, const char *report)
{
	struct vec v = {0};
	char *list = NULL, *listfile = NULL;
	size_t len = 0, copies = 0, flagged = 0;
	int rc = 0;

	for (size_t i = 0; i < r->nit; i++) {
		const struct item *it = &r->it[i];

		if (!it->staged)
			continue;
		if (list_add(&list, &len, strip_slashes(it->name))) {
			free(list);
			return -1;
		}
		copies++;
		flagged += it->out == OUT_FLAGGED;
	}
	if (report && list_add(&list, &len, REPORT_MEMBER)) {
		free(list);
		return -1;
	}
	/* the first snapshot is tagged before a second one is made */
	restic_record(r, report);
	if (len) {
		listfile = list_write(r, ".files", list, len);
		if (!listfile) {
			free(list);
			return -1;
		}
		command_start(r, &v, "backup");
		backup_options(r, &v);
		vec_add(&v, "--tag");
		vec_add(&v, flagged ? "inuse-retry,inuse-retry-flagged" : "inuse-retry");
		vec_addf(&v, "--files-from-raw=%s", listfile);
		if (r->verbose)
			say_command("retrying", v.v);
		rc = spawn(v.v, r->tree, NULL, 0, NULL, 0);
		vec_free(&v);
		free(listfile);
	}
	free(list);
	if (rc) {
		retry_failed(r);
		snprintf(r->retry_note, sizeof(r->retry_note),
			 "restic backup of the retry failed (%d)", rc);
	} else if (len) {
		snprintf(
		    r->retry_note, sizeof(r->retry_note),
		    "a snapshot tagged inuse-retry holds %zu retried cop%s%s: restore it after "
		    "the one tagged inuse-flagged",
		    copies, copies == 1 ? "y" : "ies",
		    report ? " and the report (/" REPORT_MEMBER ")" : "");
	}
	return rc ? -1 : 0;
}

const struct tool tool_restic = {
    .name = "restic",
    .parse = restic_parse,
    .name_of = name_as_given, /* the path as given, then the rest */
    .exclude = restic_exclude,
    .retry = restic_retry,
    .record = restic_record,
};
