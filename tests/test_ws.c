/*
 * test_ws.c - the WebSocket handshake key, the client-frame parser (every
 * rule, fed in every chunking) and the server-frame encoders, on bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ws.h"

#define MAX_LINE 1024   /* the chat's line limit, as the server will use */

/* ---- Building client frames -------------------------------------------- */

struct bytes {
	unsigned char b[300000];
	size_t n;
};

enum { SHORTEST = 0, LEN7 = 7, LEN16 = 16, LEN64 = 64 };

/* Appends a frame whose first byte is b0 (FIN, RSV bits, opcode) and whose
 * length is written in the given form, masked unless mask is false. The
 * mask key varies with the frame's offset so frames use different keys. */
static void
put_raw(struct bytes *s, unsigned b0, bool mask, int form, const void *pay,
    size_t len)
{
	unsigned char *o = s->b + s->n, key[4] = { 0x37, 0xfa,
	    (unsigned char)(0x21 + s->n), (unsigned char)(s->n >> 3) };
	size_t h = 0;

	if (form == SHORTEST)
		form = len < 126 ? LEN7 : len <= 0xFFFF ? LEN16 : LEN64;
	o[h++] = (unsigned char)b0;
	unsigned char m = mask ? 0x80 : 0;
	if (form == LEN7) {
		o[h++] = (unsigned char)(m | len);
	} else if (form == LEN16) {
		o[h++] = m | 126;
		o[h++] = (unsigned char)(len >> 8);
		o[h++] = (unsigned char)len;
	} else {
		unsigned long long l = len;
		o[h++] = m | 127;
		for (int i = 7; i >= 0; i--)
			o[h++] = (unsigned char)(l >> (8 * i));
	}
	if (mask) {
		memcpy(o + h, key, 4);
		h += 4;
	}
	const unsigned char *src = pay;
	for (size_t i = 0; i < len; i++)
		o[h + i] = src[i] ^ (mask ? key[i & 3] : 0);
	s->n += h + len;
	cr_assert(s->n < sizeof(s->b));
}

/* A masked frame with the shortest length, payload a C string. */
static void
put(struct bytes *s, unsigned b0, const char *pay)
{
	put_raw(s, b0, true, SHORTEST, pay, strlen(pay));
}

/* A masked close frame with code and reason. */
static void
put_close(struct bytes *s, unsigned code, const char *reason)
{
	char pay[200];

	pay[0] = (char)(code >> 8);
	pay[1] = (char)code;
	memcpy(pay + 2, reason, strlen(reason));
	put_raw(s, 0x88, true, SHORTEST, pay, 2 + strlen(reason));
}

#define FIN 0x80
#define TEXT (FIN | 0x1)
#define PING (FIN | 0x9)
#define PONG (FIN | 0xA)

/* ---- Running the parser ------------------------------------------------ */

/* Writes event ev to out as run() describes it; returns its length. */
static size_t
describe(const struct ws_event *ev, char *out)
{
	switch (ev->kind) {
	case WS_TEXT:
		if (ev->len > 60)
			return (size_t)sprintf(out, "T#%zu|", ev->len);
		return (size_t)sprintf(out, "T:%s|", ev->data);
	case WS_TOO_LONG:
		return (size_t)sprintf(out, "LONG|");
	case WS_PING:
		return (size_t)sprintf(out, "PI:%s|", ev->data);
	case WS_PONG:
		return (size_t)sprintf(out, "PO:%s|", ev->data);
	case WS_CLOSE:
		return (size_t)sprintf(out, "C:%u:%s|", ev->code, ev->data);
	default:
		cr_assert_eq(ev->kind, WS_ERROR);
		return (size_t)sprintf(out, "E:%u|", ev->code);
	}
}

/* Feeds s in chunks of `chunk` bytes to a parser for messages of max bytes
 * and returns its events as one string: "T:text", "T#len" for a text over
 * 60 bytes, "LONG", "PI:payload", "PO:payload", "C:code:reason", "E:code",
 * each followed by '|'. Feeding stops at the first error. */
static const char *
run(const struct bytes *s, size_t chunk, size_t max)
{
	static char log[8192];
	struct ws_parser *p = ws_parser_new(max);
	size_t lo = 0;
	bool failed = false;

	cr_assert_not_null(p);
	log[0] = '\0';
	for (size_t off = 0; off < s->n && !failed;) {
		size_t room;
		char *space = ws_parser_space(p, &room);
		cr_assert_geq(room, WS_MIN_ROOM);
		size_t take = s->n - off < chunk ? s->n - off : chunk;
		take = take < room ? take : room;
		memcpy(space, s->b + off, take);
		ws_parser_commit(p, take);
		off += take;

		struct ws_event ev;
		while (!failed && ws_parser_next(p, &ev) != WS_NEED_MORE) {
			cr_assert(ev.data == NULL || ev.data[ev.len] == '\0');
			cr_assert(lo < sizeof(log) - 200);
			lo += describe(&ev, log + lo);
			failed = ev.kind == WS_ERROR;
		}
	}
	ws_parser_free(p);
	return log;
}

/* Asserts that s gives `want` whole and in every chunking worth trying. */
static void
expect(const struct bytes *s, size_t max, const char *want)
{
	static const size_t big[] = { 64, 100, 125, 126, 1000, 4095, 4096 };

	cr_assert_str_eq(run(s, s->n, max), want);
	for (size_t chunk = 1; chunk <= 16; chunk++)
		cr_assert_str_eq(run(s, chunk, max), want, "chunk %zu", chunk);
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++)
		cr_assert_str_eq(run(s, big[i], max), want, "chunk %zu",
		    big[i]);
}

/* ---- Handshake --------------------------------------------------------- */

Test(ws, accept_key_rfc6455_example)
{
	char out[WS_ACCEPT_LEN + 1];
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";

	cr_assert(ws_key_ok(key, strlen(key)));
	ws_accept_key(key, strlen(key), out);
	cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(ws, key_must_be_base64_of_16_bytes)
{
#define KEY_BAD(k) cr_assert(!ws_key_ok(k, strlen(k)), "%s", k)
	cr_assert(ws_key_ok("AAAAAAAAAAAAAAAAAAAAAA==", 24));
	KEY_BAD("");
	KEY_BAD("dGhlIHNhbXBsZSBub25j");          /* 15 bytes */
	KEY_BAD("dGhlIHNhbXBsZSBub25jZQ");        /* no padding */
	KEY_BAD("dGhlIHNhbXBsZSBub25jZQ==AAAA");  /* 19 bytes */
	KEY_BAD("dGhlIHNhbXBsZSBub25jZR==");      /* spare bits set */
	KEY_BAD("dGhlIHNhbXBsZSBub25jZQ= ");
	KEY_BAD("dGhlIHNhbXBsZSBub25j*Q==");
	KEY_BAD("dGhlIHNhbXBsZSBub25jZQAA");      /* 18 bytes */
	cr_assert(!ws_key_ok("dGhlIHNhbXBsZSBub25jZQ==", 23));
}

/* ---- Parsing ----------------------------------------------------------- */

Test(ws, rfc6455_examples)
{
	/* Section 5.7: a masked "Hello", a masked pong "Hello", and an
	 * unmasked "Hello" that a server must refuse from a client. */
	static const unsigned char hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21,
	    0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const unsigned char pong[] = { 0x8a, 0x85, 0x37, 0xfa, 0x21,
	    0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	static const unsigned char bare[] = { 0x81, 0x05, 'H', 'e', 'l', 'l',
	    'o' };
	static struct bytes s;

	s.n = 0;
	memcpy(s.b, hello, sizeof(hello));
	memcpy(s.b + sizeof(hello), pong, sizeof(pong));
	s.n = sizeof(hello) + sizeof(pong);
	expect(&s, MAX_LINE, "T:Hello|PO:Hello|");
	memcpy(s.b + s.n, bare, sizeof(bare));
	s.n += sizeof(bare);
	expect(&s, MAX_LINE, "T:Hello|PO:Hello|E:1002|");
}

Test(ws, fragments_with_control_frames_between)
{
	static struct bytes s;

	s.n = 0;
	put(&s, 0x01, "MSG hel");              /* text, no FIN */
	put(&s, PING, "p1");
	put(&s, 0x00, "lo ");                  /* continuation */
	put(&s, PONG, "");
	put(&s, 0x00, "");                     /* an empty fragment */
	put(&s, FIN | 0x00, "world");          /* the last one */
	put(&s, TEXT, "");                     /* an empty message */
	put(&s, TEXT, "PING");
	put_close(&s, 1000, "bye");
	put(&s, TEXT, "after close");          /* ignored */
	expect(&s, MAX_LINE, "PI:p1|PO:|T:MSG hello world|T:|T:PING|"
	    "C:1000:bye|");
}

Test(ws, unmasking_any_split_all_byte_values)
{
	static struct bytes s;
	unsigned char pay[125];
	char ping[125], text[64];
	enum ws_kind kinds[2];

	s.n = 0;
	for (int i = 0; i < 125; i++)      /* a ping may carry any bytes */
		pay[i] = (unsigned char)(i * 37 + 1);
	put_raw(&s, PING, true, SHORTEST, pay, 125);
	put(&s, TEXT, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 ok"); /* été 😀 */
	struct ws_parser *p = ws_parser_new(MAX_LINE);
	for (size_t chunk = 1; chunk <= 13; chunk++) {
		size_t off = 0, room;
		struct ws_event ev;
		int got = 0;
		while (off < s.n) {
			char *sp = ws_parser_space(p, &room);
			size_t take = s.n - off < chunk ? s.n - off : chunk;
			memcpy(sp, s.b + off, take);
			ws_parser_commit(p, take);
			off += take;
			while (ws_parser_next(p, &ev) != WS_NEED_MORE) {
				cr_assert_lt(got, 2);
				kinds[got] = ev.kind;
				if (got++ == 0)
					memcpy(ping, ev.data, 125);
				else
					snprintf(text, sizeof(text), "%s",
					    ev.data);
			}
		}
		cr_assert_eq(got, 2, "chunk %zu", chunk);
		cr_assert_eq(kinds[0], WS_PING);
		cr_assert(memcmp(ping, pay, 125) == 0, "chunk %zu", chunk);
		cr_assert_eq(kinds[1], WS_TEXT);
		cr_assert_str_eq(text, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80 ok");
	}
	ws_parser_free(p);
}

Test(ws, length_forms)
{
	static struct bytes s;
	static char big[WS_MAX_FRAME + 1];

	memset(big, 'x', sizeof(big));
	s.n = 0;
	put_raw(&s, TEXT, true, LEN7, big, 125);
	put_raw(&s, TEXT, true, LEN16, big, 126);
	put_raw(&s, TEXT, true, LEN16, big, 0xFFFF);
	put_raw(&s, TEXT, true, LEN64, big, WS_MAX_FRAME);
	expect(&s, WS_MAX_FRAME, "T#125|T#126|T#65535|T#65536|");

	s.n = 0;   /* one byte over the frame limit */
	put_raw(&s, TEXT, true, LEN64, big, WS_MAX_FRAME + 1);
	expect(&s, WS_MAX_FRAME, "E:1009|");
}

Test(ws, lengths_must_be_shortest_and_top_bit_clear)
{
	static struct bytes s;
	static char zeros[0xFFFF];
	static const unsigned char top[] = { 0x81, 0xFF, 0x80, 0, 0, 0, 0, 0,
	    0, 5, 1, 2, 3, 4 };

	s.n = 0;
	put_raw(&s, TEXT, true, LEN16, "hi", 2);
	expect(&s, MAX_LINE, "E:1002|");
	s.n = 0;
	put_raw(&s, TEXT, true, LEN16, "", 0);
	expect(&s, MAX_LINE, "E:1002|");
	s.n = 0;
	put_raw(&s, TEXT, true, LEN64, "hi", 2);
	expect(&s, MAX_LINE, "E:1002|");
	s.n = 0;
	put_raw(&s, TEXT, true, LEN64, zeros, 0xFFFF);  /* 16 bits would do */
	expect(&s, MAX_LINE, "E:1002|");
	memcpy(s.b, top, sizeof(top));
	s.n = sizeof(top);
	expect(&s, MAX_LINE, "E:1002|");
	s.b[2] = 0x7F;                           /* huge, top bit clear */
	expect(&s, MAX_LINE, "E:1009|");
}

Test(ws, too_long_reported_once_then_skipped)
{
	static struct bytes s;
	static char big[WS_MAX_FRAME];

	memset(big, 'y', sizeof(big));
	s.n = 0;
	put_raw(&s, TEXT, true, SHORTEST, big, MAX_LINE);          /* fits */
	put_raw(&s, TEXT, true, SHORTEST, big, MAX_LINE + 1);      /* over */
	put(&s, TEXT, "next");
	put_raw(&s, TEXT, true, SHORTEST, big, WS_MAX_FRAME);      /* over */
	/* Over by fragments: the third pushes it past max. */
	put_raw(&s, 0x01, true, SHORTEST, big, 600);
	put_raw(&s, 0x00, true, SHORTEST, big, 400);
	put(&s, PING, "in between");
	put_raw(&s, 0x00, true, SHORTEST, big, 100);
	put_raw(&s, 0x00, true, SHORTEST, big, 5000);
	put_raw(&s, FIN, true, SHORTEST, "\xff\xfe", 2);   /* not checked */
	put(&s, TEXT, "still here");
	expect(&s, MAX_LINE, "T#1024|LONG|T:next|LONG|PI:in between|LONG|"
	    "T:still here|");
}

Test(ws, message_limit_counts_all_fragments)
{
	static struct bytes s;
	static char big[MAX_LINE];

	memset(big, 'z', sizeof(big));
	s.n = 0;
	put_raw(&s, 0x01, true, SHORTEST, big, 1000);
	put_raw(&s, FIN, true, SHORTEST, big, 24);     /* exactly max */
	put_raw(&s, 0x01, true, SHORTEST, big, 1000);
	put_raw(&s, FIN, true, SHORTEST, big, 25);     /* one over */
	put_raw(&s, TEXT, true, SHORTEST, "", 0);
	expect(&s, MAX_LINE, "T#1024|LONG|T:|");
}

/* One frame built by put_raw after a good text frame, expecting code. */
static void
bad_frame(unsigned b0, bool mask, const char *pay, size_t len, const char *want)
{
	static struct bytes s;

	s.n = 0;
	put(&s, TEXT, "ok");
	put_raw(&s, b0, mask, SHORTEST, pay, len);
	put(&s, TEXT, "never");
	expect(&s, MAX_LINE, want);
}

Test(ws, protocol_errors_1002)
{
	static char big[126];

	bad_frame(TEXT, false, "hi", 2, "T:ok|E:1002|");          /* unmasked */
	bad_frame(TEXT | 0x40, true, "hi", 2, "T:ok|E:1002|");    /* RSV1 */
	bad_frame(TEXT | 0x20, true, "hi", 2, "T:ok|E:1002|");    /* RSV2 */
	bad_frame(TEXT | 0x10, true, "hi", 2, "T:ok|E:1002|");    /* RSV3 */
	for (unsigned op = 0x3; op <= 0x7; op++)
		bad_frame(FIN | op, true, "hi", 2, "T:ok|E:1002|");
	for (unsigned op = 0xB; op <= 0xF; op++)
		bad_frame(FIN | op, true, "hi", 2, "T:ok|E:1002|");
	bad_frame(PING, true, big, 126, "T:ok|E:1002|");          /* > 125 */
	bad_frame(0x09, true, "hi", 2, "T:ok|E:1002|");           /* no FIN */
	bad_frame(0x08, true, "", 0, "T:ok|E:1002|");
	bad_frame(FIN | 0x00, true, "hi", 2, "T:ok|E:1002|");     /* no start */
	bad_frame(0x00, true, "hi", 2, "T:ok|E:1002|");
}

Test(ws, new_data_frame_inside_a_message_is_1002)
{
	static struct bytes s;

	s.n = 0;
	put(&s, 0x01, "part");
	put(&s, TEXT, "new message");
	expect(&s, MAX_LINE, "E:1002|");
	s.n = 0;
	put(&s, 0x01, "part");
	put(&s, FIN | 0x2, "binary");
	expect(&s, MAX_LINE, "E:1002|");
}

Test(ws, binary_is_1003)
{
	bad_frame(FIN | 0x2, true, "\x01\x02", 2, "T:ok|E:1003|");
	bad_frame(0x02, true, "\x01\x02", 2, "T:ok|E:1003|");
}

Test(ws, invalid_utf8_is_1007)
{
	static struct bytes s;

	bad_frame(TEXT, true, "\xc0\xaf", 2, "T:ok|E:1007|");  /* overlong */
	bad_frame(TEXT, true, "\xed\xa0\x80", 3, "T:ok|E:1007|");  /* U+D800 */
	bad_frame(TEXT, true, "ab\xe2\x82", 4, "T:ok|E:1007|");    /* cut */
	/* A code point split across fragments is fine; cut off at the end
	 * of the message, it is not. */
	s.n = 0;
	put(&s, 0x01, "\xe2\x82");
	put(&s, FIN, "\xac");
	expect(&s, MAX_LINE, "T:\xe2\x82\xac|");
	s.n = 0;
	put(&s, 0x01, "x");
	put(&s, FIN, "\xe2\x82");
	expect(&s, MAX_LINE, "E:1007|");
	/* Control bytes are valid UTF-8: the protocol layer rejects them. */
	bad_frame(TEXT, true, "a\x07\x1b\0b", 5, "T:ok|T:a\x07\x1b|T:never|");
}

Test(ws, close_payloads)
{
	static const unsigned ok[] = { 1000, 1001, 1002, 1003, 1007, 1008,
	    1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999 };
	static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
	    1100, 2000, 2999, 5000, 65535 };
	static struct bytes s;
	char want[64];

	bad_frame(FIN | 0x8, true, "", 0, "T:ok|C:1005:|");
	bad_frame(FIN | 0x8, true, "\x03", 1, "T:ok|E:1002|");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		s.n = 0;
		put_close(&s, ok[i], "r\xc3\xa9");
		snprintf(want, sizeof(want), "C:%u:r\xc3\xa9|", ok[i]);
		expect(&s, MAX_LINE, want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.n = 0;
		put_close(&s, bad[i], "");
		expect(&s, MAX_LINE, "E:1002|");
	}
	s.n = 0;
	put_close(&s, 1000, "\xff");
	expect(&s, MAX_LINE, "E:1007|");
}

Test(ws, fails_without_waiting_for_the_rest)
{
	struct ws_parser *p = ws_parser_new(MAX_LINE);
	struct ws_event ev;
	size_t room;

	char *sp = ws_parser_space(p, &room);
	memcpy(sp, "\x81\x7e", 2);   /* unmasked, 16-bit length to come */
	ws_parser_commit(p, 2);
	cr_assert_eq(ws_parser_next(p, &ev), WS_ERROR);
	cr_assert_eq(ev.code, 1002);
	ws_parser_free(p);

	/* A 64-bit length over the limit, before the mask arrives. */
	p = ws_parser_new(MAX_LINE);
	sp = ws_parser_space(p, &room);
	memcpy(sp, "\x81\xff\0\0\0\0\0\x02\0\0", 10);
	ws_parser_commit(p, 10);
	cr_assert_eq(ws_parser_next(p, &ev), WS_ERROR);
	cr_assert_eq(ev.code, 1009);
	ws_parser_free(p);
}

Test(ws, error_and_close_are_final)
{
	struct ws_parser *p = ws_parser_new(MAX_LINE);
	struct ws_event ev;
	static struct bytes s;
	size_t room;

	s.n = 0;
	put(&s, FIN | 0x2, "bin");
	put(&s, TEXT, "hi");
	memcpy(ws_parser_space(p, &room), s.b, s.n);
	ws_parser_commit(p, s.n);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(ws_parser_next(p, &ev), WS_ERROR);
		cr_assert_eq(ev.code, 1003);
		ws_parser_space(p, &room);
		cr_assert_geq(room, WS_MIN_ROOM);
	}
	ws_parser_free(p);

	p = ws_parser_new(MAX_LINE);
	s.n = 0;
	put_close(&s, 1001, "");
	put(&s, TEXT, "hi");
	memcpy(ws_parser_space(p, &room), s.b, s.n);
	ws_parser_commit(p, s.n);
	cr_assert_eq(ws_parser_next(p, &ev), WS_CLOSE);
	cr_assert_eq(ev.code, 1001);
	cr_assert_eq(ev.len, 0);
	cr_assert_eq(ws_parser_next(p, &ev), WS_NEED_MORE);
	ws_parser_space(p, &room);
	cr_assert_geq(room, WS_MIN_ROOM);
	ws_parser_free(p);
}

/* ---- Encoding ---------------------------------------------------------- */

Test(ws, frame_header_shortest_form)
{
	unsigned char h[WS_HEADER_MAX];

	cr_assert_eq(ws_frame_header(h, WS_OP_TEXT, 0), 2);
	cr_assert(memcmp(h, "\x81\x00", 2) == 0);
	cr_assert_eq(ws_frame_header(h, WS_OP_TEXT, 125), 2);
	cr_assert(memcmp(h, "\x81\x7d", 2) == 0);
	cr_assert_eq(ws_frame_header(h, WS_OP_TEXT, 126), 4);
	cr_assert(memcmp(h, "\x81\x7e\x00\x7e", 4) == 0);
	cr_assert_eq(ws_frame_header(h, WS_OP_TEXT, 0xFFFF), 4);
	cr_assert(memcmp(h, "\x81\x7e\xff\xff", 4) == 0);
	cr_assert_eq(ws_frame_header(h, WS_OP_BINARY, 0x10000), 10);
	cr_assert(memcmp(h, "\x82\x7f\0\0\0\0\0\x01\0\0", 10) == 0);
	cr_assert_eq(ws_frame_header(h, WS_OP_PING, 5), 2);
	cr_assert(memcmp(h, "\x89\x05", 2) == 0);
}

Test(ws, close_and_pong_frames)
{
	unsigned char f[WS_CONTROL_FRAME_MAX];
	char reason[WS_MAX_CONTROL - 2];

	cr_assert_eq(ws_close_frame(f, 1009, "too big", 7), 11);
	cr_assert(memcmp(f, "\x88\x09\x03\xf1too big", 11) == 0);
	cr_assert_eq(ws_close_frame(f, 0, NULL, 0), 2);
	cr_assert(memcmp(f, "\x88\x00", 2) == 0);
	cr_assert_eq(ws_close_frame(f, 1000, "", 0), 4);
	cr_assert(memcmp(f, "\x88\x02\x03\xe8", 4) == 0);
	memset(reason, 'r', sizeof(reason));
	cr_assert_eq(ws_close_frame(f, 1002, reason, sizeof(reason)),
	    WS_CONTROL_FRAME_MAX);
	cr_assert_eq(f[1], 125);

	cr_assert_eq(ws_pong_frame(f, "Hello", 5), 7);
	cr_assert(memcmp(f, "\x8a\x05Hello", 7) == 0);
	cr_assert_eq(ws_pong_frame(f, NULL, 0), 2);
	cr_assert(memcmp(f, "\x8a\x00", 2) == 0);
}
