/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#include "common/timeutil.h"

#include <errno.h>
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
	uint64_t ns;
} units[] = {
	{"ns", 1},
	{"us", 1000},
	{"ms", 1000000},
	{"s", NSEC_PER_SEC},
	{"sec", NSEC_PER_SEC},
	{"m", 60 * NSEC_PER_SEC},
	{"min", 60 * NSEC_PER_SEC},
	{"h", 3600 * NSEC_PER_SEC},
	{"d", 86400 * NSEC_PER_SEC},
};

/* Decimal arithmetic, so that "1.001s" is exactly 1001000000 ns. */
int parse_duration(const char *s, uint64_t *ns)
{
	unsigned __int128 total = 0;
	int parts = 0;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		unsigned __int128 whole = 0, frac = 0, scale = 1;
		uint64_t mult = 0;
		int digits = 0;
		size_t ul = 0;

		while (*s >= '0' && *s <= '9') {
			whole = whole * 10 + (unsigned)(*s++ - '0');
			if (whole > UINT64_MAX)
				return -EINVAL;
			digits++;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (unsigned)(*s - '0');
					scale *= 10;
				}
				s++;
				digits++;
			}
		}
		if (digits == 0)
			return -EINVAL;
		while (s[ul] >= 'a' && s[ul] <= 'z')
			ul++;
		if (ul == 0) {
			if (*s)
				return -EINVAL;
			mult = NSEC_PER_SEC; /* a bare number is seconds */
		} else {
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].name) == ul && !strncmp(units[i].name, s, ul))
					mult = units[i].ns;
			if (!mult)
				return -EINVAL;
		}
		total += whole * mult + frac * mult / scale;
		if (total > UINT64_MAX)
			return -EINVAL;
		s += ul;
		parts++;
	}
	if (parts == 0)
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
