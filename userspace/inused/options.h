/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* options.h - inused's command line. */
#ifndef INUSED_OPTIONS_H
#define INUSED_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inused/log.h"

#define INUSE_DEFAULT_SOCKET "/run/inuse/inuse.sock"
#define INUSE_DEFAULT_CONFIG "/etc/inuse/inused.conf"

struct options {
	const char *socket;
	const char *group;   /* admin group, also the socket's group */
	bool group_given;    /* on the command line: the config's is ignored */
	bool all_users;	     /* every local user may connect (socket 0666) */
	const char *config;  /* policy file */
	const char *metrics; /* ADDR:PORT of the Prometheus endpoint, NULL: off */
	bool config_given;   /* named on the command line: it must exist */
	size_t max_files;
	uint32_t max_writers;
	size_t ring_bytes;
	uint64_t wake_interval_ns;
	size_t max_clients;
	size_t max_line;
	size_t max_output;
	size_t max_user_clients;
	size_t max_user_waits;
	size_t max_user_subs;
	size_t max_user_bytes;
	enum log_level log_level;
	bool no_uring;
	bool help;
	bool version;
};

void options_defaults(struct options *o);

/*
 * Parses argv into o. Returns 0, or -EINVAL after writing a message that
 * names the bad option into err (errlen bytes).
 */
int options_parse(struct options *o, int argc, char **argv, char *err, size_t errlen);

/* Parses a size with an optional K/M/G suffix (powers of 1024). */
int parse_size(const char *s, size_t *out);

extern const char options_usage[];

#endif
