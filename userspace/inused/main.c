// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* inused - the daemon: wires the kernel side, the table and the socket. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/timeutil.h"
#include "inused/alerts.h"
#include "inused/freeze.h"
#include "inused/history.h"
#include "inused/kernel.h"
#include "inused/log.h"
#include "inused/loop.h"
#include "inused/metrics.h"
#include "inused/prom.h"
#include "inused/options.h"
#include "inused/policy.h"
#include "inused/proto.h"
#include "inused/server.h"
#include "inused/tracker.h"

/* Paths are re-checked (rename, unlink) in slices of this many per tick. */
#define VALIDATE_PER_TICK 2000
#define VALIDATE_TICK_NS  (250 * NSEC_PER_MSEC)

struct daemon {
	struct options o;
	struct loop loop;
	struct kernel k;
	struct tracker t;
	struct server srv;
	struct proto proto;
	struct policy pol;
	struct alerts al;
	struct metrics m;
	struct freezer fz;
	struct prom_sources ps;
	uint64_t next_metrics;
	uint64_t next_alert, next_hook;
	uint64_t hooks_seen; /* hooks started, when next_hook was computed */
	struct loop_watch ring_w, sig_w, mounts_w;
	uint64_t tail_drain_at; /* CLOCK_MONOTONIC; 0: none */
	uint64_t next_validate;
	uint64_t watchdog_ns; /* half the service watchdog; 0: none */
	uint64_t next_watchdog;
	bool work_left; /* jobs or lines left for the next turn */
	bool stop;
	uint64_t boot_t0; /* CLOCK_MONOTONIC: loading began */
};

static void on_ring(struct loop_watch *w, uint32_t events)
{
	struct daemon *d = w->data;

	tracker_sync_background(&d->t);
	/* records submitted without a wake-up right after this one */
	d->tail_drain_at = clock_mono_ns() + d->o.wake_interval_ns;
}

/* The mount table changed (EPOLLPRI on mountinfo). */
static void on_mounts(struct loop_watch *w, uint32_t events)
{
	struct daemon *d = w->data;

	tracker_mounts_changed(&d->t);
}

/*
 * Loads the policy. A missing default file means the built-in policy; a
 * missing file named with --config, or any bad file, is an error (at start:
 * no start; on SIGHUP: the old policy stays).
 */
static int load_policy(struct daemon *d, struct policy *out)
{
	char err[512];
	int r = policy_load(d->o.config, out, err, sizeof(err));

	if (r == -ENOENT && !d->o.config_given) {
		policy_builtin(out);
		return 0;
	}
	if (r)
		log_err("config: %s", err);
	return r;
}

static int resolve_group(const char *name, gid_t *gid);

/* Who may connect and who is an admin: from the command line, else from
 * the config (and so again at each reload). */
static void apply_access(struct daemon *d)
{
	const char *group = d->o.group_given ? d->o.group : d->pol.admin_group;
	unsigned int mode = d->o.all_users || d->pol.all_users ? 0666 : 0660;
	gid_t gid;

	if (resolve_group(group, &gid)) {
		log_err("no such group: %s; the admin group stays as it was", group);
		gid = d->proto.admin_gid;
	}
	if (gid != d->proto.admin_gid) {
		log_info("admin group is now %s", group ? group : "(none: root only)");
		proto_set_admin_gid(&d->proto, gid);
	}
	if ((gid != d->srv.o.gid || mode != d->srv.o.mode) &&
	    server_set_access(&d->srv, gid == (gid_t)-1 ? 0 : gid, mode))
		log_err("cannot set the group and mode of %s: %s", d->o.socket, strerror(errno));
}

static void reload(struct daemon *d)
{
	struct policy np;

	sd_notify(0, "RELOADING=1");
	if (load_policy(d, &np)) {
		log_err("SIGHUP: config refused; the previous one stays in force");
		sd_notify(0, "READY=1\nSTATUS=config refused; previous policy in force");
		return;
	}
	sd_notify(0, "READY=1");
	policy_free(&d->pol);
	d->pol = np;
	d->proto.pol = &d->pol;
	d->next_alert = clock_mono_ns(); /* thresholds may have changed */
	log_info("SIGHUP: config %s loaded (%zu rules)",
		 d->pol.source ? d->pol.source : "(built-in)", d->pol.nrules);
	apply_access(d);
}

/* A file came into the table or is leaving it. */
static void on_change(void *ctx, enum tracker_change what, struct entry *e)
{
	struct daemon *d = ctx;

	if (what == TC_CLOSED)
		alerts_closed(&d->al, e);
	history_note(&d->proto.hist, &d->t, what, e);
	proto_notify(&d->proto, what, e);
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct daemon *d = w->data;
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGINT:
		case SIGTERM:
			log_info("signal %d: detaching and exiting", (int)si.ssi_signo);
			d->stop = true;
			break;
		case SIGHUP:
			reload(d);
			break;
		case SIGCHLD:
			d->next_hook = alerts_reap(&d->al, clock_mono_ns());
			break;
		default:
			break;
		}
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return loop_add(&d->loop, &d->sig_w, fd, EPOLLIN, on_signal, d);
}

static int64_t timeout_ns(struct daemon *d, uint64_t now, uint64_t next_recheck, uint64_t next_wait)
{
	uint64_t next = 0;

	if (d->work_left)
		return 0; /* requests still to be answered, lines still to handle */
	if (next_wait)
		next = next_wait;
	if (d->tail_drain_at && (!next || d->tail_drain_at < next))
		next = d->tail_drain_at;
	if (next_recheck && (!next || next_recheck < next))
		next = next_recheck;
	if (d->t.table.count && (!next || d->next_validate < next))
		next = d->next_validate;
	if (d->watchdog_ns && (!next || d->next_watchdog < next))
		next = d->next_watchdog;
	if (d->next_alert && (!next || d->next_alert < next))
		next = d->next_alert;
	if (d->next_hook && (!next || d->next_hook < next))
		next = d->next_hook;
	if (d->next_metrics && (!next || d->next_metrics < next))
		next = d->next_metrics;
	if (!next)
		return -1;
	if (next <= now)
		return 0;
	return (int64_t)(next - now);
}

static int run(struct daemon *d)
{
	uint64_t next_recheck = 0, next_wait = 0;

	d->next_validate = clock_mono_ns() + VALIDATE_TICK_NS;
	while (!d->stop) {
		uint64_t now = clock_mono_ns();
		int err = loop_run_once_ns(&d->loop, timeout_ns(d, now, next_recheck, next_wait));

		if (err < 0) {
			log_err("event loop: %s", strerror(-err));
			return err;
		}
		now = clock_mono_ns();
		if (d->tail_drain_at && now >= d->tail_drain_at) {
			int n = kernel_drain(&d->k);

			/* a record reserved before the wake-up's drain may be
			 * committed after this one, without a wake-up of its own */
			d->tail_drain_at =
			    n > 0 || kernel_ring_pending(&d->k) ? now + d->o.wake_interval_ns : 0;
			if (n > 0)
				tracker_sync_background(&d->t);
		}
		if (d->t.table.count && now >= d->next_validate) {
			tracker_validate_paths(&d->t, VALIDATE_PER_TICK);
			d->next_validate = now + VALIDATE_TICK_NS;
		}
		next_recheck = tracker_timer(&d->t, now);
		if (d->proto.waiters && d->t.changes != d->proto.seen_changes) {
			d->proto.seen_changes = d->t.changes;
			proto_waiters_changed(&d->proto);
		}
		next_wait = d->proto.waiters ? proto_waiters_timer(&d->proto, clock_mono_ns()) : 0;
		if (d->next_alert && now >= d->next_alert)
			d->next_alert = alerts_tick(&d->al, now);
		/* hooks started by alerts or resolutions get their deadline */
		if (d->al.hooks_run != d->hooks_seen || (d->next_hook && now >= d->next_hook)) {
			d->hooks_seen = d->al.hooks_run;
			d->next_hook = alerts_reap(&d->al, now);
		}
		if (d->m.mhd)
			d->next_metrics = metrics_run(&d->m, now);
		/* long answers and pipelined lines: a turn each */
		d->work_left = proto_run_jobs(&d->proto);
		d->work_left |= server_work(&d->srv);
		if (d->watchdog_ns && now >= d->next_watchdog) {
			sd_notifyf(0, "WATCHDOG=1\nSTATUS=%zu files open for writing, %zu clients",
				   d->t.table.count, d->srv.nconns);
			d->next_watchdog = now + d->watchdog_ns;
		}
	}
	return 0;
}

static int resolve_group(const char *name, gid_t *gid)
{
	struct group *g;
	char *end;
	unsigned long v;

	*gid = (gid_t)-1;
	if (!name)
		return 0;
	g = getgrnam(name);
	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	v = strtoul(name, &end, 10);
	if (*name && !*end) {
		*gid = (gid_t)v;
		return 0;
	}
	return -ENOENT;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct daemon d;
	struct kernel_opts ko;
	struct server_opts so;
	char err[256];
	gid_t gid;
	int ret;

	options_defaults(&d.o);
	if (options_parse(&d.o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "inused: %s\nTry 'inused --help'.\n", err);
		return 1;
	}
	if (d.o.help) {
		fputs(options_usage, stdout);
		return 0;
	}
	if (d.o.version) {
		printf("inused %s\n", INUSE_VERSION);
		return 0;
	}
	log_set_level(d.o.log_level);
	if (geteuid() != 0)
		log_warn("not running as root: loading BPF programs will likely fail");
	if (load_policy(&d, &d.pol))
		return 1;
	if (!d.o.group_given)
		d.o.group = d.pol.admin_group;
	if (resolve_group(d.o.group, &gid)) {
		log_err("no such group: %s", d.o.group);
		return 1;
	}
	raise_nofile();
	if (loop_init(&d.loop) || setup_signals(&d)) {
		log_err("cannot set up the event loop: %s", strerror(errno));
		return 1;
	}

	so = (struct server_opts){
	    .path = d.o.socket,
	    .mode = d.o.all_users || d.pol.all_users ? 0666 : 0660,
	    .gid = gid,
	    .max_line = d.o.max_line,
	    .max_out = d.o.max_output,
	    .max_conns = d.o.max_clients,
	    .ulim =
		{
		    .conns = (uint32_t)d.o.max_user_clients,
		    .waits = (uint32_t)d.o.max_user_waits,
		    .wait_paths = PROTO_MAX_VALUES,
		    .subs = (uint32_t)d.o.max_user_subs,
		    .bytes = d.o.max_user_bytes,
		},
	};
	/* the instance lock and socket first: a second daemon stops here,
	 * before it attaches anything */
	if (server_open(&d.srv, &d.loop, &so))
		return 1;

	ko = (struct kernel_opts){
	    .max_files = d.o.max_files,
	    .ring_bytes = d.o.ring_bytes,
	    .wake_interval_ns = d.o.wake_interval_ns,
	    .no_uring = d.o.no_uring,
	};
	if (tracker_init(&d.t, &d.k, d.o.max_files, d.o.max_writers, NULL)) {
		log_err("out of memory");
		server_close(&d.srv);
		return 1;
	}
	d.boot_t0 = clock_mono_ns();
	if (kernel_open(&d.k, &ko, tracker_on_event, &d.t)) {
		server_close(&d.srv);
		tracker_fini(&d.t);
		return 1;
	}
	{
		uint64_t t0 = clock_mono_ns();

		tracker_reconcile(&d.t);
		log_info("%zu files open for writing at start (BPF loaded and attached in %.1f ms, "
			 "table built in %.1f ms)",
			 d.t.table.count, (double)(t0 - d.boot_t0) / 1e6,
			 (double)(clock_mono_ns() - t0) / 1e6);
	}
	if (loop_add(&d.loop, &d.ring_w, kernel_ring_fd(&d.k), EPOLLIN, on_ring, &d)) {
		log_err("cannot watch the event buffer");
		ret = 1;
		goto out;
	}
	if (mounts_fd(&d.t.mounts) >= 0 &&
	    loop_add(&d.loop, &d.mounts_w, mounts_fd(&d.t.mounts), EPOLLPRI, on_mounts, &d))
		log_warn("cannot watch the mount table: mount changes are seen late");
	if (proto_init(&d.proto, &d.t, &d.srv, gid, &d.pol)) {
		log_err("cannot draw a random key for tokens: %s", strerror(errno));
		ret = 1;
		goto out;
	}
	d.srv.on_accept = proto_accept;
	{
		/* what a daemon killed during a snapshot left frozen is thawed */
		char state[4200];
		int n;

		snprintf(state, sizeof(state), "%s.frozen", d.o.socket);
		freezer_init(&d.fz, state);
		n = freezer_recover(&d.fz);
		if (n)
			log_warn("thawed %d writer(s) left frozen by a previous inused", n);
		d.proto.fz = &d.fz;
	}
	d.srv.on_line = proto_line;
	d.srv.on_oversize = proto_oversize;
	d.srv.on_gone = proto_gone;
	alerts_init(&d.al, &d.t, &d.pol);
	d.al.sink = proto_alert;
	d.al.sink_ctx = &d.proto;
	d.proto.al = &d.al;
	d.next_alert = clock_mono_ns();
	d.ps = (struct prom_sources){.t = &d.t, .p = &d.proto, .al = &d.al};
	if (d.o.metrics && metrics_start(&d.m, &d.loop, d.o.metrics, prom_render, &d.ps)) {
		ret = 1;
		goto out;
	}
	d.t.notify = on_change;
	d.t.notify_ctx = &d;
	d.srv.ctx = &d.proto;
	log_info("ready on %s (io_uring hook %s); list with: inuse-ls%s%s", d.o.socket,
		 d.k.uring ? "on" : "off",
		 strcmp(d.o.socket, INUSE_DEFAULT_SOCKET) ? " --socket " : "",
		 strcmp(d.o.socket, INUSE_DEFAULT_SOCKET) ? d.o.socket : "");
	{
		uint64_t usec = 0;

		if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
			d.watchdog_ns = usec * 1000 / 2;
			d.next_watchdog = clock_mono_ns() + d.watchdog_ns;
		}
	}
	sd_notifyf(0, "READY=1\nSTATUS=%zu files open for writing", d.t.table.count);
	ret = run(&d) ? 1 : 0;
	sd_notify(0, "STOPPING=1");
	alerts_fini(&d.al);
out:
	metrics_stop(&d.m, &d.loop);
	server_close(&d.srv);
	proto_fini(&d.proto);
	kernel_close(&d.k);
	tracker_fini(&d.t);
	loop_fini(&d.loop);
	proto_fini(&d.proto);
	policy_free(&d.pol);
	log_info("stopped");
	return ret;
}
