/*
 * wsclient.c - see wsclient.h.
 */
#include "wsclient.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads until at least need bytes are unread in c; false at EOF, on an
 * error or at the deadline. */
static bool
fill(struct conn *c, size_t need, long long deadline)
{
	cr_assert(need <= sizeof(c->buf));
	if (c->start + need > sizeof(c->buf)) {        /* make room */
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	while (c->len - c->start < need) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
		    0);
		if (n == 0 || (n < 0 && errno != EINTR))
			return false;
		if (n > 0)
			c->len += (size_t)n;
	}
	return true;
}

/* ---- HTTP ------------------------------------------------------------- */

bool
http_read_head(struct conn *c, struct http_head *h, int ms)
{
	long long deadline = now_ms() + ms;

	h->status = 0;
	h->text[0] = '\0';
	for (;;) {
		char *s = c->buf + c->start;
		char *end = memmem(s, c->len - c->start, "\r\n\r\n", 4);
		if (end != NULL) {
			size_t n = (size_t)(end - s) + 4;
			cr_assert(n < sizeof(h->text), "head too long");
			memcpy(h->text, s, n);
			h->text[n] = '\0';
			c->start += n;
			return sscanf(h->text, "HTTP/1.1 %d ", &h->status) == 1;
		}
		if (!fill(c, c->len - c->start + 1, deadline))
			return false;
	}
}

void
http_exchange(struct conn *c, const char *request, struct http_head *h)
{
	conn_send_raw(c, request, strlen(request));
	cr_assert(http_read_head(c, h, WAIT_MS), "no response to %.40s",
	    request);
}

bool
http_header(const struct http_head *h, const char *name, char *out,
    size_t outsz)
{
	size_t n = strlen(name);

	for (const char *p = strstr(h->text, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2;
		if (strncasecmp(line, name, n) != 0 || line[n] != ':')
			continue;
		const char *v = line + n + 1;
		v += strspn(v, " ");
		size_t len = strcspn(v, "\r");
		snprintf(out, outsz, "%.*s", (int)len, v);
		return true;
	}
	return false;
}

bool
http_read_body(struct conn *c, char *out, size_t outsz, size_t n, int ms)
{
	cr_assert(n < outsz);
	if (!fill(c, n, now_ms() + ms))
		return false;
	memcpy(out, c->buf + c->start, n);
	out[n] = '\0';
	c->start += n;
	return true;
}

/* ---- The opening handshake -------------------------------------------- */

struct conn *
ws_request(int port, const char *extra, struct http_head *h)
{
	struct conn *c = conn_open_raw(port);

	conn_send(c, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " WS_TEST_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s\r\n", port,
	    extra != NULL ? extra : "");
	cr_assert(http_read_head(c, h, WAIT_MS), "no response to the upgrade");
	return c;
}

struct conn *
ws_open(int port)
{
	struct http_head h;
	struct ws_frame *f = malloc(sizeof(*f));
	struct conn *c = ws_request(port, NULL, &h);

	cr_assert_eq(h.status, 101, "upgrade answered: %s", h.text);
	cr_assert_not_null(f);
	cr_assert(ws_read_frame(c, f, WAIT_MS), "no welcome frame");
	cr_assert(strncmp(f->data, "INFO ", 5) == 0, "welcome was: %s",
	    f->data);
	free(f);
	return c;
}

struct conn *
ws_login(int port, const char *name)
{
	struct conn *c = ws_open(port);
	char line[128];

	snprintf(line, sizeof(line), "LOGIN %s", name);
	ws_send_text(c, line);
	ws_expect_text(c, "OK");
	return c;
}

/* ---- Frames ------------------------------------------------------------ */

/* Writes a frame header for len bytes into h (the 64-bit form when
 * long_form); returns its length. The mask key follows when masked. */
static size_t
frame_header(unsigned char *h, unsigned b0, bool mask,
    unsigned long long len, bool long_form)
{
	unsigned char m = mask ? 0x80 : 0;
	size_t n = 0;

	h[n++] = (unsigned char)b0;
	if (len < 126 && !long_form) {
		h[n++] = (unsigned char)(m | len);
	} else if (len <= 0xFFFF && !long_form) {
		h[n++] = m | 126;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[n++] = m | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (unsigned char)(len >> (8 * i));
	}
	return n;
}

void
ws_send_frame(struct conn *c, unsigned b0, bool mask, const void *data,
    size_t len)
{
	static const unsigned char key[4] = { 0x5a, 0x13, 0xc7, 0x81 };
	unsigned char *f = malloc(len + 14);
	const unsigned char *p = data;

	cr_assert_not_null(f);
	size_t n = frame_header(f, b0, mask, len, false);
	if (mask) {
		memcpy(f + n, key, 4);
		n += 4;
	}
	for (size_t i = 0; i < len; i++)
		f[n + i] = p[i] ^ (mask ? key[i & 3] : 0);
	conn_send_raw(c, f, n + len);
	free(f);
}

void
ws_send_claim(struct conn *c, unsigned b0, unsigned long long len)
{
	unsigned char h[14];
	size_t n = frame_header(h, b0, true, len, true);

	memcpy(h + n, "\x01\x02\x03\x04", 4);
	conn_send_raw(c, h, n + 4);
}

void
ws_send_text(struct conn *c, const char *text)
{
	ws_send_frame(c, WS_FIN | WS_TEXT, true, text, strlen(text));
}

void
ws_send_close(struct conn *c, unsigned code)
{
	unsigned char p[2] = { (unsigned char)(code >> 8), (unsigned char)code };

	ws_send_frame(c, WS_FIN | WS_CLOSE, true, p, 2);
}

bool
ws_read_frame(struct conn *c, struct ws_frame *f, int ms)
{
	long long deadline = now_ms() + ms;

	if (!fill(c, 2, deadline))
		return false;
	const unsigned char *h = (unsigned char *)c->buf + c->start;
	size_t head = 2, len = h[1] & 0x7F;
	f->b0 = h[0];
	f->masked = (h[1] & 0x80) != 0;
	head += len == 126 ? 2 : len == 127 ? 8 : 0;
	head += f->masked ? 4 : 0;
	if (!fill(c, head, deadline))
		return false;
	h = (unsigned char *)c->buf + c->start;
	if (len >= 126) {
		size_t bytes = len == 126 ? 2 : 8;
		len = 0;
		for (size_t i = 0; i < bytes; i++)
			len = len << 8 | h[2 + i];
	}
	cr_assert(len < sizeof(f->data), "a frame of %zu bytes", len);
	if (!fill(c, head + len, deadline))
		return false;
	memcpy(f->data, c->buf + c->start + head, len);
	f->data[len] = '\0';
	f->len = len;
	c->start += head + len;
	return true;
}

/* Reads a frame into f, asserting it came and is well-formed. */
static void
read_frame(struct conn *c, struct ws_frame *f)
{
	cr_assert(ws_read_frame(c, f, WAIT_MS), "no frame came");
	cr_assert(!f->masked, "the server masked a frame");
	cr_assert((f->b0 & 0x70) == 0, "reserved bits set: 0x%02x", f->b0);
}

void
ws_expect_text(struct conn *c, const char *want)
{
	struct ws_frame *f = malloc(sizeof(*f));

	cr_assert_not_null(f);
	read_frame(c, f);
	cr_assert_eq(f->b0, WS_FIN | WS_TEXT, "frame 0x%02x: %s", f->b0,
	    f->data);
	cr_assert_str_eq(f->data, want);
	free(f);
}

void
ws_expect_text_eventually(struct conn *c, const char *want)
{
	struct ws_frame *f = malloc(sizeof(*f));

	cr_assert_not_null(f);
	do {
		read_frame(c, f);
		cr_assert_eq(f->b0, WS_FIN | WS_TEXT, "frame 0x%02x waiting "
		    "for %s", f->b0, want);
	} while (strcmp(f->data, want) != 0);
	free(f);
}

void
ws_expect_close(struct conn *c, unsigned code)
{
	struct ws_frame *f = malloc(sizeof(*f));

	cr_assert_not_null(f);
	do
		read_frame(c, f);
	while (f->b0 == (WS_FIN | WS_TEXT));
	cr_assert_eq(f->b0, WS_FIN | WS_CLOSE, "frame 0x%02x, not a close",
	    f->b0);
	cr_assert(f->len >= 2, "a close frame without a code");
	unsigned got = (unsigned char)f->data[0] << 8 |
	    (unsigned char)f->data[1];
	cr_assert_eq(got, code, "close code %u, wanted %u", got, code);
	free(f);
	cr_assert(conn_wait_closed(c, WAIT_MS), "not closed after the close");
}

void
ws_sync(struct conn *c)
{
	static int token;
	char line[32];

	snprintf(line, sizeof(line), "PING wsync%d", ++token);
	ws_send_text(c, line);
	snprintf(line, sizeof(line), "PONG wsync%d", token);
	ws_expect_text_eventually(c, line);
}
