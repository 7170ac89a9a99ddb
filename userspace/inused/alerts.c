// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "common/jname.h"
#include "common/strbuf.h"
#include "common/timeutil.h"
#include "inused/fault.h"
#include "inused/log.h"
#include "inused/tracker.h"

/* Files are checked against their thresholds this often. */
#define TICK_NS NSEC_PER_SEC

void alerts_init(struct alerts *a, struct tracker *t, const struct policy *pol)
{
	memset(a, 0, sizeof(*a));
	a->t = t;
	a->pol = pol;
	/* systemd connects stderr to the journal and says so */
	a->journal = getenv("JOURNAL_STREAM") != NULL;
}

/* The systemd unit of a cgroup path ("/system.slice/x.service" -> x.service). */
static const char *unit_of(const char *cg)
{
	const char *last = cg ? strrchr(cg, '/') : NULL;
	size_t n;

	if (!last || !last[1])
		return NULL;
	last++;
	n = strlen(last);
	if ((n > 8 && !strcmp(last + n - 8, ".service")) ||
	    (n > 6 && !strcmp(last + n - 6, ".scope")))
		return last;
	return NULL;
}

struct facts {
	struct strbuf pids, comms, uids, units, text;
};

static void gather(struct alerts *a, struct entry *e, struct facts *f)
{
	memset(f, 0, sizeof(*f));
	for (uint32_t i = 0; i < e->nw; i++) {
		const char *cg = cgroup_path(&a->t->cg, e->w[i].cgroup_id, (pid_t)e->w[i].pid);
		const char *unit = unit_of(cg);

		sb_printf(&f->pids, "%s%u", i ? " " : "", e->w[i].pid);
		sb_printf(&f->comms, "%s%s", i ? " " : "", e->w[i].comm);
		sb_printf(&f->uids, "%s%u", i ? " " : "", e->w[i].uid);
		if (unit)
			sb_printf(&f->units, "%s%s", f->units.len ? " " : "", unit);
		sb_printf(&f->text, "%s%u/%s(uid %u)%s%s", i ? ", " : "", e->w[i].pid, e->w[i].comm,
			  e->w[i].uid, unit ? " in " : "", unit ? unit : "");
	}
	if (!e->nw)
		sb_adds(&f->text, "no known process");
}

static void facts_free(struct facts *f)
{
	sb_free(&f->pids);
	sb_free(&f->comms);
	sb_free(&f->uids);
	sb_free(&f->units);
	sb_free(&f->text);
}

static const char *nz(const struct strbuf *b)
{
	return b->buf ? b->buf : "";
}

/* Runs the hook without waiting for it; the facts in its environment. */
static void run_hook(struct alerts *a, const char *kind, struct entry *e, uint64_t age_ns,
		     const struct facts *f)
{
	const struct alert_conf *ac = &a->pol->alerts;
	char age[32], lw[32], *env[16];
	int n = 0, slot = -1;
	pid_t pid;

	if (!ac->hook)
		return;
	for (int i = 0; i < ALERT_MAX_HOOKS; i++)
		if (!a->hooks[i].pid)
			slot = i;
	if (slot < 0) {
		a->hooks_dropped++;
		log_warn("alert hook not run for %s: %d hooks still running",
			 e->path ? e->path : "?",
			 ALERT_MAX_HOOKS); /* log_msg escapes control bytes */
		return;
	}
	snprintf(age, sizeof(age), "%llu", (unsigned long long)(age_ns / NSEC_PER_SEC));
	snprintf(lw, sizeof(lw), "%llu",
		 (unsigned long long)(tracker_wall_ns(a->t, e->last_write_ns) / NSEC_PER_SEC));
	pid = fork();
	if (pid < 0) {
		a->hooks_failed++;
		log_warn("alert hook: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		sigset_t all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (nul >= 0)
			dup2(nul, 0);
		syscall(SYS_close_range, 3U, ~0U, 0);
		setpgid(0, 0); /* killed as a group at the timeout */
		env[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
		if (asprintf(&env[n], "INUSE_EVENT=%s", kind) >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_PATH=%s", e->path ? e->path : "") >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_PIDS=%s", nz(&f->pids)) >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_COMMANDS=%s", nz(&f->comms)) >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_UIDS=%s", nz(&f->uids)) >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_UNITS=%s", nz(&f->units)) >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_AGE_SECONDS=%s", age) >= 0)
			n++;
		if (asprintf(&env[n], "INUSE_LAST_WRITE=%s", e->last_write_ns ? lw : "") >= 0)
			n++;
		env[n] = NULL;
		/* no shell: the program and its arguments as configured;
		 * the facts (names with any byte) only in the environment */
		execve(ac->hook[0], ac->hook, env);
		_exit(127);
	}
	a->hooks[slot].pid = pid;
	a->hooks[slot].deadline_mono = clock_mono_ns() + ac->hook_timeout_ns;
	a->hooks_run++;
}

static void emit(struct alerts *a, const char *kind, struct entry *e, uint64_t age_ns)
{
	struct facts f;
	char agetxt[32];

	gather(a, e, &f);
	format_duration(age_ns, agetxt, sizeof(agetxt));
	if (a->journal) {
		struct strbuf shown = {0}, text = {0};

		/* the message for people: no control bytes (the fields keep
		 * the names as they are) */
		if (e->path)
			name_display(&shown, e->path, strlen(e->path));
		name_display(&text, nz(&f.text), f.text.len);
		sd_journal_send("MESSAGE=%s: %s open for writing for %s by %s", kind,
				shown.buf ? shown.buf : "(unknown path)", agetxt, nz(&text),
				"PRIORITY=%d", strcmp(kind, "resolved") ? 4 : 5, "INUSE_EVENT=%s",
				kind, "INUSE_PATH=%s", e->path ? e->path : "", "INUSE_PIDS=%s",
				nz(&f.pids), "INUSE_AGE_SECONDS=%llu",
				(unsigned long long)(age_ns / NSEC_PER_SEC), NULL);
		sb_free(&shown);
		sb_free(&text);
	} else {
		log_msg(strcmp(kind, "resolved") ? LOG_LVL_WARN : LOG_LVL_INFO,
			"%s: %s open for writing for %s by %s", kind,
			e->path ? e->path : "(unknown path)", agetxt, nz(&f.text));
	}
	run_hook(a, kind, e, age_ns, &f);
	if (a->sink)
		a->sink(a->sink_ctx, kind, e, age_ns);
	facts_free(&f);
}

static uint64_t age_of(struct alerts *a, const struct entry *e, uint64_t now_boot)
{
	uint64_t since = e->first_open_ns ? e->first_open_ns : a->t->start_boot_ns;

	return now_boot > since ? now_boot - since : 0;
}

/* The rule e's alerts go by: by its path (resolved now if it was not
 * yet), matched once per path and policy (the patterns cost far more than
 * the rest of a tick's look at a file). */
static const struct rule *rule_of(struct alerts *a, struct entry *e)
{
	const struct policy *p = a->pol;
	const struct rule *r;

	tracker_resolve_names(a->t, e);
	if (p->gen && e->alert_rule_gen == p->gen &&
	    (e->alert_rule < 0 || (size_t)e->alert_rule < p->nrules))
		return e->alert_rule < 0 ? &p->dflt : &p->rules[e->alert_rule];
	r = policy_match(p, e->path ? e->path : "");
	e->alert_rule = r == &p->dflt ? -1 : (int32_t)(r - p->rules);
	e->alert_rule_gen = p->gen;
	return r;
}

uint64_t alerts_tick(struct alerts *a, uint64_t now_mono)
{
	uint64_t now_boot = clock_boot_ns();
	bool any = a->pol->dflt.alert_after_ns || a->pol->dflt.alert_idle_ns;

	for (size_t i = 0; i < a->pol->nrules && !any; i++)
		any = a->pol->rules[i].alert_after_ns || a->pol->rules[i].alert_idle_ns;
	if (!any && !a->firing)
		return 0;
	table_for_each(&a->t->table, e)
	{
		const struct rule *r = rule_of(a, e);
		uint64_t age = age_of(a, e, now_boot);
		uint64_t idle = e->last_write_ns && now_boot > e->last_write_ns
				    ? now_boot - e->last_write_ns
				    : age;
		bool over = (r->alert_after_ns && age >= r->alert_after_ns) ||
			    (r->alert_idle_ns && idle >= r->alert_idle_ns);

		if (!over)
			continue;
		if (FAULT(REALERT_EVERY_TICK) && e->alert_firing)
			e->alert_last_mono = now_mono - a->pol->alerts.realert_ns;
		if (!e->alert_firing) {
			e->alert_firing = true;
			e->alert_last_mono = now_mono;
			a->firing++;
			a->fired++;
			emit(a, "alert", e, age);
		} else if (now_mono - e->alert_last_mono >= a->pol->alerts.realert_ns) {
			e->alert_last_mono = now_mono;
			a->fired++;
			emit(a, "alert", e, age);
		}
	}
	return now_mono + TICK_NS;
}

void alerts_closed(struct alerts *a, struct entry *e)
{
	if (!e->alert_firing)
		return;
	e->alert_firing = false;
	a->firing--;
	a->resolved++;
	emit(a, "resolved", e, age_of(a, e, clock_boot_ns()));
}

uint64_t alerts_reap(struct alerts *a, uint64_t now_mono)
{
	uint64_t next = 0;

	for (int i = 0; i < ALERT_MAX_HOOKS; i++) {
		struct hook_run *h = &a->hooks[i];
		int st;

		if (!h->pid)
			continue;
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			if (!WIFEXITED(st) || WEXITSTATUS(st)) {
				a->hooks_failed++;
				log_warn("alert hook exited with status %d",
					 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			}
			h->pid = 0;
			continue;
		}
		if (now_mono >= h->deadline_mono) {
			kill(-h->pid, SIGKILL);
			kill(h->pid, SIGKILL);
			waitpid(h->pid, &st, 0);
			a->hooks_killed++;
			log_warn("alert hook killed after its timeout");
			h->pid = 0;
			continue;
		}
		if (!next || h->deadline_mono < next)
			next = h->deadline_mono;
	}
	return next;
}

void alerts_fini(struct alerts *a)
{
	for (int i = 0; i < ALERT_MAX_HOOKS; i++) {
		if (a->hooks[i].pid) {
			kill(-a->hooks[i].pid, SIGKILL);
			waitpid(a->hooks[i].pid, NULL, 0);
			a->hooks[i].pid = 0;
		}
	}
}
