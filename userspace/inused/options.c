// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/options.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "inused/metrics.h"

const char options_usage[] =
    "Usage: inused [OPTION]...\n"
    "Keep a live table of every regular file open for writing, and serve it on a\n"
    "Unix socket. Runs in the foreground, as root, and logs to stderr.\n"
    "\n"
    "  -s, --socket PATH        socket to serve on (default " INUSE_DEFAULT_SOCKET ")\n"
    "  -c, --config FILE        policy and settings (default " INUSE_DEFAULT_CONFIG ";\n"
    "                           built-in defaults when that file does not exist)\n"
    "  -g, --group NAME         group that may see every file (socket is 0660, this group)\n"
    "      --all-users          every local user may connect (socket 0666); each sees\n"
    "                           only what it could read itself and its own writers\n"
    "      --max-files N        files tracked at most (default 131072)\n"
    "      --max-writers N      writers listed per file at most (default 64)\n"
    "      --ring-size SIZE     kernel event buffer, a power of two (default 4M)\n"
    "      --wake-interval DUR  under load, wake at most once per DUR (default 2ms)\n"
    "      --max-clients N      clients at once (default 256)\n"
    "      --max-request SIZE   longest request line (default 8M)\n"
    "      --max-output SIZE    unread answers per client before it is paused (default 16M)\n"
    "      --max-user-clients N connections per user (default 32; root: unbounded)\n"
    "      --max-user-waits N   waiting requests per user (default 256)\n"
    "      --max-user-subscriptions N\n"
    "                           event streams per user (default 16)\n"
    "      --max-user-bytes SIZE\n"
    "                           requests and answers held per user (default 64M)\n"
    "      --no-uring           do not hook io_uring completions\n"
    "  -m, --metrics ADDR:PORT  serve Prometheus metrics on http://ADDR:PORT/metrics\n"
    "                           (off by default; \":PORT\" is 127.0.0.1:PORT)\n"
    "  -l, --log-level LEVEL    error, warning, info (default) or debug\n"
    "  -h, --help               show this help and exit\n"
    "  -V, --version            show the version and exit\n"
    "\n"
    "SIGHUP reloads the config file; a bad file is refused and the old one kept.\n"
    "Exit status: 0 after SIGINT or SIGTERM, 1 when it cannot start.\n"
    "Query it with inuse-ls(1).\n";

void options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->socket = INUSE_DEFAULT_SOCKET;
	o->config = INUSE_DEFAULT_CONFIG;
	o->max_files = 131072;
	o->max_writers = 64;
	o->ring_bytes = 4 << 20;
	o->wake_interval_ns = 2 * NSEC_PER_MSEC;
	o->max_clients = 256;
	o->max_line = 8 << 20;
	o->max_output = 16 << 20;
	o->max_user_clients = 32;
	o->max_user_waits = 256;
	o->max_user_subs = 16;
	o->max_user_bytes = 64 << 20;
	o->log_level = LOG_LVL_INFO;
}

int parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL; /* no sign, no blanks */
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10, end++;
		break;
	case 'm':
	case 'M':
		shift = 20, end++;
		break;
	case 'g':
	case 'G':
		shift = 30, end++;
		break;
	default:
		break;
	}
	if (*end && strcmp(end, "B") && strcmp(end, "iB"))
		return -EINVAL;
	if (v > (SIZE_MAX >> shift))
		return -ERANGE;
	*out = (size_t)(v << shift);
	return 0;
}

static int number(const char *s, size_t min, size_t max, size_t *out)
{
	size_t v;

	if (parse_size(s, &v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int options_parse(struct options *o, int argc, char **argv, char *err, size_t errlen)
{
	enum {
		O_MAXF = 256,
		O_MAXW,
		O_RING,
		O_WAKE,
		O_MAXC,
		O_MAXR,
		O_MAXO,
		O_NOURING,
		O_ALLUSERS,
		O_UCLIENTS,
		O_UWAITS,
		O_USUBS,
		O_UBYTES,
	};
	static const struct option lo[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"group", required_argument, NULL, 'g'},
	    {"config", required_argument, NULL, 'c'},
	    {"metrics", required_argument, NULL, 'm'},
	    {"max-files", required_argument, NULL, O_MAXF},
	    {"max-writers", required_argument, NULL, O_MAXW},
	    {"ring-size", required_argument, NULL, O_RING},
	    {"wake-interval", required_argument, NULL, O_WAKE},
	    {"max-clients", required_argument, NULL, O_MAXC},
	    {"max-request", required_argument, NULL, O_MAXR},
	    {"max-output", required_argument, NULL, O_MAXO},
	    {"no-uring", no_argument, NULL, O_NOURING},
	    {"all-users", no_argument, NULL, O_ALLUSERS},
	    {"max-user-clients", required_argument, NULL, O_UCLIENTS},
	    {"max-user-waits", required_argument, NULL, O_UWAITS},
	    {"max-user-subscriptions", required_argument, NULL, O_USUBS},
	    {"max-user-bytes", required_argument, NULL, O_UBYTES},
	    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	int c, idx;
	size_t v;
	char name[32];

	optind = 0; /* 0: glibc re-initializes fully on every call */
	opterr = 0;
	while ((idx = -1, c = getopt_long(argc, argv, ":s:g:c:m:l:hV", lo, &idx)) != -1) {
		/* the option's own name, for messages */
		if (idx >= 0)
			snprintf(name, sizeof(name), "--%s", lo[idx].name);
		else
			snprintf(name, sizeof(name), "-%c", (c == '?' || c == ':') ? optopt : c);
		switch (c) {
		case 's':
			if (optarg[0] != '/') {
				snprintf(err, errlen, "--socket needs an absolute path");
				return -EINVAL;
			}
			o->socket = optarg;
			break;
		case 'g':
			o->group = optarg;
			o->group_given = true;
			break;
		case 'c':
			o->config = optarg;
			o->config_given = true;
			break;
		case 'm': {
			uint32_t a;
			uint16_t port;

			if (metrics_parse_listen(optarg, &a, &port))
				goto bad;
			o->metrics = optarg;
			break;
		}
		case O_MAXF:
			if (number(optarg, 16, 1 << 24, &o->max_files))
				goto bad;
			break;
		case O_MAXW:
			if (number(optarg, 1, 65535, &v))
				goto bad;
			o->max_writers = (uint32_t)v;
			break;
		case O_RING:
			if (number(optarg, 64 << 10, 1 << 30, &v) || (v & (v - 1)))
				goto bad;
			o->ring_bytes = v;
			break;
		case O_WAKE: {
			uint64_t ns;

			if (parse_duration(optarg, &ns) || ns > NSEC_PER_SEC)
				goto bad;
			o->wake_interval_ns = ns;
		} break;
		case O_MAXC:
			if (number(optarg, 1, 65536, &o->max_clients))
				goto bad;
			break;
		case O_MAXR:
			if (number(optarg, 1024, 1 << 30, &o->max_line))
				goto bad;
			break;
		case O_MAXO:
			if (number(optarg, 4096, (size_t)1 << 32, &o->max_output))
				goto bad;
			break;
		case O_NOURING:
			o->no_uring = true;
			break;
		case O_ALLUSERS:
			o->all_users = true;
			break;
		case O_UCLIENTS:
			if (number(optarg, 1, 65536, &o->max_user_clients))
				goto bad;
			break;
		case O_UWAITS:
			if (number(optarg, 1, 65536, &o->max_user_waits))
				goto bad;
			break;
		case O_USUBS:
			if (number(optarg, 1, 65536, &o->max_user_subs))
				goto bad;
			break;
		case O_UBYTES:
			if (number(optarg, 1 << 20, (size_t)1 << 40, &o->max_user_bytes))
				goto bad;
			break;
		case 'l':
			if (log_parse_level(optarg, &o->log_level))
				goto bad;
			break;
		case 'h':
			o->help = true;
			break;
		case 'V':
			o->version = true;
			break;
		case ':':
			snprintf(err, errlen, "option %s needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad value '%s' for %s", optarg, name);
	return -EINVAL;
}
