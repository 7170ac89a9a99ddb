/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * request.h - what the request handlers (op_*.c) share: answers and
 * errors, the members requests carry (names, durations), who the client
 * is and what it may see, where a path stands (looked up with the client's
 * rights), and requests answered over several turns of the event loop. It
 * depends on no handler; proto.c dispatches to the handlers.
 *
 * The access model (docs/protocol.md, "Access"):
 *  - a client is an admin when it is root or was in the admin group when
 *    it connected (conn->admin, decided once);
 *  - a path is looked up with the client's own credentials (creds.h), and
 *    its state is told only when the client could open it for reading;
 *  - writers, times and counters of a file are shown only to admins and
 *    to the users whose processes write it.
 */
#ifndef INUSED_REQUEST_H
#define INUSED_REQUEST_H

#include <jansson.h>
#include <limits.h>
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

/* Root, or a member of the admin group when it connected: sees every
 * file. */
static inline bool proto_is_admin(const struct proto *p, const struct conn *c)
{
	(void)p;
	return c->admin;
}

/* May a client see the writers, times and counters of this file (and
 * that it is in the table)? Admins: always; others: while one of their
 * processes writes it. */
bool proto_visible(const struct entry *e, bool admin, uid_t uid);
/* The same for a file that is leaving the table (its writers are gone):
 * one of the user's processes wrote it while it was open. */
bool proto_visible_closed(const struct entry *e, bool admin, uid_t uid);

/* Seconds (a number) or a duration text ("90s"). 0 or -EINVAL. */
int proto_get_duration(json_t *v, uint64_t *ns);

/* The longest name a request may give (one longer is refused with it). */
#define PROTO_NAME_MAX (4 * PATH_MAX)

/* Names given in a request (paths), decoded (common/jname.h). */
struct namev {
	char **v;
	size_t n;
	size_t bytes; /* memory they take, about */
	char *block;  /* when set, every name is in it (fastreq.h) */
};
void namev_free(struct namev *nv);

/*
 * Reads member "member" of req: a non-empty array of absolute paths, each a
 * string or an array of bytes. Sends the error and returns -EINVAL when it
 * is not; a path that is not usable (too long, not absolute) is kept and
 * answered as an error of its own by proto_paths_state.
 */
int proto_get_paths(struct proto *p, struct conn *c, json_t *id, json_t *req, const char *member,
		    struct namev *out);

enum path_state { PS_NOT_OPEN, PS_OPEN, PS_MISSING, PS_NOT_REGULAR, PS_ERROR };
const char *path_state_name(enum path_state s);

/* Where one path stands. */
struct path_res {
	enum path_state ps;
	int err;	 /* with PS_ERROR: why */
	struct stat st;	 /* when it exists and the client may read it */
	struct entry *e; /* its table entry, if any: valid until the tracker runs */
};

/* At most this many paths are looked up at once. */
#define PROTO_LOOKUP_BATCH 256

/*
 * Where n paths (n <= PROTO_LOOKUP_BATCH) stand, as the client may learn
 * it: each is opened (O_PATH, following symlinks) with the client's
 * credentials, one lookup per path; one the client could not open for
 * reading itself answers PS_ERROR (EACCES), one it cannot reach PS_MISSING
 * or PS_ERROR as the kernel says. The inode found is looked up in the
 * table (by key or alias); where the table cannot say "not open" alone
 * (events lost, a file system whose names do not carry the identity of the
 * inode that holds the data, such as an overlay), the kernel is asked
 * through the descriptor.
 */
void proto_paths_state(struct proto *p, const struct conn *c, char *const *paths, size_t n,
		       struct path_res *res);

/*
 * The same, where an admin client gave its own stat(2) of each path (cs,
 * clientstat.h; NULL: none): the identity it found is looked up in the
 * table, and only a path the table cannot settle alone (not found by the
 * client, on a file system whose names do not carry the key, the table
 * not trusted) is looked up as above. A client that is not an admin is
 * always looked up as above, whatever it gave.
 */
struct client_stat;
void proto_paths_state_by(struct proto *p, const struct conn *c, char *const *paths,
			  const struct client_stat *cs, size_t n, struct path_res *res);

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

/*
 * A request answered over several turns of the event loop (long batches):
 * each turn handles at most JOB_TURN paths or files and writes their part
 * of the answer, and a turn runs only while the client has less than
 * JOB_OUT_LIMIT bytes of it unread, so that no answer is held whole in
 * memory and every other client is served between turns. Later requests
 * of the same client wait until it is done.
 */
#define JOB_TURN      256
#define JOB_OUT_LIMIT (256 * 1024)

struct job;
/* One turn; returns true when the answer is complete. */
typedef bool (*job_step_fn)(struct proto *p, struct job *j);
/* Frees the job (done, or its client went away). */
typedef void (*job_free_fn)(struct proto *p, struct job *j);

struct job {
	struct job *prev, *next;
	struct conn *c;
	json_t *id; /* referenced */
	job_step_fn step;
	job_free_fn free;
	size_t bytes; /* memory it holds, counted to the client's user */
	bool done;    /* when freed: the answer is complete (else the client left) */
};

/* Starts j (filled by the caller: step, free, bytes): runs its first turn
 * at once; the rest follow in later turns. Takes a reference to id. */
void proto_job_start(struct proto *p, struct conn *c, json_t *id, struct job *j);

/* Frees the jobs of client c (every job: NULL) unanswered: it left. */
void proto_jobs_drop(struct proto *p, struct conn *c);

/* Sends the text of the answer so far (and resets b). */
void proto_job_send(struct job *j, struct strbuf *b);

#endif
