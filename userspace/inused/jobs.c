// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* jobs.c - requests answered over several turns (request.h): started by
 * their handlers, run by the loop, dropped with their client. Depends on
 * no handler. */
#include <jansson.h>

#include "inused/request.h"

static void job_end(struct proto *p, struct job *j, bool answered)
{
	struct conn *c = j->c;

	if (j->prev)
		j->prev->next = j->next;
	else
		p->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	p->njobs--;
	conn_hold_bytes(c, -(long long)j->bytes);
	json_decref(j->id);
	j->done = answered;
	j->free(p, j);
	if (answered) {
		conn_set_busy(c, false);
		conn_release(c);
	}
}

void proto_job_start(struct proto *p, struct conn *c, json_t *id, struct job *j)
{
	j->c = c;
	j->id = json_incref(id);
	j->prev = NULL;
	j->next = p->jobs;
	if (p->jobs)
		p->jobs->prev = j;
	p->jobs = j;
	p->njobs++;
	conn_hold(c);
	conn_set_busy(c, true);
	conn_hold_bytes(c, (long long)j->bytes);
	if (conn_can_take(c, JOB_OUT_LIMIT) && j->step(p, j))
		job_end(p, j, true);
}

bool proto_run_jobs(struct proto *p)
{
	bool more = false;

	for (struct job *j = p->jobs, *n; j; j = n) {
		n = j->next;
		if (!conn_can_take(j->c, JOB_OUT_LIMIT))
			continue; /* resumed when its client has read */
		if (j->step(p, j)) {
			job_end(p, j, true);
			continue;
		}
		more |= conn_can_take(j->c, JOB_OUT_LIMIT);
	}
	return more;
}

void proto_jobs_drop(struct proto *p, struct conn *c)
{
	for (struct job *j = p->jobs, *n; j; j = n) {
		n = j->next;
		if (!c || j->c == c)
			job_end(p, j, false);
	}
}
