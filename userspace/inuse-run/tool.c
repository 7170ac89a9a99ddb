// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* tool.c - the recipes, by name and by the command's program. */
#include <string.h>

#include "inuse-run/run.h"

static const struct tool *const tools[] = {&tool_tar, &tool_rsync, &tool_borg, &tool_restic};

const struct tool *tool_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!strcmp(tools[i]->name, name))
			return tools[i];
	if (!strcmp(name, "none"))
		return &tool_none;
	return NULL;
}

const struct tool *tool_detect(char *const *argv)
{
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	if (!strcmp(base, "tar") || !strcmp(base, "gtar"))
		return &tool_tar;
	if (!strcmp(base, "rsync"))
		return &tool_rsync;
	if (!strcmp(base, "borg") || !strcmp(base, "borgbackup") || !strcmp(base, "borg.exe"))
		return &tool_borg;
	if (!strcmp(base, "restic"))
		return &tool_restic;
	return &tool_none;
}

/* Any other command: guarded, its reads judged; the sources only from
 * --source, nothing left out, nothing retried through it. */
static int none_parse(struct run *r)
{
	return 0;
}

static char *none_name(const struct run *r, const struct source *s, const char *path)
{
	return NULL;
}

const struct tool tool_none = {
    .name = NULL,
    .parse = none_parse,
    .name_of = none_name,
};
