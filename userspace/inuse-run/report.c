// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * report.c - what the run says: every file that may be torn, every file
 * left out and why, what the retries did; for people (standard error), as
 * JSON (--report), and as a short text for the backup's own record.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "inuse-run/run.h"

/* Does the backup, as it stands, hold a copy of it that may be torn, or
 * no copy though it was meant to? */
static bool flagged(const struct item *it)
{
	switch (it->kind) {
	case IT_TORN:
	case IT_EXCLUDED:
		return it->out != OUT_CONSISTENT && it->out != OUT_METHOD &&
		       it->out != OUT_SNAPSHOT;
	default:
		return false;
	}
}

size_t report_flagged(const struct run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nit; i++)
		n += flagged(&r->it[i]);
	return n;
}

static const char *outcome_text(const struct item *it)
{
	switch (it->out) {
	case OUT_NONE:
		return it->kind == IT_EXCLUDED	  ? "not in this backup"
		       : it->kind == IT_TORN	  ? "stored as read: may be torn"
		       : it->kind == IT_COMPANION ? "not in this backup (the copy by method "
						    "stands without it)"
		       : it->kind == IT_SKIPPED	  ? "not in this backup"
						  : "stored as read";
	case OUT_CONSISTENT:
		return "retried: a consistent copy is in the backup";
	case OUT_METHOD:
		return "retried: the application's own copy is in the backup";
	case OUT_SNAPSHOT:
		return "retried: a snapshot is in the backup";
	case OUT_FLAGGED:
		return "retried: a copy is in the backup, it may be inconsistent";
	case OUT_REMOVED:
		return "removed from the mirror";
	case OUT_FAILED:
		return "retried, and failed: not in this backup";
	}
	return "?";
}

void report_human(const struct run *r)
{
	struct strbuf b = {0};
	size_t shown = 0;

	for (size_t i = 0; i < r->nit; i++) {
		const struct item *it = &r->it[i];

		if ((it->kind == IT_HELD || it->kind == IT_CHANGED) && !r->verbose)
			continue;
		if (!shown++)
			fprintf(stderr, "inuse-run: files to know about:\n");
		sb_reset(&b);
		name_display(&b, it->path, strlen(it->path));
		fprintf(stderr, "  %-9s %s: %s; %s%s%s%s\n", item_kind_name(it->kind), b.buf,
			it->why, outcome_text(it), it->detail[0] ? " (" : "", it->detail,
			it->detail[0] ? ")" : "");
	}
	sb_free(&b);
	if (r->dropped)
		fprintf(stderr,
			"inuse-run: %llu files were read without being guarded (too many at once): "
			"they may be torn unseen\n",
			r->dropped);
	if (r->unjoined)
		fprintf(stderr,
			"inuse-run: %llu processes of the command could not be guarded: what they "
			"read may be torn unseen\n",
			r->unjoined);
	if (r->retry_note[0])
		fprintf(stderr, "inuse-run: %s\n", r->retry_note);
	if (r->record_note[0])
		fprintf(stderr, "inuse-run: %s\n", r->record_note);
	if (r->ran)
		fprintf(stderr,
			"inuse-run: %s exited %d; %llu files read%s, %zu may be torn or "
			"left out%s\n",
			r->tool->name ? r->tool->name : r->argv[0], r->status, r->reads,
			r->guarded ? "" : " (not all guarded)", report_flagged(r),
			r->exit == RUN_EXIT_TORN ? " (exit 75)" : "");
}

static json_t *item_json(const struct item *it)
{
	json_t *o = json_object();

	json_object_set_new(o, "path", jname_new(it->path, strlen(it->path)));
	json_object_set_new(o, "kind", json_string(item_kind_name(it->kind)));
	json_object_set_new(o, "why", json_string(it->why));
	json_object_set_new(o, "outcome", json_string(item_outcome_name(it->out)));
	json_object_set_new(o, "may_be_torn_or_missing", json_boolean(flagged(it)));
	if (it->detail[0])
		json_object_set_new(o, "detail", json_string(it->detail));
	if (it->name)
		json_object_set_new(o, "name", jname_new(it->name, strlen(it->name)));
	if (it->companion_of)
		json_object_set_new(o, "companion_of",
				    jname_new(it->companion_of, strlen(it->companion_of)));
	return o;
}

static json_t *run_json(const struct run *r)
{
	json_t *o = json_object(), *cmd = json_array(), *files = json_array(), *src = json_array();

	for (int i = 0; i < r->norig; i++)
		json_array_append_new(cmd, jname_new(r->orig[i], strlen(r->orig[i])));
	for (size_t i = 0; i < r->nsrc; i++)
		json_array_append_new(src, jname_new(r->src[i].abs, strlen(r->src[i].abs)));
	for (size_t i = 0; i < r->nit; i++)
		json_array_append_new(files, item_json(&r->it[i]));
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "tool", r->tool->name ? json_string(r->tool->name) : json_null());
	json_object_set_new(o, "command", cmd);
	json_object_set_new(o, "sources", src);
	json_object_set_new(o, "ran", json_boolean(r->ran));
	json_object_set_new(o, "status", json_integer(r->status));
	json_object_set_new(o, "exit", json_integer(r->exit));
	json_object_set_new(o, "guarded", json_boolean(r->guarded));
	json_object_set_new(o, "job", json_integer((json_int_t)r->job));
	json_object_set_new(o, "reads", json_integer((json_int_t)r->reads));
	json_object_set_new(o, "dropped", json_integer((json_int_t)r->dropped));
	json_object_set_new(o, "unjoined", json_integer((json_int_t)r->unjoined));
	json_object_set_new(o, "running", json_integer((json_int_t)r->running));
	json_object_set_new(o, "flagged", json_integer((json_int_t)report_flagged(r)));
	if (r->retry_note[0])
		json_object_set_new(o, "retry", json_string(r->retry_note));
	if (r->record_note[0])
		json_object_set_new(o, "record", json_string(r->record_note));
	json_object_set_new(o, "files", files);
	return o;
}

int report_json(const struct run *r, const char *file)
{
	json_t *o = run_json(r);
	int err = o ? json_dump_file(o, file, JSON_INDENT(1) | JSON_ENSURE_ASCII) : -1;

	json_decref(o);
	if (err)
		warn("%s: cannot write the report", file);
	return err ? -1 : 0;
}

char *report_summary(const struct run *r, bool first)
{
	struct strbuf b = {0};
	size_t n = 0;

	for (size_t i = 0; i < r->nit; i++) {
		const struct item *it = &r->it[i];

		/* the first backup lacks or may hold torn copies of these; a
		 * retry's holds the copies, flagged or not */
		if (first ? !(it->kind == IT_TORN || it->kind >= IT_EXCLUDED)
			  : !(it->staged && it->out == OUT_FLAGGED))
			continue;
		sb_adds(&b, n++ ? "; " : "");
		name_display(&b, it->path, strlen(it->path));
		sb_printf(&b, " (%s, %s)", item_kind_name(it->kind), item_outcome_name(it->out));
		if (b.len > 4000) {
			sb_adds(&b, "; ...");
			break;
		}
	}
	{
		struct strbuf o = {0};

		if (first)
			sb_printf(&o, "inuse-run: %zu file%s torn or left out here%s%s", n,
				  n == 1 ? "" : "s", n ? ": " : "", b.buf ? b.buf : "");
		else
			sb_printf(&o, "inuse-run: %zu cop%s here may be inconsistent%s%s", n,
				  n == 1 ? "y" : "ies", n ? ": " : "", b.buf ? b.buf : "");
		sb_free(&b);
		return o.buf ? o.buf : strdup("");
	}
}
