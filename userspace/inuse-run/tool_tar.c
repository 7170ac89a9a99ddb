// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tool_tar.c - GNU tar. Sources: the names after the options, each from
 * the -C directory in effect (and -T lists). Excludes: an --exclude-from
 * list (one a line: tar reads it so) of the names as tar walks them, matched whole
 * (--anchored --no-wildcards), before the user's own options. Retries and
 * the record: appended to the archive (--append, -C the staging directory,
 * -T the list); a compressed archive is decompressed, appended to and
 * compressed again with its own program. tar's status 1 ("file changed as
 * we read it") is what the guard judged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inuse-run/run.h"

struct tar_state {
	char *archive;	/* -f, relative to the working directory */
	char *compress; /* the compression program, NULL: none */
	bool creating;	/* -c, -r, -u */
};

/* Long options that take the next argument as their value. */
static const char *const long_values[] = {"--file",
					  "--directory",
					  "--files-from",
					  "--exclude",
					  "--exclude-from",
					  "--format",
					  "--use-compress-program",
					  "--owner",
					  "--group",
					  "--mode",
					  "--mtime",
					  "--newer",
					  "--newer-mtime",
					  "--after-date",
					  "--label",
					  "--transform",
					  "--xform",
					  "--listed-incremental",
					  "--exclude-tag",
					  "--exclude-tag-under",
					  "--exclude-tag-all",
					  "--blocking-factor",
					  "--record-size",
					  "--tape-length",
					  "--volno-file",
					  "--index-file",
					  "--warning",
					  "--checkpoint-action",
					  "--sort",
					  "--strip-components",
					  "--suffix",
					  "--quoting-style",
					  "--quote-chars",
					  "--no-quote-chars",
					  "--hole-detection",
					  "--level",
					  "--rsh-command",
					  "--rmt-command",
					  "--info-script",
					  "--new-volume-script",
					  "--pax-option",
					  "--starting-file",
					  "--group-map",
					  "--owner-map",
					  "--exclude-ignore",
					  "--exclude-ignore-recursive",
					  NULL};
/* Short options that take a value. */
static const char short_values[] = "bCfFgHIKLNTVX";

static const struct {
	const char *opt;
	char letter;
	const char *prog;
} compressors[] = {
    {"--gzip", 'z', "gzip"},
    {"--gunzip", 0, "gzip"},
    {"--ungzip", 0, "gzip"},
    {"--bzip2", 'j', "bzip2"},
    {"--xz", 'J', "xz"},
    {"--zstd", 0, "zstd"},
    {"--lzip", 0, "lzip"},
    {"--lzma", 0, "lzma"},
    {"--lzop", 0, "lzop"},
    {"--compress", 'Z', "compress"},
    {"--uncompress", 0, "compress"},
};

static const struct {
	const char *suffix, *prog;
} suffixes[] = {
    {".tgz", "gzip"},  {".gz", "gzip"},	  {".taz", "gzip"}, {".tbz", "bzip2"},	{".tbz2", "bzip2"},
    {".bz2", "bzip2"}, {".txz", "xz"},	  {".xz", "xz"},    {".zst", "zstd"},	{".tzst", "zstd"},
    {".lz", "lzip"},   {".lzma", "lzma"}, {".lzo", "lzop"}, {".Z", "compress"},
};

struct parse_ctx {
	struct run *r;
	struct tar_state *t;
	char *cwd; /* the -C directory in effect, NULL: the working one */
	bool null, names_from_file, auto_compress;
};

static void set_cwd(struct parse_ctx *p, const char *dir)
{
	char *n;

	if (dir[0] == '/' || !p->cwd)
		n = strdup(dir);
	else if (asprintf(&n, "%s/%s", p->cwd, dir) < 0)
		n = NULL;
	free(p->cwd);
	p->cwd = n;
}

static int names_from(struct parse_ctx *p, const char *file)
{
	char *full = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (!strcmp(file, "-"))
		return 0; /* from standard input: name them with --source */
	f = fopen(file, "re");
	if (!f) {
		warn("%s: %s", file, strerror(errno));
		return -1;
	}
	while ((n = getdelim(&line, &cap, p->null ? '\0' : '\n', f)) > 0) {
		if (line[n - 1] == (p->null ? '\0' : '\n'))
			line[--n] = '\0';
		if (n && source_add(p->r, line, p->cwd)) {
			fclose(f);
			free(line);
			return -1;
		}
	}
	free(full);
	free(line);
	fclose(f);
	return 0;
}

/* An option with its value (value NULL for a flag). */
static int option(struct parse_ctx *p, const char *opt, char letter, const char *value)
{
	struct tar_state *t = p->t;

	for (size_t i = 0; i < sizeof(compressors) / sizeof(compressors[0]); i++)
		if ((opt && !strcmp(opt, compressors[i].opt)) ||
		    (letter && letter == compressors[i].letter))
			t->compress = (char *)compressors[i].prog;
	if (letter == 'c' || letter == 'r' || letter == 'u' ||
	    (opt &&
	     (!strcmp(opt, "--create") || !strcmp(opt, "--append") || !strcmp(opt, "--update"))))
		t->creating = true;
	if (letter == 'a' || (opt && !strcmp(opt, "--auto-compress")))
		p->auto_compress = true;
	if (opt && !strcmp(opt, "--null"))
		p->null = true;
	if (opt && !strcmp(opt, "--no-null"))
		p->null = false;
	if (letter == 'f' || (opt && !strcmp(opt, "--file"))) {
		free(t->archive);
		t->archive = strdup(value);
	}
	if (letter == 'I' || (opt && !strcmp(opt, "--use-compress-program")))
		t->compress = strdup(value);
	if (letter == 'C' || (opt && !strcmp(opt, "--directory")))
		set_cwd(p, value);
	if (letter == 'T' || (opt && !strcmp(opt, "--files-from")))
		return names_from(p, value);
	return 0;
}

/* A bundle of short options ("czf" or "-czf"); values from argv[*i+1...]. */
static int bundle(struct parse_ctx *p, char **argv, int argc, int *i, const char *letters,
		  bool old_style)
{
	for (const char *l = letters; *l; l++) {
		const char *value = NULL;

		if (strchr(short_values, *l)) {
			if (!old_style && l[1]) {
				value = l + 1; /* -fARCHIVE */
			} else if (*i + 1 < argc) {
				value = argv[++*i];
			} else {
				warn("tar: option -%c needs a value", *l);
				return -1;
			}
		}
		if (option(p, NULL, *l, value))
			return -1;
		if (value && !old_style && value == l + 1)
			break;
	}
	return 0;
}

static int tar_parse(struct run *r)
{
	struct tar_state *t = calloc(1, sizeof(*t));
	struct parse_ctx p = {.r = r, .t = t};
	bool names_only = false;
	int i = 1;

	if (!t)
		return -1;
	r->tstate = t;
	/* the traditional form: letters first, their values next */
	if (r->argc > 1 && r->argv[1][0] && r->argv[1][0] != '-') {
		if (bundle(&p, r->argv, r->argc, &i, r->argv[1], true))
			return -1;
		i++;
	}
	for (; i < r->argc; i++) {
		const char *a = r->argv[i];

		if (!names_only && !strcmp(a, "--")) {
			names_only = true;
		} else if (!names_only && !strncmp(a, "--", 2)) {
			const char *eq = strchr(a, '=');
			char opt[64];
			const char *value = NULL;

			snprintf(opt, sizeof(opt), "%.*s", (int)(eq ? eq - a : (long)strlen(a)), a);
			if (eq)
				value = eq + 1;
			else if (opt_in(a, long_values) && i + 1 < r->argc)
				value = r->argv[++i];
			if (option(&p, opt, 0, value))
				return -1;
		} else if (!names_only && a[0] == '-' && a[1]) {
			if (bundle(&p, r->argv, r->argc, &i, a + 1, false))
				return -1;
		} else if (t->creating || !t->archive) {
			if (source_add(r, a, p.cwd))
				return -1;
		}
	}
	if (p.auto_compress && t->archive && !t->compress)
		for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
			size_t n = strlen(t->archive), m = strlen(suffixes[k].suffix);

			if (n > m && !strcmp(t->archive + n - m, suffixes[k].suffix))
				t->compress = (char *)suffixes[k].prog;
		}
	if (!t->creating) {
		/* listing, extracting: nothing backed up */
		for (size_t k = 0; k < r->nsrc; k++)
			free(r->src[k].abs);
		r->nsrc = 0;
	}
	free(p.cwd);
	return 0;
}

/* An exclude line: the name whole. */
static int put_line(FILE *f, const struct item *it)
{
	/* tar reads exclude files by lines, whatever --null says */
	if (strchr(it->name, '\n'))
		return -1;
	fprintf(f, "%s\n", it->name);
	return 0;
}

static int tar_exclude(struct run *r)
{
	int n = exclude_write(r, ".exclude", true, "a tar exclude line", put_line);
	int at = 1;

	if (n <= 0)
		return n;
	if (r->argc > 1 && r->argv[1][0] && r->argv[1][0] != '-') {
		/* after the traditional letters and their values */
		at = 2;
		for (const char *l = r->argv[1]; *l; l++)
			at += strchr(short_values, *l) != NULL;
	}
	/* whole names, before the user's options; then tar's defaults again */
	if (argv_insert(r, at, "--anchored") || argv_insert(r, at + 1, "--no-wildcards") ||
	    exclude_option(r, at + 2, "--exclude-from=") ||
	    argv_insert(r, at + 3, "--no-anchored") || argv_insert(r, at + 4, "--wildcards"))
		return -1;
	return 0;
}

/* tar --append of the list (NUL-separated names, in the staging
 * directory) to the archive, compressed or not. */
static int append(struct run *r, const char *list, size_t n, const char *what)
{
	struct tar_state *t = r->tstate;
	struct vec v = {0};
	char *listfile = NULL, *tmp = NULL, *newarch = NULL;
	struct stat st;
	int ret = -1, rc;

	if (!t->archive || !strcmp(t->archive, "-") || stat(t->archive, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		snprintf(r->retry_note, sizeof(r->retry_note),
			 "the archive is not a file: %s cannot be added to it", what);
		return -1;
	}
	listfile = list_write(r, ".append", list, n);
	if (!listfile)
		return -1;
	if (t->compress) {
		/* decompressed beside the staged copies, appended to, and
		 * compressed again in place of the original */
		int in, out;

		if (asprintf(&tmp, "%s/.archive.tar", r->stage) < 0 ||
		    asprintf(&newarch, "%s.inuse-new", t->archive) < 0)
			goto out;
		in = open(t->archive, O_RDONLY | O_CLOEXEC);
		out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		vec_add(&v, t->compress);
		vec_add(&v, "-d");
		rc = in >= 0 && out >= 0 ? spawn_fd(v.v, NULL, in, out) : -1;
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
		vec_free(&v);
		if (rc != 0) {
			snprintf(r->retry_note, sizeof(r->retry_note),
				 "%s -d failed (%d): %s not added", t->compress, rc, what);
			goto out;
		}
	}
	vec_add(&v, r->argv[0]);
	vec_add(&v, "--append");
	vec_addf(&v, "--file=%s", tmp ? tmp : t->archive);
	vec_addf(&v, "--directory=%s", r->tree);
	vec_add(&v, "--no-recursion");
	vec_add(&v, "--null");
	vec_addf(&v, "--files-from=%s", listfile);
	if (r->verbose)
		say_command("appending", v.v);
	rc = spawn(v.v, NULL, NULL, 0, NULL, 0);
	vec_free(&v);
	if (rc != 0) {
		snprintf(r->retry_note, sizeof(r->retry_note),
			 "tar --append failed (%d): %s not added", rc, what);
		goto out;
	}
	if (t->compress) {
		int in = open(tmp, O_RDONLY | O_CLOEXEC);
		int out =
		    open(newarch, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);

		vec_add(&v, t->compress);
		vec_add(&v, "-c");
		rc = in >= 0 && out >= 0 ? spawn_fd(v.v, NULL, in, out) : -1;
		if (in >= 0)
			close(in);
		if (out >= 0 && close(out) != 0)
			rc = -1;
		vec_free(&v);
		if (rc != 0 || rename(newarch, t->archive) != 0) {
			unlink(newarch);
			snprintf(r->retry_note, sizeof(r->retry_note),
				 "%s failed (%d): %s not added", t->compress, rc, what);
			goto out;
		}
	}
	ret = 0;
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(newarch);
	free(listfile);
	return ret;
}

/* The staged names, NUL-separated, and the report's. */
static char *staged_list(struct run *r, const char *report, size_t *len, size_t *count)
{
	char *b = NULL;

	*len = 0;
	*count = 0;
	for (size_t i = 0; i < r->nit; i++)
		if (r->it[i].staged) {
			if (list_add(&b, len, strip_slashes(r->it[i].name)))
				goto fail;
			(*count)++;
		}
	if (report && list_add(&b, len, strrchr(report, '/') + 1))
		goto fail;
	return b ? b : calloc(1, 1);
fail:
	free(b);
	return NULL;
}

static int tar_retry(struct run *r, const char *report)
{
	struct tar_state *t = r->tstate;
	size_t len, count;
	char *list = staged_list(r, report, &len, &count);
	int ret;

	if (!list)
		return -1;
	ret = len ? append(r, list, len, "the retried copies") : 0;
	free(list);
	if (ret)
		retry_failed(r);
	if (!ret)
		snprintf(r->retry_note, sizeof(r->retry_note), "appended %zu retried cop%s%s to %s",
			 count, count == 1 ? "y" : "ies",
			 report ? " and the report (" REPORT_MEMBER ")" : "", t->archive);
	if (!ret && report)
		snprintf(r->record_note, sizeof(r->record_note),
			 "recorded in the archive as " REPORT_MEMBER);
	return ret;
}

static int tar_record(struct run *r, const char *report)
{
	size_t len = 0;
	char *list = NULL;
	int ret;

	if (!report || list_add(&list, &len, strrchr(report, '/') + 1))
		return -1;
	ret = append(r, list, len, "the report");
	free(list);
	if (!ret)
		snprintf(r->record_note, sizeof(r->record_note),
			 "recorded in the archive as " REPORT_MEMBER);
	return ret;
}

static bool tar_changed(int status)
{
	return status == 1;
}

const struct tool tool_tar = {
    .name = "tar",
    .parse = tar_parse,
    .name_of = name_as_given, /* the name tar walks a path by */
    .exclude = tar_exclude,
    .retry = tar_retry,
    .record = tar_record,
    .changed_status = tar_changed,
};
