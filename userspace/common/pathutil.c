/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
#include "common/pathutil.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *path_absolute(const char *p)
{
	char cwd[PATH_MAX], *r;

	if (p[0] == '/')
		return strdup(p);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&r, "%s/%s", strcmp(cwd, "/") ? cwd : "", p) < 0)
		return NULL;
	return r;
}
