// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/clientstat.h"

#include <errno.h>
#include <string.h>

/* One number of 1-16 lowercase hex digits at *p, before end. */
static int hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	size_t d = 0;

	for (; s < end && d < 17; s++, d++) {
		unsigned c = (unsigned char)*s;

		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else
			break;
		x = x << 4 | c;
	}
	if (d == 0 || d > 16)
		return -EINVAL;
	*p = s;
	*v = x;
	return 0;
}

static int record(const char **p, const char *end, struct client_stat *cs)
{
	uint64_t f[6];

	memset(cs, 0, sizeof(*cs));
	if (*p < end && (**p == '-' || **p == '!')) {
		cs->kind = **p == '-' ? CS_ASK : CS_MISSING;
		(*p)++;
		return 0;
	}
	for (int i = 0; i < 6; i++) {
		if (i && (*p >= end || *(*p)++ != ','))
			return -EINVAL;
		if (hex(p, end, &f[i]))
			return -EINVAL;
	}
	if (f[2] > UINT32_MAX)
		return -EINVAL;
	cs->kind = CS_STAT;
	cs->dev = f[0];
	cs->ino = f[1];
	cs->mode = (uint32_t)f[2];
	cs->size = f[3];
	cs->mtime_ns = f[4];
	cs->ctime_ns = f[5];
	return 0;
}

int client_stats_parse(const char *s, size_t len, size_t n, struct client_stat *out,
		       const char **why)
{
	const char *p = s, *end = s + len;

	for (size_t i = 0; i < n; i++) {
		if (i && (p >= end || *p++ != ';')) {
			*why = "\"stats\" must have one record per path";
			return -EINVAL;
		}
		if (record(&p, end, &out[i])) {
			*why =
			    "a record of \"stats\" is not \"-\", \"!\" or six hexadecimal numbers";
			return -EINVAL;
		}
	}
	if (p != end) {
		*why = "\"stats\" must have one record per path";
		return -EINVAL;
	}
	return 0;
}
