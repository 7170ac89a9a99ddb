/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * run.h - inuse-run: a backup command run as a guarded job.
 *
 * The steps (main.c): find the tool's sources in the command (a recipe,
 * tool_*.c); with --exclude-busy, ask inused which files under them are
 * open for writing and what the policy says of each (busy.c), and give the
 * busy ones to the tool in its own exclude syntax; run the command with
 * inused guarding it (job.c): the kernel records every file it reads and
 * whether another process held, opened or wrote it meanwhile; with
 * --retry, make a consistent copy of every torn and excluded file (by the
 * application's method, or the copy loop: copy when quiet, verify, again;
 * stage.c) and give the copies to the tool through its own way to take a
 * list of files; record what may still be torn in the backup itself; and
 * report every file that may be torn, was excluded, or skipped, and why
 * (report.c).
 */
#ifndef INUSE_RUN_H
#define INUSE_RUN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct inuse_client;
struct inuse_guard_report;

/* The report, as stored in the backup itself (at the top of its tree). */
#define REPORT_MEMBER ".inuse-run-report.json"

/* Exit statuses of inuse-run itself (the command's own otherwise). */
#define RUN_EXIT_TORN	  75  /* the command succeeded; files may be torn (reported) */
#define RUN_EXIT_FAILED	  125 /* inuse-run failed before the command ran */
#define RUN_EXIT_NOEXEC	  126 /* the command could not be run */
#define RUN_EXIT_NOTFOUND 127 /* the command was not found */

/* A path the command backs up. */
struct source {
	char *given; /* as the command names it (relative names are the tool's) */
	char *abs;   /* absolute, symlinks resolved */
	char *cwd;   /* the directory the tool resolves given from (tar -C) */
	bool dir;    /* a directory (else a file) */
	bool slash;  /* given with a trailing slash (rsync: its contents) */
};

enum item_kind {
	IT_TORN,      /* read while written, opened for writing, or mapped */
	IT_HELD,      /* read while another process held it open for writing, not written */
	IT_CHANGED,   /* its metadata changed while read */
	IT_EXCLUDED,  /* busy before the run: left out, to retry */
	IT_COMPANION, /* -wal, -shm, -journal of a database copied by method */
	IT_SKIPPED,   /* busy, and the policy says skip */
};

enum item_outcome {
	OUT_NONE,	/* nothing done (no --retry, or nothing to do) */
	OUT_CONSISTENT, /* retried: a verified copy is in the backup */
	OUT_METHOD,	/* retried: the application's method made the copy */
	OUT_SNAPSHOT,	/* retried: a snapshot taken with its writers frozen */
	OUT_FLAGGED,	/* retried: a copy is in the backup, it may be inconsistent */
	OUT_REMOVED,	/* a companion: removed from the mirror */
	OUT_FAILED,	/* retried, and the copy failed: not in the backup */
};

/* A file the run has something to say about. */
struct item {
	char *path; /* absolute */
	char *name; /* the tool's name for it (its source's root), NULL: outside */
	int src;    /* index of its source, -1: none */
	enum item_kind kind;
	enum item_outcome out;
	char why[160];	     /* why it is in this list */
	char detail[160];    /* what was done */
	char *method;	     /* the policy's method (a command line), or NULL */
	json_t *method_argv; /* the method as an argument list, or NULL */
	double quiet;	     /* the policy's quiet period (seconds), 0: none */
	double defer_max;    /* the policy's wait limit (seconds), 0: none */
	bool take_as_is;     /* the policy flags it rather than waits for it */
	bool snapshot;	     /* the policy copies it by a frozen snapshot */
	char *staged;	     /* the consistent (or flagged) copy made for it */
	char *companion_of;
	bool retry; /* to be backed up again */
};

struct tool;

struct run {
	const struct tool *tool;
	char **argv; /* the command (changed by the recipe: exclude options) */
	int argc, cap;
	char **orig; /* the command as given */
	int norig;
	struct source *src;
	size_t nsrc;
	struct item *it;
	size_t nit, capit;

	/* options */
	bool exclude_busy, retry, record, verbose;
	double quiet;	 /* --quiet: default quiet period for retries */
	double max_wait; /* --max-wait: budget of the retries */
	const char *report_file;
	const char *socket;
	const char *stage_parent;

	struct inuse_client *c;
	char *stage;	    /* staging directory (made on demand): private files */
	char *tree;	    /* in it, the copies under the tool's names */
	char *exclude_file; /* the exclude rules given to the tool */
	unsigned long job;
	int status;   /* the command's exit status (or 128+signal) */
	bool ran;     /* the command ran */
	bool guarded; /* its reads were guarded to the end */
	unsigned long long reads, dropped, unjoined, running;
	int exit;	       /* inuse-run's exit status */
	char record_note[256]; /* where the flags were recorded */
	char retry_note[256];  /* what the retry run was */
	void *tstate;	       /* the recipe's own */
};

/* ---- recipes (tool_*.c) ---- */

struct tool {
	const char *name;
	/* Finds the sources (and what the command writes) in r->argv. 0, or
	 * -1 after saying why. */
	int (*parse)(struct run *r);
	/* The name the tool gives path (under source s): what its exclude
	 * rules and file lists say. malloc'ed. */
	char *(*name_of)(const struct run *r, const struct source *s, const char *path);
	/* Writes the exclude rules of the items to exclude and puts the
	 * option into r->argv. NULL: the tool cannot. 0 or -1. */
	int (*exclude)(struct run *r);
	/* Backs up the staged copies of the items to retry (and the report
	 * file, if staged) through the tool's file list. 0 or -1. */
	int (*retry)(struct run *r, const char *report);
	/* Records in the backup that files may be torn, when no retry run
	 * carried it (report: a staged report file). 0 or -1. */
	int (*record)(struct run *r, const char *report);
	/* The command's status says files changed while read, which the
	 * guard judged already (tar's 1). */
	bool (*changed_status)(int status);
};

extern const struct tool tool_tar, tool_rsync, tool_borg, tool_restic, tool_none;

/* What the recipes share (recipe.c). */
/* The name of path under s as the command gave s (its trailing slashes
 * dropped), then the rest: tar's and restic's. malloc'ed. */
char *name_as_given(const struct run *r, const struct source *s, const char *path);
/* Writes the exclude file base in the staging directory: put writes an
 * item's rule (with named, only items the tool has a name for); an item
 * put cannot say (-1) is copied and judged instead (what: the rule's kind,
 * for the warning). Sets r->exclude_file. The number of rules, or -1. */
int exclude_write(struct run *r, const char *base, bool named, const char *what,
		  int (*put)(FILE *f, const struct item *it));
/* Inserts prefix and r->exclude_file as one argument at position at. 0 or -1. */
int exclude_option(struct run *r, int at, const char *prefix);
/* Appends name and its NUL to a NUL-separated list. 0 or -1. */
int list_add(char **list, size_t *len, const char *name);
/* Writes the list to base in the staging directory: its path (malloc'ed),
 * or NULL. */
char *list_write(struct run *r, const char *base, const char *list, size_t len);
/* The retry failed: every staged item is marked so. */
void retry_failed(struct run *r);

/* The recipe named name, or NULL. */
const struct tool *tool_by_name(const char *name);
/* The recipe for the command (its program's name), or tool_none. */
const struct tool *tool_detect(char *const *argv);

/* ---- the command line (argv.c) ---- */

/* Inserts s (copied) into r->argv at position at. 0 or -1. */
int argv_insert(struct run *r, int at, const char *s);
/* The source for an argument of the command: made absolute against cwd
 * (NULL: the working directory). 0, or -1 after saying why. */
int source_add(struct run *r, const char *given, const char *cwd);
/* A NULL-terminated vector builder for helper commands. */
struct vec {
	char **v;
	size_t n, cap;
};
int vec_add(struct vec *v, const char *s);
int vec_addf(struct vec *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vec_free(struct vec *v);
/* Does option opt (with or without "=value") take the next argument as its
 * value? For long options in list (NULL-terminated). */
bool opt_in(const char *arg, const char *const *list);
/* p made absolute against the working directory (a command run in the
 * staging tree takes its paths so). malloc'ed. */
char *abs_path(const char *p);
/* path below dir (component-wise)? */
bool path_below(const char *path, const char *dir);
/* path without its leading slashes */
const char *strip_slashes(const char *path);

/* ---- helper programs (spawn.c) ---- */

/*
 * Runs argv (NULL-terminated) in cwd (NULL: here), feeding it stdin_data
 * (NULL: /dev/null), and, with out, capturing its standard output (up to
 * outlen - 1 bytes, NUL-terminated); otherwise its output is ours.
 * Returns its exit status, 128 + signal, or -1 (could not run).
 */
int spawn(char *const *argv, const char *cwd, const char *stdin_data, size_t stdin_len, char *out,
	  size_t outlen);
/* The same with standard input and output on the given descriptors (-1:
 * /dev/null and ours). */
int spawn_fd(char *const *argv, const char *cwd, int in_fd, int out_fd);
/* For messages: the command as one line. */
void say_command(const char *what, char *const *argv);

/* ---- the steps ---- */

/* busy.c: the busy files under the sources, by the policy. 0 or -1. */
int busy_find(struct run *r);
/* job.c: runs the command guarded; fills r->status and the torn, held and
 * changed items. 0, or -1 when the guard failed (the command may have run). */
int job_run(struct run *r);
/* stage.c: consistent copies of the items to retry, in r->stage. */
int stage_items(struct run *r);
/* The staged path for an item (its tool name below the staging directory). */
char *stage_path(struct run *r, const struct item *it);
/* Makes the staging directory (r->stage) and its tree (r->tree). 0 or -1. */
int stage_dir(struct run *r);
/* report.c */
void report_human(const struct run *r);
int report_json(const struct run *r, const char *file);
/* A short text for a backup's own record (a borg comment): of the first
 * backup (first: what is torn or left out in it, and what became of it),
 * or of a retry's (its copies that may be inconsistent). */
char *report_summary(const struct run *r, bool first);
/* Counts: items that may be torn in the backup as it stands. */
size_t report_flagged(const struct run *r);

/* item.c */
struct item *item_add(struct run *r, const char *path, enum item_kind kind);
struct item *item_find(struct run *r, const char *path);
const char *item_kind_name(enum item_kind k);
const char *item_outcome_name(enum item_outcome o);
/* The source a path is under, -1: none. */
int source_of(const struct run *r, const char *path);

/* Messages. */
void info(const struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
