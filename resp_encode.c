/*
 * resp_encode.c - commands as RESP2 arrays of bulk strings; see resp.h.
 *
 * A command is "*<argc>" CR LF, then for each argument "$<len>" CR LF, its
 * bytes and CR LF. Lengths make it binary-safe: an argument may hold CR,
 * LF or NUL. An append either fits whole or leaves the buffer as it was.
 */
#include "resp.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for n more bytes in b, doubling its capacity; false when
 * memory runs out, with b unchanged. */
static bool
resp_buf_reserve(struct resp_buf *b, size_t n)
{
	if (n <= b->cap - b->len)
		return true;
	if (n > SIZE_MAX / 4 - b->len)
		return false;
	size_t cap = b->cap > 0 ? b->cap : 64;
	while (cap - b->len < n)
		cap *= 2;
	char *data = realloc(b->data, cap);
	if (data == NULL)
		return false;
	b->data = data;
	b->cap = cap;
	return true;
}

/* Appends s[0..n) to b; false when memory runs out. */
static bool
resp_buf_put(struct resp_buf *b, const char *s, size_t n)
{
	if (!resp_buf_reserve(b, n))
		return false;
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	return true;
}

/* Appends a header line: the type byte, n in decimal, CR LF. */
static bool
resp_buf_header(struct resp_buf *b, char type, size_t n)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "%c%zu\r\n", type, n);

	assert(len > 0 && (size_t)len < sizeof(line));
	return resp_buf_put(b, line, (size_t)len);
}

int
resp_encode(struct resp_buf *b, int argc, const char *const argv[],
    const size_t lens[])
{
	size_t start = b->len;

	assert(argc >= 1 && argv != NULL);
	if (!resp_buf_header(b, '*', (size_t)argc))
		goto fail;
	for (int i = 0; i < argc; i++) {
		size_t n = lens != NULL ? lens[i] : strlen(argv[i]);
		assert(argv[i] != NULL || n == 0);
		if (!resp_buf_header(b, '$', n) ||
		    !resp_buf_put(b, argv[i], n) ||
		    !resp_buf_put(b, "\r\n", 2))
			goto fail;
	}
	return 0;
fail:
	b->len = start;
	return -1;
}

void
resp_buf_free(struct resp_buf *b)
{
	free(b->data);
	*b = (struct resp_buf){ 0 };
}
