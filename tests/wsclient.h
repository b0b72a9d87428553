/*
 * wsclient.h - a WebSocket client for the tests, on harness.h's conn: the
 * HTTP request and response head, then frames written byte by byte as a
 * test wants them (masked or not, any opcode, any length form) and read
 * back with deadlines. Written from RFC 6455 for the tests' own use; the
 * server's codec (ws.h) is not used here, so the two check each other.
 *
 * Like harness.h's conn_* calls, the ws_* calls that assert may run only
 * on the test's own thread.
 */
#ifndef HUBCHAT_TEST_WSCLIENT_H
#define HUBCHAT_TEST_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

/* The RFC's sample key and its accept value (RFC 6455, 1.3). */
#define WS_TEST_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_TEST_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* An HTTP response head, read whole. */
struct http_head {
	int status;             /* 0 when none came */
	char text[8192];        /* the head, NUL-terminated */
};

/* Sends request as it is and reads the response head into h (the bytes
 * after it stay unread in c). */
void http_exchange(struct conn *c, const char *request, struct http_head *h);
/* Reads a response head only. False at EOF or the deadline. */
bool http_read_head(struct conn *c, struct http_head *h, int ms);
/* The value of header name in h (case-insensitive name), copied to out;
 * false when absent. */
bool http_header(const struct http_head *h, const char *name, char *out,
    size_t outsz);
/* Reads exactly n body bytes into out (n < outsz; NUL-terminated). */
bool http_read_body(struct conn *c, char *out, size_t outsz, size_t n,
    int ms);

/* GET /ws with the RFC's key and extra header lines (each ending in
 * "\r\n", or NULL): the response head in h. */
struct conn *ws_request(int port, const char *extra, struct http_head *h);
/* ws_request expecting 101, then the server's welcome line. */
struct conn *ws_open(int port);
/* ws_open, LOGIN name, OK. */
struct conn *ws_login(int port, const char *name);

enum {
	WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2,
	WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xA,
	WS_FIN = 0x80,
};

/* Sends one frame: first byte b0 (FIN, RSV and opcode bits), masked
 * unless mask is false; the length in the shortest form. */
void ws_send_frame(struct conn *c, unsigned b0, bool mask, const void *data,
    size_t len);
/* The same with the 64-bit length form claiming len bytes, and only the
 * header sent: for frames that claim more than anyone would send. */
void ws_send_claim(struct conn *c, unsigned b0, unsigned long long len);
/* One whole masked text message. */
void ws_send_text(struct conn *c, const char *text);
/* A close frame with code (masked). */
void ws_send_close(struct conn *c, unsigned code);

/* A frame from the server. */
struct ws_frame {
	unsigned b0;            /* FIN, RSV and opcode */
	bool masked;            /* a server must not mask */
	size_t len;
	char data[70000];       /* NUL-terminated */
};

/* Reads one frame; false at EOF, on an error or at the deadline. */
bool ws_read_frame(struct conn *c, struct ws_frame *f, int ms);
/* Reads one frame and asserts it is an unmasked, final text frame equal
 * to want. */
void ws_expect_text(struct conn *c, const char *want);
/* Reads text frames until one equals want. */
void ws_expect_text_eventually(struct conn *c, const char *want);
/* Reads frames, skipping text, until a close frame; asserts its code is
 * code and that the server then closes the connection. */
void ws_expect_close(struct conn *c, unsigned code);
/* PING token, and every frame up to its PONG line skipped. */
void ws_sync(struct conn *c);

#endif
