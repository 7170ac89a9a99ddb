/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * token.h - the copy-fence tokens of "check" and "verify": opaque to
 * clients and unforgeable.
 *
 * A token carries the facts of a file at check time (identity, size,
 * times, the lifetime and generations of its kernel entry), encrypted with
 * a keystream and sealed with a MAC, both SipHash-2-4 under keys drawn at
 * random when the daemon starts. A client learns nothing from a token, and
 * a token that was made up, altered, or issued by an earlier start of the
 * daemon is refused.
 *
 *   text:  "2." base64url(version | instance | nonce | E(facts) | mac)
 *   E(facts)[8j..8j+8) = facts ^ SipHash(k_enc, instance | nonce | j)
 *   mac = SipHash(k_mac, version | instance | nonce | E(facts))
 *
 * The instance is a random number per start, the nonce a counter, so no
 * keystream is used twice.
 */
#ifndef INUSED_TOKEN_H
#define INUSED_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "common/siphash.h"

struct token_facts {
	uint32_t dev;
	uint64_t ino;
	uint64_t size;
	uint64_t mtime_ns;
	uint64_t ctime_ns;
	uint64_t life; /* first-open time of the kernel entry; 0: no writer */
	uint64_t open_gen;
	uint64_t write_gen;
};

struct token_key {
	struct siphash_key enc, mac;
	uint64_t instance;
	uint64_t nonce; /* the next token's */
};

/* Room for a token's text and its NUL. */
#define TOKEN_TEXT_MAX 128

/* Keys and instance from getrandom(2). 0 or -errno. */
int token_key_init(struct token_key *k);
/* Keys and instance from 40 given bytes (tests, fuzzing). */
void token_key_set(struct token_key *k, const uint8_t seed[40]);

/* Writes the token of f (NUL-terminated) into out, which has room for
 * TOKEN_TEXT_MAX bytes. */
void token_seal(struct token_key *k, const struct token_facts *f, char out[TOKEN_TEXT_MAX]);

enum token_status {
	TOKEN_OK,
	TOKEN_BAD,     /* not a token of this daemon: malformed, made up or altered */
	TOKEN_EXPIRED, /* well-formed, from another start of the daemon (or forged) */
};

/* Checks and opens a token; fills *f only when TOKEN_OK. */
enum token_status token_open(const struct token_key *k, const char *text, struct token_facts *f);

#endif
