/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/* timeutil.h - clocks and durations shared by the daemon and the tools. */
#ifndef INUSE_TIMEUTIL_H
#define INUSE_TIMEUTIL_H

#include <stdint.h>
#include <stddef.h>

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

uint64_t clock_boot_ns(void);
uint64_t clock_real_ns(void);
uint64_t clock_mono_ns(void);

/* Realtime minus boottime, sampled now: adds to a CLOCK_BOOTTIME stamp
 * (what BPF records) to give wall-clock time. */
int64_t clock_boot_to_real_offset(void);

/*
 * Parses a duration: a number with an optional unit (ns, us, ms, s, m, h, d),
 * several parts allowed ("1h30m"), a bare number meaning seconds; fractions
 * allowed ("1.5s"). Returns 0 and sets *ns, or -EINVAL.
 */
int parse_duration(const char *s, uint64_t *ns);

/* Writes a short human form ("850ms", "3s", "12m00s", "2h05m", "3d04h")
 * into buf. */
void format_duration(uint64_t ns, char *buf, size_t len);

#endif
