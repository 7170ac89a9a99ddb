// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "inused/log.h"

static const char policy_text[] =
    "policy = {\n"
    "  default = { open = \"defer\"; defer_max = \"1m\"; fallback = \"flag\"; };\n"
    "  rules = (\n"
    "    { name = \"logs\"; match = [ \"*.log\" ]; quiet = \"1s\"; open = \"flag\"; },\n"
    "    { name = \"db\"; match = \"*.db\"; method = [ \"copy-db\", \"--\", \"{path}\", "
    "\"{dest}\" ]; }\n"
    "  );\n"
    "};\n";

static void die(const char *what)
{
	fprintf(stderr, "fuzz fixture: %s\n", what);
	abort();
}

static struct fixture F;
static bool ready;

struct fixture *fixture_get(void)
{
	char err[256];
	struct server_opts so = {
	    .max_line = 1 << 20,
	    .max_out = 16 << 20,
	    .max_conns = 8,
	    .ulim = {.conns = 4, .waits = 16, .wait_paths = 4096, .subs = 2, .bytes = 64 << 20}};

	if (ready)
		return &F;
	log_set_level(LOG_LVL_ERR);
	if (loop_init(&F.loop))
		die("loop");
	if (tracker_init(&F.t, &F.k, 4096, 16, NULL))
		die("tracker");
	if (policy_parse(policy_text, "fuzz", false, &F.pol, err, sizeof(err)))
		die(err);
	/* a server without a socket: only its connections and users */
	memset(&F.srv, 0, sizeof(F.srv));
	F.srv.loop = &F.loop;
	F.srv.o = so;
	F.srv.lw.fd = -1;
	F.srv.lock_fd = -1;
	users_init(&F.srv.users, &so.ulim);
	if (proto_init(&F.p, &F.t, &F.srv, 4244, &F.pol))
		die("proto");
	F.srv.ctx = &F.p;
	F.srv.on_line = proto_line;
	F.t.notify = proto_notify;
	F.t.notify_ctx = &F.p;
	/* a fixed place, so that seeds can name its files */
	strcpy(F.dir, FIXTURE_DIR);
	if (mkdir(F.dir, 0755) && errno != EEXIST)
		die("mkdir " FIXTURE_DIR);
	{
		/* a few files the requests may name */
		static const char *const names[] = {"a", "b.log", "c.db", "d\xff"};
		char p[128];

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", F.dir, names[i]);
			close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		}
	}
	ready = true;
	return &F;
}

struct conn *fixture_client(struct fixture *f, uint32_t uid)
{
	int sp[2];
	struct conn *c;

	if (f->c)
		return f->c;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp))
		die("socketpair");
	c = calloc(1, sizeof(*c));
	if (!c)
		die("calloc");
	c->srv = &f->srv;
	c->peer.uid = uid;
	c->peer.gid = uid;
	c->peer.pid = getpid();
	c->u = users_ref(&f->srv.users, uid);
	c->u->conns++;
	if (loop_add(&f->loop, &c->w, sp[0], EPOLLIN, NULL, c))
		die("loop_add");
	f->srv.conns = c;
	f->srv.nconns = 1;
	proto_accept(&f->p, c);
	f->c = c;
	f->peer_fd = sp[1];
	return c;
}

void fixture_client_gone(struct fixture *f)
{
	struct conn *c = f->c;

	if (!c)
		return;
	proto_gone(&f->p, c);
	loop_del(&f->loop, &c->w);
	close(c->w.fd);
	close(f->peer_fd);
	sb_free(&c->in);
	sb_free(&c->out);
	c->held = c->charged = 0;
	users_charge(&f->srv.users, c->u, -(long long)c->u->bytes);
	c->u->conns--;
	users_unref(&f->srv.users, c->u);
	peer_free(&c->peer);
	free(c);
	f->c = NULL;
	f->srv.conns = NULL;
	f->srv.nconns = 0;
}

void fixture_fill_table(struct fixture *f)
{
	static const struct {
		const char *name;
		uint32_t uid;
	} files[] = {{"a", 0}, {"b.log", 1000}, {"c.db", 0}, {"d\xff", 1000}, {"e\n\x01", 0}};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct writer w = {.pid = 100 + (uint32_t)i,
				   .fd = 3,
				   .uid = files[i].uid,
				   .f_flags = 01,
				   .since_ns = 1,
				   .comm = "w\xfe"};
		char path[128];
		struct stat st;
		bool created;
		struct entry *e;

		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i].name);
		if (stat(path, &st) != 0) {
			st.st_dev = 0;
			st.st_ino = 1000000 + i;
		}
		e = table_get(&f->t.table, (uint32_t)((major(st.st_dev) << 20) | minor(st.st_dev)),
			      st.st_ino, &created);
		if (!e)
			continue;
		if (created)
			table_set_first_open(&f->t.table, e, 1);
		entry_add_writer(&f->t.table, e, &w);
		entry_set_name(&f->t.table, e, NAME_OPENED, path, strlen(path), 0, 0, 0, 0);
		entry_set_host(&f->t.table, e, NAME_OPENED, path, 0, 0);
	}
}

void fixture_clear_table(struct fixture *f)
{
	while (f->t.table.head)
		table_remove(&f->t.table, f->t.table.head);
}

/* One complete line of output. */
static void check_line(const char *s, size_t len)
{
	json_error_t jerr;
	json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);

	if (!json_is_object(j)) {
		fprintf(stderr, "not a JSON object: %.*s\n(%s)\n", (int)(len > 300 ? 300 : len), s,
			jerr.text);
		abort();
	}
	/* an answer: {"id":…,"ok":…; or an event */
	if (!json_object_get(j, "event")) {
		const char *ok;

		if (strncmp(s, "{\"id\":", 6) || !(ok = strstr(s, ",\"ok\":")) ||
		    !json_is_boolean(json_object_get(j, "ok"))) {
			fprintf(stderr, "an answer that does not begin with id and ok: %.*s\n",
				(int)(len > 300 ? 300 : len), s);
			abort();
		}
		/* "ok" is the second member: nothing between the id and it
		 * but the id's own text */
		{
			json_t *id = json_object_get(j, "id");
			char *ids =
			    json_dumps(id ? id : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);

			if (!ids || (size_t)(ok - s) != 6 + strlen(ids)) {
				fprintf(stderr, "\"ok\" is not right after the id: %.*s\n",
					(int)(len > 300 ? 300 : len), s);
				abort();
			}
			free(ids);
		}
		if (!json_is_true(json_object_get(j, "ok")) &&
		    !json_is_string(json_object_get(json_object_get(j, "error"), "code"))) {
			fprintf(stderr, "an error without a code: %.*s\n", (int)len, s);
			abort();
		}
	}
	json_decref(j);
}

void fixture_check_output(struct fixture *f)
{
	struct conn *c = f->c;
	size_t off = c->outoff;

	while (off < c->out.len) {
		char *nl = memchr(c->out.buf + off, '\n', c->out.len - off);

		if (!nl)
			break;
		check_line(c->out.buf + off, (size_t)(nl - (c->out.buf + off)));
		off = (size_t)(nl - c->out.buf) + 1;
	}
	/* what the client "read": the complete lines */
	sb_consume(&c->out, off);
	c->outoff = 0;
}
