/*
 * test_http.c - the request-head parser, the Origin check and the response
 * formatters, on bytes.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

static struct http_request req;

static enum http_result
parse(const char *s)
{
	return http_parse(s, strlen(s), &req);
}

/* True when span s holds want; want NULL: s is absent. */
static bool
is(struct http_span s, const char *want)
{
	if (want == NULL)
		return s.p == NULL;
	return s.p != NULL && s.len == strlen(want) &&
	    memcmp(s.p, want, s.len) == 0;
}

/* The status a head is refused with, 0 if it is complete and valid, 1 if
 * the parser wants more. */
static int
verdict(const char *s)
{
	switch (parse(s)) {
	case HTTP_COMPLETE:
		return 0;
	case HTTP_INCOMPLETE:
		return 1;
	default:
		return req.status;
	}
}

static const char upgrade[] =
    "GET /ws?room=main HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "User-Agent: test\r\n"
    "upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key:dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Origin: http://localhost:8080\r\n"
    "SEC-WEBSOCKET-VERSION: 13  \r\n"
    "\r\n";

Test(http, upgrade_request_fields)
{
	char buf[sizeof(upgrade) + 8];

	memcpy(buf, upgrade, sizeof(upgrade) - 1);
	memcpy(buf + sizeof(upgrade) - 1, "\x81\x85", 2);   /* a frame early */
	cr_assert_eq(http_parse(buf, sizeof(upgrade) + 1, &req), HTTP_COMPLETE);
	cr_assert_eq(req.head_len, sizeof(upgrade) - 1);
	cr_assert_eq(req.minor, 1);
	cr_assert(is(req.method, "GET"));
	cr_assert(is(req.path, "/ws"));
	cr_assert(is(req.query, "room=main"));
	cr_assert(is(req.host, "localhost:8080"));
	cr_assert(is(req.upgrade, "websocket"));
	cr_assert(is(req.connection, "keep-alive, Upgrade"));
	cr_assert(is(req.ws_key, "dGhlIHNhbXBsZSBub25jZQ=="));
	cr_assert(is(req.ws_version, "13"));
	cr_assert(is(req.origin, "http://localhost:8080"));
}

Test(http, every_prefix_is_incomplete)
{
	size_t n = sizeof(upgrade) - 1;

	for (size_t len = 0; len < n; len++)
		cr_assert_eq(http_parse(upgrade, len, &req), HTTP_INCOMPLETE,
		    "len %zu", len);
	cr_assert_eq(http_parse(upgrade, n, &req), HTTP_COMPLETE);
}

Test(http, minimal_requests)
{
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
	cr_assert(is(req.path, "/"));
	cr_assert(is(req.query, NULL));
	cr_assert(is(req.origin, NULL));
	cr_assert(is(req.upgrade, NULL));
	cr_assert_eq(verdict("HEAD /healthz? HTTP/1.0\r\nHost: x\r\n\r\n"), 0);
	cr_assert_eq(req.minor, 0);
	cr_assert(is(req.method, "HEAD"));
	cr_assert(is(req.path, "/healthz"));
	cr_assert(is(req.query, ""));
	cr_assert_eq(verdict("GET /a%20b/c.js?x=1?y HTTP/1.1\r\n"
	    "Host: x\r\n\r\n"), 0);
	cr_assert(is(req.path, "/a%20b/c.js"));
	cr_assert(is(req.query, "x=1?y"));
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nHost:   x \t\r\n"
	    "X-Empty:\r\n\r\n"), 0);
	cr_assert(is(req.host, "x"));
}

Test(http, request_line_400)
{
	static const char *bad[] = {
		"\r\nGET / HTTP/1.1\r\n",        /* a leading empty line */
		"GET  / HTTP/1.1\r\n",           /* two spaces */
		"GET / HTTP/1.1 \r\n",
		" GET / HTTP/1.1\r\n",
		"GET /\r\n",                     /* HTTP/0.9 */
		"GET\r\n",
		"G(T / HTTP/1.1\r\n",            /* not a token */
		"GET http://x/ HTTP/1.1\r\n",    /* absolute-form */
		"CONNECT x:443 HTTP/1.1\r\n",    /* authority-form */
		"OPTIONS * HTTP/1.1\r\n",        /* asterisk-form */
		"GET ws HTTP/1.1\r\n",           /* no leading '/' */
		"GET /a#frag HTTP/1.1\r\n",
		"GET /\x7f HTTP/1.1\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\n",
		"GET /\t HTTP/1.1\r\n",
		"GET / http/1.1\r\n",
		"GET / HTTP/1.10\r\n",
		"GET / HTTP/1\r\n",
		"GET / HTTP/1.x\r\n",
		"GET / HTTPS/1.1\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(verdict(bad[i]), 400, "%s", bad[i]);
}

Test(http, other_versions_505)
{
	cr_assert_eq(verdict("GET / HTTP/2.0\r\n"), 505);
	cr_assert_eq(verdict("GET / HTTP/1.2\r\n"), 505);
	cr_assert_eq(verdict("GET / HTTP/0.9\r\n"), 505);
	cr_assert_eq(verdict("GET / HTTP/3.1\r\nHost: x\r\n\r\n"), 505);
}

Test(http, errors_in_stream_order)
{
	/* The request line is refused once whole; a bare CR after it does not
	 * change that answer, nor does a bad header line before the end. */
	cr_assert_eq(verdict("GET / HTTP/2.1\r\n"), 505);
	cr_assert_eq(verdict("GET / HTTP/2.1\r\nX: \r1\n\r\n"), 505);
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nBad line\r\n"), 1);
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nBad line\r\n\r\n"), 400);
}

Test(http, line_endings_400)
{
	cr_assert_eq(verdict("GET / HTTP/1.1\n"), 400);        /* bare LF */
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nHost: x\n\r\n"), 400);
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nHost: x\r\n\n"), 400);
	cr_assert_eq(verdict("GET / HTTP/1.1\rHost: x\r\n\r\n"), 400);
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n"), 400);
	cr_assert_eq(verdict("GET / HTTP/1.1\r"), 1);   /* the LF may follow */
	/* Refused as soon as seen, before the head is whole. */
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nX: a\rb"), 400);
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nX: a\n"), 400);
}

Test(http, header_lines_400)
{
	static const char *bad[] = {
		" Host: x\r\n",                 /* fold at the first line */
		"Host: x\r\nX: a\r\n b\r\n",    /* obs-fold */
		"Host: x\r\nX: a\r\n\tb\r\n",
		"Host: x\r\nNoColon\r\n",
		"Host: x\r\nX : a\r\n",         /* space before the colon */
		"Host: x\r\n: a\r\n",           /* no name */
		"Host: x\r\nX(y): a\r\n",       /* name not a token */
		"Host: x\r\nX: a\x01\r\n",      /* control bytes */
		"Host: x\r\nX: a\x7f\r\n",
		"Host: x\r\nX: \x1b[31m\r\n",
	};
	char head[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n%s\r\n",
		    bad[i]);
		cr_assert_eq(verdict(head), 400, "%s", bad[i]);
	}
	static const char nul[] =
	    "GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n";
	cr_assert_eq(http_parse(nul, sizeof(nul) - 1, &req), HTTP_BAD);
	cr_assert_eq(req.status, 400);
	/* obs-text is allowed in a value. */
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nHost: x\r\n"
	    "X: \xc3\xa9\r\n\r\n"), 0);
}

Test(http, host_required_and_valid)
{
	static const char *bad[] = {
		"", "Host:\r\n", "Host: a b\r\n", "Host: x:\r\n",
		"Host: x:123456\r\n", "Host: x:65536\r\n", "Host: x:8o\r\n",
		"Host: :80\r\n",
		"Host: user@x\r\n", "Host: x/y\r\n", "Host: [::1\r\n",
		"Host: []\r\n", "Host: [::1]x\r\n", "Host: [fe80::1%eth0]\r\n",
	};
	static const char *good[] = {
		"Host: x\r\n", "Host: EXAMPLE.org:65535\r\n",
		"Host: [::1]:8080\r\n", "Host: 127.0.0.1\r\n",
		"Host: [2001:db8::7]\r\n",
	};
	char head[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n%s\r\n",
		    bad[i]);
		cr_assert_eq(verdict(head), 400, "%s", bad[i]);
		snprintf(head, sizeof(head), "GET / HTTP/1.0\r\n%s\r\n",
		    bad[i]);
		cr_assert_eq(verdict(head), 400, "1.0 %s", bad[i]);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n%s\r\n",
		    good[i]);
		cr_assert_eq(verdict(head), 0, "%s", good[i]);
	}
}

Test(http, duplicates_400_names_any_case)
{
	static const char *twice[] = {
		"Host: y", "host: x", "Sec-WebSocket-Key: a",
		"Origin: http://x", "Upgrade: websocket", "Connection: close",
		"Sec-WebSocket-Version: 13",
	};
	char head[256];

	for (size_t i = 0; i < sizeof(twice) / sizeof(twice[0]); i++) {
		snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: x\r\n"
		    "Sec-WebSocket-Key: a\r\nOrigin: http://x\r\n"
		    "Upgrade: websocket\r\nConnection: close\r\n"
		    "Sec-WebSocket-Version: 13\r\n%s\r\n\r\n", twice[i]);
		cr_assert_eq(verdict(head), 400, "%s", twice[i]);
	}
	/* Headers the listener does not keep may repeat. */
	cr_assert_eq(verdict("GET / HTTP/1.1\r\nAccept: a\r\nhOsT: x\r\n"
	    "Accept: b\r\n\r\n"), 0);
	cr_assert(is(req.host, "x"));
}

/* A head of exactly len bytes: request line, Host, padding, blank line. */
static void
head_of(char *buf, size_t len)
{
	const char *start = "GET / HTTP/1.1\r\nHost: x\r\nX: ";
	size_t s = strlen(start);

	memcpy(buf, start, s);
	memset(buf + s, 'p', len - s - 4);
	memcpy(buf + len - 4, "\r\n\r\n", 4);
}

Test(http, head_limit_431)
{
	static char buf[HTTP_MAX_HEAD + 64];

	head_of(buf, HTTP_MAX_HEAD);
	cr_assert_eq(http_parse(buf, HTTP_MAX_HEAD, &req), HTTP_COMPLETE);
	cr_assert_eq(req.head_len, HTTP_MAX_HEAD);
	head_of(buf, HTTP_MAX_HEAD + 1);
	cr_assert_eq(http_parse(buf, HTTP_MAX_HEAD + 1, &req), HTTP_BAD);
	cr_assert_eq(req.status, 431);
	cr_assert_eq(http_parse(buf, HTTP_MAX_HEAD - 1, &req), HTTP_INCOMPLETE);
	cr_assert_eq(http_parse(buf, HTTP_MAX_HEAD, &req), HTTP_BAD);
	cr_assert_eq(req.status, 431);
	memset(buf, 'A', sizeof(buf));     /* one endless method */
	cr_assert_eq(http_parse(buf, sizeof(buf), &req), HTTP_BAD);
	cr_assert_eq(req.status, 431);
}

Test(http, token_lists)
{
	struct http_span s;
#define LIST(v) (s = (struct http_span){ v, strlen(v) })
	cr_assert(http_has_token(LIST("keep-alive, Upgrade"), "upgrade"));
	cr_assert(http_has_token(LIST("UPGRADE"), "upgrade"));
	cr_assert(http_has_token(LIST(" ,,\tupgrade\t, "), "upgrade"));
	cr_assert(http_has_token(LIST("h2c, WebSocket"), "websocket"));
	cr_assert(!http_has_token(LIST("upgrade2"), "upgrade"));
	cr_assert(!http_has_token(LIST("upgrade-insecure"), "upgrade"));
	cr_assert(!http_has_token(LIST("up grade"), "upgrade"));
	cr_assert(!http_has_token(LIST(""), "upgrade"));
	cr_assert(!http_has_token((struct http_span){ NULL, 0 }, "upgrade"));
}

/* The Origin check for a request with these Host and Origin values
 * (origin NULL: none sent). */
static bool
origin_ok(const char *host, const char *origin, const char *const *allow,
    size_t n)
{
	char head[512];

	snprintf(head, sizeof(head),
	    "GET /ws HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", host,
	    origin ? "Origin: " : "", origin ? origin : "",
	    origin ? "\r\n" : "");
	cr_assert_eq(parse(head), HTTP_COMPLETE, "%s", head);
	return http_origin_ok(&req, allow, n);
}

Test(http, origin_same_host_and_port)
{
	cr_assert(origin_ok("x:8080", NULL, NULL, 0));    /* not a browser */
	cr_assert(origin_ok("chat.example:8080", "http://chat.example:8080",
	    NULL, 0));
	cr_assert(origin_ok("Chat.Example:8080", "HTTP://chat.EXAMPLE:8080",
	    NULL, 0));
	cr_assert(!origin_ok("chat.example:8080", "http://chat.example:8081",
	    NULL, 0));
	cr_assert(!origin_ok("chat.example:8080", "http://evil.example:8080",
	    NULL, 0));
	cr_assert(!origin_ok("chat.example:8080", "http://chat.example",
	    NULL, 0));
	cr_assert(!origin_ok("x:8080", "null", NULL, 0));
	cr_assert(!origin_ok("x:8080", "", NULL, 0));
	cr_assert(!origin_ok("x:8080", "http://x:8080/", NULL, 0));
	cr_assert(!origin_ok("x:8080", "ftp://x:8080", NULL, 0));
	cr_assert(!origin_ok("x:8080", "http://x:8080.evil", NULL, 0));
	cr_assert(!origin_ok("x.evil:8080", "http://x:8080", NULL, 0));
}

Test(http, origin_loopback_names_are_one_host)
{
	static const char *names[] = { "localhost", "127.0.0.1", "[::1]",
	    "LocalHost" };
	char host[64], origin[64];

	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			snprintf(host, sizeof(host), "%s:8080", names[i]);
			snprintf(origin, sizeof(origin), "http://%s:8080",
			    names[j]);
			cr_assert(origin_ok(host, origin, NULL, 0), "%s %s",
			    host, origin);
		}
	cr_assert(!origin_ok("localhost:8080", "http://127.0.0.2:8080", NULL,
	    0));
	cr_assert(!origin_ok("localhost:8080", "http://localhost:9090", NULL,
	    0));
}

Test(http, origin_default_ports)
{
	cr_assert(origin_ok("x", "http://x", NULL, 0));
	cr_assert(origin_ok("x", "https://x", NULL, 0));   /* behind TLS */
	cr_assert(origin_ok("x", "http://x:80", NULL, 0));
	cr_assert(origin_ok("x", "https://x:443", NULL, 0));
	cr_assert(origin_ok("x:80", "http://x", NULL, 0));
	cr_assert(origin_ok("x:443", "https://x", NULL, 0));
	cr_assert(!origin_ok("x", "http://x:443", NULL, 0));
	cr_assert(!origin_ok("x", "http://x:8080", NULL, 0));
	cr_assert(!origin_ok("x:443", "http://x", NULL, 0));
	cr_assert(!origin_ok("x:80", "https://x", NULL, 0));
}

Test(http, origin_allow_list)
{
	static const char *const allow[] = {
		"not an origin", "https://chat.example.org",
		"http://dev.example:3000", "http://localhost:5173",
	};

	cr_assert(origin_ok("x:8080", "https://chat.example.org", allow, 4));
	cr_assert(origin_ok("x:8080", "https://chat.example.org:443", allow,
	    4));
	cr_assert(origin_ok("x:8080", "http://DEV.example:3000", allow, 4));
	cr_assert(origin_ok("x:8080", "http://127.0.0.1:5173", allow, 4));
	cr_assert(!origin_ok("x:8080", "http://chat.example.org", allow, 4));
	cr_assert(!origin_ok("x:8080", "http://dev.example:3001", allow, 4));
	cr_assert(!origin_ok("x:8080", "not an origin", allow, 4));
	cr_assert(http_origin_valid("https://chat.example.org"));
	cr_assert(http_origin_valid("http://[::1]:8080"));
	cr_assert(!http_origin_valid("not an origin"));
	cr_assert(!http_origin_valid("https://x/"));
	cr_assert(!http_origin_valid("https://"));
	cr_assert(!http_origin_valid("null"));
}

/* ---- Responses --------------------------------------------------------- */

Test(http, format_response)
{
	char out[512];
	struct http_response r = { .status = 200,
	    .content_type = "text/plain; charset=utf-8",
	    .cache_control = "no-store", .body = "ok\n", .body_len = 3 };
	const char *want = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 3\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n\r\nok\n";

	cr_assert_eq(http_format(out, sizeof(out), &r), strlen(want));
	cr_assert_str_eq(out, want);
	/* Exactly enough room, and one byte less. */
	cr_assert_eq(http_format(out, strlen(want) + 1, &r), strlen(want));
	cr_assert_eq(http_format(out, strlen(want), &r), 0);
	cr_assert_eq(http_format(out, 10, &r), 0);
	cr_assert_eq(http_format(out, 0, &r), 0);

	struct http_response h = { .status = 426, .body_len = 5000,
	    .extra = "Sec-WebSocket-Version: 13\r\n" };
	cr_assert_gt(http_format(out, sizeof(out), &h), 0);
	cr_assert_str_eq(out, "HTTP/1.1 426 Upgrade Required\r\n"
	    "Content-Length: 5000\r\nConnection: close\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n");
}

Test(http, reasons)
{
	cr_assert_str_eq(http_reason(400), "Bad Request");
	cr_assert_str_eq(http_reason(404), "Not Found");
	cr_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	cr_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
	cr_assert_str_eq(http_reason(299), "");
}

Test(http, format_upgrade)
{
	char out[256];
	const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

	cr_assert_eq(http_format_upgrade(out, sizeof(out),
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), strlen(want));
	cr_assert_str_eq(out, want);
	cr_assert_eq(http_format_upgrade(out, strlen(want),
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), 0);
}
