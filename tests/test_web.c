/*
 * test_web.c - the web listener on real loopback sockets: HTTP (the page,
 * the health check, metrics, every error status, a slow-loris client), the
 * WebSocket handshake with its bad variants, and chat over WebSocket: both
 * ways with a TCP client, fragments, ping, each close code, the line
 * limit, a slow consumer, the idle timeout and shutdown. The frames are
 * made and read by tests/wsclient.c, not by the server's own codec.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "wsclient.h"

/* The web listener's port, from the [LISTEN] line's web-port=. */
static int
web_port(struct server *s)
{
	char text[4096] = "";
	FILE *f = fopen(s->log_path, "r");

	cr_assert_not_null(f);
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	char *p = strstr(text, " web-port=");
	cr_assert_not_null(p, "no web-port= in the log");
	int port = atoi(p + 10);
	cr_assert(port > 0, "the web listener is off");
	return port;
}

/* A plain request for path. */
#define GET(path) "GET " path " HTTP/1.1\r\nHost: localhost\r\n\r\n"

/* Starts a server with --web 0 and the extra arguments given. */
#define web_start(s, ...) \
	server_start((s), "--web", "0", __VA_ARGS__, NULL)

/* Sends request on a new connection and reads the response head. */
static struct conn *
http_get(int port, const char *request, struct http_head *h)
{
	struct conn *c = conn_open_raw(port);

	http_exchange(c, request, h);
	return c;
}

/* The status of one request on its own connection, which the server must
 * then close. */
static int
http_status(int port, const char *request)
{
	struct http_head h;
	struct conn *c = http_get(port, request, &h);

	cr_assert(conn_wait_closed(c, WAIT_MS), "kept open after %d", h.status);
	conn_close(c);
	return h.status;
}

/* ---- HTTP ---------------------------------------------------------------- */

Test(web, the_page_its_script_and_style_are_served_with_their_headers,
    .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	struct {
		const char *path, *type, *starts;
	} want[] = {
		{ "/", "text/html; charset=utf-8", "<!doctype html>" },
		{ "/app.js", "text/javascript; charset=utf-8", NULL },
		{ "/style.css", "text/css; charset=utf-8", NULL },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char req[128], v[512];
		static char body[1 << 20];
		struct http_head h;
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
		    want[i].path);
		struct conn *c = http_get(port, req, &h);
		cr_assert_eq(h.status, 200, "%s: %s", want[i].path, h.text);
		cr_assert(http_header(&h, "Content-Type", v, sizeof(v)));
		cr_assert_str_eq(v, want[i].type);
		cr_assert(http_header(&h, "Cache-Control", v, sizeof(v)));
		cr_assert(http_header(&h, "Content-Security-Policy", v,
		    sizeof(v)));
		cr_assert(strstr(v, "default-src 'none'") != NULL, "%s", v);
		cr_assert(strstr(v, "script-src 'self'") != NULL, "%s", v);
		cr_assert(strstr(v, "unsafe-inline") == NULL, "%s", v);
		cr_assert(http_header(&h, "Content-Length", v, sizeof(v)));
		size_t len = (size_t)atol(v);
		cr_assert(len > 0);
		cr_assert(http_read_body(c, body, sizeof(body), len, WAIT_MS),
		    "%s: fewer bytes than Content-Length", want[i].path);
		if (want[i].starts != NULL)
			cr_assert(strncmp(body, want[i].starts,
			    strlen(want[i].starts)) == 0);
		cr_assert(conn_wait_closed(c, WAIT_MS), "more than the body");
		conn_close(c);
	}
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(web, healthz_is_ok_and_metrics_are_off_unless_asked, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	struct http_head h;
	char body[16];

	struct conn *c = http_get(port, GET("/healthz"), &h);
	cr_assert_eq(h.status, 200);
	cr_assert(http_read_body(c, body, sizeof(body), 3, WAIT_MS));
	cr_assert_str_eq(body, "ok\n");
	conn_close(c);
	cr_assert_eq(http_status(port, GET("/metrics")), 404);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(web, every_bad_request_gets_its_status, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	static char big[12000];
	struct {
		const char *request;
		int status;
	} cases[] = {
		{ GET("/nothing-here"), 404 },
		{ "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n", 405 },
		{ "GET / HTTP/1.1\r\n\r\n", 400 },              /* no Host */
		{ "DELETE /ws HTTP/1.1\r\nHost: localhost\r\n\r\n", 405 },
		{ GET("/ws"), 426 },
		{ "GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n\r\n",
		  426 },
		{ "GET / HTTP/2.0\r\n\r\n", 505 },
		{ "GET / HTTP/1.1 extra\r\n\r\n", 400 },
		{ "GET  / HTTP/1.1\r\nHost: localhost\r\n\r\n", 400 },
		{ "GET / HTTP/1.1\r\nHost: localhost\r\nno colon\r\n\r\n", 400 },
		{ "\x16\x03\x01\x02\x31\x01\x01\x01\xfc\x03\x03\r\n\r\n", 400 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(http_status(port, cases[i].request),
		    cases[i].status, "%s", cases[i].request);

	/* Headers over 8 KiB: 431, however they are cut. */
	int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
	memset(big + n, 'a', 9000);
	strcpy(big + n + 9000, "\r\n\r\n");
	cr_assert_eq(http_status(port, big), 431);

	/* 405 says what is allowed; 426 says how to upgrade. */
	struct http_head h;
	char v[64];
	conn_close(http_get(port, "PUT / HTTP/1.1\r\nHost: localhost\r\n\r\n", &h));
	cr_assert(http_header(&h, "Allow", v, sizeof(v)));
	cr_assert_str_eq(v, "GET");
	conn_close(http_get(port, GET("/ws"), &h));
	cr_assert(http_header(&h, "Sec-WebSocket-Version", v, sizeof(v)));
	cr_assert_str_eq(v, "13");
	/* Every one was logged, and the server still serves. */
	cr_assert(server_log_wait_count(&srv, "[HTTP]", 14, WAIT_MS));
	cr_assert_eq(http_status(port, GET("/healthz")), 200);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A slow-loris client sends its head a byte at a time and never ends it:
 * it is answered 408 and cut off at the deadline (here --login-timeout's
 * 2 s, shorter than the usual 10), while others are served meanwhile. */
Test(web, a_slow_loris_request_is_cut_off_while_others_are_served,
    .timeout = 30)
{
	struct server srv;
	web_start(&srv, "--login-timeout", "2");
	int port = web_port(&srv);
	struct conn *loris = conn_open_raw(port);
	const char *head = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
	long long t0 = now_ms();

	conn_send_raw(loris, head, strlen(head));
	for (int i = 0; i < 5; i++) {
		conn_send_raw(loris, "a", 1);
		cr_assert_eq(http_status(port, GET("/healthz")),
		    200);
		struct conn *tcp = conn_login(srv.port, "busy");
		conn_close(tcp);
	}
	struct http_head h;
	cr_assert(http_read_head(loris, &h, 5000), "no answer to the loris");
	long long took = now_ms() - t0;
	cr_assert_eq(h.status, 408);
	cr_assert(took >= 1900 && took < 4000, "cut off after %lld ms", took);
	cr_assert(conn_wait_closed(loris, WAIT_MS));
	conn_close(loris);
	cr_assert(server_log_wait(&srv, "status=408", WAIT_MS));
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- The opening handshake --------------------------------------------- */

Test(web, the_handshake_answers_the_rfc_sample_key, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	struct http_head h;
	char v[128];
	struct conn *c = ws_request(web_port(&srv), NULL, &h);

	cr_assert_eq(h.status, 101, "%s", h.text);
	cr_assert(http_header(&h, "Sec-WebSocket-Accept", v, sizeof(v)));
	cr_assert_str_eq(v, WS_TEST_ACCEPT);
	cr_assert(http_header(&h, "Upgrade", v, sizeof(v)));
	cr_assert_str_eq(v, "websocket");
	cr_assert(http_header(&h, "Connection", v, sizeof(v)));
	cr_assert_str_eq(v, "Upgrade");
	conn_close(c);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(web, every_bad_handshake_is_refused, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	const char *up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
	char req[512];
	struct {
		const char *headers;
		int status;
	} cases[] = {
		{ "Sec-WebSocket-Version: 13\r\n", 400 },         /* no key */
		{ "Sec-WebSocket-Key: c2hvcnQ=\r\n"                /* 5 bytes */
		  "Sec-WebSocket-Version: 13\r\n", 400 },
		{ "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"
		  "Sec-WebSocket-Version: 13\r\n", 400 },
		{ "Sec-WebSocket-Key: " WS_TEST_KEY "\r\n"
		  "Sec-WebSocket-Version: 8\r\n", 426 },
		{ "Sec-WebSocket-Key: " WS_TEST_KEY "\r\n", 426 },   /* none */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(req, sizeof(req), "GET /ws HTTP/1.1\r\nHost: localhost\r\n%s%s"
		    "\r\n", up, cases[i].headers);
		cr_assert_eq(http_status(port, req), cases[i].status, "%s",
		    cases[i].headers);
	}
	snprintf(req, sizeof(req), "GET /ws HTTP/1.0\r\n%sSec-WebSocket-Key: "
	    WS_TEST_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n", up);
	cr_assert_eq(http_status(port, req), 400, "HTTP/1.0");
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A browser's Origin must be the page's own host and port, or listed. */
Test(web, a_foreign_origin_is_refused_unless_listed, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q", "--web-origin", "https://chat.example.org");
	int port = web_port(&srv);
	char origin[128];
	struct http_head h;
	struct {
		const char *fmt;
		int status;
	} cases[] = {
		{ "Origin: http://127.0.0.1:%d\r\n", 101 },
		{ "Origin: http://localhost:%d\r\n", 101 },
		{ "Origin: https://chat.example.org\r\n", 101 },
		{ "Origin: http://evil.example:%d\r\n", 403 },
		{ "Origin: http://127.0.0.1:1\r\n", 403 },
		{ "Origin: null\r\n", 403 },
		{ "Origin: https://chat.example.org.evil.example\r\n", 403 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(origin, sizeof(origin), cases[i].fmt, port);
		struct conn *c = ws_request(port, origin, &h);
		cr_assert_eq(h.status, cases[i].status, "%s", origin);
		conn_close(c);
	}
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* DNS rebinding: a page of another site, its name pointed at 127.0.0.1,
 * sends its own name as Host and as Origin, so the Origin check alone
 * lets it in. On a loopback listener, the Host must name this machine or
 * a --web-origin host: else 421, for the page, /ws and /metrics alike. */
Test(web, a_loopback_listener_refuses_foreign_hosts, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q", "--metrics", "--web-origin",
	    "https://chat.example.org");
	int port = web_port(&srv);
	char req[512];
	struct {
		const char *path, *host;
		int status;
	} cases[] = {
		{ "/", "evil.example:%d", 421 },
		{ "/metrics", "evil.example:%d", 421 },
		{ "/ws", "evil.example:%d", 421 },
		{ "/", "127.0.0.2:%d", 421 },
		{ "/", "localhost:%d", 200 },
		{ "/", "127.0.0.1:%d", 200 },
		{ "/", "[::1]:%d", 200 },
		{ "/", "LOCALHOST", 200 },
		{ "/", "chat.example.org", 200 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char host[64];
		snprintf(host, sizeof(host), cases[i].host, port);
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
		    "Origin: http://%s\r\n%s\r\n", cases[i].path, host, host,
		    strcmp(cases[i].path, "/ws") != 0 ? "" : "Upgrade: websocket"
		    "\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " WS_TEST_KEY
		    "\r\nSec-WebSocket-Version: 13\r\n");
		cr_assert_eq(http_status(port, req), cases[i].status, "%s",
		    req);
	}
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Chat over WebSocket ------------------------------------------------- */

Test(web, a_websocket_and_a_tcp_client_chat_both_ways, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	struct conn *tcp = conn_login(srv.port, "alice");
	struct conn *ws = ws_login(web_port(&srv), "webby");

	conn_expect(tcp, "INFO webby joined");
	ws_send_text(ws, "MSG hello from the browser \xc3\xa9");
	conn_expect(tcp, "MSG webby hello from the browser \xc3\xa9");
	conn_send(tcp, "MSG hello, web\n");
	ws_expect_text(ws, "MSG alice hello, web");
	conn_send(tcp, "DM webby psst\n");
	ws_expect_text(ws, "DM alice psst");
	ws_send_text(ws, "WHO");
	ws_expect_text(ws, "USERS alice webby");
	ws_send_text(ws, "QUIT");
	ws_expect_text(ws, "INFO bye");
	ws_expect_close(ws, 1000);
	conn_expect(tcp, "INFO webby disconnected");
	conn_close(ws);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A message in three fragments, a ping between them: the pong comes at
 * once, and the message is one line. Lengths in the 16-bit form work. */
Test(web, fragments_are_joined_and_a_ping_between_them_is_answered,
    .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	struct conn *tcp = conn_login(srv.port, "alice");
	struct conn *ws = ws_login(web_port(&srv), "webby");
	struct ws_frame *f = malloc(sizeof(*f));
	char longer[301];

	conn_expect(tcp, "INFO webby joined");
	ws_send_frame(ws, WS_TEXT, true, "MSG fr", 6);
	ws_send_frame(ws, WS_FIN | WS_PING, true, "are you there", 13);
	ws_send_frame(ws, WS_CONT, true, "agm", 3);
	cr_assert(ws_read_frame(ws, f, WAIT_MS));
	cr_assert_eq(f->b0, WS_FIN | WS_PONG);
	cr_assert_str_eq(f->data, "are you there");
	ws_send_frame(ws, WS_FIN | WS_CONT, true, "ents", 4);
	conn_expect(tcp, "MSG webby fragments");

	memset(longer, 'x', 300);
	memcpy(longer, "MSG ", 4);
	longer[300] = '\0';
	ws_send_text(ws, longer);                       /* 16-bit length */
	char want[320];
	snprintf(want, sizeof(want), "MSG webby %s", longer + 4);
	conn_expect(tcp, want);
	conn_send(tcp, "%s\n", longer);
	snprintf(want, sizeof(want), "MSG alice %s", longer + 4);
	ws_expect_text(ws, want);
	free(f);
	conn_close(ws);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* A message over the line limit, whole or in fragments, is refused as on
 * TCP, and so is one with an LF inside; the session goes on. One frame
 * claiming more than 64 KiB is closed with 1009. */
Test(web, a_long_line_is_refused_and_a_huge_frame_closed, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	struct conn *tcp = conn_login(srv.port, "alice");
	struct conn *ws = ws_login(port, "webby");
	static char line[3000];

	conn_expect(tcp, "INFO webby joined");
	memset(line, 'y', sizeof(line) - 1);
	memcpy(line, "MSG ", 4);
	ws_send_text(ws, line);
	struct ws_frame *f = malloc(sizeof(*f));
	cr_assert(ws_read_frame(ws, f, WAIT_MS));
	cr_assert(line_is_err(f->data, "line-too-long"), "%s", f->data);
	free(f);
	ws_send_text(ws, "MSG still here");
	conn_expect(tcp, "MSG webby still here");

	/* Fragments add up: over the limit together is over the limit. */
	ws_send_frame(ws, WS_TEXT, true, line, 700);
	ws_send_frame(ws, WS_CONT, true, line + 4, 700);
	ws_send_frame(ws, WS_FIN | WS_CONT, true, "end", 3);
	f = malloc(sizeof(*f));
	cr_assert(ws_read_frame(ws, f, WAIT_MS));
	cr_assert(line_is_err(f->data, "line-too-long"), "%s", f->data);
	/* One message is one line: an LF inside does not make two. */
	ws_send_text(ws, "MSG one\nMSG two");
	cr_assert(ws_read_frame(ws, f, WAIT_MS));
	cr_assert(line_is_err(f->data, "bad-text"), "%s", f->data);
	free(f);
	ws_send_text(ws, "MSG and on");
	conn_expect(tcp, "MSG webby and on");

	ws_send_claim(ws, WS_FIN | WS_TEXT, 70000);
	ws_expect_close(ws, 1009);
	conn_expect(tcp, "INFO webby disconnected");
	conn_close(ws);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Each way of breaking RFC 6455 ends that session with its close code,
 * and loses nothing for anyone else. */
Test(web, each_broken_frame_gets_its_close_code, .timeout = 60)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	struct conn *tcp = conn_login(srv.port, "alice");
	char big[200];
	memset(big, 'p', sizeof(big));
	struct {
		const char *what;
		unsigned b0;
		bool mask;
		const char *data;
		size_t len;
		unsigned code;
	} cases[] = {
		{ "unmasked", WS_FIN | WS_TEXT, false, "MSG hi", 6, 1002 },
		{ "binary", WS_FIN | WS_BINARY, true, "\x01\x02", 2, 1003 },
		{ "not UTF-8", WS_FIN | WS_TEXT, true, "MSG \xff\xfe", 6, 1007 },
		{ "cut UTF-8", WS_FIN | WS_TEXT, true, "MSG \xe2\x82", 6, 1007 },
		{ "RSV1", WS_FIN | 0x40 | WS_TEXT, true, "MSG hi", 6, 1002 },
		{ "opcode 3", WS_FIN | 0x3, true, "", 0, 1002 },
		{ "opcode 0xB", WS_FIN | 0xB, true, "", 0, 1002 },
		{ "continuation first", WS_FIN | WS_CONT, true, "x", 1, 1002 },
		{ "fragmented ping", WS_PING, true, "x", 1, 1002 },
		{ "long ping", WS_FIN | WS_PING, true, big, 126, 1002 },
		{ "close code 999", WS_FIN | WS_CLOSE, true, "\x03\xe7", 2, 1002 },
		{ "close of 1 byte", WS_FIN | WS_CLOSE, true, "\x03", 1, 1002 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *ws = ws_login(port, "webby");
		conn_expect(tcp, "INFO webby joined");
		ws_send_frame(ws, cases[i].b0, cases[i].mask, cases[i].data,
		    cases[i].len);
		ws_expect_close(ws, cases[i].code);
		conn_expect(tcp, "INFO webby disconnected");
		conn_close(ws);
	}
	/* A text message begun and then another begun inside it. */
	struct conn *ws = ws_login(port, "webby");
	conn_expect(tcp, "INFO webby joined");
	ws_send_frame(ws, WS_TEXT, true, "MSG a", 5);
	ws_send_frame(ws, WS_FIN | WS_TEXT, true, "MSG b", 5);
	ws_expect_close(ws, 1002);
	conn_close(ws);
	conn_expect(tcp, "INFO webby disconnected");
	conn_expect_quiet(tcp);
	cr_assert_eq(server_log_count(&srv, "reason=protocol-error"), 13);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* The close handshake from the client's side: its code echoed, then the
 * connection closed; the others hear the user left. */
Test(web, a_client_close_is_echoed, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	int port = web_port(&srv);
	struct conn *tcp = conn_login(srv.port, "alice");
	unsigned codes[] = { 1000, 1001, 4000 };

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct conn *ws = ws_login(port, "webby");
		conn_expect(tcp, "INFO webby joined");
		ws_send_close(ws, codes[i]);
		ws_expect_close(ws, codes[i]);
		conn_expect(tcp, "INFO webby disconnected");
		conn_close(ws);
	}
	/* A close without a code is answered 1000. */
	struct conn *ws = ws_login(port, "webby");
	ws_send_frame(ws, WS_FIN | WS_CLOSE, true, NULL, 0);
	ws_expect_close(ws, 1000);
	conn_close(ws);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Limits and shutdown ------------------------------------------------ */

/* A WebSocket client that never reads is cut off like any slow consumer;
 * the sender goes on. */
Test(web, a_websocket_that_never_reads_is_cut_off, .timeout = 60)
{
	struct server srv;
	web_start(&srv, "--queue-hard", "64K", "--queue-soft", "0",
	    "--flood-rate", "0", "--sndbuf", "4096");
	struct conn *tcp = conn_login(srv.port, "alice");
	struct conn *ws = ws_login(web_port(&srv), "deaf");
	static char line[1000];

	conn_expect(tcp, "INFO deaf joined");
	setsockopt(ws->fd, SOL_SOCKET, SO_RCVBUF, &(int){ 4096 }, sizeof(int));
	memset(line, 'z', sizeof(line) - 2);
	memcpy(line, "MSG ", 4);
	line[sizeof(line) - 2] = '\n';
	for (int i = 0; i < 2000 && server_log_count(&srv,
	    "user=deaf reason=slow-consumer") == 0; i++)
		conn_send_raw(tcp, line, sizeof(line) - 1);
	cr_assert(server_log_wait(&srv, "user=deaf reason=slow-consumer",
	    WAIT_MS));
	conn_expect_eventually(tcp, "INFO deaf disconnected");
	conn_expect_quiet(tcp);
	conn_close(ws);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* Pings are answered but are not lines: a client that only pings is
 * idle, as PROTOCOL.md says. */
Test(web, an_idle_websocket_is_told_and_closed, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q", "--idle-timeout", "1");
	struct conn *ws = ws_login(web_port(&srv), "sleepy");
	struct ws_frame *f = malloc(sizeof(*f));
	long long t0 = now_ms();

	cr_assert_not_null(f);
	for (int i = 0; i < 20; i++) {          /* 2 s of pings */
		ws_send_frame(ws, WS_FIN | WS_PING, true, "hi", 2);
		cr_assert(ws_read_frame(ws, f, WAIT_MS));
		if (f->b0 != (WS_FIN | WS_PONG))
			break;                  /* the farewell has begun */
		poll(NULL, 0, 100);     /* a client pinging every 100 ms */
	}
	if (f->b0 == (WS_FIN | WS_PONG))
		ws_expect_text(ws, "INFO disconnected due to inactivity");
	else
		cr_assert_str_eq(f->data, "INFO disconnected due to inactivity");
	cr_assert(now_ms() - t0 < 1900, "pings kept it alive for %lld ms",
	    now_ms() - t0);
	free(f);
	ws_expect_close(ws, 1000);
	conn_close(ws);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

Test(web, shutdown_says_so_and_closes_with_1001, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q");
	struct conn *ws = ws_login(web_port(&srv), "webby");

	ws_sync(ws);
	kill(srv.pid, SIGTERM);
	ws_expect_text(ws, "INFO server shutting down");
	ws_expect_close(ws, 1001);
	conn_close(ws);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* --max-clients counts web connections too; a full server answers the
 * web listener with 503. */
Test(web, a_full_server_answers_503, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q", "--max-clients", "1");
	int port = web_port(&srv);
	struct conn *tcp = conn_login(srv.port, "alice");
	struct http_head h;

	struct conn *c = http_get(port, GET("/"), &h);
	cr_assert_eq(h.status, 503, "%s", h.text);
	conn_close(c);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}

/* ---- Metrics ------------------------------------------------------------ */

/* The value of the sample named name (with its labels) in text. */
static double
metric(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p != NULL && *p != '\0';) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	cr_assert_fail("no sample %s", name);
	return -1;
}

/* Every line is a comment (# HELP / # TYPE) or a sample "name{labels}
 * value", with no blank lines and an LF at the end. */
static void
check_exposition(const char *text)
{
	cr_assert(text[0] != '\0' && text[strlen(text) - 1] == '\n');
	for (const char *p = text; *p != '\0'; p = strchr(p, '\n') + 1) {
		size_t len = strcspn(p, "\n");
		cr_assert(len > 0, "a blank line");
		if (p[0] == '#') {
			cr_assert(strncmp(p, "# HELP hubchat_", 15) == 0 ||
			    strncmp(p, "# TYPE hubchat_", 15) == 0, "%.*s",
			    (int)len, p);
			continue;
		}
		cr_assert(strncmp(p, "hubchat_", 8) == 0, "%.*s", (int)len, p);
		const char *sp = memchr(p, ' ', len);
		cr_assert_not_null(sp, "%.*s", (int)len, p);
		char *end;
		strtod(sp + 1, &end);
		cr_assert_eq(end, p + len, "not a number: %.*s", (int)len, p);
	}
}

Test(web, metrics_parse_and_count_what_happened, .timeout = 30)
{
	struct server srv;
	web_start(&srv, "-q", "--metrics");
	int port = web_port(&srv);
	struct conn *tcp = conn_login(srv.port, "alice");
	struct conn *ws = ws_login(port, "webby");
	static char body[65536];
	struct http_head h;
	char v[64];

	conn_expect(tcp, "INFO webby joined");
	conn_send(tcp, "MSG one\nMSG two\n");
	ws_expect_text(ws, "MSG alice one");
	ws_expect_text(ws, "MSG alice two");
	ws_send_text(ws, "LOGIN <bad>");
	struct ws_frame *f = malloc(sizeof(*f));
	cr_assert(ws_read_frame(ws, f, WAIT_MS));
	cr_assert(line_is_err(f->data, "already-logged-in"), "%s", f->data);
	free(f);
	int threads = server_threads(srv.pid);
	struct conn *c = http_get(port, GET("/metrics"), &h);
	cr_assert_eq(h.status, 200);
	cr_assert(http_header(&h, "Content-Type", v, sizeof(v)));
	cr_assert(strncmp(v, "text/plain; version=0.0.4", 25) == 0, "%s", v);
	cr_assert(http_header(&h, "Content-Length", v, sizeof(v)));
	cr_assert(http_read_body(c, body, sizeof(body), (size_t)atol(v),
	    WAIT_MS));
	conn_close(c);
	check_exposition(body);
	cr_assert_eq(metric(body, "hubchat_clients"), 3, "%s", body);
	cr_assert_eq(metric(body, "hubchat_logged_in"), 2);
	cr_assert_eq(metric(body, "hubchat_messages_total"), 2);
	/* alice heard webby join, and webby heard two messages */
	cr_assert_eq(metric(body, "hubchat_deliveries_total"), 3);
	cr_assert_eq(metric(body, "hubchat_evictions_total"), 0);
	cr_assert_eq(metric(body, "hubchat_refused_total{reason=\"full\"}"), 0);
	/* Its threads, as /proc counted them before this request, and the
	 * request's own two (a sanitizer may add threads of its own). */
	cr_assert_eq(metric(body, "hubchat_threads"), threads + 2);
	cr_assert(metric(body, "hubchat_resident_memory_bytes") > 1 << 20);
	cr_assert_eq(metric(body, "hubchat_queued_bytes"), 0);
	conn_close(ws);
	conn_close(tcp);
	cr_assert_eq(server_stop(&srv, SIGTERM, 3000), 0);
}
