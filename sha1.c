/*
 * sha1.c - SHA-1 and HMAC-SHA1; see sha1.h for the contract.
 *
 * The hash works on 64-byte blocks. sha1_update keeps a partial block in the
 * context and compresses every full one; sha1_final appends the padding
 * (one 1 bit, zeros, then the message length in bits, big-endian) so the
 * total is a whole number of blocks. Words are read and written big-endian
 * byte by byte, so the code does not depend on the host's byte order.
 */
#include "sha1.h"

#include <assert.h>
#include <string.h>

static uint32_t
sha1_rol(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static uint32_t
sha1_load32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
sha1_store32(unsigned char *p, uint32_t x)
{
	p[0] = (unsigned char)(x >> 24);
	p[1] = (unsigned char)(x >> 16);
	p[2] = (unsigned char)(x >> 8);
	p[3] = (unsigned char)x;
}

/* The round function and constant for round t (0-79) of the 80. */
static uint32_t
sha1_f(unsigned t, uint32_t b, uint32_t c, uint32_t d, uint32_t *k)
{
	if (t < 20) {
		*k = 0x5A827999;
		return (b & c) | (~b & d);
	} else if (t < 40) {
		*k = 0x6ED9EBA1;
		return b ^ c ^ d;
	} else if (t < 60) {
		*k = 0x8F1BBCDC;
		return (b & c) | (b & d) | (c & d);
	}
	*k = 0xCA62C1D6;
	return b ^ c ^ d;
}

/* Folds one 64-byte block into the chaining state. The message schedule is
 * kept as a rolling window of 16 words instead of all 80. */
static void
sha1_compress(uint32_t h[5], const unsigned char block[SHA1_BLOCK])
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (unsigned t = 0; t < 16; t++)
		w[t] = sha1_load32(block + 4 * t);
	for (unsigned t = 0; t < 80; t++) {
		if (t >= 16)
			w[t % 16] = sha1_rol(w[(t - 3) % 16] ^ w[(t - 8) % 16] ^
			    w[(t - 14) % 16] ^ w[t % 16], 1);
		uint32_t k, f = sha1_f(t, b, c, d, &k);
		uint32_t tmp = sha1_rol(a, 5) + f + e + k + w[t % 16];
		e = d;
		d = c;
		c = sha1_rol(b, 30);
		b = a;
		a = tmp;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
sha1_init(struct sha1 *ctx)
{
	static const uint32_t iv[5] = {
		0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0,
	};

	memcpy(ctx->h, iv, sizeof(iv));
	ctx->total = 0;
	ctx->fill = 0;
}

void
sha1_update(struct sha1 *ctx, const void *data, size_t len)
{
	const unsigned char *p = data;

	assert(ctx->fill < SHA1_BLOCK);
	ctx->total += len;
	while (len > 0) {
		size_t take = SHA1_BLOCK - ctx->fill;
		if (take > len)
			take = len;
		memcpy(ctx->buf + ctx->fill, p, take);
		ctx->fill += take;
		p += take;
		len -= take;
		if (ctx->fill == SHA1_BLOCK) {
			sha1_compress(ctx->h, ctx->buf);
			ctx->fill = 0;
		}
	}
}

void
sha1_final(struct sha1 *ctx, unsigned char out[SHA1_LEN])
{
	uint64_t bits = ctx->total * 8;
	unsigned char len[8];

	/* The 0x80 byte, then zeros until 8 bytes remain in a block. */
	static const unsigned char pad[SHA1_BLOCK] = { 0x80 };
	size_t padlen = ctx->fill < 56 ? 56 - ctx->fill : 120 - ctx->fill;
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha1_update(ctx, pad, padlen);
	sha1_update(ctx, len, sizeof(len));
	assert(ctx->fill == 0);
	for (int i = 0; i < 5; i++)
		sha1_store32(out + 4 * i, ctx->h[i]);
}

void
sha1_digest(const void *data, size_t len, unsigned char out[SHA1_LEN])
{
	struct sha1 ctx;

	sha1_init(&ctx);
	sha1_update(&ctx, data, len);
	sha1_final(&ctx, out);
}

/* HMAC(K, m) = H((K' ^ opad) || H((K' ^ ipad) || m)), where K' is the key
 * (or its digest, when longer than a block) padded with zeros to a block. */
void
sha1_hmac(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[SHA1_LEN])
{
	unsigned char k[SHA1_BLOCK] = { 0 }, pad[SHA1_BLOCK];
	unsigned char inner[SHA1_LEN];
	struct sha1 ctx;

	if (keylen > SHA1_BLOCK)
		sha1_digest(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);

	for (int i = 0; i < SHA1_BLOCK; i++)
		pad[i] = k[i] ^ 0x36;
	sha1_init(&ctx);
	sha1_update(&ctx, pad, sizeof(pad));
	sha1_update(&ctx, data, len);
	sha1_final(&ctx, inner);

	for (int i = 0; i < SHA1_BLOCK; i++)
		pad[i] = k[i] ^ 0x5C;
	sha1_init(&ctx);
	sha1_update(&ctx, pad, sizeof(pad));
	sha1_update(&ctx, inner, sizeof(inner));
	sha1_final(&ctx, out);
}

bool
sha1_equal(const unsigned char a[SHA1_LEN], const unsigned char b[SHA1_LEN])
{
	unsigned char diff = 0;

	for (int i = 0; i < SHA1_LEN; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
