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

#endif
