// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_crypto.c - SipHash-2-4 against the vectors of its paper (key 00..0f,
 * message 00..0e: a129ca6149be45e5; and the empty message), and the tokens
 * built on it: facts come back as sealed, nothing of them is in the text,
 * every one-character change is refused, another key's token is "expired".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/siphash.h"
#include "inused/token.h"

static void test_siphash_paper_vectors(void **state)
{
	uint8_t key[16], msg[15];
	struct siphash_key k;

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	siphash_key_from_bytes(&k, key);
	/* Aumasson, Bernstein: "SipHash: a fast short-input PRF", appendix A */
	assert_true(k.k0 == 0x0706050403020100ULL && k.k1 == 0x0f0e0d0c0b0a0908ULL);
	assert_true(siphash24(&k, msg, 15) == 0xa129ca6149be45e5ULL);
	/* the empty message, under the same key */
	assert_true(siphash24(&k, msg, 0) == 0x726fdb47dd0e0e31ULL);
	/* every length differs (the length is in the last word) */
	for (size_t a = 0; a < 15; a++)
		for (size_t b = a + 1; b <= 15; b++)
			assert_true(siphash24(&k, msg, a) != siphash24(&k, msg, b));
}

static const uint8_t seed_a[40] = "0123456789abcdef0123456789ABCDEF-instanc";
static const uint8_t seed_b[40] = "fedcba9876543210fedcba9876543210-another";

static const struct token_facts facts = {
    .dev = (254u << 20) | 1,
    .ino = 0x1d2c3b4a5968ULL,
    .size = 0x1234,
    .mtime_ns = 1796040854027054000ULL,
    .ctime_ns = 1796040854027054001ULL,
    .life = 4321,
    .open_gen = 2,
    .write_gen = 3,
};

static void test_token_round_trip_and_opaque(void **state)
{
	struct token_key k;
	struct token_facts f;
	char t1[TOKEN_TEXT_MAX], t2[TOKEN_TEXT_MAX], hex[32];

	token_key_set(&k, seed_a);
	token_seal(&k, &facts, t1);
	token_seal(&k, &facts, t2);
	assert_int_equal(strncmp(t1, "2.", 2), 0);
	assert_string_not_equal(t1, t2); /* a nonce each */
	assert_int_equal(token_open(&k, t1, &f), TOKEN_OK);
	assert_true(f.dev == facts.dev && f.ino == facts.ino && f.size == facts.size &&
		    f.mtime_ns == facts.mtime_ns && f.ctime_ns == facts.ctime_ns &&
		    f.life == facts.life && f.open_gen == facts.open_gen &&
		    f.write_gen == facts.write_gen);
	assert_int_equal(token_open(&k, t2, &f), TOKEN_OK);
	snprintf(hex, sizeof(hex), "%" PRIx64, facts.ino);
	assert_null(strstr(t1, hex));
	snprintf(hex, sizeof(hex), "%" PRIu64, facts.ino);
	assert_null(strstr(t1, hex));
}

/* The text of a token is fixed by its key, nonce and facts: sealing
 * stays the same whatever way it is computed (these were made by the
 * first implementation, one SipHash call per keystream block). */
static void test_token_text_stable(void **state)
{
	struct token_key k;
	char t[TOKEN_TEXT_MAX];

	token_key_set(&k, seed_a);
	token_seal(&k, &facts, t);
	assert_string_equal(t, "2.Ai1pbnN0YW5jAAAAAAAAAACgytNkf4-u5ms3BuhTkj5sSFPkxt5ym9zxwE-9kYiCHKL"
			       "Qi4nkPT50-R7sIhjyLsjLtk3H_edtcDdQgWqAo1uXj5nMMw");
	token_seal(&k, &facts, t);
	assert_string_equal(t, "2.Ai1pbnN0YW5jAQAAAAAAAAD7een8YuUXkjtaQGrHnUyGbwNIQW5js2ukRD3VyH5P9eb"
			       "MpFVZnq-AKYOPs3jr1jfzxsoUW9pxsccfxrIpwAwFGy9Kpw");
}

static void test_token_tampering_refused(void **state)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/";
	struct token_key k, other;
	struct token_facts f;
	char t[TOKEN_TEXT_MAX], bad[TOKEN_TEXT_MAX + 2];
	size_t len;

	token_key_set(&k, seed_a);
	token_key_set(&other, seed_b);
	token_seal(&k, &facts, t);
	len = strlen(t);
	/* every position, every other character */
	for (size_t i = 0; i < len; i++) {
		for (const char *c = b64; *c; c++) {
			if (*c == t[i])
				continue;
			memcpy(bad, t, len + 1);
			bad[i] = *c;
			assert_int_not_equal(token_open(&k, bad, &f), TOKEN_OK);
		}
	}
	/* shortened, lengthened, empty, an old-style token */
	memcpy(bad, t, len + 1);
	bad[len - 1] = '\0';
	assert_int_equal(token_open(&k, bad, &f), TOKEN_BAD);
	snprintf(bad, sizeof(bad), "%sA", t);
	assert_int_equal(token_open(&k, bad, &f), TOKEN_BAD);
	assert_int_equal(token_open(&k, "", &f), TOKEN_BAD);
	assert_int_equal(token_open(&k, NULL, &f), TOKEN_BAD);
	assert_int_equal(token_open(&k, "1.fe00001.4d2.1234.0.0.0.0.0.1", &f), TOKEN_BAD);
	/* another key (another start of the daemon): expired */
	assert_int_equal(token_open(&other, t, &f), TOKEN_EXPIRED);
}

static void test_token_keys_random(void **state)
{
	struct token_key a, b;
	char t[TOKEN_TEXT_MAX];
	struct token_facts f;

	assert_int_equal(token_key_init(&a), 0);
	assert_int_equal(token_key_init(&b), 0);
	assert_true(a.instance != b.instance || a.mac.k0 != b.mac.k0);
	token_seal(&a, &facts, t);
	assert_int_equal(token_open(&a, t, &f), TOKEN_OK);
	assert_int_not_equal(token_open(&b, t, &f), TOKEN_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_siphash_paper_vectors),
	    cmocka_unit_test(test_token_round_trip_and_opaque),
	    cmocka_unit_test(test_token_text_stable),
	    cmocka_unit_test(test_token_tampering_refused),
	    cmocka_unit_test(test_token_keys_random),
	};

	return cmocka_run_group_tests_name("siphash and tokens", tests, NULL, NULL);
}
