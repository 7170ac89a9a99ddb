// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tool_borg.c - borg create (1.2). Sources: the paths after REPO::ARCHIVE.
 * Names: as borg stores them (leading slashes and ./ dropped). Excludes:
 * --exclude-from, "pf:NAME", or an anchored "re:" where a name has
 * whitespace at its ends or a line break. Retries: a second archive,
 * ARCHIVE.inuse-retry, made from the staging tree (--paths-from-stdin)
 * with a comment that says what it holds; the first archive gets a comment
 * that names the files that may be torn in it (borg recreate --comment).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "inuse-run/run.h"

struct borg_state {
	int create;  /* index of "create" */
	int archive; /* index of REPO::ARCHIVE */
};

static const char *const long_values[] = {"--lock-wait",
					  "--umask",
					  "--remote-path",
					  "--upload-ratelimit",
					  "--upload-buffer",
					  "--debug-topic",
					  "--rsh",
					  "--comment",
					  "--timestamp",
					  "--checkpoint-interval",
					  "--chunker-params",
					  "--compression",
					  "--exclude",
					  "--exclude-from",
					  "--pattern",
					  "--patterns-from",
					  "--exclude-if-present",
					  "--files-cache",
					  "--stdin-name",
					  "--stdin-user",
					  "--stdin-group",
					  "--stdin-mode",
					  "--paths-delimiter",
					  NULL};
static const char short_values[] = "ceC";

/* What a retry leaves out of the user's create options. */
static const char *const dropped[] = {"--exclude",
				      "--exclude-from",
				      "--pattern",
				      "--patterns-from",
				      "--exclude-caches",
				      "--exclude-if-present",
				      "--keep-exclude-tags",
				      "--paths-from-stdin",
				      "--paths-from-command",
				      "--paths-delimiter",
				      "--comment",
				      "--timestamp",
				      "--content-from-command",
				      "--stdin-name",
				      "--stdin-user",
				      "--stdin-group",
				      "--stdin-mode",
				      NULL};

static int borg_parse(struct run *r)
{
	struct borg_state *t = calloc(1, sizeof(*t));
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
			for (const char *l = a + 1; *l; l++)
				if (strchr(short_values, *l)) {
					if (!l[1])
						i++;
					break;
				}
		} else if (!t->create) {
			if (strcmp(a, "create"))
				return 0; /* not a backup: guarded, nothing more */
			t->create = i;
		} else if (!t->archive) {
			t->archive = i;
		} else if (source_add(r, a, NULL)) {
			return -1;
		}
	}
	return 0;
}

/* The name borg stores: no leading slashes, no ./ */
static char *borg_name(const struct run *r, const struct source *s, const char *path)
{
	const char *g = s->given;
	size_t n;
	char *o;

	for (;;) {
		if (*g == '/')
			g++;
		else if (g[0] == '.' && g[1] == '/')
			g += 2;
		else
			break;
	}
	n = strlen(g);
	while (n && g[n - 1] == '/')
		n--;
	if (!strcmp(g, "."))
		n = 0;
	if (asprintf(&o, "%.*s%s", (int)n, g, path + strlen(s->abs)) < 0)
		return NULL;
	if (o[0] == '/') /* the source was "." or "/" */
		memmove(o, strip_slashes(o), strlen(strip_slashes(o)) + 1);
	return o;
}

/* A pattern line for name: "pf:" when the line keeps it whole, else an
 * anchored regular expression. -1: no pattern can say it. */
static int put_pattern(FILE *f, const struct item *it)
{
	const char *name = it->name;
	size_t n = strlen(name);

	if (!utf8_valid(name, n))
		return -1;
	if (!strpbrk(name, "\n\r\t") && name[0] != ' ' && name[n - 1] != ' ') {
		fprintf(f, "pf:%s\n", name);
		return 0;
	}
	fputs("re:^", f);
	for (const char *c = name; *c; c++) {
		if (*c == '\n')
			fputs("\\n", f);
		else if (*c == '\r')
			fputs("\\r", f);
		else if (*c == '\t')
			fputs("\\t", f);
		else {
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || (unsigned char)*c >= 0x80))
				fputc('\\', f);
			fputc(*c, f);
		}
	}
	fputs("$\n", f);
	return 0;
}

static int borg_exclude(struct run *r)
{
	struct borg_state *t = r->tstate;
	int n;

	if (!t->create)
		return 0;
	n = exclude_write(r, ".patterns", true, "a borg pattern", put_pattern);
	if (n <= 0)
		return n;
	return exclude_option(r, t->create + 1, "--exclude-from=");
}

/* REPO::ARCHIVE split; the repository part may be empty (BORG_REPO). A
 * local repository's relative path is made absolute: retries run in the
 * staging tree. */
static void split_archive(const char *a, char **repo, char **name)
{
	const char *sep = strstr(a, "::");
	char *rp = sep ? strndup(a, (size_t)(sep - a)) : strdup("");
	bool remote =
	    rp && (strstr(rp, "://") ||
		   (strchr(rp, ':') && (!strchr(rp, '/') || strchr(rp, ':') < strchr(rp, '/'))));

	if (rp && rp[0] && !remote && rp[0] != '/') {
		*repo = abs_path(rp);
		free(rp);
	} else {
		*repo = rp;
	}
	*name = strdup(sep ? sep + 2 : a);
}

/* borg, its common options (those before "create"), and sub. */
static void command_start(struct run *r, struct vec *v, const char *sub)
{
	const struct borg_state *t = r->tstate;

	for (int i = 0; i < t->create; i++)
		vec_add(v, r->orig[i]);
	vec_add(v, sub);
}

/* The user's create options a retry keeps. */
static void create_options(struct run *r, struct vec *v)
{
	const struct borg_state *t = r->tstate;

	for (int i = t->create + 1; i < t->archive; i++) {
		const char *a = r->orig[i];
		bool takes = !strncmp(a, "--", 2)
				 ? !strchr(a, '=') && opt_in(a, long_values)
				 : a[0] == '-' && strchr(short_values, a[strlen(a) - 1]);
		bool keep = !strncmp(a, "--", 2) ? !opt_in(a, dropped) : strcmp(a, "-e");

		if (keep) {
			vec_add(v, a);
			if (takes && i + 1 < t->archive)
				vec_add(v, r->orig[i + 1]);
		}
		i += takes;
	}
}

/* The archive just made, by its name (placeholders such as {now} asked
 * of the repository: its last archive). malloc'ed REPO::NAME. */
static char *made_archive(struct run *r)
{
	const struct borg_state *t = r->tstate;
	char *repo, *name, *o = NULL, out[1024];
	struct vec v = {0};

	split_archive(r->orig[t->archive], &repo, &name);
	if (!strchr(name, '{')) {
		o = strdup(r->orig[t->archive]);
	} else {
		command_start(r, &v, "list");
		vec_add(&v, "--short");
		vec_add(&v, "--last");
		vec_add(&v, "1");
		vec_add(&v, repo[0] ? repo : "::");
		if (spawn(v.v, NULL, NULL, 0, out, sizeof(out)) == 0 && out[0]) {
			out[strcspn(out, "\n")] = '\0';
			if (asprintf(&o, "%s::%s", repo, out) < 0)
				o = NULL;
		}
		vec_free(&v);
	}
	free(repo);
	free(name);
	return o;
}

static int comment_on(struct run *r, const char *archive, const char *text)
{
	struct vec v = {0};
	int rc;

	command_start(r, &v, "recreate");
	vec_addf(&v, "--comment=%s", text);
	vec_add(&v, archive);
	if (r->verbose)
		say_command("commenting", v.v);
	rc = spawn(v.v, NULL, NULL, 0, NULL, 0);
	vec_free(&v);
	return rc;
}

static int borg_record(struct run *r, const char *report)
{
	char *archive = made_archive(r), *text = report_summary(r, true);
	int rc = archive ? comment_on(r, archive, text) : -1;

	if (rc == 0) {
		struct strbuf b = {0};

		name_display(&b, archive, strlen(archive));
		snprintf(r->record_note, sizeof(r->record_note),
			 "recorded in the comment of archive %s", b.buf);
		sb_free(&b);
	}
	free(archive);
	free(text);
	return rc ? -1 : 0;
}

static int borg_retry(struct run *r, const char *report)
{
	struct borg_state *t = r->tstate;
	struct strbuf in = {0};
	struct vec v = {0};
	char *repo, *name, *text = report_summary(r, false);
	size_t copies = 0;
	bool sent;
	int rc = 0;

	for (size_t i = 0; i < r->nit; i++) {
		struct item *it = &r->it[i];

		if (!it->staged)
			continue;
		if (strchr(it->name, '\n')) {
			it->out = OUT_FAILED;
			snprintf(it->detail, sizeof(it->detail),
				 "a name borg cannot take from a list");
			continue;
		}
		sb_printf(&in, "%s\n", it->name);
		copies++;
	}
	if (report)
		sb_printf(&in, "%s\n", REPORT_MEMBER);
	split_archive(r->orig[t->archive], &repo, &name);
	sent = in.len > 0;
	if (sent) {
		command_start(r, &v, "create");
		create_options(r, &v);
		vec_addf(&v, "--comment=inuse-run: copies of files of archive %s; %s", name, text);
		vec_add(&v, "--paths-from-stdin");
		vec_addf(&v, "%s::%s.inuse-retry", repo, name);
		if (r->verbose)
			say_command("retrying", v.v);
		rc = spawn(v.v, r->tree, in.buf, in.len, NULL, 0);
		vec_free(&v);
	}
	if (rc) {
		retry_failed(r);
		snprintf(r->retry_note, sizeof(r->retry_note),
			 "borg create of the retry failed (%d)", rc);
	} else if (sent) {
		snprintf(r->retry_note, sizeof(r->retry_note),
			 "archive %s.inuse-retry holds %zu retried cop%s%s: extract it after %s",
			 name, copies, copies == 1 ? "y" : "ies",
			 report ? " and the report (" REPORT_MEMBER ")" : "", name);
	}
	free(repo);
	free(name);
	free(text);
	sb_free(&in);
	/* the first archive says which of its files are not to be trusted */
	if (borg_record(r, report) == 0 && !rc && sent)
		snprintf(r->record_note + strlen(r->record_note),
			 sizeof(r->record_note) - strlen(r->record_note),
			 "; its retry archive holds the report");
	return rc ? -1 : 0;
}

const struct tool tool_borg = {
    .name = "borg",
    .parse = borg_parse,
    .name_of = borg_name,
    .exclude = borg_exclude,
    .retry = borg_retry,
    .record = borg_record,
};
