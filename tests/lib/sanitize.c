// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sanitize.c - under `make test SANITIZE=1`: the test programs themselves
 * are not checked for leaks (what a test holds when it ends, or after a
 * failed assertion, is not the product's); every program they run (inused,
 * inuse-ls, inuse-wait, inuse-backup) is, with the options from the
 * environment. Unused in other builds.
 */
const char *__asan_default_options(void);

const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
