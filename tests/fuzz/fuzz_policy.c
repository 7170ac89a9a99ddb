// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_policy - the config file's parser (libconfig text: settings,
 * rules, patterns, durations, methods and hooks as argument lists,
 * @include refused here). Invariants: a policy that loads has every rule
 * named and matched, every method an argv with "{path}" and "{dest}" as
 * whole arguments and a program first, a hook's program an absolute path;
 * matching and deciding terminate; no crash, no leak.
 *
 * Leaks: libconfig 1.5 leaks a few bytes on some parse errors (suppressed,
 * tests/lsan.supp); libFuzzer's check after every such input would make
 * this harness forty times slower, so it runs with -detect_leaks=0
 * (fuzz_policy.flags) and LeakSanitizer is run here every 4096 inputs
 * instead: a leak of the project's own is still found, a little later.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/lsan_interface.h>

#include "inused/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_method(char **m)
{
	bool path = false, dest = false;

	if (!m || !m[0])
		abort();
	if (!strcmp(m[0], "{path}") || !strcmp(m[0], "{dest}"))
		abort();
	for (size_t i = 0; m[i]; i++) {
		bool p = !strcmp(m[i], "{path}"), d = !strcmp(m[i], "{dest}");

		if (!p && !d && (strstr(m[i], "{path}") || strstr(m[i], "{dest}")))
			abort();
		path |= p;
		dest |= d;
	}
	if (!path || !dest)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"/var/log/x.log", "/srv/a.sqlite", "/tmp/a/b/c", "/",
					    "/a/**",	      "/ü/\xff"};
	static unsigned long inputs;
	char *text = malloc(size + 1), err[512];
	struct policy p;

	if (++inputs % 4096 == 0 && __lsan_do_recoverable_leak_check())
		abort();
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (policy_parse(text, "fuzz.conf", false, &p, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < p.nrules; i++) {
			if (!p.rules[i].name || !p.rules[i].nmatch)
				abort();
			if (p.rules[i].method)
				check_method(p.rules[i].method);
		}
		if (p.dflt.method)
			abort();
		if (p.alerts.hook && (!p.alerts.hook[0] || p.alerts.hook[0][0] != '/'))
			abort();
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			const struct rule *r = policy_match(&p, paths[i]);
			struct verdict v;

			policy_decide(r, true, 1000000000ULL, UINT64_MAX, &v);
			policy_decide(r, false, 0, 0, &v);
		}
		policy_free(&p);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	free(text);
	return 0;
}
