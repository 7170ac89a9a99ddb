/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cli.h - what the command-line programs do alike with their options. */
#ifndef INUSE_CLI_H
#define INUSE_CLI_H

/* Says "prog: msg: arg" (arg may be NULL) and where help is, on stderr;
 * exits with status. */
__attribute__((noreturn)) void cli_usage_error(const char *prog, int status, const char *msg,
					       const char *arg);

/*
 * What getopt_long returned, when no option of the program's own: -h
 * prints usage, -V the version, and both exit 0; a missing value (':') or
 * an unknown option is a usage error (status).
 */
__attribute__((noreturn)) void cli_other_option(int ch, const char *prog, const char *usage,
						int status, char *const *argv);

#endif
