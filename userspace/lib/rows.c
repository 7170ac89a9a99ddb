/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * rows.c - check in the compact form (docs/protocol.md, "check"): the
 * request written straight from the paths, and the answer's rows read
 * straight from its text into the result: one row per path, in order,
 * with no echo of the path (the caller has it). Only a row's rare other
 * members (writers, an error, a method...) are parsed into a JSON tree.
 * The full form of the answer is made from the rows when a caller asks
 * for the text (inuse_result__json).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "lib/internal.h"
#include "lib/result.h"

/* The members of a row, in order; ROW_EXTRA is optional. */
enum {
	ROW_STATE,
	ROW_DECISION,
	ROW_REASON,
	ROW_RULE,
	ROW_WHEN_OPEN,
	ROW_TOKEN,
	ROW_SIZE,
	ROW_EXTRA
};
#define ROW_MAX (ROW_EXTRA + 1)

/* The raw text of a JSON value. */
struct span {
	const char *s;
	size_t n;
};

static const char *ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* Where the JSON value at p ends (strings and nesting followed; what it
 * holds is checked when it is decoded), or NULL. */
static const char *value_end(const char *p, const char *end)
{
	size_t depth = 0;

	while (p < end) {
		char ch = *p;

		if (ch == '"') {
			/* the next quote not escaped (after an even run of
			 * backslashes) */
			const char *q = p + 1, *b;

			for (;; q++) {
				q = memchr(q, '"', (size_t)(end - q));
				if (!q)
					return NULL;
				for (b = q; b > p + 1 && b[-1] == '\\'; b--)
					;
				if ((q - b) % 2 == 0)
					break;
			}
			p = q + 1;
		} else if (ch == '{' || ch == '[') {
			depth++;
			p++;
			continue;
		} else if (ch == '}' || ch == ']') {
			if (depth == 0)
				return p; /* a scalar ended by its container */
			depth--;
			p++;
		} else if (ch == ',' && depth == 0) {
			return p;
		} else {
			p++;
			continue;
		}
		if (depth == 0)
			return p;
	}
	return depth == 0 ? p : NULL;
}

/* The values of the row at *pp ('[' v, v, ... ']'); *pp moves past it. */
static int row_scan(const char **pp, const char *end, struct span *v, size_t *nv, size_t min)
{
	const char *p = ws(*pp, end), *q;

	*nv = 0;
	if (p >= end || *p != '[')
		return -EPROTO;
	for (p++;;) {
		p = ws(p, end);
		q = value_end(p, end);
		if (!q || q == p || *nv == ROW_MAX)
			return -EPROTO;
		v[*nv].s = p;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\n' || q[-1] == '\r'))
			q--;
		v[(*nv)++].n = (size_t)(q - p);
		p = ws(q, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == ']')
			break;
		return -EPROTO;
	}
	*pp = p + 1;
	return *nv >= min ? 0 : -EPROTO;
}

static bool is_null(const struct span *v)
{
	return v->n == 4 && !memcmp(v->s, "null", 4);
}

/* A JSON string, decoded into *arena (NUL-terminated); NULL when v is not
 * a string. */
static const char *decode_str(const struct span *v, char **arena)
{
	const char *s = *arena;

	if (v->n < 2 || v->s[0] != '"' || v->s[v->n - 1] != '"')
		return NULL;
	if (!memchr(v->s, '\\', v->n)) {
		memcpy(*arena, v->s + 1, v->n - 2);
		(*arena)[v->n - 2] = '\0';
		*arena += v->n - 1;
		return s;
	}
	{
		/* escapes: rare (names of rules, messages) */
		json_t *j = json_loadb(v->s, v->n, JSON_DECODE_ANY, NULL);
		size_t len = json_string_length(j);

		if (!json_is_string(j) || len + 2 > v->n) {
			json_decref(j);
			return NULL;
		}
		memcpy(*arena, json_string_value(j), len);
		(*arena)[len] = '\0';
		*arena += len + 1;
		json_decref(j);
		return s;
	}
}

/* The names a row's state, decision, reason, rule and when_open mostly
 * are: given as these strings, not copied. */
static const char *const known[] = {
    "not_open", "open",	  "missing", "not_regular", "error",  "copy",   "defer",
    "skip",	"flag",	  "snapshot", "method",	    "closed", "quiet",  "policy",
    "default",
};

/* A string of known[] (a JSON string with no escape), or decoded into
 * *arena as decode_str does. */
static const char *name_str(const struct span *v, char **arena)
{
	size_t n = v->n - 2;

	if (v->n >= 2 && v->s[0] == '"')
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (known[i][0] == v->s[1] && strlen(known[i]) == n &&
			    !memcmp(known[i], v->s + 1, n) && v->s[v->n - 1] == '"')
				return known[i];
	return decode_str(v, arena);
}

static int lookup(const char *s, const char *(*name)(int), int n, int dflt)
{
	for (int i = 0; s && i < n; i++)
		if (!strcmp(s, name(i)))
			return i;
	return dflt;
}

static const char *state_name(int i)
{
	return inuse_state_name((enum inuse_state)i);
}

/* copy, defer, skip, flag, snapshot: as the full form's parser takes them */
static const char *decision_name(int i)
{
	return inuse_decision_name((enum inuse_decision)i);
}

/* Row i into r->files[i]. */
static int row_fill(struct inuse_result *r, size_t i, const struct span *v, size_t nv, char **arena)
{
	struct inuse_file *x = &r->files[i];
	const char *state = name_str(&v[ROW_STATE], arena);
	const char *decision = name_str(&v[ROW_DECISION], arena);
	json_t *e = NULL;

	x->reason = name_str(&v[ROW_REASON], arena);
	x->rule = name_str(&v[ROW_RULE], arena);
	if (!state || !decision || !x->reason || !x->rule || !name_str(&v[ROW_WHEN_OPEN], arena))
		return -EPROTO;
	x->state = (enum inuse_state)lookup(state, state_name, 7, INUSE_ERROR);
	x->decision = (enum inuse_decision)lookup(decision, decision_name, 5, INUSE_FLAG);
	if (!is_null(&v[ROW_TOKEN]) && !(x->token = decode_str(&v[ROW_TOKEN], arena)))
		return -EPROTO;
	if (!is_null(&v[ROW_SIZE])) {
		char num[24], *endp;

		if (v[ROW_SIZE].n == 0 || v[ROW_SIZE].n >= sizeof(num) || v[ROW_SIZE].s[0] == '-')
			return -EPROTO;
		memcpy(num, v[ROW_SIZE].s, v[ROW_SIZE].n);
		num[v[ROW_SIZE].n] = '\0';
		x->size = strtoull(num, &endp, 10);
		if (*endp)
			return -EPROTO;
	}
	if (nv > ROW_EXTRA) {
		e = json_loadb(v[ROW_EXTRA].s, v[ROW_EXTRA].n, 0, NULL);
		if (!json_is_object(e)) {
			json_decref(e);
			return -EPROTO;
		}
		r->extra[i] = e;
		r->argvs[i] = inuse__method_argv(json_object_get(e, "method"));
		x->method_argv = r->argvs[i];
		x->retry_after = json_number_value(json_object_get(e, "retry_after"));
		x->defer_max = json_number_value(json_object_get(e, "defer_max"));
		x->nwriters = json_array_size(json_object_get(e, "writers"));
	}
	x->fallback = (enum inuse_decision)lookup(
	    e ? json_string_value(json_object_get(e, "fallback")) : NULL, decision_name, 5,
	    INUSE_FLAG);
	return 0;
}

/* The known name of length n at s, or NULL; *k its index in known[]. */
static const char *known_name(const char *s, size_t n, size_t *k)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		size_t j = 0;

		if (known[i][0] != s[0] || strlen(known[i]) != n)
			continue;
		while (j < n && known[i][j] == s[j])
			j++;
		if (j == n) {
			*k = i;
			return known[i];
		}
	}
	return NULL;
}

/* A JSON string with no escape at *pp, its text at *s (not terminated);
 * *pp moves past it. */
static bool plain_str(const char **pp, const char *end, const char **s, size_t *n)
{
	const char *p = *pp, *q;

	if (end - p < 2 || *p != '"')
		return false;
	q = memchr(p + 1, '"', (size_t)(end - p - 1));
	if (!q || memchr(p + 1, '\\', (size_t)(q - p - 1)))
		return false;
	*s = p + 1;
	*n = (size_t)(q - p - 1);
	*pp = q + 1;
	return true;
}

/* The first five values of a row read quickly: their text ('[' to the
 * fifth ','), the names and their indices in known[], the state and the
 * decision they name. */
struct row_names {
	const char *s;
	size_t n;
	const char *name[ROW_TOKEN];
	size_t k[ROW_TOKEN];
	int state, decision;
};

/*
 * The row at *pp when it has the daemon's common shape: seven values with
 * no white space, the first five known names, a token with no escape (or
 * null), a size of at most 19 digits (or null), no other members. Fills
 * r->files[i] and moves *pp past the row; false (nothing moved, the
 * arena perhaps written but not advanced) for any other row, which
 * row_scan and row_fill then read.
 */
static bool row_quick(struct inuse_result *r, size_t i, const char **pp, const char *end,
		      char **arena, struct row_names *last)
{
	struct inuse_file *x = &r->files[i];
	const char *p = *pp, *s;
	size_t n;
	unsigned long long size = 0;

	if (last->n && (size_t)(end - p) >= last->n && !memcmp(p, last->s, last->n)) {
		/* the names of the row before (most rows of an answer) */
		p += last->n;
	} else {
		last->n = 0;
		if (p >= end || *p++ != '[')
			return false;
		for (int v = ROW_STATE; v < ROW_TOKEN; v++) {
			if (!plain_str(&p, end, &s, &n) ||
			    !(last->name[v] = known_name(s, n, &last->k[v])) || p >= end ||
			    *p++ != ',')
				return false;
		}
		/* (a name that is no state or no decision: the general way) */
		last->state = lookup(last->name[ROW_STATE], state_name, 7, -1);
		last->decision = lookup(last->name[ROW_DECISION], decision_name, 5, -1);
		if (last->state < 0 || last->decision < 0)
			return false;
		last->s = *pp;
		last->n = (size_t)(p - *pp);
	}
	if (end - p >= 4 && !memcmp(p, "null", 4)) {
		p += 4;
		s = NULL;
	} else if (!plain_str(&p, end, &s, &n)) {
		return false;
	}
	if (p >= end || *p++ != ',')
		return false;
	if (end - p >= 4 && !memcmp(p, "null", 4)) {
		p += 4;
	} else {
		const char *d = p;

		while (p < end && *p >= '0' && *p <= '9' && p - d < 20)
			size = size * 10 + (unsigned long long)(*p++ - '0');
		if (p == d || p - d > 19 || (*d == '0' && p - d > 1))
			return false;
	}
	if (p >= end || *p != ']')
		return false;
	if (s) {
		memcpy(*arena, s, n);
		(*arena)[n] = '\0';
		x->token = *arena;
		*arena += n + 1;
	}
	x->state = (enum inuse_state)last->state;
	x->decision = (enum inuse_decision)last->decision;
	x->reason = last->name[ROW_REASON];
	x->rule = last->name[ROW_RULE];
	x->size = size;
	x->fallback = INUSE_FLAG;
	*pp = p + 1;
	return true;
}

static const char rows_head[] = ",\"ok\":true,\"rows\":[";

/* The request's id and where the rows begin, when line is a compact answer. */
static bool rows_begin(const char *line, const char *end, struct span *id, const char **rows)
{
	const char *p = line, *q;

	if ((size_t)(end - p) < 6 || memcmp(p, "{\"id\":", 6))
		return false;
	p += 6;
	q = value_end(p, end);
	if (!q || q == p || (size_t)(end - q) < sizeof(rows_head) - 1 ||
	    memcmp(q, rows_head, sizeof(rows_head) - 1))
		return false;
	id->s = p;
	id->n = (size_t)(q - p);
	*rows = q + sizeof(rows_head) - 1;
	return true;
}

bool inuse__rows_answer(const char *line, size_t len)
{
	struct span id;
	const char *p;

	return rows_begin(line, line + len, &id, &p);
}

struct inuse_result *inuse__rows_new(size_t n)
{
	struct inuse_result *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->n = n;
	r->files = calloc(n ? n : 1, sizeof(*r->files));
	r->argvs = calloc(n ? n : 1, sizeof(*r->argvs));
	r->extra = calloc(n ? n : 1, sizeof(*r->extra));
	r->when = calloc(n ? n : 1, 1);
	if (!r->files || !r->argvs || !r->extra || !r->when) {
		inuse_result__free(r);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		r->files[i].fd = -1;
	return r;
}

/* Row i's text s[0..n), kept in *arena (after its length) for the full
 * form: a row read the general way, which the result's members may not
 * give back as it came. */
static int keep_raw(struct inuse_result *r, size_t i, const char *s, size_t n, char **arena)
{
	uint32_t len = (uint32_t)n;

	if (!r->raw && !(r->raw = calloc(r->n, sizeof(*r->raw))))
		return -ENOMEM;
	memcpy(*arena, &len, sizeof(len));
	memcpy(*arena + sizeof(len), s, n);
	r->raw[i] = *arena + sizeof(len);
	*arena += sizeof(len) + n;
	return 0;
}

/* The arena of an answer of len bytes to m paths: the rows' strings
 * decoded, each row read the general way again whole, and the paths. */
static char *arena_new(struct inuse_result *r, size_t len, const char *const *paths, size_t from,
		       size_t m)
{
	size_t arena = sizeof(char *) + 2 * len + 1 + m * sizeof(uint32_t);
	char *a;

	for (size_t i = from; i < from + m; i++)
		arena += strlen(paths[i]) + 1;
	/* one block per answer, chained from r->arena */
	a = malloc(arena);
	if (!a)
		return NULL;
	memcpy(a, &r->arena, sizeof(char *));
	r->arena = a;
	return a + sizeof(char *);
}

/* Reads row i at *pp (moving past it) into r, its strings into *arena. */
typedef int row_reader(struct inuse_result *r, size_t i, const char **pp, const char *end,
		       char **arena, void *ctx);

/* The rows of the answer line[0..len) into r's files [from, from + m),
 * each read by read_row, and the paths asked. */
static int rows_read(struct inuse_result *r, const char *line, size_t len, const char *const *paths,
		     size_t from, size_t m, row_reader *read_row, void *ctx)
{
	const char *end = line + len, *p;
	struct span id;
	char *a;

	if (from > r->n || m > r->n - from || !rows_begin(line, end, &id, &p))
		return -EPROTO;
	if (!(a = arena_new(r, len, paths, from, m)))
		return -ENOMEM;
	for (size_t i = from; i < from + m; i++) {
		int err;

		if (i > from && (p >= end || *p++ != ','))
			return -EPROTO;
		if ((err = read_row(r, i, &p, end, &a, ctx)))
			return err;
		r->files[i].path = a;
		a = stpcpy(a, paths[i]) + 1;
	}
	if (p >= end || *p != ']')
		return -EPROTO; /* more rows than paths */
	return 0;
}

/* How a check's rows are read: the quick way when it may. */
struct check_rows {
	bool quick;
	struct row_names last;
};

static int check_row(struct inuse_result *r, size_t i, const char **pp, const char *end,
		     char **arena, void *ctx)
{
	struct check_rows *cr = ctx;
	const char *row = *pp;
	struct span v[ROW_MAX];
	size_t nv;

	if (cr->quick && row_quick(r, i, pp, end, arena, &cr->last)) {
		r->when[i] = (unsigned char)cr->last.k[ROW_WHEN_OPEN];
		return 0;
	}
	if (row_scan(pp, end, v, &nv, ROW_EXTRA) || row_fill(r, i, v, nv, arena))
		return -EPROTO;
	return keep_raw(r, i, row, (size_t)(*pp - row), arena);
}

static int rows_add(struct inuse_result *r, const char *line, size_t len, const char *const *paths,
		    size_t from, size_t m, bool quick)
{
	struct check_rows cr = {.quick = quick};

	return rows_read(r, line, len, paths, from, m, check_row, &cr);
}

int inuse__rows_add(struct inuse_result *r, const char *line, size_t len, const char *const *paths,
		    size_t from, size_t m)
{
	return rows_add(r, line, len, paths, from, m, true);
}

int inuse__rows_add_general(struct inuse_result *r, const char *line, size_t len,
			    const char *const *paths, size_t from, size_t m)
{
	return rows_add(r, line, len, paths, from, m, false);
}

/* The reasons of a verify, given as these strings, not copied. */
static const char *const verify_reasons[] = {
    "unchanged", "written", "opened",	 "changed", "replaced",
    "missing",	 "error",   "bad_token", "expired",
};

/* The reason of verify_reasons[] that v is (a JSON string with no
 * escape), or NULL. */
static const char *known_reason(const struct span *v)
{
	for (size_t k = 0; k < sizeof(verify_reasons) / sizeof(verify_reasons[0]); k++)
		if (v->n == strlen(verify_reasons[k]) + 2 && v->s[0] == '"' &&
		    !memcmp(v->s + 1, verify_reasons[k], v->n - 2) && v->s[v->n - 1] == '"')
			return verify_reasons[k];
	return NULL;
}

/* A verify row: ["reason"] or ["reason","error"] into r->files[i]. */
static int vrow_fill(struct inuse_result *r, size_t i, const struct span *v, size_t nv,
		     char **arena)
{
	struct inuse_file *x = &r->files[i];
	const char *reason = NULL;

	if (nv < 1 || nv > 2 || (nv == 2 && (v[1].n < 2 || v[1].s[0] != '"')))
		return -EPROTO;
	reason = known_reason(&v[0]);
	if (!reason && !(reason = decode_str(&v[0], arena)))
		return -EPROTO;
	x->reason = reason;
	x->consistent = !strcmp(reason, "unchanged");
	x->state = INUSE_ERROR; /* as the full form's reader leaves them */
	x->decision = INUSE_FLAG;
	x->fallback = INUSE_FLAG;
	return 0;
}

static int verify_row(struct inuse_result *r, size_t i, const char **pp, const char *end,
		      char **arena, void *ctx)
{
	const char *row = *pp;
	struct span v[ROW_MAX];
	size_t nv;

	(void)ctx;
	if (row_scan(pp, end, v, &nv, 1) || vrow_fill(r, i, v, nv, arena))
		return -EPROTO;
	/* with an error's words, or a reason not known: as it came */
	if (nv > 1 || !known_reason(&v[0]))
		return keep_raw(r, i, row, (size_t)(*pp - row), arena);
	return 0;
}

int inuse__vrows_add(struct inuse_result *r, const char *line, size_t len, const char *const *paths,
		     size_t from, size_t m)
{
	r->verify = true;
	return rows_read(r, line, len, paths, from, m, verify_row, NULL);
}

int inuse__rows_parse(char *line, size_t len, const char *const *paths, size_t n,
		      struct inuse_result **out)
{
	const char *p;
	struct inuse_result *r;
	struct span id;
	int err;

	if (!rows_begin(line, line + len, &id, &p))
		return inuse__result_parse(line, len, out); /* an error, or the full form */
	r = inuse__rows_new(n);
	if (!r) {
		free(line);
		return -ENOMEM;
	}
	r->line = line;
	r->len = len;
	err = inuse__rows_add(r, line, len, paths, 0, n);
	if (err) {
		inuse_result__free(r);
		return err;
	}
	*out = r;
	return 0;
}

static void add_span(struct strbuf *b, const struct span *v)
{
	sb_add(b, v->s, v->n);
}

/* The full form of row i from its text as it came (a row read the
 * general way). */
static int full_raw(struct strbuf *b, const struct inuse_result *r, size_t i)
{
	const char *p = r->raw[i];
	uint32_t len;
	struct span v[ROW_MAX];
	size_t nv;

	memcpy(&len, p - sizeof(len), sizeof(len));
	if (row_scan(&p, r->raw[i] + len, v, &nv, r->verify ? 1 : ROW_EXTRA))
		return -EPROTO;
	if (r->verify) {
		sb_adds(b, r->files[i].consistent ? ",\"consistent\":true,\"reason\":"
						  : ",\"consistent\":false,\"reason\":");
		add_span(b, &v[0]);
		if (nv > 1) {
			sb_adds(b, ",\"error\":");
			add_span(b, &v[1]);
		}
		return 0;
	}
	sb_adds(b, ",\"state\":");
	add_span(b, &v[ROW_STATE]);
	if (!is_null(&v[ROW_TOKEN])) {
		sb_adds(b, ",\"token\":");
		add_span(b, &v[ROW_TOKEN]);
		sb_adds(b, ",\"size\":");
		add_span(b, &v[ROW_SIZE]);
	}
	if (nv > ROW_EXTRA && v[ROW_EXTRA].n > 2) {
		/* the other members, as they came */
		sb_add(b, ",", 1);
		sb_add(b, v[ROW_EXTRA].s + 1, v[ROW_EXTRA].n - 2);
	}
	sb_adds(b, ",\"decision\":");
	add_span(b, &v[ROW_DECISION]);
	sb_adds(b, ",\"reason\":");
	add_span(b, &v[ROW_REASON]);
	sb_adds(b, ",\"rule\":");
	add_span(b, &v[ROW_RULE]);
	sb_adds(b, ",\"when_open\":");
	add_span(b, &v[ROW_WHEN_OPEN]);
	return 0;
}

static void add_str(struct strbuf *b, const char *name, const char *s)
{
	sb_adds(b, name);
	jname_append(b, s, strlen(s));
}

/* The full form of row i from its members (a row read the quick way, or
 * a verify's with a known reason alone). */
static void full_members(struct strbuf *b, const struct inuse_result *r, size_t i)
{
	const struct inuse_file *x = &r->files[i];

	if (r->verify) {
		sb_adds(b, x->consistent ? ",\"consistent\":true" : ",\"consistent\":false");
		add_str(b, ",\"reason\":", x->reason);
		return;
	}
	add_str(b, ",\"state\":", inuse_state_name(x->state));
	if (x->token) {
		/* as it came: a token read the quick way holds no '"' or '\\' */
		sb_adds(b, ",\"token\":\"");
		sb_adds(b, x->token);
		sb_add(b, "\"", 1);
		sb_adds(b, ",\"size\":");
		sb_add_u64(b, x->size);
	}
	add_str(b, ",\"decision\":", inuse_decision_name(x->decision));
	add_str(b, ",\"reason\":", x->reason);
	add_str(b, ",\"rule\":", x->rule);
	add_str(b, ",\"when_open\":", known[r->when[i]]);
}

char *inuse__rows_full(const struct inuse_result *r)
{
	struct strbuf b = {0};
	struct span id;
	const char *p;
	int err = 0;

	if (r->line && rows_begin(r->line, r->line + r->len, &id, &p)) {
		sb_adds(&b, "{\"id\":");
		add_span(&b, &id);
	} else {
		/* asked in parts: one answer of no id */
		sb_adds(&b, "{\"id\":null");
	}
	sb_adds(&b, ",\"ok\":true,\"files\":[");
	for (size_t i = 0; !err && i < r->n; i++) {
		sb_adds(&b, i ? ",{\"path\":" : "{\"path\":");
		jname_append(&b, r->files[i].path, strlen(r->files[i].path));
		if (r->raw && r->raw[i])
			err = full_raw(&b, r, i);
		else
			full_members(&b, r, i);
		sb_add(&b, "}", 1);
	}
	sb_adds(&b, "],\"count\":");
	sb_add_u64(&b, r->n);
	if (err || sb_adds(&b, "}")) {
		sb_free(&b);
		return NULL;
	}
	return b.buf;
}

/* v in lower-case hex at p, no leading zeros; past its end. */
static char *put_hex(char *p, uint64_t v)
{
	int digits = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;

	for (int i = digits - 1; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
	return p + digits;
}

static uint64_t ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

/* The identity form (docs/protocol.md, "check", "stats"): each path's
 * stat(2), as the caller sees it. */
static int add_stats(struct strbuf *b, const char *const *paths, size_t n)
{
	if (sb_adds(b, ",\"stats\":\""))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char *p;

		/* ';' and six numbers of at most 16 digits, five ',' between */
		if (sb_reserve(b, 1 + 6 * 16 + 5))
			return -ENOMEM;
		p = b->buf + b->len;
		if (i)
			*p++ = ';';
		if (stat(paths[i], &st) != 0) {
			*p++ = errno == ENOENT || errno == ENOTDIR ? '!' : '-';
		} else {
			p = put_hex(p, (uint64_t)st.st_dev);
			*p++ = ',';
			p = put_hex(p, (uint64_t)st.st_ino);
			*p++ = ',';
			p = put_hex(p, (uint64_t)st.st_mode);
			*p++ = ',';
			p = put_hex(p, (uint64_t)st.st_size);
			*p++ = ',';
			p = put_hex(p, ns(&st.st_mtim));
			*p++ = ',';
			p = put_hex(p, ns(&st.st_ctim));
		}
		b->len = (size_t)(p - b->buf);
		b->buf[b->len] = '\0';
	}
	return sb_add(b, "\"", 1);
}

/* The tokens of a verify: each a JSON string; one that is not text (or
 * NULL) as "", which the daemon answers "bad_token" for. */
static int add_tokens(struct strbuf *b, const char *const *tokens, size_t n)
{
	int err = sb_adds(b, ",\"tokens\":[");

	for (size_t i = 0; i < n; i++) {
		size_t len = tokens[i] ? strlen(tokens[i]) : 0;

		if (i)
			err |= sb_add(b, ",", 1);
		if (len && utf8_valid(tokens[i], len))
			err |= jname_append(b, tokens[i], len);
		else
			err |= sb_adds(b, "\"\"");
	}
	return err | sb_adds(b, "]");
}

int inuse__rows_request(struct strbuf *b, const char *op, const char *const *paths, size_t n,
			const char *const *tokens, bool stats)
{
	int err = 0;

	err |= sb_adds(b, "{\"op\":\"");
	err |= sb_adds(b, op);
	err |= sb_adds(b, "\",\"compact\":true,\"paths\":[");
	for (size_t i = 0; i < n; i++) {
		/* a path left out would shift every answer after it */
		if (!paths[i])
			return -EINVAL;
		if (i)
			err |= sb_add(b, ",", 1);
		err |= jname_append(b, paths[i], strlen(paths[i]));
	}
	err |= sb_adds(b, "]");
	if (tokens)
		err |= add_tokens(b, tokens, n);
	if (stats)
		err |= add_stats(b, paths, n);
	err |= sb_adds(b, "}");
	return err ? -ENOMEM : 0;
}
