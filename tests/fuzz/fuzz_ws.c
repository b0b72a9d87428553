/*
 * fuzz_ws.c - libFuzzer target: the WebSocket frame parser fed the same
 * bytes whole and in random chunkings must report the same events, and
 * every event must keep ws.h's promises: text is valid UTF-8 of at most max
 * bytes, control payloads fit in a control frame, a close reason is UTF-8
 * with a code a client may send, an error carries one of the four codes
 * and repeats, nothing follows a close, and there is always room to read
 * into after WS_NEED_MORE. AddressSanitizer checks the parser never reads
 * or writes outside its memory.
 *
 * Input: 4 bytes seed the chunk sizes, 1 byte picks max (255 means the
 * chat's 1024; otherwise the byte itself, so short inputs reach the
 * too-long path); the rest is fed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "ws.h"

#define MAX_EVENTS 4096

struct events {
	int n;
	unsigned kind[MAX_EVENTS];
	unsigned code[MAX_EVENTS];
	size_t len[MAX_EVENTS];
	uint64_t sum[MAX_EVENTS];   /* FNV-1a of the payload, 0 without one */
};

static uint64_t
fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h | 1;
}

/* A close's code: one a client may send, or 1005 for an empty close. */
static bool
close_code_ok(const struct ws_event *ev)
{
	unsigned c = ev->code;

	if (c == 1005)
		return ev->len == 0;
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
	    (c >= 3000 && c <= 4999);
}

/* Aborts unless ev keeps the promises ws.h makes for its kind. */
static void
check_event(const struct ws_event *ev, size_t max)
{
	if (ev->data != NULL && ev->data[ev->len] != '\0')
		abort();
	switch (ev->kind) {
	case WS_TEXT:
		if (ev->len > max || !proto_utf8_ok(ev->data, ev->len))
			abort();
		break;
	case WS_PING:
	case WS_PONG:
		if (ev->len > WS_MAX_CONTROL)
			abort();
		break;
	case WS_CLOSE:
		if (ev->len > WS_MAX_CONTROL - 2 ||
		    !proto_utf8_ok(ev->data, ev->len) || !close_code_ok(ev))
			abort();
		break;
	case WS_ERROR:
		if (ev->code != 1002 && ev->code != 1003 &&
		    ev->code != 1007 && ev->code != 1009)
			abort();
		break;
	default:
		if (ev->kind != WS_TOO_LONG)
			abort();
	}
}

static void
record(struct events *evs, const struct ws_event *ev)
{
	if (evs->n == MAX_EVENTS)
		return;
	evs->kind[evs->n] = ev->kind;
	evs->code[evs->n] = ev->code;
	evs->len[evs->n] = ev->len;
	evs->sum[evs->n++] = ev->data != NULL ? fnv1a(ev->data, ev->len) : 0;
}

/* Takes every event the committed bytes hold. Returns false once the parse
 * has ended (an error or a close). */
static bool
drain(struct ws_parser *p, size_t max, struct events *evs)
{
	struct ws_event ev, again;

	while (ws_parser_next(p, &ev) != WS_NEED_MORE) {
		check_event(&ev, max);
		record(evs, &ev);
		if (ev.kind == WS_ERROR) {
			if (ws_parser_next(p, &again) != WS_ERROR ||
			    again.code != ev.code)
				abort();
			return false;
		}
		if (ev.kind == WS_CLOSE) {
			if (ws_parser_next(p, &again) != WS_NEED_MORE)
				abort();
			return false;
		}
	}
	return true;
}

/* Parses data in chunks drawn from seed (0 = all at once). */
static void
parse(const uint8_t *data, size_t size, size_t max, uint32_t seed,
    struct events *evs)
{
	struct ws_parser *p = ws_parser_new(max);
	size_t off = 0;

	if (p == NULL)
		abort();
	evs->n = 0;
	while (off < size) {
		size_t room;
		char *space = ws_parser_space(p, &room);
		if (room < WS_MIN_ROOM)
			abort();
		size_t take = size - off;
		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			take = 1 + (seed >> 8) % 300;
		}
		if (take > size - off)
			take = size - off;
		if (take > room)
			take = room;
		memcpy(space, data + off, take);
		ws_parser_commit(p, take);
		off += take;
		if (!drain(p, max, evs))
			break;
	}
	ws_parser_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct events whole, chunked;
	uint32_t seed;

	if (size < 5)
		return 0;
	memcpy(&seed, data, 4);
	seed |= 1;
	size_t max = data[4] == 255 ? 1024 : data[4];
	data += 5;
	size -= 5;

	parse(data, size, max, 0, &whole);
	parse(data, size, max, seed, &chunked);
	size_t n = (size_t)whole.n;
	if (whole.n != chunked.n ||
	    memcmp(whole.kind, chunked.kind, n * sizeof(whole.kind[0])) != 0 ||
	    memcmp(whole.code, chunked.code, n * sizeof(whole.code[0])) != 0 ||
	    memcmp(whole.len, chunked.len, n * sizeof(whole.len[0])) != 0 ||
	    memcmp(whole.sum, chunked.sum, n * sizeof(whole.sum[0])) != 0)
		abort();
	return 0;
}
