/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ops.h - the request handlers, one file each (op_*.c), and what each must
 * do when a client goes away. Called by proto.c's dispatch table only;
 * they take their helpers from request.h.
 */
#ifndef INUSED_OPS_H
#define INUSED_OPS_H

#include <jansson.h>
#include <stdbool.h>

#include "inused/proto.h"

void op_hello(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_stats(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_list(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_check(struct proto *p, struct conn *c, json_t *id, json_t *req);
struct fastreq;
/* A check request in libinuse's form, read without a JSON tree. */
void op_check_fast(struct proto *p, struct conn *c, const struct fastreq *r);
void op_verify_fast(struct proto *p, struct conn *c, const struct fastreq *r);
void op_verify(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_wait(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_subscribe(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_snapshot(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_guard(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_guard_end(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_history(struct proto *p, struct conn *c, json_t *id, json_t *req);

/* The client is going: its waits and its subscription end. */
void op_wait_gone(struct proto *p, struct conn *c);
void op_subscribe_gone(struct proto *p, struct conn *c);
void op_guard_gone(struct proto *p, struct conn *c);
/* Frees what the guarded jobs hold (at exit). */
void op_guard_fini(struct proto *p);

/* A file came into the table (opened) or is leaving it: the waiters on
 * it are told. */
void op_wait_notify(struct proto *p, bool opened, const struct entry *e);
/* Frees every waiter and the index (at exit). */
void op_wait_fini(struct proto *p);

#endif
