// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * op_check.c - "check" (what to do with each file before copying it) and
 * "verify" (the copy fence: was it opened or written since the check).
 *
 * A token records what the file looked like at check time: its identity,
 * size, mtime and ctime, and, if it had writers, the lifetime (first-open
 * time) and the open and write generations of its kernel map entry. Verify
 * compares all of them with what is there now.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/kdev.h"
#include "common/timeutil.h"
#include "inused/fault.h"
#include "inused/policy.h"
#include "common/jname.h"
#include "inused/ops.h"
#include "inused/request.h"
#include "inused/render.h"

#define TOKEN_VERSION 1

struct token {
	uint32_t dev;
	uint64_t ino;
	uint64_t size;
	uint64_t mtime_ns;
	uint64_t ctime_ns;
	uint64_t life; /* first_open_ns of the kernel entry, 0: no writer */
	uint64_t open_gen;
	uint64_t write_gen;
	uint64_t instance; /* the daemon's start, CLOCK_BOOTTIME */
};

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

/* e: the file's table entry, if any; the kernel map is read only for a
 * file with writers (or when the table cannot be trusted to know). */
static void token_fill(struct proto *p, const struct stat *st, const struct entry *e,
		       struct token *tk)
{
	struct inuse_inode v;

	memset(tk, 0, sizeof(*tk));
	tk->dev = kdev_from_dev(st->st_dev);
	tk->ino = st->st_ino;
	tk->size = (uint64_t)st->st_size;
	tk->mtime_ns = ts_ns(&st->st_mtim);
	tk->ctime_ns = ts_ns(&st->st_ctim);
	tk->instance = p->t->start_boot_ns;
	/* the kernel map is keyed by the inode that holds the data, which a
	 * name through an overlay does not stat(2) to */
	if ((e || !tracker_table_trusted(p->t)) &&
	    kernel_read_inode(p->t->k, e ? e->dev : tk->dev, e ? e->ino : tk->ino, &v) == 0) {
		tk->life = v.first_open_ns ? v.first_open_ns : 1;
		tk->open_gen = v.open_gen;
		tk->write_gen = v.write_gen;
	}
}

static void token_format(const struct token *tk, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%d.%" PRIx32 ".%" PRIx64 ".%" PRIx64 ".%" PRIx64 ".%" PRIx64 ".%" PRIx64
		 ".%" PRIx64 ".%" PRIx64 ".%" PRIx64,
		 TOKEN_VERSION, tk->dev, tk->ino, tk->size, tk->mtime_ns, tk->ctime_ns, tk->life,
		 tk->open_gen, tk->write_gen, tk->instance);
}

static int token_parse(const char *s, struct token *tk)
{
	int v, n = 0;

	if (!s ||
	    sscanf(s,
		   "%d.%" SCNx32 ".%" SCNx64 ".%" SCNx64 ".%" SCNx64 ".%" SCNx64 ".%" SCNx64
		   ".%" SCNx64 ".%" SCNx64 ".%" SCNx64 "%n",
		   &v, &tk->dev, &tk->ino, &tk->size, &tk->mtime_ns, &tk->ctime_ns, &tk->life,
		   &tk->open_gen, &tk->write_gen, &tk->instance, &n) != 10 ||
	    s[n] != '\0' || v != TOKEN_VERSION)
		return -EINVAL;
	return 0;
}

static void count_decision(struct proto *p, enum decision d)
{
	if ((size_t)d < sizeof(p->st.by_decision) / sizeof(p->st.by_decision[0]))
		p->st.by_decision[d]++;
}

/* One path of a check: appends its JSON object to b. Written member by
 * member (strings escaped by jansson): this runs for every path of batches
 * of many thousands. */
static void check_one(struct proto *p, struct conn *c, bool admin, const char *path,
		      struct strbuf *b)
{
	struct tracker *t = p->t;
	enum path_state ps = PS_ERROR;
	struct verdict v = {0};
	const struct rule *r;
	struct entry *e = NULL;
	struct stat st;
	int err = EACCES;

	if (proto_may_lookup(c, path))
		ps = proto_path_state(p, path, &st, &e, &err);
	sb_adds(b, "{\"path\":");
	render_name(b, path);
	sb_printf(b, ",\"state\":\"%s\"", path_state_name(ps));
	r = policy_match(p->pol, path);
	switch (ps) {
	case PS_MISSING:
		v = (struct verdict){.decision = DEC_SKIP, .reason = "missing", .rule = r->name};
		break;
	case PS_NOT_REGULAR:
		v = (struct verdict){
		    .decision = DEC_COPY, .reason = "not_regular", .rule = r->name};
		break;
	case PS_ERROR:
		v = (struct verdict){.decision = DEC_FLAG, .reason = "error", .rule = r->name};
		sb_adds(b, ",\"error\":");
		proto_add_str(b, strerror(err));
		break;
	case PS_OPEN:
	case PS_NOT_OPEN: {
		uint64_t now = clock_boot_ns(), age = 0, quiet = UINT64_MAX;
		char tok[256];
		struct token tk;

		if (e) {
			uint64_t since = e->first_open_ns ? e->first_open_ns : t->start_boot_ns;

			age = now > since ? now - since : 0;
			if (e->last_write_ns)
				quiet = now > e->last_write_ns ? now - e->last_write_ns : 0;
		}
		policy_decide(r, ps == PS_OPEN, age, quiet, &v);
		token_fill(p, &st, e, &tk);
		token_format(&tk, tok, sizeof(tok));
		/* the token is digits, hex and dots: nothing to escape */
		sb_printf(b, ",\"token\":\"%s\",\"size\":%lld", tok, (long long)st.st_size);
		if (e && proto_visible(e, admin, c->cred.uid))
			render_entry_members(t, e, b);
		break;
	}
	}
	count_decision(p, v.decision);
	sb_printf(b, ",\"decision\":\"%s\",\"reason\":", decision_name(v.decision));
	proto_add_str(b, v.reason ? v.reason : "policy");
	sb_adds(b, ",\"rule\":");
	proto_add_str(b, v.rule ? v.rule : "default");
	if (v.decision == DEC_DEFER)
		sb_printf(b, ",\"retry_after\":%.9g,\"defer_max\":%.9g,\"fallback\":\"%s\"",
			  (double)v.retry_after_ns / 1e9, (double)v.defer_max_ns / 1e9,
			  decision_name(v.fallback));
	if (v.method) {
		sb_adds(b, ",\"method\":");
		proto_add_str(b, v.method);
	}
	if (r->quiet_ns)
		sb_printf(b, ",\"quiet\":%.9g", (double)r->quiet_ns / 1e9);
	sb_printf(b, ",\"when_open\":\"%s\"", r->method ? "method" : decision_name(r->open));
	sb_add(b, "}", 1);
}

void op_check(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	bool admin = proto_is_admin(p, c);
	struct strbuf b = {0};
	struct namev paths;

	if (proto_get_paths(p, c, id, req, "paths", &paths))
		return;
	tracker_sync(p->t);
	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":true,\"files\":[");
	for (size_t i = 0; i < paths.n; i++) {
		if (i)
			sb_add(&b, ",", 1);
		check_one(p, c, admin, paths.v[i], &b);
	}
	sb_printf(&b, "],\"count\":%zu}\n", paths.n);
	conn_send(c, b.buf, b.len);
	sb_free(&b);
	namev_free(&paths);
}

/* Compares the token with the file now; NULL reason means consistent. */
static const char *verify_one(struct proto *p, struct conn *c, const char *path, const char *tok,
			      bool *consistent)
{
	struct inuse_inode v;
	struct token tk, now;
	struct stat st;

	*consistent = false;
	if (token_parse(tok, &tk))
		return "bad_token";
	if (!proto_may_lookup(c, path))
		return "error";
	if (stat(path, &st) != 0)
		return "missing";
	if (kdev_from_dev(st.st_dev) != tk.dev || st.st_ino != tk.ino)
		return "replaced";
	token_fill(p, &st, table_find_any(&p->t->table, kdev_from_dev(st.st_dev), st.st_ino), &now);
	if (FAULT(VERIFY_STAT_ONLY)) {
		now.write_gen = tk.write_gen;
		now.ctime_ns = tk.ctime_ns;
	}
	if (tk.life) {
		/* it had writers at check time */
		if (now.life && now.life != tk.life)
			return "opened";
		if (now.life && now.open_gen != tk.open_gen && tk.instance == now.instance)
			return "opened";
		if (now.life && now.write_gen != tk.write_gen && tk.instance == now.instance)
			return "written";
	} else if (now.life) {
		return "opened";
	}
	if (now.size != tk.size || now.mtime_ns != tk.mtime_ns)
		return "written";
	if (now.ctime_ns != tk.ctime_ns)
		return "changed";
	(void)v;
	*consistent = true;
	return "unchanged";
}

void op_verify(struct proto *p, struct conn *c, json_t *id, json_t *req)
{
	json_t *files = json_object_get(req, "files"), *f;
	struct strbuf b = {0};
	char **paths;
	size_t i, n;

	if (!json_is_array(files) || json_array_size(files) == 0) {
		proto_send_error(p, c, id, "bad_request",
				 "\"files\" must be a non-empty array of {\"path\",\"token\"}");
		return;
	}
	n = json_array_size(files);
	paths = calloc(n, sizeof(*paths));
	if (!paths) {
		proto_send_error(p, c, id, "internal", "out of memory");
		return;
	}
	json_array_foreach(files, i, f)
	{
		paths[i] = jname_get(json_object_get(f, "path"), 4 * PATH_MAX, NULL);
		if (!paths[i] || !json_is_string(json_object_get(f, "token"))) {
			proto_send_error(p, c, id, "bad_request",
					 "each of \"files\" needs \"path\" and \"token\"");
			goto out;
		}
	}
	tracker_sync(p->t);
	proto_add_id(&b, id);
	sb_adds(&b, ",\"ok\":true,\"files\":[");
	json_array_foreach(files, i, f)
	{
		const char *tok = json_string_value(json_object_get(f, "token"));
		bool consistent;
		const char *why = verify_one(p, c, paths[i], tok, &consistent);

		sb_adds(&b, i ? ",{\"path\":" : "{\"path\":");
		render_name(&b, paths[i]);
		sb_printf(&b, ",\"consistent\":%s,\"reason\":\"%s\"}",
			  consistent ? "true" : "false", why);
		p->st.verified[consistent ? 0 : 1]++;
	}
	sb_printf(&b, "],\"count\":%zu}\n", n);
	conn_send(c, b.buf, b.len);
	sb_free(&b);
out:
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
