// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inuse-run - run a backup command as a guarded job (see run.h). */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/timeutil.h"
#include "inuse.h"
#include "inuse-run/run.h"

static const char usage[] =
    "Usage: inuse-run [OPTION]... -- COMMAND [ARG]...\n"
    "Run a backup command (restic, borg, rsync, tar, or any other) as a job that\n"
    "inused guards: every regular file the command and its children read is\n"
    "recorded by the kernel, with whether another process held it open for\n"
    "writing, opened it for writing, or wrote it while it was read. At the end,\n"
    "every file that may be torn, and every file left out, is reported and why.\n"
    "\n"
    "  -t, --tool NAME       the command's recipe: restic, borg, rsync, tar or none\n"
    "                        (default: from the command's name)\n"
    "  -S, --source PATH     a path the command backs up (default: from the\n"
    "                        command, by the recipe); may be repeated\n"
    "  -x, --exclude-busy    before the run, leave out the files under the sources\n"
    "                        that are open for writing and that the policy does\n"
    "                        not let be copied as they are, in the tool's own\n"
    "                        exclude syntax\n"
    "  -r, --retry           after the run, back up again every file that may be\n"
    "                        torn and every file left out: a copy by the\n"
    "                        application's method, or one made when the file is\n"
    "                        closed or quiet and verified, through the tool's own\n"
    "                        way to take a list of files\n"
    "  -q, --quiet DUR       a file counts as quiet after DUR without writes, when\n"
    "                        its policy rule sets none (default 2s)\n"
    "  -w, --max-wait DUR    the retries wait for quiet files this long in all\n"
    "                        (default 5m); then the last copies are flagged\n"
    "  -R, --report FILE     also write the report as JSON to FILE\n"
    "      --no-record       do not record the flags in the backup itself\n"
    "      --stage-dir DIR   where copies are staged (default $TMPDIR or /var/tmp)\n"
    "  -s, --socket PATH     inused's socket (default $INUSE_SOCKET or " INUSE_DEFAULT_SOCKET_PATH
    ")\n"
    "  -v, --verbose         say what is done, and list held files too\n"
    "  -h, --help            show this help and exit\n"
    "  -V, --version         show the version and exit\n"
    "\n"
    "Exit status: the command's own when it failed; else 0 when nothing may be\n"
    "torn or left out, and 75 when some files may be torn or are not in the\n"
    "backup (each named in the report). 125 when inuse-run failed before the\n"
    "command ran (inused not reachable, bad options), 126 when the command\n"
    "could not be run, 127 when it was not found.\n";

static void die_usage(const char *msg, const char *arg)
{
	cli_usage_error("inuse-run", RUN_EXIT_FAILED, msg, arg);
}

static double duration_arg(const char *s, const char *what)
{
	uint64_t ns;

	if (parse_duration(s, &ns) || ns > 86400 * NSEC_PER_SEC)
		die_usage(what, s);
	return (double)ns / 1e9;
}

static void parse(struct run *r, int argc, char **argv)
{
	enum { OPT_NO_RECORD = 256, OPT_STAGE };
	static const struct option lo[] = {
	    {"tool", required_argument, NULL, 't'},
	    {"source", required_argument, NULL, 'S'},
	    {"exclude-busy", no_argument, NULL, 'x'},
	    {"retry", no_argument, NULL, 'r'},
	    {"quiet", required_argument, NULL, 'q'},
	    {"max-wait", required_argument, NULL, 'w'},
	    {"report", required_argument, NULL, 'R'},
	    {"no-record", no_argument, NULL, OPT_NO_RECORD},
	    {"stage-dir", required_argument, NULL, OPT_STAGE},
	    {"socket", required_argument, NULL, 's'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	const char *tool = NULL;
	char **sources = calloc((size_t)argc, sizeof(*sources));
	int ns = 0, ch;

	if (!sources)
		exit(RUN_EXIT_FAILED);
	r->record = true;
	r->quiet = 2;
	r->max_wait = 300;
	opterr = 0;
	/* "+": the command's own options are its own */
	while ((ch = getopt_long(argc, argv, "+:t:S:xrq:w:R:s:vhV", lo, NULL)) != -1) {
		switch (ch) {
		case 't':
			tool = optarg;
			break;
		case 'S':
			sources[ns++] = optarg;
			break;
		case 'x':
			r->exclude_busy = true;
			break;
		case 'r':
			r->retry = true;
			break;
		case 'q':
			r->quiet = duration_arg(optarg, "bad quiet period");
			break;
		case 'w':
			r->max_wait = duration_arg(optarg, "bad wait");
			break;
		case 'R':
			r->report_file = optarg;
			break;
		case OPT_NO_RECORD:
			r->record = false;
			break;
		case OPT_STAGE:
			r->stage_parent = optarg;
			break;
		case 's':
			r->socket = optarg;
			break;
		case 'v':
			r->verbose = true;
			break;
		default: /* -h, -V, or wrong */
			cli_other_option(ch, "inuse-run", usage, RUN_EXIT_FAILED, argv);
		}
	}
	if (optind >= argc)
		die_usage("no COMMAND given", NULL);
	r->norig = argc - optind;
	r->orig = argv + optind;
	r->cap = r->norig + 16;
	r->argv = calloc((size_t)r->cap, sizeof(*r->argv));
	if (!r->argv)
		exit(RUN_EXIT_FAILED);
	for (int i = 0; i < r->norig; i++)
		if (!(r->argv[r->argc++] = strdup(r->orig[i])))
			exit(RUN_EXIT_FAILED);
	r->tool = tool ? tool_by_name(tool) : tool_detect(r->argv);
	if (!r->tool)
		die_usage("no such tool (restic, borg, rsync, tar, none)", tool);
	if (r->tool->parse(r))
		exit(RUN_EXIT_FAILED);
	for (int i = 0; i < ns; i++)
		if (source_add(r, sources[i], NULL))
			exit(RUN_EXIT_FAILED);
	free(sources);
	if ((r->exclude_busy || r->retry) && !r->tool->exclude)
		die_usage("--exclude-busy and --retry need a recipe: --tool restic, borg, rsync or "
			  "tar",
			  NULL);
	if ((r->exclude_busy || r->retry) && !r->nsrc)
		die_usage("no source found in the command: name them with --source", NULL);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	return type == FTW_DP ? rmdir(p) : unlink(p);
}

/* Something to leave out: nothing else makes the staging directory before
 * the run (its removal after a run that wrote much waits for the file
 * system's journal). */
static bool any_excluded(const struct run *r)
{
	for (size_t i = 0; i < r->nit; i++)
		if (r->it[i].kind >= IT_EXCLUDED)
			return true;
	return false;
}

/* The report as it stands, staged for the backup's own record. */
static char *stage_report(struct run *r)
{
	char *p;

	if (stage_dir(r) || asprintf(&p, "%s/%s", r->tree, REPORT_MEMBER) < 0)
		return NULL;
	if (report_json(r, p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int final_status(const struct run *r)
{
	if (!r->ran)
		return r->status;
	if (r->status != 0 &&
	    !(r->guarded && r->tool->changed_status && r->tool->changed_status(r->status)))
		return r->status;
	if (!r->guarded || report_flagged(r) || r->dropped || r->unjoined)
		return RUN_EXIT_TORN;
	return 0;
}

int main(int argc, char **argv)
{
	struct inuse_client_opts o = {.sz = sizeof(o), .timeout_ms = 120000};
	static struct run r;
	size_t nretry = 0;
	int err;

	signal(SIGPIPE, SIG_IGN);
	parse(&r, argc, argv);
	o.socket_path = r.socket;
	err = inuse_client__open(&o, &r.c);
	if (err) {
		warn("cannot reach inused at %s: %s",
		     r.socket ? r.socket : getenv(INUSE_SOCKET_ENV) ?: INUSE_DEFAULT_SOCKET_PATH,
		     strerror(-err));
		return RUN_EXIT_FAILED;
	}
	if (r.exclude_busy) {
		if (busy_find(&r) || (any_excluded(&r) && r.tool->exclude(&r)))
			return RUN_EXIT_FAILED;
		if (r.verbose && r.exclude_file)
			say_command("running", r.argv);
	}
	if (job_run(&r) && !r.ran) {
		r.exit = r.status;
		report_human(&r);
		if (r.report_file)
			report_json(&r, r.report_file);
		return r.exit;
	}
	for (size_t i = 0; i < r.nit; i++)
		nretry += r.it[i].retry;
	r.exit = final_status(&r);
	if (nretry && r.retry) {
		char *rep;

		stage_items(&r);
		r.exit = final_status(&r);
		rep = r.record ? stage_report(&r) : NULL;
		if (r.tool->retry(&r, rep))
			warn("the retry run failed: the files above are not in the backup again");
		free(rep);
	} else if (r.record && report_flagged(&r) && r.tool->record) {
		char *rep = stage_report(&r);

		if (r.tool->record(&r, rep))
			warn("cannot record the flags in the backup");
		free(rep);
	}
	r.exit = final_status(&r);
	report_human(&r);
	if (r.report_file)
		report_json(&r, r.report_file);
	if (r.stage)
		nftw(r.stage, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	inuse_client__free(r.c);
	return r.exit;
}
