/*
 * base64.c - base64 encoding and strict decoding; see base64.h.
 *
 * Each group of 3 bytes becomes 4 characters of 6 bits each. The decoder
 * first settles the padding of the last group (how many '=' and what the
 * decoded length will be), then decodes every group with one table lookup
 * per character, -1 in the table marking a character outside the alphabet.
 */
#include "base64.h"

#include <assert.h>
#include <stdint.h>

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const void *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = in;
	size_t o = 0;

	assert(outsz >= BASE64_ENCODED_LEN(len) + 1);
	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t v = (uint32_t)p[i] << 16;
		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = base64_alphabet[v >> 18 & 63];
		out[o++] = base64_alphabet[v >> 12 & 63];
		out[o++] = left > 1 ? base64_alphabet[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? base64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

/* The 6-bit value of character c, or -1 when c is not in the alphabet
 * ('=' included: padding is handled before any lookup). */
static int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* How many '=' end in[0..len) (len a positive multiple of 4): 0, 1 or 2,
 * or -1 when there are more. */
static int
base64_padding(const char *in, size_t len)
{
	int pad = 0;

	while (pad < 3 && in[len - 1 - pad] == '=')
		pad++;
	return pad <= 2 ? pad : -1;
}

ssize_t
base64_decode(const char *in, size_t len, void *out, size_t outsz)
{
	unsigned char *o = out;
	int pad;

	if (len % 4 != 0)
		return -1;
	if (len == 0)
		return 0;
	if ((pad = base64_padding(in, len)) < 0)
		return -1;
	size_t n = len / 4 * 3 - (size_t)pad;
	if (n > outsz)
		return -1;

	size_t chars = len - (size_t)pad, k = 0;
	uint32_t acc = 0;
	for (size_t i = 0; i < chars; i++) {
		int v = base64_value((unsigned char)in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			o[k++] = (unsigned char)(acc >> 16);
			o[k++] = (unsigned char)(acc >> 8);
			o[k++] = (unsigned char)acc;
			acc = 0;
		}
	}
	/* The last group: 3 characters hold 2 bytes and 2 spare bits, 2
	 * characters hold 1 byte and 4 spare bits; spare bits must be 0. */
	if (pad == 1) {
		if (acc & 0x3)
			return -1;
		o[k++] = (unsigned char)(acc >> 10);
		o[k++] = (unsigned char)(acc >> 2);
	} else if (pad == 2) {
		if (acc & 0xF)
			return -1;
		o[k++] = (unsigned char)(acc >> 4);
	}
	assert(k == n);
	return (ssize_t)n;
}
