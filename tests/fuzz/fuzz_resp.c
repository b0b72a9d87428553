/*
 * fuzz_resp.c - libFuzzer target: the RESP2 reply parser and the encoder.
 * Each property that breaks aborts:
 *   - the same bytes, fed whole and in random chunks, give the same replies
 *     in the same order, and then the same error or none;
 *   - every reply keeps within the limits: bulk and line lengths, array
 *     sizes, nesting depth;
 *   - the memory live at any moment while parsing, counted by sanitizer
 *     malloc hooks, never exceeds max_reply;
 *   - a command encoded from pieces of the input parses back to them.
 *
 * Byte 0 of the input picks the limits (the defaults, or small ones that
 * are reached often), bytes 1-4 seed the chunk sizes, the rest is fed.
 */
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

static const struct resp_limits presets[] = {
	{ 0 },          /* the defaults */
	{ .max_bulk = 16, .max_line = 16, .max_elems = 4, .max_depth = 3,
	  .max_reply = 1024 },
	{ .max_bulk = 1024, .max_line = 64, .max_elems = 64, .max_depth = 8,
	  .max_reply = 16384 },
	{ .max_bulk = 1, .max_line = 1, .max_elems = 1, .max_depth = 1,
	  .max_reply = 100 },
};

#define NPRESETS (sizeof(presets) / sizeof(presets[0]))

/* The limits in force for a preset: its own, or the defaults for zero. */
static struct resp_limits
effective(const struct resp_limits *l)
{
	return (struct resp_limits){
		.max_bulk = l->max_bulk ? l->max_bulk : RESP_MAX_BULK,
		.max_line = l->max_line ? l->max_line : RESP_MAX_LINE,
		.max_elems = l->max_elems ? l->max_elems : RESP_MAX_ELEMS,
		.max_depth = l->max_depth ? l->max_depth : RESP_MAX_DEPTH,
		.max_reply = l->max_reply ? l->max_reply : RESP_MAX_REPLY,
	};
}

/* Bytes allocated and not yet freed while counting is on, and the most. */
static int counting;
static long long live, peak;

static void
on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	if (counting && (live += (long long)size) > peak)
		peak = live;
}

static void
on_free(const volatile void *p)
{
	if (counting && p != NULL)
		live -= (long long)__sanitizer_get_allocated_size(p);
}

/* What a run saw: how many replies, a hash of all of them in order, and
 * the error that ended it ("" for none). */
struct outcome {
	size_t replies;
	uint64_t hash;
	char err[128];
};

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

/* Hashes r into h, checking it keeps within lim at nesting depth. */
static uint64_t
walk(const struct resp_reply *r, const struct resp_limits *lim,
    size_t depth, uint64_t h)
{
	enum resp_type t = resp_type(r);
	size_t len, n = resp_count(r);
	const char *s = resp_str(r, &len);

	h = mix(h, &t, sizeof(t));
	if (t == RESP_INTEGER) {
		long long v = resp_integer(r);
		return mix(h, &v, sizeof(v));
	}
	if ((t == RESP_BULK && len > lim->max_bulk) ||
	    ((t == RESP_STRING || t == RESP_ERROR) && len > lim->max_line) ||
	    (t == RESP_ARRAY &&
	    (n > lim->max_elems || depth >= lim->max_depth)))
		abort();
	if (s != NULL && s[len] != '\0')
		abort();
	h = mix(mix(h, &len, sizeof(len)), s, len);
	h = mix(h, &n, sizeof(n));
	for (size_t i = 0; i < n; i++)
		h = walk(resp_elem(r, i), lim, depth + 1, h);
	return h;
}

/* Parses data in chunks drawn from seed (0: all at once) and records the
 * outcome, checking the memory bound as it goes. */
static void
run(const uint8_t *data, size_t size, const struct resp_limits *preset,
    uint32_t seed, struct outcome *o)
{
	struct resp_limits lim = effective(preset);
	struct resp_parser *p = resp_parser_new(preset);
	enum resp_parse st = RESP_PARSE_MORE;
	size_t off = 0, end = 0;

	if (p == NULL)
		abort();
	*o = (struct outcome){ .hash = 1469598103934665603ULL };
	live = peak = 0;
	counting = 1;
	while (off < size && st != RESP_PARSE_ERROR) {
		if (off == end) {
			size_t take = size - off;
			if (seed != 0) {
				seed = seed * 1103515245u + 12345u;
				take = 1 + (seed >> 8) %
				    ((seed & 0x10000) ? 7 : 700);
			}
			end = take < size - off ? off + take : size;
		}
		struct resp_reply *r;
		size_t used;
		st = resp_parser_feed(p, (const char *)data + off, end - off,
		    &used, &r);
		off += used;
		if (st == RESP_PARSE_REPLY) {
			o->hash = walk(r, &lim, 0, o->hash);
			o->replies++;
			resp_reply_free(r);
		}
	}
	counting = 0;
	if (peak > (long long)lim.max_reply)
		abort();
	strcpy(o->err, resp_parser_error(p));
	resp_parser_free(p);
}

/* Splits data into up to eight pieces, encodes them as a command and
 * checks the parser reads back exactly those pieces. */
static void
round_trip(const uint8_t *data, size_t size)
{
	const char *argv[8];
	size_t lens[8], used;
	int argc = 1 + (size > 0 ? data[0] % 8 : 0);
	struct resp_buf b = { 0 };
	struct resp_reply *r;

	for (int i = 0; i < argc; i++) {
		argv[i] = (const char *)data + size * i / argc;
		lens[i] = size * (i + 1) / argc - size * i / argc;
	}
	struct resp_parser *p = resp_parser_new(NULL);
	if (p == NULL || resp_encode(&b, argc, argv, lens) < 0 ||
	    resp_parser_feed(p, b.data, b.len, &used, &r) != RESP_PARSE_REPLY ||
	    used != b.len || resp_count(r) != (size_t)argc)
		abort();
	for (int i = 0; i < argc; i++) {
		size_t len;
		const char *s = resp_str(resp_elem(r, i), &len);
		if (resp_type(resp_elem(r, i)) != RESP_BULK || len != lens[i] ||
		    (len > 0 && memcmp(s, argv[i], len) != 0))
			abort();
	}
	resp_reply_free(r);
	resp_parser_free(p);
	resp_buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct outcome whole, chunked;
	static int hooked;
	const struct resp_limits *lim = &presets[0];
	uint32_t seed = 1;

	if (!hooked) {
		__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
		hooked = 1;
	}
	if (size >= 5) {
		lim = &presets[data[0] % NPRESETS];
		memcpy(&seed, data + 1, 4);
		seed |= 1;
		data += 5;
		size -= 5;
	}
	run(data, size, lim, 0, &whole);
	run(data, size, lim, seed, &chunked);
	if (whole.replies != chunked.replies || whole.hash != chunked.hash ||
	    strcmp(whole.err, chunked.err) != 0)
		abort();
	round_trip(data, size);
	return 0;
}
