/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * siphash.h - SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012): a keyed 64-bit pseudorandom function, used as a
 * MAC and as a keystream for the daemon's tokens.
 */
#ifndef INUSE_SIPHASH_H
#define INUSE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 128-bit key as the paper defines it: k0 is bytes 0..7 and k1 bytes
 * 8..15, each read little-endian. */
struct siphash_key {
	uint64_t k0, k1;
};

void siphash_key_from_bytes(struct siphash_key *k, const uint8_t bytes[16]);

/* SipHash-2-4 of msg[0..len) under k. */
uint64_t siphash24(const struct siphash_key *k, const void *msg, size_t len);

/*
 * The same, a word at a time, so that messages sharing their first words
 * share that work: siphash_init, siphash_word for each full 8-byte word
 * (little-endian), then siphash_final with the message's length and its
 * last len % 8 bytes. A state may be copied and continued.
 */
struct siphash_state {
	uint64_t v0, v1, v2, v3;
};

void siphash_init(struct siphash_state *s, const struct siphash_key *k);
void siphash_word(struct siphash_state *s, uint64_t m);
uint64_t siphash_final(struct siphash_state *s, size_t len, const uint8_t *tail);

#endif
