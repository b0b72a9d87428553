/*
 * test_sha1.c - SHA-1 against the FIPS 180 / RFC 3174 vectors, HMAC-SHA1
 * against RFC 2202's, and the incremental interface against the one-shot.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sha1.h"

static const char *
hex(const unsigned char d[SHA1_LEN])
{
	static char s[2 * SHA1_LEN + 1];

	for (int i = 0; i < SHA1_LEN; i++)
		snprintf(s + 2 * i, 3, "%02x", d[i]);
	return s;
}

static const char *
digest(const char *s, size_t len)
{
	unsigned char d[SHA1_LEN];

	sha1_digest(s, len, d);
	return hex(d);
}

Test(sha1, fips_vectors)
{
	cr_assert_str_eq(digest("", 0),
	    "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	cr_assert_str_eq(digest("abc", 3),
	    "a9993e364706816aba3e25717850c26c9cd0d89d");
	/* 56 bytes: the length no longer fits in the first padded block. */
	const char *two =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	cr_assert_str_eq(digest(two, strlen(two)),
	    "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

Test(sha1, rfc3174_repeated_and_million_a)
{
	const char *eight = "01234567";
	struct sha1 ctx;
	unsigned char d[SHA1_LEN];

	sha1_init(&ctx);
	for (int i = 0; i < 80; i++)   /* RFC 3174's TEST4: 640 bytes */
		sha1_update(&ctx, eight, 8);
	sha1_final(&ctx, d);
	cr_assert_str_eq(hex(d), "dea356a2cddd90c7a7ecedc5ebb563934f460452");

	static char a[1000];
	memset(a, 'a', sizeof(a));
	sha1_init(&ctx);
	for (int i = 0; i < 1000; i++)
		sha1_update(&ctx, a, sizeof(a));
	sha1_final(&ctx, d);
	cr_assert_str_eq(hex(d), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

/* Lengths around the block and padding edges, cross-checked with Python's
 * hashlib; and every split of each input gives the one-shot digest. */
Test(sha1, block_edges_and_every_split)
{
	static char a[200];
	memset(a, 'a', sizeof(a));
	cr_assert_str_eq(digest(a, 55),
	    "c1c8bbdc22796e28c0e15163d20899b65621d65a");
	cr_assert_str_eq(digest(a, 64),
	    "0098ba824b5c16427bd7a1122a5a442a25ec644d");

	for (size_t len = 0; len <= 130; len++) {
		unsigned char whole[SHA1_LEN], split[SHA1_LEN];
		for (size_t i = 0; i < len; i++)
			a[i] = (char)(i * 7 + len);
		sha1_digest(a, len, whole);
		for (size_t cut = 0; cut <= len; cut++) {
			struct sha1 ctx;
			sha1_init(&ctx);
			sha1_update(&ctx, a, cut);
			sha1_update(&ctx, a + cut, len - cut);
			sha1_final(&ctx, split);
			cr_assert(memcmp(whole, split, SHA1_LEN) == 0,
			    "len %zu cut %zu", len, cut);
		}
	}
}

static const char *
hmac(const void *key, size_t klen, const void *data, size_t dlen)
{
	unsigned char d[SHA1_LEN];

	sha1_hmac(key, klen, data, dlen, d);
	return hex(d);
}

Test(sha1, hmac_rfc2202)
{
	unsigned char k[80], m[80];

	memset(k, 0x0b, 20);
	cr_assert_str_eq(hmac(k, 20, "Hi There", 8),
	    "b617318655057264e28bc0b6fb378c8ef146be00");
	cr_assert_str_eq(hmac("Jefe", 4, "what do ya want for nothing?", 28),
	    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
	memset(k, 0xaa, 20);
	memset(m, 0xdd, 50);
	cr_assert_str_eq(hmac(k, 20, m, 50),
	    "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
	for (int i = 0; i < 25; i++)
		k[i] = (unsigned char)(i + 1);
	memset(m, 0xcd, 50);
	cr_assert_str_eq(hmac(k, 25, m, 50),
	    "4c9007f4026250c6bc8414f9bf50c86c2d7235da");
	memset(k, 0x0c, 20);
	cr_assert_str_eq(hmac(k, 20, "Test With Truncation", 20),
	    "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
}

Test(sha1, hmac_rfc2202_keys_longer_than_a_block)
{
	unsigned char k[80];
	const char *m1 =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	const char *m2 = "Test Using Larger Than Block-Size Key and Larger "
	    "Than One Block-Size Data";

	memset(k, 0xaa, sizeof(k));
	cr_assert_str_eq(hmac(k, 80, m1, strlen(m1)),
	    "aa4ae5e15272d00e95705637ce8a3b55ed402112");
	cr_assert_str_eq(hmac(k, 80, m2, strlen(m2)),
	    "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
}

Test(sha1, equal_compares_every_byte)
{
	unsigned char a[SHA1_LEN], b[SHA1_LEN];

	sha1_digest("x", 1, a);
	memcpy(b, a, SHA1_LEN);
	cr_assert(sha1_equal(a, b));
	for (int i = 0; i < SHA1_LEN; i++) {
		b[i] ^= 0x01;
		cr_assert(!sha1_equal(a, b), "byte %d", i);
		b[i] ^= 0x01;
	}
}
