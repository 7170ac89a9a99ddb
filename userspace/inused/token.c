// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "inused/token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_VERSION 2
#define FACTS_LEN     60 /* dev (4) and seven 64-bit facts */
#define HEAD_LEN      17 /* version, instance, nonce */
#define BIN_LEN	      (HEAD_LEN + FACTS_LEN + 8)
#define PREFIX	      "2."

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void token_key_set(struct token_key *k, const uint8_t seed[40])
{
	siphash_key_from_bytes(&k->enc, seed);
	siphash_key_from_bytes(&k->mac, seed + 16);
	k->instance = get64(seed + 32);
	k->nonce = 0;
}

int token_key_init(struct token_key *k)
{
	uint8_t seed[40];
	size_t got = 0;

	while (got < sizeof(seed)) {
		ssize_t n = getrandom(seed + got, sizeof(seed) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	token_key_set(k, seed);
	memset(seed, 0, sizeof(seed));
	return 0;
}

/* XORs the keystream of (instance, nonce) over n bytes at p: block j is
 * SipHash of the 24 bytes (instance, nonce, j), all little-endian; the
 * state after the first two words is shared by every block. */
static void keystream(const struct token_key *k, uint64_t instance, uint64_t nonce, uint8_t *p,
		      size_t n)
{
	struct siphash_state head;

	siphash_init(&head, &k->enc);
	siphash_word(&head, instance);
	siphash_word(&head, nonce);
	for (size_t j = 0; j * 8 < n; j++) {
		struct siphash_state s = head;
		uint8_t ks[8];

		siphash_word(&s, j);
		put64(ks, siphash_final(&s, 24, NULL));
		for (size_t i = 0; i < 8 && j * 8 + i < n; i++)
			p[j * 8 + i] ^= ks[i];
	}
}

static void facts_pack(const struct token_facts *f, uint8_t *p)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(f->dev >> (8 * i));
	put64(p + 4, f->ino);
	put64(p + 12, f->size);
	put64(p + 20, f->mtime_ns);
	put64(p + 28, f->ctime_ns);
	put64(p + 36, f->life);
	put64(p + 44, f->open_gen);
	put64(p + 52, f->write_gen);
}

static void facts_unpack(const uint8_t *p, struct token_facts *f)
{
	f->dev = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	f->ino = get64(p + 4);
	f->size = get64(p + 12);
	f->mtime_ns = get64(p + 20);
	f->ctime_ns = get64(p + 28);
	f->life = get64(p + 36);
	f->open_gen = get64(p + 44);
	f->write_gen = get64(p + 52);
}

void token_seal(struct token_key *k, const struct token_facts *f, char out[TOKEN_TEXT_MAX])
{
	uint8_t bin[BIN_LEN];
	size_t o = sizeof(PREFIX) - 1;
	uint32_t acc = 0;
	int bits = 0;

	bin[0] = TOKEN_VERSION;
	put64(bin + 1, k->instance);
	put64(bin + 9, k->nonce);
	facts_pack(f, bin + HEAD_LEN);
	keystream(k, k->instance, k->nonce, bin + HEAD_LEN, FACTS_LEN);
	k->nonce++;
	put64(bin + HEAD_LEN + FACTS_LEN, siphash24(&k->mac, bin, HEAD_LEN + FACTS_LEN));

	memcpy(out, PREFIX, o);
	/* three bytes to four characters, then the rest (BIN_LEN % 3) */
	for (size_t i = 0; i + 3 <= BIN_LEN; i += 3) {
		acc = (uint32_t)bin[i] << 16 | (uint32_t)bin[i + 1] << 8 | bin[i + 2];
		out[o++] = b64[acc >> 18];
		out[o++] = b64[(acc >> 12) & 63];
		out[o++] = b64[(acc >> 6) & 63];
		out[o++] = b64[acc & 63];
	}
	acc = 0;
	for (size_t i = BIN_LEN - BIN_LEN % 3; i < BIN_LEN; i++) {
		acc = acc << 8 | bin[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = b64[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* The value of each character of b64[] plus one; 0 for any other byte. */
static const uint8_t b64_plus1[256] = {
    ['A'] = 1,	['B'] = 2,  ['C'] = 3,	['D'] = 4,  ['E'] = 5,	['F'] = 6,  ['G'] = 7,	['H'] = 8,
    ['I'] = 9,	['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

static int b64val(char c)
{
	return (int)b64_plus1[(unsigned char)c] - 1;
}

/* Constant time: the comparison does not tell where a forgery differs. */
static int same64(uint64_t a, uint64_t b)
{
	uint64_t d = a ^ b;

	d |= d >> 32;
	d |= d >> 16;
	d |= d >> 8;
	return (int)(1 & ((d & 0xff) - 1) >> 8);
}

enum token_status token_open(const struct token_key *k, const char *text, struct token_facts *f)
{
	uint8_t bin[BIN_LEN];
	size_t n = 0, len;
	uint32_t acc = 0;
	int bits = 0;
	uint64_t instance, mac;

	if (!text || strncmp(text, PREFIX, sizeof(PREFIX) - 1))
		return TOKEN_BAD;
	text += sizeof(PREFIX) - 1;
	len = strlen(text);
	/* 85 bytes are 114 characters, the last holding 2 bits */
	if (len != (BIN_LEN * 8 + 5) / 6)
		return TOKEN_BAD;
	for (size_t i = 0; i < len; i++) {
		int v = b64val(text[i]);

		if (v < 0)
			return TOKEN_BAD;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bin[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* the bits past the last byte must be zero: one text per token */
	if (n != BIN_LEN || (acc & ((1u << bits) - 1)))
		return TOKEN_BAD;
	if (bin[0] != TOKEN_VERSION)
		return TOKEN_BAD;
	instance = get64(bin + 1);
	mac = siphash24(&k->mac, bin, HEAD_LEN + FACTS_LEN);
	if (!same64(mac, get64(bin + HEAD_LEN + FACTS_LEN)))
		return instance != k->instance ? TOKEN_EXPIRED : TOKEN_BAD;
	keystream(k, instance, get64(bin + 9), bin + HEAD_LEN, FACTS_LEN);
	facts_unpack(bin + HEAD_LEN, f);
	return TOKEN_OK;
}
