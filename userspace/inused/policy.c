// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/policy.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inused/trust.h"

#define PATTERN_MAX    256
#define GLOB_STEPS_MAX 100000
#define ARGV_MAX       64   /* arguments of a method or hook */
#define ARG_MAX_LEN    4096 /* bytes of one */
#define CONFIG_MAX     (1 << 20)
#define INCLUDE_DEPTH  10

static const char *const dec_names[] = {"copy", "defer", "skip", "flag", "snapshot"};

const char *decision_name(enum decision d)
{
	return (unsigned)d < DEC_NR ? dec_names[d] : "?";
}

static int decision_parse(const char *s, enum decision *d)
{
	for (int i = 0; s && i < DEC_NR; i++) {
		if (!strcmp(s, dec_names[i])) {
			*d = (enum decision)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- patterns ---- */

/* A [...] class at *pp against c; advances *pp past it. -1: not a class. */
static int match_class(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;

	if (*p == '!' || *p == '^')
		neg = true, p++;
	if (*p == ']') {
		hit |= c == ']';
		p++;
	}
	for (; *p && *p != ']'; p++) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hit |= c >= p[0] && c <= p[2];
			p += 2;
		} else {
			hit |= c == *p;
		}
	}
	if (*p != ']')
		return -1; /* no closing bracket: a plain '[' */
	*pp = p + 1;
	return c != '/' && hit != neg;
}

static bool glob_here(const char *p, const char *s, unsigned *steps)
{
	while (*p) {
		if (++*steps > GLOB_STEPS_MAX)
			return false;
		if (p[0] == '*' && p[1] == '*') {
			p += 2;
			if (*p == '/') {
				/* "**" + "/": zero or more whole components */
				p++;
				if (glob_here(p, s, steps))
					return true;
				for (; *s; s++)
					if (*s == '/' && glob_here(p, s + 1, steps))
						return true;
				return false;
			}
			for (;; s++) {
				if (glob_here(p, s, steps))
					return true;
				if (!*s)
					return false;
			}
		}
		if (*p == '*') {
			p++;
			for (;; s++) {
				if (glob_here(p, s, steps))
					return true;
				if (!*s || *s == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
			p++, s++;
			continue;
		}
		if (*p == '[') {
			int m = match_class(&p, *s);

			if (m == 0)
				return false;
			if (m == 1) {
				s++;
				continue;
			}
		}
		if (*p == '\\' && p[1])
			p++;
		if (*p != *s)
			return false;
		p++, s++;
	}
	return *s == '\0';
}

bool glob_match(const char *pattern, const char *path)
{
	unsigned steps = 0;

	if (!strchr(pattern, '/')) {
		const char *base = strrchr(path, '/');

		path = base ? base + 1 : path;
	}
	return glob_here(pattern, path, &steps);
}

/* ---- rules ---- */

static void argv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void rule_free(struct rule *r)
{
	free(r->name);
	for (size_t i = 0; i < r->nmatch; i++)
		free(r->match[i]);
	free(r->match);
	argv_free(r->method);
	memset(r, 0, sizeof(*r));
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	rule_free(&p->dflt);
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p->admin_group);
	argv_free(p->alerts.hook);
	free(p->snapshot.dir);
	for (size_t i = 0; i < p->snapshot.nnever; i++)
		free(p->snapshot.never[i]);
	free(p->snapshot.never);
	free(p->source);
	memset(p, 0, sizeof(*p));
}

static void builtin_default(struct rule *r)
{
	memset(r, 0, sizeof(*r));
	r->open = DEC_DEFER;
	r->defer_max_ns = 300 * NSEC_PER_SEC;
	r->fallback = DEC_FLAG;
	r->freeze_max_ns = SNAPSHOT_FREEZE_MAX_NS;
	r->snapshot_max_size = SNAPSHOT_MAX_SIZE;
}

/* The generation of the next policy made. */
static uint64_t next_gen(void)
{
	static uint64_t gens;

	return ++gens;
}

void policy_builtin(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->gen = next_gen();
	builtin_default(&p->dflt);
	p->alerts.realert_ns = 6 * 3600 * NSEC_PER_SEC;
	p->alerts.hook_timeout_ns = 10 * NSEC_PER_SEC;
}

struct loader {
	const char *file;
	char *err;
	size_t errlen;
};

static int fail(struct loader *l, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *l, const config_setting_t *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%d: %s", l->file, s ? config_setting_source_line(s) : 0,
		 msg);
	return -EINVAL;
}

static int get_duration(struct loader *l, const config_setting_t *s, uint64_t *ns)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: {
		long long v = config_setting_get_int64(s);

		if (config_setting_type(s) == CONFIG_TYPE_INT)
			v = config_setting_get_int(s);
		if (v < 0 || v > 86400LL * 366)
			return fail(l, s, "\"%s\" is out of range", config_setting_name(s));
		*ns = (uint64_t)v * NSEC_PER_SEC;
		return 0;
	}
	case CONFIG_TYPE_STRING:
		if (parse_duration(config_setting_get_string(s), ns) == 0)
			return 0;
		/* fall through */
	default:
		return fail(l, s, "\"%s\" must be a duration such as \"90s\", \"5m\" or seconds",
			    config_setting_name(s));
	}
}

static int get_bool(struct loader *l, const config_setting_t *s, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(l, s, "\"%s\" must be true or false", config_setting_name(s));
	*out = config_setting_get_bool(s);
	return 0;
}

static int get_decision(struct loader *l, const config_setting_t *s, enum decision *d)
{
	const char *v = config_setting_get_string(s);

	if (!v || decision_parse(v, d))
		return fail(l, s, "\"%s\" must be one of copy, defer, skip, flag",
			    config_setting_name(s));
	return 0;
}

static int get_string(struct loader *l, const config_setting_t *s, char **out)
{
	const char *v = config_setting_get_string(s);

	if (!v || !*v)
		return fail(l, s, "\"%s\" must be a non-empty string", config_setting_name(s));
	free(*out);
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int get_size(struct loader *l, const config_setting_t *s, uint64_t *out)
{
	const char *v = config_setting_get_string(s);
	unsigned long long n;
	char *end;

	if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long x = config_setting_get_int64(s);

		if (config_setting_type(s) == CONFIG_TYPE_INT)
			x = config_setting_get_int(s);
		if (x < 0)
			return fail(l, s, "\"%s\" must not be negative", config_setting_name(s));
		*out = (uint64_t)x;
		return 0;
	}
	if (!v || *v < '0' || *v > '9')
		return fail(l, s, "\"%s\" must be a size such as \"64M\" or bytes",
			    config_setting_name(s));
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || (*end && !strchr("KMGT", *end)) || (*end && end[1]))
		return fail(l, s, "\"%s\" must be a size such as \"64M\" or bytes",
			    config_setting_name(s));
	for (const char *u = "KMGT"; *end && *u; u++) {
		if (n > (1ULL << 53))
			return fail(l, s, "\"%s\" is too large", config_setting_name(s));
		n <<= 10;
		if (*u == *end)
			break;
	}
	*out = n;
	return 0;
}

static int get_freeze_how(struct loader *l, const config_setting_t *s, int *how)
{
	static const char *const names[] = {"auto", "cgroup", "signal"};
	const char *v = config_setting_get_string(s);

	for (int i = 0; v && i < 3; i++) {
		if (!strcmp(v, names[i])) {
			*how = i;
			return 0;
		}
	}
	return fail(l, s, "\"freeze\" must be one of auto, cgroup, signal");
}

/* A list of strings (a program and its arguments) into a NULL-terminated
 * argv. */
static int get_argv(struct loader *l, const config_setting_t *s, char ***out)
{
	const char *k = config_setting_name(s);
	int n = config_setting_length(s);
	char **v;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return fail(l, s, "\"%s\" must be a list of strings: [ \"program\", \"arg\", ... ]",
			    k);
	if (n < 1 || n > ARGV_MAX)
		return fail(l, s, "\"%s\" must hold 1 to %d strings", k, ARGV_MAX);
	v = calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const char *a = config_setting_get_string_elem(s, i);

		if (!a || !*a || strlen(a) > ARG_MAX_LEN) {
			argv_free(v);
			return fail(l, s,
				    "\"%s\": argument %d must be a non-empty string of at most "
				    "%d bytes",
				    k, i + 1, ARG_MAX_LEN);
		}
		if (!(v[i] = strdup(a))) {
			argv_free(v);
			return -ENOMEM;
		}
	}
	argv_free(*out);
	*out = v;
	return 0;
}

/* A method: a program and its arguments, with {path} and {dest} as whole
 * arguments (the backup tool puts each file's path in one argument of its
 * own: a name can never become several arguments, nor a shell command). */
static int get_method(struct loader *l, const config_setting_t *s, struct rule *r)
{
	bool path = false, dest = false;
	int err;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return fail(l, s,
			    "\"method\" must be a list of arguments such as [ \"program\", "
			    "\"--\", \"{path}\", \"{dest}\" ]; a command line for a shell is "
			    "not accepted");
	if ((err = get_argv(l, s, &r->method)))
		return err;
	for (size_t i = 0; r->method[i]; i++) {
		const char *a = r->method[i];
		bool is_path = !strcmp(a, "{path}"), is_dest = !strcmp(a, "{dest}");

		if (!is_path && !is_dest && (strstr(a, "{path}") || strstr(a, "{dest}")))
			return fail(l, s,
				    "in \"method\", {path} and {dest} must be whole arguments, "
				    "not part of \"%s\"",
				    a);
		if ((is_path || is_dest) && i == 0)
			return fail(l, s, "\"method\" must begin with a program, not %s", a);
		path |= is_path;
		dest |= is_dest;
	}
	if (!path || !dest)
		return fail(l, s, "\"method\" needs the arguments \"{path}\" and \"{dest}\"");
	return 0;
}

/* The alert hook: a list (the program, an absolute path, and its
 * arguments), or a string naming just the program. Never a shell command. */
static int get_hook(struct loader *l, const config_setting_t *s, char ***out)
{
	int err;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		const char *v = config_setting_get_string(s);

		if (!v || v[0] != '/' || strpbrk(v, " \t\n;&|<>$`'\"\\*?(){}[]!#~"))
			return fail(l, s,
				    "\"hook\" must be a list such as [ \"/usr/local/bin/prog\", "
				    "\"arg\" ] (or the absolute path of a program alone); a "
				    "command line for a shell is not accepted");
		argv_free(*out);
		*out = calloc(2, sizeof(char *));
		if (!*out || !((*out)[0] = strdup(v)))
			return -ENOMEM;
		return 0;
	}
	if ((err = get_argv(l, s, out)))
		return err;
	if ((*out)[0][0] != '/')
		return fail(l, s, "the program of \"hook\" must be an absolute path");
	return 0;
}

static int add_pattern(struct loader *l, const config_setting_t *s, struct rule *r)
{
	const char *v = config_setting_get_string(s);
	char **m;

	if (!v || !*v || strlen(v) > PATTERN_MAX)
		return fail(l, s, "a pattern must be a non-empty string of at most %d bytes",
			    PATTERN_MAX);
	m = realloc(r->match, (r->nmatch + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	r->match = m;
	if (!(m[r->nmatch] = strdup(v)))
		return -ENOMEM;
	r->nmatch++;
	return 0;
}

static int get_match(struct loader *l, const config_setting_t *s, struct rule *r)
{
	int n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return add_pattern(l, s, r);
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return fail(l, s, "\"match\" must be a pattern or a list of patterns");
	n = config_setting_length(s);
	if (n == 0)
		return fail(l, s, "\"match\" is empty");
	for (int i = 0; i < n; i++) {
		int err = add_pattern(l, config_setting_get_elem(s, (unsigned)i), r);

		if (err)
			return err;
	}
	return 0;
}

/* Reads a rule group over r (which holds the inherited values). */
static int parse_rule(struct loader *l, const config_setting_t *g, struct rule *r, bool dflt)
{
	int n = config_setting_length(g), err = 0;

	if (!config_setting_is_group(g))
		return fail(l, g, "a rule must be a group { ... }");
	for (int i = 0; i < n && !err; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);

		if (!strcmp(k, "open"))
			err = get_decision(l, s, &r->open);
		else if (!strcmp(k, "fallback"))
			err = get_decision(l, s, &r->fallback);
		else if (!strcmp(k, "defer_max"))
			err = get_duration(l, s, &r->defer_max_ns);
		else if (!strcmp(k, "quiet"))
			err = get_duration(l, s, &r->quiet_ns);
		else if (!strcmp(k, "alert_after"))
			err = get_duration(l, s, &r->alert_after_ns);
		else if (!strcmp(k, "alert_idle"))
			err = get_duration(l, s, &r->alert_idle_ns);
		else if (!strcmp(k, "freeze_max"))
			err = get_duration(l, s, &r->freeze_max_ns);
		else if (!strcmp(k, "snapshot_max_size"))
			err = get_size(l, s, &r->snapshot_max_size);
		else if (!strcmp(k, "freeze"))
			err = get_freeze_how(l, s, &r->freeze_how);
		else if (!dflt && !strcmp(k, "name"))
			err = get_string(l, s, &r->name);
		else if (!dflt && !strcmp(k, "match"))
			err = get_match(l, s, r);
		else if (!dflt && !strcmp(k, "method"))
			err = get_method(l, s, r);
		else
			err = fail(l, s, "unknown setting \"%s\" in %s", k,
				   dflt ? "the default rule" : "a rule");
	}
	if (err)
		return err;
	if (r->fallback == DEC_DEFER || r->fallback == DEC_SNAPSHOT)
		return fail(l, g, "\"fallback\" cannot be %s", decision_name(r->fallback));
	if (r->open == DEC_SNAPSHOT && (r->freeze_max_ns == 0 || r->freeze_max_ns > 60 * NSEC_PER_SEC))
		return fail(l, g, "\"freeze_max\" must be above 0 and at most 60s");
	if (r->open == DEC_DEFER && r->defer_max_ns == 0)
		return fail(l, g, "\"open\" is defer but \"defer_max\" is not set");
	if (dflt)
		return 0;
	if (!r->name)
		return fail(l, g, "a rule needs a \"name\"");
	if (!r->nmatch)
		return fail(l, g, "rule \"%s\" needs \"match\"", r->name);
	return 0;
}

static int parse_policy(struct loader *l, const config_setting_t *pg, struct policy *p)
{
	const config_setting_t *d = NULL, *rules = NULL;
	int n = config_setting_length(pg), err;

	if (!config_setting_is_group(pg))
		return fail(l, pg, "\"policy\" must be a group { ... }");
	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(pg, (unsigned)i);

		if (!strcmp(config_setting_name(s), "default"))
			d = s;
		else if (!strcmp(config_setting_name(s), "rules"))
			rules = s;
		else
			return fail(l, s, "unknown setting \"%s\" in policy",
				    config_setting_name(s));
	}
	if (d && (err = parse_rule(l, d, &p->dflt, true)))
		return err;
	if (!rules)
		return 0;
	if (!config_setting_is_list(rules) && !config_setting_is_array(rules))
		return fail(l, rules, "\"rules\" must be a list ( {...}, {...} )");
	n = config_setting_length(rules);
	p->rules = calloc((size_t)(n ? n : 1), sizeof(*p->rules));
	if (!p->rules)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(rules, (unsigned)i);
		struct rule *r = &p->rules[i];

		r->open = p->dflt.open;
		r->defer_max_ns = p->dflt.defer_max_ns;
		r->fallback = p->dflt.fallback;
		r->quiet_ns = p->dflt.quiet_ns;
		r->alert_after_ns = p->dflt.alert_after_ns;
		r->alert_idle_ns = p->dflt.alert_idle_ns;
		r->freeze_max_ns = p->dflt.freeze_max_ns;
		r->snapshot_max_size = p->dflt.snapshot_max_size;
		r->freeze_how = p->dflt.freeze_how;
		p->nrules = (size_t)i + 1;
		if ((err = parse_rule(l, g, r, false)))
			return err;
		for (int j = 0; j < i; j++)
			if (!strcmp(p->rules[j].name, r->name))
				return fail(l, g, "two rules are named \"%s\"", r->name);
	}
	return 0;
}

static int parse_alerts(struct loader *l, const config_setting_t *g, struct alert_conf *a)
{
	int n = config_setting_length(g), err = 0;

	if (!config_setting_is_group(g))
		return fail(l, g, "\"alerts\" must be a group { ... }");
	for (int i = 0; i < n && !err; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);

		if (!strcmp(k, "realert"))
			err = get_duration(l, s, &a->realert_ns);
		else if (!strcmp(k, "hook_timeout"))
			err = get_duration(l, s, &a->hook_timeout_ns);
		else if (!strcmp(k, "hook"))
			err = get_hook(l, s, &a->hook);
		else
			err = fail(l, s, "unknown setting \"%s\" in alerts", k);
	}
	if (!err && a->realert_ns < NSEC_PER_SEC)
		return fail(l, g, "\"realert\" must be at least 1s");
	if (!err && a->hook_timeout_ns == 0)
		return fail(l, g, "\"hook_timeout\" must be above 0");
	return err;
}

static int parse_snapshot(struct loader *l, const config_setting_t *g, struct snapshot_conf *sc)
{
	int n = config_setting_length(g), err = 0;

	if (!config_setting_is_group(g))
		return fail(l, g, "\"snapshot\" must be a group { ... }");
	for (int i = 0; i < n && !err; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *k = config_setting_name(s);

		if (!strcmp(k, "dir")) {
			err = get_string(l, s, &sc->dir);
			if (!err && sc->dir[0] != '/')
				err = fail(l, s, "\"dir\" must be an absolute path");
		} else if (!strcmp(k, "never_freeze")) {
			int m = config_setting_length(s);

			if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
				return fail(l, s, "\"never_freeze\" must be a list of cgroup patterns");
			sc->never = calloc((size_t)m + 1, sizeof(*sc->never));
			if (!sc->never)
				return -ENOMEM;
			for (int j = 0; j < m; j++) {
				const char *v = config_setting_get_string_elem(s, (unsigned)j);

				if (!v || v[0] != '/' || strlen(v) > PATTERN_MAX)
					return fail(l, s, "a cgroup pattern must begin with '/'");
				if (!(sc->never[sc->nnever] = strdup(v)))
					return -ENOMEM;
				sc->nnever++;
			}
		} else {
			err = fail(l, s, "unknown setting \"%s\" in snapshot", k);
		}
	}
	return err;
}

/* Messages name files safely (no control bytes). */
static void say_file(char *err, size_t errlen, const char *file, const char *what)
{
	struct strbuf b = {0};

	name_display(&b, file, strlen(file));
	snprintf(err, errlen, "%s: %s", b.buf ? b.buf : "?", what);
	sb_free(&b);
}

/*
 * The @include directives of a text, as libconfig reads them (a line that
 * begins, after blanks, with @include and a quoted name). Each file named
 * is checked (trust.h) before libconfig opens it, and so, in turn, are
 * the files it includes. Reading more lines as directives than libconfig
 * does (in a comment) only checks more: never less.
 */
static int check_includes(const char *text, const char *name, bool allowed, int depth, char *err,
			  size_t errlen)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *q, *end;
		char file[PATH_MAX], *buf = NULL, msg[PATH_MAX + 64];
		int fd, r;

		q = line + strspn(line, " \t");
		line = nl ? nl + 1 : NULL;
		if (strncmp(q, "@include", 8))
			continue;
		if (!allowed) {
			say_file(err, errlen, name, "@include is not allowed here");
			return -EPERM;
		}
		if (depth >= INCLUDE_DEPTH) {
			say_file(err, errlen, name, "@include nested too deep");
			return -ELOOP;
		}
		q += 8;
		q += strspn(q, " \t");
		end = *q == '"' ? strchr(q + 1, '"') : NULL;
		if (!end || (nl && end > nl) || end == q + 1 ||
		    memchr(q + 1, '\\', (size_t)(end - q - 1)) ||
		    (size_t)(end - q - 1) >= sizeof(file)) {
			say_file(err, errlen, name, "an @include that cannot be read safely");
			return -EINVAL;
		}
		/* the name as libconfig opens it (relative: to the working
		 * directory) */
		snprintf(file, sizeof(file), "%.*s", (int)(end - q - 1), q + 1);
		fd = trust_open(file, TRUST_FILE, msg, sizeof(msg));
		if (fd < 0) {
			snprintf(err, errlen, "%s (included)", msg);
			return fd;
		}
		buf = calloc(1, CONFIG_MAX + 1);
		r = buf ? (int)read(fd, buf, CONFIG_MAX) : -1;
		close(fd);
		if (r < 0) {
			free(buf);
			say_file(err, errlen, file, "cannot read it");
			return -EIO;
		}
		r = check_includes(buf, file, true, depth + 1, err, errlen);
		free(buf);
		if (r)
			return r;
	}
	return 0;
}

int policy_parse(const char *text, const char *name, bool includes, struct policy *out, char *err,
		 size_t errlen)
{
	struct loader l = {.file = name, .err = err, .errlen = errlen};
	struct policy p;
	config_t cfg;
	int n, ret;

	ret = check_includes(text, name, includes, 0, err, errlen);
	if (ret)
		return ret;
	policy_builtin(&p);
	config_init(&cfg);
	if (!config_read_string(&cfg, text)) {
		const char *f = config_error_file(&cfg);

		snprintf(err, errlen, "%s:%d: %s", f ? f : name, config_error_line(&cfg),
			 config_error_text(&cfg));
		ret = -EINVAL;
		goto out;
	}
	n = config_setting_length(config_root_setting(&cfg));
	for (int i = 0; i < n && !ret; i++) {
		const config_setting_t *s =
		    config_setting_get_elem(config_root_setting(&cfg), (unsigned)i);
		const char *k = config_setting_name(s);

		if (!strcmp(k, "policy"))
			ret = parse_policy(&l, s, &p);
		else if (!strcmp(k, "admin_group"))
			ret = get_string(&l, s, &p.admin_group);
		else if (!strcmp(k, "alerts"))
			ret = parse_alerts(&l, s, &p.alerts);
		else if (!strcmp(k, "snapshot"))
			ret = parse_snapshot(&l, s, &p.snapshot);
		else if (!strcmp(k, "all_users"))
			ret = get_bool(&l, s, &p.all_users);
		else
			ret = fail(&l, s, "unknown setting \"%s\"", k);
	}
	if (!ret && !(p.source = strdup(name)))
		ret = -ENOMEM;
out:
	config_destroy(&cfg);
	if (ret) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", name);
		policy_free(&p);
		return ret;
	}
	p.gen = next_gen();
	*out = p;
	return 0;
}

int policy_load(const char *path, struct policy *out, char *err, size_t errlen)
{
	char msg[PATH_MAX + 128], *text = NULL;
	struct policy p;
	struct stat st;
	ssize_t n;
	int fd, ret;

	if (stat(path, &st) != 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	fd = trust_open(path, TRUST_FILE, msg, sizeof(msg));
	if (fd < 0) {
		snprintf(err, errlen,
			 "%s (the config file, what it includes and the programs it "
			 "names must be root's and writable by root only)",
			 msg);
		return fd == -ENOENT ? -ENOENT : -EPERM;
	}
	text = calloc(1, CONFIG_MAX + 1);
	n = text ? read(fd, text, CONFIG_MAX + 1) : -1;
	close(fd);
	if (n < 0 || n > CONFIG_MAX) {
		free(text);
		say_file(err, errlen, path, n < 0 ? "cannot read it" : "larger than 1 MiB");
		return n < 0 ? -EIO : -EFBIG;
	}
	ret = policy_parse(text, path, true, &p, err, errlen);
	free(text);
	if (ret)
		return ret;
	if (p.alerts.hook) {
		/* the program the daemon will run as root, and the files its
		 * arguments name */
		for (size_t i = 0; p.alerts.hook[i] && !ret; i++) {
			const char *a = p.alerts.hook[i];
			struct stat ast;

			if (i > 0 && (a[0] != '/' || stat(a, &ast) != 0))
				continue;
			fd = trust_open(a,
					i == 0		       ? TRUST_PROGRAM
					: S_ISDIR(ast.st_mode) ? TRUST_DIR
							       : TRUST_FILE,
					msg, sizeof(msg));
			if (fd < 0) {
				snprintf(err, errlen, "%s: the alert hook: %s", path, msg);
				ret = -EPERM;
			} else {
				close(fd);
			}
		}
		if (ret) {
			policy_free(&p);
			return ret;
		}
	}
	*out = p;
	return 0;
}

const struct rule *policy_match(const struct policy *p, const char *path)
{
	for (size_t i = 0; i < p->nrules; i++)
		for (size_t j = 0; j < p->rules[i].nmatch; j++)
			if (glob_match(p->rules[i].match[j], path))
				return &p->rules[i];
	return &p->dflt;
}

void policy_decide(const struct rule *r, bool open, uint64_t open_age_ns, uint64_t since_write_ns,
		   struct verdict *v)
{
	uint64_t quiet_for = since_write_ns == UINT64_MAX ? open_age_ns : since_write_ns;

	memset(v, 0, sizeof(*v));
	v->rule = r->name ? r->name : "default";
	v->fallback = r->fallback;
	v->defer_max_ns = r->defer_max_ns;
	if (!open) {
		v->decision = DEC_COPY;
		v->reason = "closed";
		return;
	}
	if (r->method) {
		v->decision = DEC_COPY;
		v->reason = "method";
		v->method = r->method;
		return;
	}
	if (r->quiet_ns && quiet_for >= r->quiet_ns) {
		v->decision = DEC_COPY;
		v->reason = "quiet";
		return;
	}
	v->decision = r->open;
	v->reason = "open";
	if (r->open == DEC_DEFER)
		v->retry_after_ns = r->defer_max_ns < NSEC_PER_SEC ? r->defer_max_ns : NSEC_PER_SEC;
}
