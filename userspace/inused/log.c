// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/jname.h"

static enum log_level level = LOG_LVL_INFO;
static const char *const names[] = {"error", "warning", "info", "debug"};

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level log_get_level(void)
{
	return level;
}

int log_parse_level(const char *name, enum log_level *lvl)
{
	for (int i = 0; i <= LOG_LVL_DEBUG; i++) {
		if (!strcmp(name, names[i]) || (i == LOG_LVL_WARN && !strcmp(name, "warn")) ||
		    (i == LOG_LVL_ERR && !strcmp(name, "err"))) {
			*lvl = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (lvl > level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	{
		/* names in messages may hold any byte: none reaches the log
		 * raw (no control bytes, no invalid UTF-8) */
		struct strbuf b = {0};

		n = (size_t)n < sizeof(buf) ? n : (int)sizeof(buf) - 1;
		name_display(&b, buf, (size_t)n);
		/* one write per line so that concurrent writers do not
		 * interleave */
		fprintf(stderr, "inused: %s: %s\n", names[lvl], b.buf ? b.buf : "");
		sb_free(&b);
	}
}
