// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_check.c - "check" (what to do with each file before copying it) and
 * "verify" (the copy fence: was it opened or written since the check).
 *
 * A token records what the file looked like at check time: its identity,
 * size, mtime and ctime, and, if it had writers, the lifetime (first-open
 * time) and the open and write generations of its kernel entry; sealed
 * (token.h), so that it tells the client nothing and cannot be made up.
 * Verify compares all of them with what is there now.
 *
 * Both are answered over turns of the event loop (request.h, jobs), a
 * slice of paths at a time, each looked up with the client's rights.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/jname.h"
#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/clientstat.h"
#include "inused/fastreq.h"
#include "inused/fault.h"
#include "inused/ops.h"
#include "inused/policy.h"
#include "inused/render.h"
#include "inused/request.h"
#include "inused/token.h"

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

/* e: the file's table entry, if any; the kernel map is read only for a
 * file with writers (or when the table cannot be trusted to know). */
static void token_fill(struct proto *p, const struct stat *st, const struct entry *e,
		       struct token_facts *tk)
{
	struct inuse_inode v;

	memset(tk, 0, sizeof(*tk));
	tk->dev = kdev_from_dev(st->st_dev);
	tk->ino = st->st_ino;
	tk->size = (uint64_t)st->st_size;
	tk->mtime_ns = ts_ns(&st->st_mtim);
	tk->ctime_ns = ts_ns(&st->st_ctim);
	/* the kernel map is keyed by the inode that holds the data, which a
	 * name through an overlay does not stat(2) to */
	if ((e || !tracker_table_trusted(p->t)) &&
	    kernel_read_inode(p->t->k, e ? e->dev : tk->dev, e ? e->ino : tk->ino, &v) == 0) {
		tk->life = v.first_open_ns ? v.first_open_ns : 1;
		tk->open_gen = v.open_gen;
		tk->write_gen = v.write_gen;
	}
}

static void count_decision(struct proto *p, enum decision d)
{
	if ((size_t)d < sizeof(p->st.by_decision) / sizeof(p->st.by_decision[0]))
		p->st.by_decision[d]++;
}

/* A method (argv with {path} and {dest} as whole arguments) as a JSON
 * array of strings. */
static void add_method(struct strbuf *b, char *const *argv)
{
	sb_adds(b, ",\"method\":[");
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			sb_add(b, ",", 1);
		proto_add_str(b, argv[i]);
	}
	sb_adds(b, "]");
}

/*
 * One path of a check: appends its answer to b. The full form is a JSON
 * object; the compact form (docs/protocol.md) a row
 * ["state","decision","reason","rule","when_open","token"|null,size|null]
 * with every other member, when there is one, in an object at its end,
 * and no echo of the path. Written member by member (strings escaped by
 * jansson): this runs for every path of batches of many thousands.
 */
static void check_one(struct proto *p, struct conn *c, bool admin, bool compact, const char *path,
		      struct path_res *res, struct strbuf *b, struct strbuf *x)
{
	struct tracker *t = p->t;
	struct verdict v = {0};
	const struct rule *r;
	struct entry *e = res->e;
	char tok[TOKEN_TEXT_MAX];
	long long size = -1;
	size_t mid;

	tok[0] = '\0';
	sb_reset(x);
	r = policy_match(p->pol, path);
	switch (res->ps) {
	case PS_MISSING:
		v = (struct verdict){.decision = DEC_SKIP, .reason = "missing", .rule = r->name};
		break;
	case PS_NOT_REGULAR:
		v = (struct verdict){
		    .decision = DEC_COPY, .reason = "not_regular", .rule = r->name};
		break;
	case PS_ERROR:
		v = (struct verdict){.decision = DEC_FLAG, .reason = "error", .rule = r->name};
		sb_adds(x, ",\"error\":");
		proto_add_str(x, strerror(res->err));
		break;
	case PS_OPEN:
	case PS_NOT_OPEN: {
		uint64_t age = 0, quiet = UINT64_MAX;
		struct token_facts tk;

		if (e) {
			uint64_t now = clock_boot_ns();
			uint64_t since = e->first_open_ns ? e->first_open_ns : t->start_boot_ns;

			age = now > since ? now - since : 0;
			if (e->last_write_ns)
				quiet = now > e->last_write_ns ? now - e->last_write_ns : 0;
		}
		policy_decide(r, res->ps == PS_OPEN, age, quiet, &v);
		token_fill(p, &res->st, e, &tk);
		token_seal(&p->tk, &tk, tok);
		size = (long long)res->st.st_size;
		if (e && proto_visible(e, admin, c->peer.uid))
			render_entry_members(t, e, x);
		break;
	}
	}
	count_decision(p, v.decision);
	mid = x->len; /* the full form has what follows after the rule */
	if (v.decision == DEC_DEFER)
		sb_printf(x, ",\"retry_after\":%.9g,\"defer_max\":%.9g,\"fallback\":\"%s\"",
			  (double)v.retry_after_ns / 1e9, (double)v.defer_max_ns / 1e9,
			  decision_name(v.fallback));
	if (v.method)
		add_method(x, v.method);
	if (r->quiet_ns)
		sb_printf(x, ",\"quiet\":%.9g", (double)r->quiet_ns / 1e9);
	if (compact) {
		sb_adds(b, "[\"");
		sb_adds(b, path_state_name(res->ps));
		sb_adds(b, "\",\"");
		sb_adds(b, decision_name(v.decision));
		sb_adds(b, "\",");
		proto_add_str(b, v.reason ? v.reason : "policy");
		sb_add(b, ",", 1);
		proto_add_str(b, v.rule ? v.rule : "default");
		sb_adds(b, ",\"");
		sb_adds(b, r->method ? "method" : decision_name(r->open));
		sb_adds(b, "\",");
		/* the token is base64url and dots: nothing to escape */
		if (tok[0]) {
			sb_add(b, "\"", 1);
			sb_adds(b, tok);
			sb_adds(b, "\",");
			sb_add_u64(b, (uint64_t)size);
		} else {
			sb_adds(b, "null,null");
		}
		if (x->len) {
			sb_adds(b, ",{");
			sb_add(b, x->buf + 1, x->len - 1);
			sb_add(b, "}", 1);
		}
		sb_add(b, "]", 1);
		return;
	}
	sb_adds(b, "{\"path\":");
	render_name(b, path);
	sb_printf(b, ",\"state\":\"%s\"", path_state_name(res->ps));
	if (tok[0])
		sb_printf(b, ",\"token\":\"%s\",\"size\":%lld", tok, size);
	if (mid)
		sb_add(b, x->buf, mid);
	sb_printf(b, ",\"decision\":\"%s\",\"reason\":", decision_name(v.decision));
	proto_add_str(b, v.reason ? v.reason : "policy");
	sb_adds(b, ",\"rule\":");
	proto_add_str(b, v.rule ? v.rule : "default");
	if (x->len > mid)
		sb_add(b, x->buf + mid, x->len - mid);
	sb_printf(b, ",\"when_open\":\"%s\"", r->method ? "method" : decision_name(r->open));
	sb_add(b, "}", 1);
}

struct check_job {
	struct job j;
	struct namev paths;
	struct client_stat *cs; /* the client's own stat(2) of each path, or NULL */
	size_t next;
	bool compact; /* rows, not objects (docs/protocol.md, "check") */
};

static bool check_step(struct proto *p, struct job *jb)
{
	struct check_job *cj = (struct check_job *)jb;
	struct path_res res[PROTO_LOOKUP_BATCH];
	struct conn *c = jb->c;
	struct strbuf b = {0}, x = {0};
	size_t n;

	tracker_sync(p->t);
	if (cj->next == 0) {
		proto_add_id(&b, jb->id);
		sb_adds(&b, cj->compact ? ",\"ok\":true,\"rows\":[" : ",\"ok\":true,\"files\":[");
	}
	for (size_t done = 0; done < JOB_TURN && cj->next < cj->paths.n; done += n) {
		n = cj->paths.n - cj->next;
		if (n > PROTO_LOOKUP_BATCH)
			n = PROTO_LOOKUP_BATCH;
		proto_paths_state_by(p, c, cj->paths.v + cj->next,
				     cj->cs ? cj->cs + cj->next : NULL, n, res);
		for (size_t i = 0; i < n; i++) {
			if (cj->next + i)
				sb_add(&b, ",", 1);
			check_one(p, c, c->admin, cj->compact, cj->paths.v[cj->next + i], &res[i],
				  &b, &x);
		}
		cj->next += n;
	}
	if (cj->next == cj->paths.n)
		sb_printf(&b, "],\"count\":%zu}\n", cj->paths.n);
	proto_job_send(jb, &b);
	sb_free(&b);
	sb_free(&x);
	return cj->next == cj->paths.n;
}

static void check_free(struct proto *p, struct job *jb)
{
	struct check_job *cj = (struct check_job *)jb;

	namev_free(&cj->paths);
	free(cj->cs);
	free(cj);
}

/* "stats" (docs/protocol.md): read from anyone (a malformed one is
 * refused), kept from an admin only: anyone else's paths are each looked
 * up as the client, whatever it says it found. *out: n records or NULL;
 * *bytes grows by what they take. */
static int stats_read(struct proto *p, struct conn *c, json_t *id, struct client_stat **out,
		      size_t n, size_t *bytes, const char *s, size_t len)
{
	const char *why = NULL;

	*out = calloc(n, sizeof(**out));
	if (!*out) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return -ENOMEM;
	}
	if (client_stats_parse(s, len, n, *out, &why)) {
		proto_send_error(p, c, id, "bad_request", why);
		return -EINVAL;
	}
	if (!c->admin) {
		free(*out);
		*out = NULL;
		return 0;
	}
	*bytes += n * sizeof(**out);
	return 0;
}

/* Starts the job of a request whose paths are read: stats (NULL: none)
 * are its "stats". */
static void check_start(struct proto *p, struct conn *c, json_t *id, struct check_job *cj,
			const char *stats, size_t stats_len)
{
	cj->j.step = check_step;
	cj->j.free = check_free;
	cj->j.bytes = cj->paths.bytes + sizeof(*cj);
	if (stats && stats_read(p, c, id, &cj->cs, cj->paths.n, &cj->j.bytes, stats, stats_len)) {
		check_free(p, &cj->j);
		return;
	}
	proto_job_start(p, c, id, &cj->j);
}

void op_check(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct check_job *cj = calloc(1, sizeof(*cj));
	json_t *stats = json_object_get(req, "stats");

	if (!cj) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return;
	}
	if (proto_get_paths(p, c, id, req, "paths", &cj->paths)) {
		free(cj);
		return;
	}
	if (stats && !json_is_string(stats)) {
		proto_send_error(p, c, id, "bad_request", "\"stats\" must be a string");
		check_free(p, &cj->j);
		return;
	}
	cj->compact = json_is_true(json_object_get(req, "compact"));
	check_start(p, c, id, cj, json_string_value(stats), json_string_length(stats));
}

void op_check_fast(struct proto *p, struct conn *c, const struct fastreq *r)
{
	struct check_job *cj = calloc(1, sizeof(*cj));

	if (!cj || fastreq_paths(r, &cj->paths)) {
		free(cj);
		proto_send_error(p, c, NULL, "internal", "out of memory");
		return;
	}
	cj->compact = true;
	check_start(p, c, NULL, cj, r->stats, r->stats_len);
}

/* Compares the token with the file now; "unchanged" means consistent. */
static const char *verify_one(struct proto *p, const char *tok, const struct path_res *res,
			      bool *consistent)
{
	struct token_facts tk, now;

	*consistent = false;
	switch (token_open(&p->tk, tok, &tk)) {
	case TOKEN_OK:
		break;
	case TOKEN_EXPIRED:
		return "expired";
	default:
		return "bad_token";
	}
	if (res->ps == PS_MISSING)
		return "missing";
	if (res->ps == PS_ERROR)
		return "error";
	if (kdev_from_dev(res->st.st_dev) != tk.dev || res->st.st_ino != tk.ino)
		return "replaced";
	token_fill(p, &res->st, res->e, &now);
	if (FAULT(VERIFY_STAT_ONLY)) {
		now.write_gen = tk.write_gen;
		now.ctime_ns = tk.ctime_ns;
	}
	if (tk.life) {
		/* it had writers at check time */
		if (now.life && now.life != tk.life)
			return "opened";
		if (now.life && now.open_gen != tk.open_gen)
			return "opened";
		if (now.life && now.write_gen != tk.write_gen)
			return "written";
	} else if (now.life) {
		return "opened";
	}
	if (now.size != tk.size || now.mtime_ns != tk.mtime_ns)
		return "written";
	if (now.ctime_ns != tk.ctime_ns)
		return "changed";
	*consistent = true;
	return "unchanged";
}

struct verify_job {
	struct job j;
	struct namev paths;
	struct namev tokens;	/* one a path */
	struct client_stat *cs; /* the client's own stat(2) of each path, or NULL */
	size_t next;
	bool compact; /* rows, not objects (docs/protocol.md, "verify") */
};

/* The words an answer gives with a reason that is not about the file. */
static const char *verify_error(const char *why)
{
	if (!strcmp(why, "bad_token"))
		return "not a token of this daemon (made up or altered)";
	if (!strcmp(why, "expired"))
		return "issued before the daemon restarted: check again";
	return NULL;
}

static bool verify_step(struct proto *p, struct job *jb)
{
	struct verify_job *vj = (struct verify_job *)jb;
	struct path_res res[PROTO_LOOKUP_BATCH];
	struct strbuf b = {0};
	size_t n;

	tracker_sync(p->t);
	if (vj->next == 0) {
		proto_add_id(&b, jb->id);
		sb_adds(&b, vj->compact ? ",\"ok\":true,\"rows\":[" : ",\"ok\":true,\"files\":[");
	}
	for (size_t done = 0; done < JOB_TURN && vj->next < vj->paths.n; done += n) {
		n = vj->paths.n - vj->next;
		if (n > PROTO_LOOKUP_BATCH)
			n = PROTO_LOOKUP_BATCH;
		proto_paths_state_by(p, jb->c, vj->paths.v + vj->next,
				     vj->cs ? vj->cs + vj->next : NULL, n, res);
		for (size_t i = 0; i < n; i++) {
			size_t k = vj->next + i;
			bool consistent;
			const char *why = verify_one(p, vj->tokens.v[k], &res[i], &consistent);
			const char *error = verify_error(why);

			if (vj->compact) {
				/* a row: ["reason"] or ["reason","error"] */
				sb_adds(&b, k ? ",[\"" : "[\"");
				sb_adds(&b, why);
				if (error) {
					sb_adds(&b, "\",\"");
					sb_adds(&b, error);
				}
				sb_adds(&b, "\"]");
			} else {
				sb_adds(&b, k ? ",{\"path\":" : "{\"path\":");
				render_name(&b, vj->paths.v[k]);
				sb_adds(&b, consistent ? ",\"consistent\":true,\"reason\":\""
						       : ",\"consistent\":false,\"reason\":\"");
				sb_adds(&b, why);
				sb_adds(&b, "\"");
				if (error) {
					sb_adds(&b, ",\"error\":\"");
					sb_adds(&b, error);
					sb_adds(&b, "\"");
				}
				sb_adds(&b, "}");
			}
			p->st.verified[consistent ? 0 : 1]++;
		}
		vj->next += n;
	}
	if (vj->next == vj->paths.n) {
		sb_adds(&b, "],\"count\":");
		sb_add_u64(&b, vj->paths.n);
		sb_adds(&b, "}\n");
	}
	proto_job_send(jb, &b);
	sb_free(&b);
	return vj->next == vj->paths.n;
}

static void verify_free(struct proto *p, struct job *jb)
{
	struct verify_job *vj = (struct verify_job *)jb;

	namev_free(&vj->tokens);
	free(vj->cs);
	namev_free(&vj->paths);
	free(vj);
}

/* A token as given, or "" (which no token of the daemon is) when it is
 * longer than any it makes, holds a NUL, or is not a string. */
static char *token_copy(json_t *tok)
{
	if (json_is_string(tok) && json_string_length(tok) < TOKEN_TEXT_MAX &&
	    !memchr(json_string_value(tok), '\0', json_string_length(tok)))
		return strdup(json_string_value(tok));
	return strdup("");
}

/* The compact form: "paths" and "tokens", two arrays of one length. */
static int verify_read_compact(struct proto *p, struct conn *c, json_t *id, json_t *req,
			       struct verify_job *vj)
{
	json_t *toks = json_object_get(req, "tokens");

	if (proto_get_paths(p, c, id, req, "paths", &vj->paths))
		return -EINVAL;
	if (!json_is_array(toks) || json_array_size(toks) != vj->paths.n) {
		proto_send_error(p, c, id, "bad_request",
				 "\"tokens\" must be an array of strings, one per path");
		return -EINVAL;
	}
	vj->tokens.v = calloc(vj->paths.n, sizeof(char *));
	if (!vj->tokens.v)
		goto oom;
	for (size_t i = 0; i < vj->paths.n; i++) {
		json_t *tok = json_array_get(toks, i);

		if (!json_is_string(tok)) {
			proto_send_error(p, c, id, "bad_request",
					 "\"tokens\" must be an array of strings, one per path");
			return -EINVAL;
		}
		if (!(vj->tokens.v[i] = token_copy(tok)))
			goto oom;
		vj->tokens.n = i + 1;
		vj->paths.bytes += strlen(vj->tokens.v[i]) + 1 + sizeof(char *);
	}
	return 0;
oom:
	proto_send_error(p, c, id, "internal", "out of memory");
	return -ENOMEM;
}

/* The full form: "files", an array of {"path","token"}. */
static int verify_read_files(struct proto *p, struct conn *c, json_t *id, json_t *req,
			     struct verify_job *vj)
{
	json_t *files = json_object_get(req, "files"), *f;
	size_t i, n;

	if (!json_is_array(files) || json_array_size(files) == 0) {
		proto_send_error(p, c, id, "bad_request",
				 "\"files\" must be a non-empty array of {\"path\",\"token\"}");
		return -EINVAL;
	}
	n = json_array_size(files);
	if (!(vj->paths.v = calloc(n, sizeof(char *))) ||
	    !(vj->tokens.v = calloc(n, sizeof(char *)))) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return -ENOMEM;
	}
	json_array_foreach(files, i, f)
	{
		json_t *tok = json_object_get(f, "token");
		size_t len = 0;

		vj->paths.v[i] = jname_get(json_object_get(f, "path"), PROTO_NAME_MAX, &len);
		vj->paths.n = i + 1;
		if (!vj->paths.v[i] || !json_is_string(tok)) {
			proto_send_error(p, c, id, "bad_request",
					 "each of \"files\" needs \"path\" and \"token\"");
			return -EINVAL;
		}
		if (!(vj->tokens.v[i] = token_copy(tok))) {
			proto_send_error(p, c, id, "internal", "out of memory");
			return -ENOMEM;
		}
		vj->tokens.n = i + 1;
		vj->paths.bytes += len + 1 + strlen(vj->tokens.v[i]) + 1 + 4 * sizeof(void *);
	}
	return 0;
}

void op_verify(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	struct verify_job *vj = calloc(1, sizeof(*vj));
	json_t *stats = json_object_get(req, "stats"), *compact = json_object_get(req, "compact");

	if (!vj) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return;
	}
	if (compact && !json_is_boolean(compact)) {
		proto_send_error(p, c, id, "bad_request", "\"compact\" must be true or false");
		verify_free(p, &vj->j);
		return;
	}
	vj->compact = json_is_true(compact);
	if ((vj->compact ? verify_read_compact : verify_read_files)(p, c, id, req, vj)) {
		verify_free(p, &vj->j);
		return;
	}
	if (stats && !json_is_string(stats)) {
		proto_send_error(p, c, id, "bad_request", "\"stats\" must be a string");
		verify_free(p, &vj->j);
		return;
	}
	vj->j.step = verify_step;
	vj->j.free = verify_free;
	vj->j.bytes = vj->paths.bytes + sizeof(*vj);
	if (stats && stats_read(p, c, id, &vj->cs, vj->paths.n, &vj->j.bytes,
				json_string_value(stats), json_string_length(stats))) {
		verify_free(p, &vj->j);
		return;
	}
	proto_job_start(p, c, id, &vj->j);
}

void op_verify_fast(struct proto *p, struct conn *c, const struct fastreq *r)
{
	struct verify_job *vj = calloc(1, sizeof(*vj));

	if (!vj || fastreq_paths(r, &vj->paths) || fastreq_tokens(r, &vj->tokens)) {
		if (vj)
			verify_free(p, &vj->j);
		proto_send_error(p, c, NULL, "internal", "out of memory");
		return;
	}
	vj->compact = true;
	vj->j.step = verify_step;
	vj->j.free = verify_free;
	vj->j.bytes = vj->paths.bytes + vj->tokens.bytes + sizeof(*vj);
	if (r->stats &&
	    stats_read(p, c, NULL, &vj->cs, vj->paths.n, &vj->j.bytes, r->stats, r->stats_len)) {
		verify_free(p, &vj->j);
		return;
	}
	proto_job_start(p, c, NULL, &vj->j);
}
