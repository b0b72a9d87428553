/*
 * base64.h - base64 (RFC 4648 section 4, the standard alphabet with '='
 * padding), on bytes in memory.
 *
 * Decoding is strict because its input comes from the network (a
 * WebSocket key): it accepts only the canonical encoding of some bytes, so
 * every byte string has exactly one accepted spelling. That means no
 * whitespace, no missing or extra padding, no characters outside the
 * alphabet, and no set bits in the unused low bits before the padding
 * (RFC 4648 section 3.5 lets a decoder reject those).
 */
#ifndef HUBCHAT_BASE64_H
#define HUBCHAT_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* Characters in the encoding of n bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)

/* Bytes that decoding n characters can yield at most. */
#define BASE64_DECODED_MAX(n) ((n) / 4 * 3)

/* Encodes in[0..len) into out and ends it with a NUL; outsz must be at least
 * BASE64_ENCODED_LEN(len) + 1 (asserted). Returns the characters written,
 * not counting the NUL. Never fails. */
size_t base64_encode(const void *in, size_t len, char *out, size_t outsz);

/* Decodes in[0..len) into out. Returns the bytes decoded, or -1 when the
 * input is not canonical base64 (see above) or out, of outsz bytes, is too
 * small for them; out's contents are unspecified after -1. BASE64_DECODED_MAX
 * (len) bytes are always enough. The empty string decodes to 0 bytes. */
ssize_t base64_decode(const char *in, size_t len, void *out, size_t outsz);

#endif
