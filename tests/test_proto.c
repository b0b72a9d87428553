/*
 * test_proto.c - the framer, the parser and the text rules, on bytes alone.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "proto.h"

/* In-process: each test checks for leaks at its end (harness.h). */
TestSuite(framer, .fini = harness_leak_check);
TestSuite(parse, .fini = harness_leak_check);
TestSuite(text, .fini = harness_leak_check);

/* Feeds data in chunks of `chunk` bytes and records every event: lines as
 * themselves, too-long lines as "<TOO_LONG>". Returns how many. */
static int
frame(const char *data, size_t len, size_t chunk, char out[][2048], int max)
{
	struct framer *f = framer_new(PROTO_MAX_LINE);
	int n = 0;

	cr_assert_not_null(f);
	for (size_t off = 0; off < len;) {
		size_t room;
		char *space = framer_space(f, &room);
		cr_assert(room > PROTO_MAX_LINE);
		size_t take = len - off < chunk ? len - off : chunk;
		take = take < room ? take : room;
		memcpy(space, data + off, take);
		framer_commit(f, take);
		off += take;

		enum framer_event ev;
		char *line;
		size_t ll;
		while ((ev = framer_next(f, &line, &ll)) != FRAMER_NEED_MORE) {
			cr_assert(n < max);
			if (ev == FRAMER_TOO_LONG) {
				strcpy(out[n++], "<TOO_LONG>");
			} else {
				cr_assert_eq(strlen(line), ll);
				strcpy(out[n++], line);
			}
		}
	}
	framer_free(f);
	return n;
}

Test(framer, lines_crlf_and_empty)
{
	char out[8][2048];
	int n = frame("a\nbb\r\n\nc\rd\n", 11, 64, out, 8);

	cr_assert_eq(n, 4);
	cr_assert_str_eq(out[0], "a");
	cr_assert_str_eq(out[1], "bb");
	cr_assert_str_eq(out[2], "");
	cr_assert_str_eq(out[3], "c\rd");   /* only a CR before LF is dropped */
}

Test(framer, same_events_for_every_chunking)
{
	static char data[8000];
	char want[16][2048], got[16][2048];
	size_t len = 0;

	len += (size_t)sprintf(data + len, "PING 1\r\nMSG hello\n");
	memset(data + len, 'x', 3000);          /* too long */
	len += 3000;
	len += (size_t)sprintf(data + len, "\nafter\n");
	memset(data + len, 'y', PROTO_MAX_LINE); /* exactly the limit, CRLF */
	len += PROTO_MAX_LINE;
	len += (size_t)sprintf(data + len, "\r\nlast\n");

	int n = frame(data, len, len, want, 16);
	cr_assert_eq(n, 6);
	cr_assert_str_eq(want[2], "<TOO_LONG>");
	cr_assert_str_eq(want[3], "after");
	cr_assert_eq(strlen(want[4]), PROTO_MAX_LINE);
	cr_assert_str_eq(want[5], "last");
	size_t chunks[] = { 1, 2, 3, 7, 100, 1023, 1024, 1025, 4096 };
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		cr_assert_eq(frame(data, len, chunks[i], got, 16), n,
		    "chunk %zu", chunks[i]);
		for (int j = 0; j < n; j++)
			cr_assert_str_eq(got[j], want[j], "chunk %zu line %d",
			    chunks[i], j);
	}
}

Test(framer, limit_is_exact)
{
	static char data[2 * PROTO_MAX_LINE + 8];
	char out[4][2048];

	memset(data, 'a', PROTO_MAX_LINE);
	data[PROTO_MAX_LINE] = '\n';
	cr_assert_eq(frame(data, PROTO_MAX_LINE + 1, 1, out, 4), 1);
	cr_assert_eq(strlen(out[0]), PROTO_MAX_LINE);

	memset(data, 'a', PROTO_MAX_LINE + 1);
	data[PROTO_MAX_LINE + 1] = '\n';
	for (size_t chunk = 1; chunk <= 2048; chunk *= 2) {
		cr_assert_eq(frame(data, PROTO_MAX_LINE + 2, chunk, out, 4), 1);
		cr_assert_str_eq(out[0], "<TOO_LONG>");
	}
}

Test(framer, huge_line_reported_once)
{
	static char data[100000];
	char out[4][2048];

	memset(data, 'z', sizeof(data));
	memcpy(data + sizeof(data) - 6, "\nok\n", 4);
	int n = frame(data, sizeof(data) - 2, 333, out, 4);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(out[0], "<TOO_LONG>");
	cr_assert_str_eq(out[1], "ok");
}

static struct command
parse(const char *s)
{
	static char buf[2048];
	struct command cmd;

	strcpy(buf, s);
	proto_parse(buf, &cmd);
	return cmd;
}

Test(parse, verbs_are_exact_and_uppercase)
{
	cr_assert_eq(parse("PING").verb, VERB_PING);
	cr_assert_str_eq(parse("PING").text, "");
	cr_assert_str_eq(parse("PING abc def").text, "abc def");
	cr_assert_eq(parse("PINGS").verb, VERB_NONE);
	cr_assert_eq(parse("QUIT").verb, VERB_QUIT);
	cr_assert_eq(parse("!exit").verb, VERB_QUIT);
	cr_assert_eq(parse("HELP").verb, VERB_HELP);
	cr_assert_eq(parse("WHO").verb, VERB_WHO);
	cr_assert_eq(parse(" MSG x").verb, VERB_NONE);
	struct command c = parse("LOGIN alice");
	cr_assert_eq(c.verb, VERB_LOGIN);
	cr_assert_str_eq(c.text, "alice");
	c = parse("MSG hello  world ");
	cr_assert_eq(c.verb, VERB_MSG);
	cr_assert_str_eq(c.text, "hello  world ");
	cr_assert_str_eq(parse("MSG").text, "");
}

/* A verb typed wrongly is a mistake, not text, when it cannot be meant as
 * text: after a '/', alone on its line, or with the argument it takes. */
Test(parse, mistyped_verbs_are_told_apart_from_text)
{
	const char *mistyped[][2] = {
		{ "ping", "PING" }, { "who", "WHO" }, { "Quit", "QUIT" },
		{ "/quit", "QUIT" }, { "/WHO", "WHO" }, { "/who is here", "WHO" },
		{ "msg hi", "MSG" }, { "dm bob hi", "DM" }, { "login bob", "LOGIN" },
		{ "!EXIT", "QUIT" }, { "/!exit", "QUIT" }, { "help", "HELP" },
		{ "msg", "MSG" },
	};
	const char *text[] = { "who is here?", "quit smoking", "Help me out",
		"pings", "/me waves", "/", "whom" };

	for (size_t i = 0; i < sizeof(mistyped) / sizeof(mistyped[0]); i++) {
		struct command c = parse(mistyped[i][0]);
		cr_assert_eq(c.verb, VERB_MISTYPED, "%s", mistyped[i][0]);
		cr_assert_str_eq(c.text, mistyped[i][1], "%s", mistyped[i][0]);
	}
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		struct command c = parse(text[i]);
		cr_assert_eq(c.verb, VERB_NONE, "%s", text[i]);
		cr_assert_str_eq(c.text, text[i]);
	}
}

Test(parse, dm_splits_user_and_text)
{
	struct command c = parse("DM bob hi there");
	cr_assert_eq(c.verb, VERB_DM);
	cr_assert_str_eq(c.user, "bob");
	cr_assert_str_eq(c.text, "hi there");
	c = parse("DM bob");
	cr_assert_str_eq(c.user, "bob");
	cr_assert_null(c.text);
	c = parse("DM bob ");
	cr_assert_null(c.text);
	c = parse("DM");
	cr_assert_null(c.user);
	cr_assert_null(c.text);
}

#define OK(s) cr_assert(proto_text_ok(s, sizeof(s) - 1), "%s", #s)
#define BAD(s) cr_assert(!proto_text_ok(s, sizeof(s) - 1), "%s", #s)

Test(text, utf8_and_control_bytes)
{
	OK("plain ascii");
	OK("tab\there");
	OK("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80");  /* é ✓ 😀 */
	OK("\xf4\x8f\xbf\xbf");                            /* U+10FFFF */
	OK("");
	BAD("bell\x07");
	BAD("esc\x1b[31mred");
	BAD("del\x7f");
	BAD("nul\0inside");
	BAD("cr\rinside");
	BAD("\xc0\xaf");            /* overlong '/' */
	BAD("\xe0\x80\xaf");        /* overlong, 3 bytes */
	BAD("\xed\xa0\x80");        /* surrogate */
	BAD("\xf4\x90\x80\x80");    /* past U+10FFFF */
	BAD("\xe2\x82");            /* truncated */
	BAD("\x80");                /* lone continuation */
	BAD("\xff");
}

Test(text, utf8_alone_allows_control_bytes)
{
	cr_assert(proto_utf8_ok("bell\x07 nul\0 cr\r del\x7f", 19));
	cr_assert(proto_utf8_ok("\xc2\x85", 2));            /* C1: U+0085 */
	cr_assert(proto_utf8_ok("", 0));
	cr_assert(!proto_utf8_ok("\xc0\xaf", 2));
	cr_assert(!proto_utf8_ok("\xed\xa0\x80", 3));
	cr_assert(!proto_utf8_ok("\xf4\x90\x80\x80", 4));
	cr_assert(!proto_utf8_ok("ok\xe2\x82", 4));
	cr_assert(!proto_utf8_ok("\x80", 1));
}

Test(text, names)
{
	cr_assert(proto_name_ok("alice"));
	cr_assert(proto_name_ok("a"));
	cr_assert(proto_name_ok("Bob_the-2nd"));
	cr_assert(proto_name_ok("abcdefghijklmnopqrstuvwxyzABCDEF"));   /* 32 */
	cr_assert(!proto_name_ok("abcdefghijklmnopqrstuvwxyzABCDEFG")); /* 33 */
	cr_assert(!proto_name_ok(""));
	cr_assert(!proto_name_ok("1abc"));
	cr_assert(!proto_name_ok("_abc"));
	cr_assert(!proto_name_ok("a b"));
	cr_assert(!proto_name_ok("al.ice"));
	cr_assert(!proto_name_ok("\xc3\xa9mile"));
	cr_assert(!proto_name_ok("LOGIN"));
	cr_assert(!proto_name_ok("who"));
	cr_assert(!proto_name_ok("Quit"));
}

Test(text, sanitize_removes_escapes)
{
	char out[64];
	const char in[] = "\x1b[31mred\x07 \xc3\xa9 \xff!";

	proto_sanitize(in, sizeof(in) - 1, out, sizeof(out));
	cr_assert_str_eq(out, "?[31mred? \xc3\xa9 ?!");
	cr_assert_eq(proto_sanitize("abcdef", 6, out, 4), 3);
	cr_assert_str_eq(out, "abc");
}

Test(text, room_key_is_the_name_in_lowercase_without_its_hash)
{
	char key[PROTO_MAX_ROOM + 1];

	proto_room_key("#Rust-Lang_2", key);
	cr_assert_str_eq(key, "rust-lang_2");
	proto_room_key("#lobby", key);
	cr_assert_str_eq(key, "lobby");
	proto_room_key("#ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", key);
	cr_assert_str_eq(key, "abcdefghijklmnopqrstuvwxyz012345");
}
