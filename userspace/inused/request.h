/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * request.h - what the request handlers (op_*.c) share: answers and
 * errors, the members requests carry (names, durations), who the client
 * is and what it may see, and where a path stands. It depends on no
 * handler; proto.c dispatches to the handlers.
 */
#ifndef INUSED_REQUEST_H
#define INUSED_REQUEST_H

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

/* Appends s as a JSON string; "null" when s is NULL. For fixed texts
 * (messages, rule names); names of files go through render_name. */
void proto_add_str(struct strbuf *b, const char *s);

/* Sends {"id":…,"ok":true, <members of body>}. */
void proto_send_obj(struct conn *c, json_t *id, json_t *body);

/* Root, or a member of the admin group: sees every file. */
bool proto_is_admin(const struct proto *p, const struct conn *c);
/* May a client see the names and writers of this file? */
bool proto_visible(const struct entry *e, bool admin, uid_t uid);

/* Seconds (a number) or a duration text ("90s"). 0 or -EINVAL. */
int proto_get_duration(json_t *v, uint64_t *ns);

/* Names given in a request (paths), decoded (common/jname.h). */
struct namev {
	char **v;
	size_t n;
};
void namev_free(struct namev *nv);

/*
 * Reads member "member" of req: a non-empty array of absolute paths, each a
 * string or an array of bytes. Sends the error and returns -EINVAL when it
 * is not; a path that is not usable (too long, not absolute) is kept and
 * answered as an error of its own by proto_path_state.
 */
int proto_get_paths(struct proto *p, struct conn *c, json_t *id, json_t *req, const char *member,
		    struct namev *out);

enum path_state { PS_NOT_OPEN, PS_OPEN, PS_MISSING, PS_NOT_REGULAR, PS_ERROR };
const char *path_state_name(enum path_state s);

/*
 * Where a path stands: stat(2) it (following symlinks) and look its inode
 * up in the table (by key or alias); where the table cannot say "not open"
 * alone (events lost, a file system whose names do not carry the identity
 * of the inode that holds the data, such as an overlay), the kernel is
 * asked through a descriptor of the path. *st is filled when the path
 * exists; *e is the table entry or NULL; *err the errno of a failure.
 */
enum path_state proto_path_state(struct proto *p, const char *path, struct stat *st,
				 struct entry **e, int *err);

/* Non-admins may ask only about paths they could reach themselves: every
 * directory on the way searchable by them (mode bits; ACLs are not read). */
bool proto_may_lookup(const struct conn *c, const char *path);

/*
 * "under DIR": files whose host path is below DIR, or, through any bind
 * mount, overlay or alias of DIR, whose path within their file system is
 * below DIR's there.
 */
struct under {
	char *host; /* canonical DIR */
	size_t host_len;
	char *fs_path; /* DIR within its file system, NULL: not located */
	size_t fs_len;
	uint32_t sb_dev;
};

/* 0, or -errno (DIR not absolute: -EINVAL). */
int under_init(struct tracker *t, const char *dir, struct under *u);
bool under_matches(struct tracker *t, const struct under *u, struct entry *e);
void under_free(struct under *u);

#endif
