/*
 * sha1.h - SHA-1 (FIPS 180-4) and HMAC-SHA1 (RFC 2104), on bytes in memory.
 *
 * SHA-1 is broken for collision resistance and is here only where a protocol
 * names it: the WebSocket handshake (RFC 6455 derives Sec-WebSocket-Accept
 * from it) and a challenge-response between peers, where HMAC-SHA1 is still
 * sound because HMAC does not rest on collision resistance.
 *
 * The context is a plain struct rather than an opaque type so callers keep it
 * on the stack: hashing never allocates. Its fields are private to sha1.c.
 */
#ifndef HUBCHAT_SHA1_H
#define HUBCHAT_SHA1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN   20   /* bytes in a digest */
#define SHA1_BLOCK 64   /* bytes in a block: HMAC pads its key to this */

struct sha1 {
	uint32_t h[5];                  /* the chaining state */
	uint64_t total;                 /* bytes hashed so far */
	unsigned char buf[SHA1_BLOCK];  /* a partial block */
	size_t fill;                    /* bytes in buf, always < SHA1_BLOCK */
};

/* Starts a new hash in ctx. Never fails. */
void sha1_init(struct sha1 *ctx);

/* Adds data[0..len) to the hash; len may be 0 and data then NULL. */
void sha1_update(struct sha1 *ctx, const void *data, size_t len);

/* Writes the digest of everything added since sha1_init to out. ctx is spent
 * afterwards: call sha1_init before using it again. */
void sha1_final(struct sha1 *ctx, unsigned char out[SHA1_LEN]);

/* The digest of data[0..len) in one call. */
void sha1_digest(const void *data, size_t len, unsigned char out[SHA1_LEN]);

/* HMAC-SHA1 of data[0..len) under key[0..keylen) (any length; a key longer
 * than a block is hashed first, as RFC 2104 says). */
void sha1_hmac(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[SHA1_LEN]);

/* True when the two digests are equal. It takes the same time whatever the
 * bytes are, so comparing a received HMAC with the expected one tells an
 * attacker nothing about how many leading bytes matched. */
bool sha1_equal(const unsigned char a[SHA1_LEN],
    const unsigned char b[SHA1_LEN]);

#endif
