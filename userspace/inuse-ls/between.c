// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inuse-ls/between.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inuse.h"

int when_parse(const char *s, double now, double *t)
{
	static const char *const forms[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
					    "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
	struct tm tm;
	uint64_t ns;
	char *end;

	if (!strcmp(s, "now")) {
		*t = now;
		return 0;
	}
	if (s[0] == '-' && !parse_duration(s + 1, &ns)) {
		*t = now - (double)ns / 1e9;
		return 0;
	}
	if (s[0] == '@') {
		*t = strtod(s + 1, &end);
		return *end || end == s + 1 ? -1 : 0;
	}
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, forms[i], &tm);
		if (end && !*end) {
			tm.tm_isdst = -1;
			*t = (double)mktime(&tm);
			return 0;
		}
	}
	/* a time of today */
	{
		time_t n = (time_t)now;
		struct tm today;

		localtime_r(&n, &today);
		for (int k = 0; k < 2; k++) {
			memset(&tm, 0, sizeof(tm));
			end = strptime(s, k ? "%H:%M" : "%H:%M:%S", &tm);
			if (end && !*end) {
				today.tm_hour = tm.tm_hour;
				today.tm_min = tm.tm_min;
				today.tm_sec = tm.tm_sec;
				today.tm_isdst = -1;
				*t = (double)mktime(&today);
				return 0;
			}
		}
	}
	return -1;
}

static void clock_text(double t, char *buf, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(buf, len, "%m-%d %H:%M:%S", &tm);
}

int ls_between(struct inuse_client *c, double t1, double t2, const char *under, bool json)
{
	json_t *req = json_pack("{s:s, s:s, s:f, s:f}", "op", "history", "id", "between", "from",
				t1, "to", t2),
	       *a, *f;
	char *s, *line = NULL;
	size_t len, i;
	int err;
	long long count;

	if (!req)
		return 2;
	if (under) {
		char *r = realpath(under, NULL);

		if (!r) {
			fprintf(stderr, "inuse-ls: %s: %s\n", under, strerror(errno));
			json_decref(req);
			return 2;
		}
		json_object_set_new(req, "under", jname_new(r, strlen(r)));
		free(r);
	}
	s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	err = s ? inuse_client__call(c, s, strlen(s), &line, &len) : -ENOMEM;
	free(s);
	if (err) {
		fprintf(stderr, "inuse-ls: asking inused failed: %s\n", strerror(-err));
		return 2;
	}
	a = json_loadb(line, len, 0, NULL);
	if (!json_is_true(json_object_get(a, "ok"))) {
		fprintf(stderr, "inuse-ls: inused refused: %s\n",
			json_string_value(json_object_get(json_object_get(a, "error"), "message"))
			    ?: "bad answer");
		json_decref(a);
		free(line);
		return 2;
	}
	count = (long long)json_integer_value(json_object_get(a, "count"));
	if (json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		struct strbuf b = {0};

		printf("%-14s %-14s %-30s %s\n", "FROM", "TO", "FIRST WRITER", "PATH");
		json_array_foreach(json_object_get(a, "files"), i, f)
		{
			json_t *spans = json_object_get(f, "spans");
			json_t *first = json_array_get(spans, 0);
			json_t *last = json_array_get(spans, json_array_size(spans) - 1);
			json_t *w = json_object_get(f, "first_writer");
			char from[32] = "?", to[32] = "open", who[64];
			char *p = jname_get(json_object_get(f, "path"), (size_t)1 << 20, NULL);
			char *comm = jname_get(json_object_get(w, "comm"), 64, NULL);

			if (first)
				clock_text(json_number_value(json_array_get(first, 0)), from,
					   sizeof(from));
			if (json_is_true(json_object_get(f, "opened_before_start"))) {
				/* open since before inused started: at least since then */
				memmove(from + 1, from, sizeof(from) - 1);
				from[0] = '<';
			}
			if (last && !json_is_null(json_array_get(last, 1)))
				clock_text(json_number_value(json_array_get(last, 1)), to,
					   sizeof(to));
			snprintf(who, sizeof(who), "%lld/%s",
				 (long long)json_integer_value(json_object_get(w, "pid")),
				 comm ? comm : "?");
			sb_reset(&b);
			if (p)
				name_display(&b, p, strlen(p));
			else
				sb_adds(&b, "(unknown path)");
			printf("%-14s %-14s %-30.30s %s\n", from, to, who, b.buf);
			free(p);
			free(comm);
		}
		sb_free(&b);
	}
	if (!json_is_true(json_object_get(a, "covered"))) {
		char since[32];

		clock_text(json_number_value(json_object_get(a, "kept_since")), since,
			   sizeof(since));
		fprintf(stderr,
			"inuse-ls: inused's history begins at %s: files open before then are "
			"not known\n",
			since);
		if (!count) {
			json_decref(a);
			free(line);
			return 2;
		}
	}
	if (!json_is_true(json_object_get(a, "complete")))
		fprintf(stderr, "inuse-ls: note: only files your own processes write are shown\n");
	json_decref(a);
	free(line);
	return count ? 1 : 0;
}
