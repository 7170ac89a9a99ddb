/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#include "common/timeutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t clock_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

uint64_t clock_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t clock_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t clock_boot_to_real_offset(void)
{
	uint64_t b1 = clock_boot_ns(), r = clock_real_ns(), b2 = clock_boot_ns();

	return (int64_t)r - (int64_t)(b1 + (b2 - b1) / 2);
}

static const struct {
	const char *name;
	double ns;
} units[] = {
	{"ns", 1.0},	    {"us", 1e3},	{"ms", 1e6},	    {"s", 1e9},
	{"sec", 1e9},	    {"m", 60e9},	{"min", 60e9},	    {"h", 3600e9},
	{"d", 86400e9},
};

int parse_duration(const char *s, uint64_t *ns)
{
	double total = 0;
	int parts = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		char *end;
		double v;
		size_t ul = 0;
		double mult = -1;

		if (*s == '-' || *s == '+')
			return -EINVAL;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno || !isfinite(v) || v < 0)
			return -EINVAL;
		s = end;
		while (s[ul] >= 'a' && s[ul] <= 'z')
			ul++;
		if (ul == 0) {
			if (*s)
				return -EINVAL;
			mult = 1e9;
		} else {
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].name) == ul && !strncmp(units[i].name, s, ul))
					mult = units[i].ns;
			if (mult < 0)
				return -EINVAL;
		}
		total += v * mult;
		s += ul;
		parts++;
	}
	if (parts == 0 || total > 1e19)
		return -EINVAL;
	*ns = (uint64_t)total;
	return 0;
}

void format_duration(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / NSEC_PER_SEC;

	if (ns < NSEC_PER_SEC)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / NSEC_PER_MSEC));
	else if (s < 60)
		snprintf(buf, len, "%llus", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%lluh%02llum", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(s / 86400),
			 (unsigned long long)(s % 86400 / 3600));
}
