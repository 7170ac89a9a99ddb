/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* proto_int.h - what the request handlers (op_*.c) share. */
#ifndef INUSED_PROTO_INT_H
#define INUSED_PROTO_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "common/strbuf.h"
#include "inused/proto.h"

/* Appends '{"id":<id>' (the request's id as given, or null). */
void proto_add_id(struct strbuf *b, json_t *id);
void proto_send_error(struct proto *p, struct conn *c, json_t *id, const char *code,
		      const char *msg);
/* Appends "," (unless first) and o encoded compactly; takes o. */
void proto_add_json(struct strbuf *b, bool first, json_t *o);

/* Appends s as a JSON string (quoted and escaped by jansson); "null" when s
 * is NULL or not valid UTF-8. */
void proto_add_str(struct strbuf *b, const char *s);

/* Sends {"id":…,"ok":true, <members of body>}. */
void proto_send_obj(struct conn *c, json_t *id, json_t *body);

/* Root, or a member of the admin group: sees every file. */
bool proto_is_admin(const struct proto *p, const struct conn *c);
/* May a client see the names and writers of this file? */
bool proto_visible(const struct entry *e, bool admin, uid_t uid);

/* Seconds (a number) or a duration text ("90s"). 0 or -EINVAL. */
int proto_get_duration(json_t *v, uint64_t *ns);

enum path_state { PS_NOT_OPEN, PS_OPEN, PS_MISSING, PS_NOT_REGULAR, PS_ERROR };
const char *path_state_name(enum path_state s);

/*
 * Where a path stands: stat(2) it (following symlinks) and look its inode
 * up in the table, then in the kernel map (the last word before "not
 * open"). *st is filled when the path exists; *e is the table entry or
 * NULL; *err the errno of a failed stat.
 */
enum path_state proto_path_state(struct proto *p, const char *path, struct stat *st,
				 struct entry **e, int *err);

/* Non-admins may ask only about paths they could reach themselves: every
 * directory on the way searchable by them (mode bits; ACLs are not read). */
bool proto_may_lookup(const struct conn *c, const char *path);

/* The "paths" member: a non-empty array of absolute paths, or NULL after
 * answering an error. */
json_t *proto_get_paths(struct proto *p, struct conn *c, json_t *id, json_t *req);

/* Handlers. */
void op_list(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_check(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_verify(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_wait(struct proto *p, struct conn *c, json_t *id, json_t *req);
void op_subscribe(struct proto *p, struct conn *c, json_t *id, json_t *req);
void proto_subscribers_gone(struct proto *p, struct conn *c);

#endif
