// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cli.c - what the command-line programs do alike with their options. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cli.h"

void cli_usage_error(const char *prog, int status, const char *msg, const char *arg)
{
	fprintf(stderr, "%s: %s%s%s\nTry '%s --help'.\n", prog, msg, arg ? ": " : "",
		arg ? arg : "", prog);
	exit(status);
}

void cli_other_option(int ch, const char *prog, const char *usage, int status, char *const *argv)
{
	switch (ch) {
	case 'h':
		fputs(usage, stdout);
		exit(0);
	case 'V':
		printf("%s %s\n", prog, INUSE_VERSION);
		exit(0);
	case ':':
		cli_usage_error(prog, status, "option needs a value", argv[optind - 1]);
	default:
		cli_usage_error(prog, status, "unknown option", argv[optind - 1]);
	}
}
