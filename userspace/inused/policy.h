/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * policy.h - the backup policy: what a backup tool should do with a file,
 * from the facts (open for writing? since when? last written when?) and
 * rules by path pattern, first match wins.
 *
 * The config file (default /etc/inuse/inused.conf) is libconfig syntax:
 *
 *   admin_group = "backup";
 *   policy = {
 *     default = { open = "defer"; defer_max = "5m"; fallback = "flag"; };
 *     rules = (
 *       { name = "logs"; match = [ "/var/log/(all)", "*.log" ]; quiet = "30s"; open = "flag"; },
 *       { name = "sqlite"; match = [ "*.sqlite" ];
 *         method = [ "python3", "-c", "...", "{path}", "{dest}" ]; }
 *     );
 *   };
 *
 * A rule: name (unique), match (a pattern or a list), open (copy, defer,
 * skip, flag: what to do with a file open for writing), defer_max (how long
 * a deferred file may be waited for), fallback (copy, skip, flag: when that
 * runs out), quiet (a file open but not written for this long may be
 * copied; 0: off), method (a program and its arguments, a list of
 * strings, that makes a consistent copy; "{path}" and "{dest}" are whole
 * arguments the backup tool fills in; no shell is involved), alert_after
 * and alert_idle (alert when a file stays
 * open for writing, or open and unwritten, longer than that). open,
 * defer_max, fallback, quiet and the alert thresholds are inherited from
 * default; method is not. A top-level group
 *   alerts = { realert = "6h"; hook = [ "/usr/local/bin/x", "arg" ]; hook_timeout = "10s"; };
 * sets how alerts are repeated and the program run for each (a list: the
 * program, an absolute path, and its arguments; run without a shell).
 * Durations: "90s", "5m", "1h30m" or an integer number of seconds.
 *
 * Files the daemon trusts: the config file, what it includes (@include)
 * and the hook's program must be
 * root's and not writable by group or others, nor may any directory on
 * their way be (trust.h); otherwise the file is refused.
 *
 * ("(all)" above stands for two stars: a comment cannot hold them.)
 * Patterns: with a '/', matched against the whole absolute path; without,
 * against the file name. '*', '?' and [...] stay within one component;
 * '**' matches across components.
 */
#ifndef INUSED_POLICY_H
#define INUSED_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum decision { DEC_COPY = 0, DEC_DEFER, DEC_SKIP, DEC_FLAG, DEC_SNAPSHOT, DEC_NR };

/* "copy", "defer", "skip", "flag", "snapshot" */
const char *decision_name(enum decision d);

struct rule {
	char *name;
	char **match;
	size_t nmatch;
	enum decision open;
	uint64_t defer_max_ns;
	enum decision fallback;
	uint64_t quiet_ns;
	char **method;		 /* argv (NULL-terminated), "{path}" and "{dest}" whole */
	uint64_t alert_after_ns; /* alert when open for writing longer; 0: never */
	uint64_t alert_idle_ns;	 /* alert when open and unwritten longer; 0: never */
	/* open = "snapshot": how its writers are frozen, at most how long,
	 * and how large a copy (where no clone can be made) may be */
	uint64_t freeze_max_ns;
	uint64_t snapshot_max_size;
	int freeze_how; /* enum freeze_how */
};

/* The snapshot group: where plain copies go, what is never frozen. */
struct snapshot_conf {
	char *dir;	    /* spool for plain copies (default /var/tmp) */
	char **never;	    /* cgroup path patterns, NULL-terminated */
	size_t nnever;
};

struct alert_conf {
	uint64_t realert_ns;	  /* alert again while it lasts (default 6 h) */
	char **hook;		  /* argv run for each alert and resolution */
	uint64_t hook_timeout_ns; /* killed after (default 10 s) */
};

struct policy {
	struct rule dflt;
	struct rule *rules;
	size_t nrules;
	struct alert_conf alerts;
	struct snapshot_conf snapshot;
	char *admin_group;
	bool all_users; /* every local user may connect (socket 0666) */
	char *source;	/* the file loaded, NULL: built in */
	uint64_t gen;	/* new at each load (never 0): what was matched
			 * against another policy is matched again */
};

/* Defaults of open = "snapshot". */
#define SNAPSHOT_FREEZE_MAX_NS (2ULL * 1000000000ULL)
#define SNAPSHOT_MAX_SIZE (64ULL << 20)

/* The built-in policy: defer up to 5 minutes, then flag; no rules. */
void policy_builtin(struct policy *p);

/* Loads path, after checking that it (and what it includes, and the
 * hook's program) is out of other users' reach. 0, or -errno with
 * "FILE:LINE: what" in err; *out is left untouched on failure. -ENOENT
 * when the file does not exist; -EPERM when it is not trusted. */
int policy_load(const char *path, struct policy *out, char *err, size_t errlen);

/* Parses a config text (name: for messages). includes: @include is
 * allowed, every file it names checked as trusted (a relative name is
 * relative to the working directory, as libconfig opens it); otherwise
 * refused. The hook's program is not checked here. */
int policy_parse(const char *text, const char *name, bool includes, struct policy *out, char *err,
		 size_t errlen);

/* Safe on a zeroed or half-built policy. */
void policy_free(struct policy *p);

/* The first rule matching path, or the default. Never NULL. */
const struct rule *policy_match(const struct policy *p, const char *path);

bool glob_match(const char *pattern, const char *path);

struct verdict {
	enum decision decision;
	const char *reason; /* closed, quiet, open, method */
	const char *rule;
	char *const *method; /* argv, or NULL */
	uint64_t retry_after_ns;
	uint64_t defer_max_ns;
	enum decision fallback;
};

/* The decision for a file under rule r. since_write_ns: UINT64_MAX when no
 * write was seen. */
void policy_decide(const struct rule *r, bool open, uint64_t open_age_ns, uint64_t since_write_ns,
		   struct verdict *v);

#endif
