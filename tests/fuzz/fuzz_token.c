// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz_token - the copy-fence tokens (token.h). Invariants: (1) any text
 * that opens is a token this key sealed: sealing its facts again with its
 * nonce gives the same text; (2) facts sealed and opened come back the
 * same; (3) a sealed token with any one character changed does not open;
 * (4) a token of another key does not open as OK.
 *
 * Input: a text to open; also read as facts, and as where to change one
 * character.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inused/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The nonce of a token's text (bytes 9..16 of its binary form). */
static uint64_t nonce_of(const char *text)
{
	uint8_t bin[128];
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	uint64_t v = 0;

	for (const char *p = text + 2; *p && n < sizeof(bin); p++) {
		acc = acc << 6 | (uint32_t)(strchr(b64, *p) - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bin[n++] = (uint8_t)(acc >> bits);
		}
	}
	for (int i = 7; i >= 0; i--)
		v = v << 8 | bin[9 + i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[40] = "0123456789abcdef0123456789ABCDEF-instanc";
	static const uint8_t other_seed[40] = "fedcba9876543210fedcba9876543210-another";
	struct token_key k, other;
	struct token_facts f, g;
	char *text, tok[TOKEN_TEXT_MAX], again[TOKEN_TEXT_MAX];

	token_key_set(&k, seed);
	token_key_set(&other, other_seed);

	/* (1) */
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (token_open(&k, text, &f) == TOKEN_OK) {
		k.nonce = nonce_of(text);
		token_seal(&k, &f, again);
		if (strcmp(again, text))
			abort();
	}
	free(text);

	/* (2) */
	memset(&f, 0, sizeof(f));
	memcpy(&f, data, size < sizeof(f) ? size : sizeof(f));
	f.dev = (uint32_t)f.dev;
	k.nonce = size;
	token_seal(&k, &f, tok);
	if (token_open(&k, tok, &g) != TOKEN_OK || f.dev != g.dev || f.ino != g.ino ||
	    f.size != g.size || f.mtime_ns != g.mtime_ns || f.ctime_ns != g.ctime_ns ||
	    f.life != g.life || f.open_gen != g.open_gen || f.write_gen != g.write_gen)
		abort();
	/* (4) */
	if (token_open(&other, tok, &g) == TOKEN_OK)
		abort();
	/* (3) */
	if (size >= 2) {
		size_t len = strlen(tok), at = data[0] % len;
		char c = b64[data[1] % 64];

		if (c == tok[at])
			c = tok[at] == 'A' ? 'B' : 'A';
		tok[at] = c;
		if (token_open(&k, tok, &g) == TOKEN_OK)
			abort();
	}
	return 0;
}
