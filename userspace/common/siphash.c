// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * SipHash-2-4, from the description in the paper: the state v0..v3 is
 * initialised from the key and the constants "somepseudorandomlygeneratedbytes",
 * every 8-byte little-endian word m of the message is absorbed with two
 * SipRounds (v3 ^= m; rounds; v0 ^= m), the last word carries the message
 * length in its top byte, and finalisation is v2 ^= 0xff and four SipRounds;
 * the output is v0 ^ v1 ^ v2 ^ v3.
 */
#include "common/siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void siphash_key_from_bytes(struct siphash_key *k, const uint8_t bytes[16])
{
	k->k0 = le64(bytes);
	k->k1 = le64(bytes + 8);
}

/* Inlined: the daemon seals a token per file of every check. */
static inline __attribute__((always_inline)) void sipround(struct siphash_state *s)
{
	s->v0 += s->v1;
	s->v1 = ROTL(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = ROTL(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = ROTL(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = ROTL(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = ROTL(s->v2, 32);
}

static inline __attribute__((always_inline)) void absorb(struct siphash_state *s, uint64_t m)
{
	s->v3 ^= m;
	sipround(s);
	sipround(s);
	s->v0 ^= m;
}

void siphash_init(struct siphash_state *s, const struct siphash_key *k)
{
	s->v0 = k->k0 ^ 0x736f6d6570736575ULL; /* "somepseu" */
	s->v1 = k->k1 ^ 0x646f72616e646f6dULL; /* "dorandom" */
	s->v2 = k->k0 ^ 0x6c7967656e657261ULL; /* "lygenera" */
	s->v3 = k->k1 ^ 0x7465646279746573ULL; /* "tedbytes" */
}

void siphash_word(struct siphash_state *s, uint64_t m)
{
	absorb(s, m);
}

uint64_t siphash_final(struct siphash_state *s, size_t len, const uint8_t *tail)
{
	uint64_t last = (uint64_t)(len & 0xff) << 56;

	for (size_t i = 0; i < len % 8; i++)
		last |= (uint64_t)tail[i] << (8 * i);
	absorb(s, last);
	s->v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t siphash24(const struct siphash_key *k, const void *msg, size_t len)
{
	const uint8_t *p = msg;
	struct siphash_state s;
	size_t full = len - len % 8;

	siphash_init(&s, k);
	for (size_t i = 0; i < full; i += 8)
		absorb(&s, le64(p + i));
	return siphash_final(&s, len, p + full);
}
