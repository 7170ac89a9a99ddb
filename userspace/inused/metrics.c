// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/timeutil.h"
#include "inused/log.h"

int metrics_parse_listen(const char *s, uint32_t *addr_be, uint16_t *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char host[64];
	char *end;
	unsigned long p;
	struct in_addr a;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535)
		return -EINVAL;
	if (!host[0])
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a) != 1)
		return -EINVAL;
	*addr_be = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	struct strbuf b = {0};
	unsigned int status = MHD_HTTP_OK;
	enum MHD_Result ret;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		sb_adds(&b, "only GET\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		sb_adds(&b, "see /metrics\n");
	} else {
		m->render(m->ctx, &b);
		m->scrapes++;
	}
	r = MHD_create_response_from_buffer(b.len, b.buf ? b.buf : (char *)"",
					    MHD_RESPMEM_MUST_COPY);
	sb_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type",
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
						      : "text/plain");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_ready(struct loop_watch *w, uint32_t events)
{
	struct metrics *m = w->data;

	MHD_run(m->mhd);
}

int metrics_start(struct metrics *m, struct loop *l, const char *listen, metrics_render_fn fn,
		  void *ctx)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;
	uint16_t port;
	int err;

	memset(m, 0, sizeof(*m));
	m->render = fn;
	m->ctx = ctx;
	if (metrics_parse_listen(listen, &sa.sin_addr.s_addr, &port)) {
		log_err("--metrics: not ADDR:PORT (IPv4) or :PORT: %s", listen);
		return -EINVAL;
	}
	sa.sin_port = htons(port);
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL, port, NULL, NULL, handle, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16, MHD_OPTION_END);
	if (!m->mhd) {
		log_err("cannot serve metrics on %s", listen);
		return -EADDRINUSE;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	err = info ? loop_add(l, &m->w, info->epoll_fd, EPOLLIN, on_ready, m) : -EINVAL;
	if (err) {
		MHD_stop_daemon(m->mhd);
		m->mhd = NULL;
		return err;
	}
	log_info("metrics on http://%s/metrics", listen);
	return 0;
}

uint64_t metrics_run(struct metrics *m, uint64_t now_mono)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!m->mhd)
		return 0;
	MHD_run(m->mhd);
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
		return now_mono + (uint64_t)ms * NSEC_PER_MSEC + NSEC_PER_MSEC;
	return 0;
}

void metrics_stop(struct metrics *m, struct loop *l)
{
	if (!m->mhd)
		return;
	loop_del(l, &m->w);
	MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
}
