/*
 * test_base64.c - base64 against RFC 4648 section 10, and the strict
 * decoder's refusals.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base64.h"

static const char *rfc4648[][2] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

Test(base64, rfc4648_vectors_both_ways)
{
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		const char *plain = rfc4648[i][0], *code = rfc4648[i][1];
		char enc[16], dec[16];
		size_t n = base64_encode(plain, strlen(plain), enc,
		    sizeof(enc));
		cr_assert_eq(n, strlen(code));
		cr_assert_eq(n, BASE64_ENCODED_LEN(strlen(plain)));
		cr_assert_str_eq(enc, code);
		ssize_t m = base64_decode(code, strlen(code), dec, sizeof(dec));
		cr_assert_eq(m, (ssize_t)strlen(plain), "%s", code);
		cr_assert(memcmp(dec, plain, (size_t)m) == 0, "%s", code);
	}
}

Test(base64, every_byte_value_round_trips)
{
	unsigned char in[256], back[256];
	char enc[BASE64_ENCODED_LEN(256) + 1];

	for (int i = 0; i < 256; i++)
		in[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= sizeof(in); len += 1 + len / 8) {
		size_t n = base64_encode(in, len, enc, sizeof(enc));
		cr_assert_eq(base64_decode(enc, n, back, sizeof(back)),
		    (ssize_t)len, "len %zu", len);
		cr_assert(memcmp(in, back, len) == 0, "len %zu", len);
	}
}

#define BAD(s) cr_assert_eq(base64_decode(s, sizeof(s) - 1, out, \
    sizeof(out)), -1, "%s", #s)

Test(base64, strict_decode_refuses)
{
	unsigned char out[32];

	BAD("Zg");              /* no padding */
	BAD("Zg=");             /* length not a multiple of 4 */
	BAD("Zm9vY");
	BAD("Zg===");
	BAD("Z===");            /* three '=' */
	BAD("====");
	BAD("Zg==Zg==");        /* padding in the middle */
	BAD("Z=g=");
	BAD("=Zm9");
	BAD("Zm9v\n");          /* whitespace */
	BAD("Zm 9v");
	BAD("Zm9-");            /* the URL-safe alphabet is not this one */
	BAD("Zm9_");
	BAD("Zm9\0");
	BAD("Zm9\xc3");
	BAD("Zh==");            /* 'h' leaves set bits before the padding */
	BAD("Zm9=");            /* '9' leaves set bits before the padding */
}

Test(base64, decode_respects_out_size)
{
	unsigned char out[6];

	cr_assert_eq(base64_decode("Zm9vYmFy", 8, out, 6), 6);
	cr_assert_eq(base64_decode("Zm9vYmFy", 8, out, 5), -1);
	cr_assert_eq(base64_decode("Zm9vYg==", 8, out, 4), 4);
	cr_assert_eq(base64_decode("Zm9vYg==", 8, out, 3), -1);
	cr_assert_eq(base64_decode("", 0, NULL, 0), 0);
}
