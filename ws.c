/*
 * ws.c - the WebSocket handshake key, the client-frame parser and the
 * server-frame encoders; see ws.h for the contract.
 *
 * The parser reads a frame in two states. In HEADER it waits until the whole
 * header (2 to 14 bytes) is buffered, having checked the first two bytes as
 * soon as they came. In PAYLOAD it consumes whatever part of the payload is
 * buffered, unmasking each byte with the mask byte its position in the
 * payload selects, so any split of the input gives the same bytes. Payload
 * goes to one of three places: the message buffer (a data frame that fits),
 * the control buffer (ping, pong, close) or nowhere (a message too long).
 * Because payload is always consumed as it arrives, at most a partial
 * header stays unread in the input buffer between reads.
 *
 * Two states end the parse: CLOSED after a valid close, FAILED after a
 * broken rule. Both drop any further input.
 */
#include "ws.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "proto.h"
#include "sha1.h"

/* ---- Handshake --------------------------------------------------------- */

#define WS_KEY_LEN 24   /* base64 of 16 bytes */

/* RFC 6455 section 1.3: every server appends this to the client's key. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool
ws_key_ok(const char *key, size_t len)
{
	unsigned char raw[BASE64_DECODED_MAX(WS_KEY_LEN)];

	return len == WS_KEY_LEN &&
	    base64_decode(key, len, raw, sizeof(raw)) == 16;
}

void
ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char digest[SHA1_LEN];
	struct sha1 ctx;

	sha1_init(&ctx);
	sha1_update(&ctx, key, len);
	sha1_update(&ctx, ws_guid, sizeof(ws_guid) - 1);
	sha1_final(&ctx, digest);
	size_t n = base64_encode(digest, sizeof(digest), out,
	    WS_ACCEPT_LEN + 1);
	assert(n == WS_ACCEPT_LEN);
}

/* ---- Parsing client frames --------------------------------------------- */

/*
 * The input buffer holds what one read brings; a read of a large frame takes
 * several. Invariant: start <= end <= WS_INPUT_SIZE; bytes [start, end) are
 * unread; after WS_NEED_MORE, start == 0 and end < WS_CLIENT_HEADER_MAX.
 */
#define WS_INPUT_SIZE 4096
#define WS_CLIENT_HEADER_MAX 14   /* 2 + 8 bytes of length + 4 of mask */

_Static_assert(WS_INPUT_SIZE - WS_CLIENT_HEADER_MAX >= WS_MIN_ROOM,
    "ws_parser_space must keep its promise of room");

enum ws_state {
	WS_ST_HEADER,    /* waiting for a frame header */
	WS_ST_PAYLOAD,   /* inside a frame's payload */
	WS_ST_CLOSED,    /* a close was reported: input is ignored */
	WS_ST_FAILED,    /* an error was reported: it is reported again */
};

enum ws_target {
	WS_TO_MESSAGE,   /* append to msg (a data frame that fits) */
	WS_TO_CONTROL,   /* store in ctl (ping, pong, close) */
	WS_TO_NOWHERE,   /* drop (a message past max) */
};

struct ws_parser {
	size_t max;              /* bytes a message may hold */
	enum ws_state state;
	unsigned fail_code;      /* FAILED: the code reported */

	/* The frame in progress, valid in PAYLOAD. done + left is its
	 * payload length, at most WS_MAX_FRAME. */
	unsigned opcode;
	bool fin;
	unsigned char mask[4];
	size_t done;             /* payload bytes consumed so far */
	size_t left;             /* payload bytes still to come */
	enum ws_target target;

	/* The text message being put together. in_message: a frame without
	 * FIN opened it, so only continuations (and control frames) may
	 * follow. skipping: it went past max and is dropped. msg_len <= max
	 * always; msg has room for max bytes and a NUL. */
	bool in_message;
	bool skipping;
	size_t msg_len;

	unsigned char in[WS_INPUT_SIZE];
	size_t start, end;
	char ctl[WS_MAX_CONTROL + 1];
	char msg[];
};

struct ws_parser *
ws_parser_new(size_t max)
{
	if (max > SIZE_MAX / 2)     /* the size below would overflow */
		return NULL;
	struct ws_parser *p = calloc(1, sizeof(*p) + max + 1);
	if (p != NULL)
		p->max = max;
	return p;
}

void
ws_parser_free(struct ws_parser *p)
{
	free(p);
}

char *
ws_parser_space(struct ws_parser *p, size_t *room)
{
	*room = WS_INPUT_SIZE - p->end;
	return (char *)p->in + p->end;
}

void
ws_parser_commit(struct ws_parser *p, size_t n)
{
	assert(n <= WS_INPUT_SIZE - p->end);
	p->end += n;
}

/* Sets *ev to an event of kind k with no payload, and returns k. */
static enum ws_kind
ws_report(struct ws_event *ev, enum ws_kind k, unsigned code)
{
	ev->kind = k;
	ev->data = NULL;
	ev->len = 0;
	ev->code = code;
	return k;
}

/* Reports a broken rule, now and on every later call. */
static enum ws_kind
ws_fail(struct ws_parser *p, struct ws_event *ev, unsigned code)
{
	p->state = WS_ST_FAILED;
	p->fail_code = code;
	p->start = p->end = 0;
	return ws_report(ev, WS_ERROR, code);
}

/* Moves the unread bytes (at most a partial header) to the front. */
static enum ws_kind
ws_need_more(struct ws_parser *p, struct ws_event *ev)
{
	size_t unread = p->end - p->start;

	assert(unread < WS_CLIENT_HEADER_MAX);
	memmove(p->in, p->in + p->start, unread);
	p->start = 0;
	p->end = unread;
	return ws_report(ev, WS_NEED_MORE, 0);
}

/* The close code the first two header bytes call for, or 0 when they are
 * fine; see ws.h for the rules. */
static unsigned
ws_check_start(const struct ws_parser *p, unsigned b0, unsigned b1)
{
	unsigned op = b0 & 0x0F, len7 = b1 & 0x7F;
	bool fin = b0 & 0x80;

	if ((b0 & 0x70) != 0 || (b1 & 0x80) == 0)
		return WS_CLOSE_PROTOCOL;        /* RSV bits; no mask */
	if (op & 0x08) {
		if (op > WS_OP_PONG || !fin || len7 > WS_MAX_CONTROL)
			return WS_CLOSE_PROTOCOL;
		return 0;
	}
	if (op > WS_OP_BINARY)
		return WS_CLOSE_PROTOCOL;        /* reserved data opcode */
	if (op == WS_OP_CONTINUATION && !p->in_message)
		return WS_CLOSE_PROTOCOL;
	if (op != WS_OP_CONTINUATION && p->in_message)
		return WS_CLOSE_PROTOCOL;
	if (op == WS_OP_BINARY)
		return WS_CLOSE_UNSUPPORTED;
	return 0;
}

/* Decodes the extended length at b (2 or 8 bytes, big-endian) into *len.
 * Returns 0, or the close code for a length that is not in its shortest
 * form, has the top bit set, or is over WS_MAX_FRAME. */
static unsigned
ws_decode_length(const unsigned char *b, size_t size, size_t *len)
{
	uint64_t v = 0;

	assert(size == 2 || size == 8);
	for (size_t i = 0; i < size; i++)
		v = v << 8 | b[i];
	if (size == 2 ? v < 126 : (v >> 63 != 0 || v <= 0xFFFF))
		return WS_CLOSE_PROTOCOL;
	if (v > WS_MAX_FRAME)
		return WS_CLOSE_TOO_BIG;
	*len = (size_t)v;
	return 0;
}

/* Reads the frame header at the start of the unread bytes into the frame
 * fields. Returns 0 when it did, -1 when more bytes are needed, or the
 * close code of the rule the header breaks. */
static int
ws_parse_header(struct ws_parser *p)
{
	const unsigned char *b = p->in + p->start;
	size_t avail = p->end - p->start, len, ext;
	unsigned code;

	if (avail < 2)
		return -1;
	if ((code = ws_check_start(p, b[0], b[1])) != 0)
		return (int)code;
	len = b[1] & 0x7F;
	ext = len == 126 ? 2 : len == 127 ? 8 : 0;
	if (avail < 2 + ext)
		return -1;
	if (ext > 0 && (code = ws_decode_length(b + 2, ext, &len)) != 0)
		return (int)code;
	if (avail < 2 + ext + 4)
		return -1;

	p->opcode = b[0] & 0x0F;
	p->fin = b[0] & 0x80;
	memcpy(p->mask, b + 2 + ext, 4);
	p->done = 0;
	p->left = len;
	p->start += 2 + ext + 4;
	return 0;
}

/* Chooses where the new frame's payload goes. Returns true when that is an
 * event to report: the first frame of a message that will not fit. */
static bool
ws_begin_payload(struct ws_parser *p, struct ws_event *ev)
{
	p->state = WS_ST_PAYLOAD;
	if (p->opcode & 0x08) {
		p->target = WS_TO_CONTROL;
		return false;
	}
	p->in_message = !p->fin;
	if (!p->skipping && p->left > p->max - p->msg_len) {
		p->skipping = true;
		ws_report(ev, WS_TOO_LONG, 0);
		p->target = WS_TO_NOWHERE;
		return true;
	}
	p->target = p->skipping ? WS_TO_NOWHERE : WS_TO_MESSAGE;
	return false;
}

/* Consumes as much of the frame's payload as is buffered, unmasked into its
 * target. */
static void
ws_take_payload(struct ws_parser *p)
{
	const unsigned char *src = p->in + p->start;
	size_t n = p->end - p->start;
	char *dst = NULL;

	if (n > p->left)
		n = p->left;
	if (p->target == WS_TO_MESSAGE) {
		assert(p->msg_len + n <= p->max);
		dst = p->msg + p->msg_len;
		p->msg_len += n;
	} else if (p->target == WS_TO_CONTROL) {
		assert(p->done + n <= WS_MAX_CONTROL);
		dst = p->ctl + p->done;
	}
	if (dst != NULL)
		for (size_t i = 0; i < n; i++)
			dst[i] = (char)(src[i] ^ p->mask[(p->done + i) & 3]);
	p->done += n;
	p->left -= n;
	p->start += n;
}

/* True for a code a close frame may carry: RFC 6455's own (1004-1006 and
 * 1015 are never sent), the IANA registry's 1012-1014, and the ranges for
 * libraries (3000-3999) and applications (4000-4999). */
static bool
ws_close_code_ok(unsigned code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* Reports a complete close frame, or the rule its payload breaks. */
static enum ws_kind
ws_close_done(struct ws_parser *p, struct ws_event *ev)
{
	size_t len = p->done;

	if (len == 0) {
		p->state = WS_ST_CLOSED;
		ws_report(ev, WS_CLOSE, WS_CLOSE_NO_STATUS);
		ev->data = p->ctl;
		return WS_CLOSE;
	}
	const unsigned char *c = (const unsigned char *)p->ctl;
	unsigned code = (unsigned)c[0] << 8 | c[1];
	if (len == 1 || !ws_close_code_ok(code))
		return ws_fail(p, ev, WS_CLOSE_PROTOCOL);
	if (!proto_utf8_ok(p->ctl + 2, len - 2))
		return ws_fail(p, ev, WS_CLOSE_BAD_DATA);
	p->state = WS_ST_CLOSED;
	ws_report(ev, WS_CLOSE, code);
	ev->data = p->ctl + 2;
	ev->len = len - 2;
	return WS_CLOSE;
}

/* Reports a complete control frame. */
static enum ws_kind
ws_control_done(struct ws_parser *p, struct ws_event *ev)
{
	p->ctl[p->done] = '\0';
	if (p->opcode == WS_OP_CLOSE)
		return ws_close_done(p, ev);
	ws_report(ev, p->opcode == WS_OP_PING ? WS_PING : WS_PONG, 0);
	ev->data = p->ctl;
	ev->len = p->done;
	return ev->kind;
}

/* A data frame is complete. Returns true when that is an event to report:
 * the last frame of a message that fit, which is then either text or, if
 * it is not UTF-8, an error. */
static bool
ws_data_done(struct ws_parser *p, struct ws_event *ev)
{
	if (!p->fin)
		return false;
	size_t len = p->msg_len;
	bool skipped = p->skipping;
	p->msg_len = 0;
	p->skipping = false;
	if (skipped)
		return false;
	if (!proto_utf8_ok(p->msg, len)) {
		ws_fail(p, ev, WS_CLOSE_BAD_DATA);
		return true;
	}
	p->msg[len] = '\0';
	ws_report(ev, WS_TEXT, 0);
	ev->data = p->msg;
	ev->len = len;
	return true;
}

/* Takes one step in a live state. Returns true when *ev holds an event to
 * report (WS_NEED_MORE included), false to take another step. */
static bool
ws_step(struct ws_parser *p, struct ws_event *ev)
{
	if (p->state == WS_ST_HEADER) {
		int rc = ws_parse_header(p);
		if (rc < 0) {
			ws_need_more(p, ev);
			return true;
		}
		if (rc > 0) {
			ws_fail(p, ev, (unsigned)rc);
			return true;
		}
		return ws_begin_payload(p, ev);
	}
	assert(p->state == WS_ST_PAYLOAD);
	ws_take_payload(p);
	if (p->left > 0) {
		ws_need_more(p, ev);
		return true;
	}
	p->state = WS_ST_HEADER;
	if (p->opcode & 0x08) {
		ws_control_done(p, ev);
		return true;
	}
	return ws_data_done(p, ev);
}

enum ws_kind
ws_parser_next(struct ws_parser *p, struct ws_event *ev)
{
	if (p->state == WS_ST_FAILED)
		return ws_fail(p, ev, p->fail_code);
	if (p->state == WS_ST_CLOSED) {
		p->start = p->end = 0;
		return ws_report(ev, WS_NEED_MORE, 0);
	}
	while (!ws_step(p, ev))
		continue;
	return ev->kind;
}

/* ---- Encoding server frames -------------------------------------------- */

size_t
ws_frame_header(unsigned char out[WS_HEADER_MAX], enum ws_opcode op,
    size_t len)
{
	assert(op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CLOSE ||
	    op == WS_OP_PING || op == WS_OP_PONG);
	assert(!(op & 0x08) || len <= WS_MAX_CONTROL);

	out[0] = (unsigned char)(0x80 | op);     /* FIN, no RSV bits */
	if (len < 126) {
		out[1] = (unsigned char)len;
		return 2;
	}
	if (len <= 0xFFFF) {
		out[1] = 126;
		out[2] = (unsigned char)(len >> 8);
		out[3] = (unsigned char)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 10;
}

size_t
ws_close_frame(unsigned char out[WS_CONTROL_FRAME_MAX], unsigned code,
    const char *reason, size_t len)
{
	if (code == 0) {
		assert(len == 0);
		return ws_frame_header(out, WS_OP_CLOSE, 0);
	}
	assert(ws_close_code_ok(code));
	assert(len <= WS_MAX_CONTROL - 2 && proto_utf8_ok(reason, len));
	size_t h = ws_frame_header(out, WS_OP_CLOSE, 2 + len);
	out[h] = (unsigned char)(code >> 8);
	out[h + 1] = (unsigned char)code;
	if (len > 0)
		memcpy(out + h + 2, reason, len);
	return h + 2 + len;
}

size_t
ws_pong_frame(unsigned char out[WS_CONTROL_FRAME_MAX], const char *payload,
    size_t len)
{
	size_t h = ws_frame_header(out, WS_OP_PONG, len);

	if (len > 0)
		memcpy(out + h, payload, len);
	return h + len;
}
