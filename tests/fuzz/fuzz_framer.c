/*
 * fuzz_framer.c - libFuzzer target: the line framer fed the same bytes in
 * random chunkings must report the same events, and every line it reports
 * must hold no LF and at most PROTO_MAX_LINE bytes.
 *
 * The first 4 bytes of the input seed the chunk sizes; the rest is fed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define MAX_EVENTS 4096

struct events {
	int n;
	uint64_t sum[MAX_EVENTS];   /* FNV-1a of each line, 0 for too long */
	size_t len[MAX_EVENTS];
};

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h | 1;
}

/* Frames data in chunks drawn from seed (0 = all at once). */
static void
frame(const uint8_t *data, size_t size, uint32_t seed, struct events *ev)
{
	struct framer *f = framer_new(PROTO_MAX_LINE);
	size_t off = 0;

	ev->n = 0;
	while (off < size) {
		size_t room;
		char *space = framer_space(f, &room);
		if (room <= PROTO_MAX_LINE)
			abort();        /* the framer promised room for a line */
		size_t take = size - off;
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			take = 1 + (seed >> 8) % 1500;
		}
		if (take > size - off)
			take = size - off;
		if (take > room)
			take = room;
		memcpy(space, data + off, take);
		framer_commit(f, take);
		off += take;

		enum framer_event e;
		char *line;
		size_t len;
		while ((e = framer_next(f, &line, &len)) != FRAMER_NEED_MORE &&
		    ev->n < MAX_EVENTS) {
			if (e == FRAMER_LINE && (len > PROTO_MAX_LINE ||
			    memchr(line, '\n', len) != NULL || line[len] != '\0'))
				abort();
			ev->sum[ev->n] = e == FRAMER_LINE ? fnv1a(line, len) : 0;
			ev->len[ev->n++] = e == FRAMER_LINE ? len : 0;
		}
	}
	framer_free(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct events whole, chunked;
	uint32_t seed = 1;

	if (size >= 4) {
		memcpy(&seed, data, 4);
		seed |= 1;
		data += 4;
		size -= 4;
	}
	frame(data, size, 0, &whole);
	frame(data, size, seed, &chunked);
	if (whole.n != chunked.n ||
	    memcmp(whole.sum, chunked.sum, sizeof(whole.sum[0]) * whole.n) != 0 ||
	    memcmp(whole.len, chunked.len, sizeof(whole.len[0]) * whole.n) != 0)
		abort();
	return 0;
}
