/*
 * ws.h - the server side of RFC 6455 WebSocket as pure functions on bytes:
 * the handshake's accept key, a parser for client frames and encoders for
 * server frames. No sockets, no threads, no allocation but the parser's.
 *
 * The parser is shaped like proto.h's framer: the caller asks for space,
 * reads into it, commits, then takes events until WS_NEED_MORE. Each text
 * message (fragments put together) is one event; so are ping, pong and
 * close, which may arrive between the fragments of a message. A rule broken
 * is a WS_ERROR carrying the close code the server must send before it
 * closes the connection:
 *   1002  a reserved bit set; an unmasked frame; an unknown opcode; a
 *         control frame fragmented or over 125 bytes; a continuation with
 *         no message open; a new data frame while one is; a length not in
 *         its shortest form or with the top bit set; a close payload of 1
 *         byte or with a code no endpoint may send;
 *   1003  a binary frame (chat lines are text);
 *   1007  a message or close reason that is not valid UTF-8;
 *   1009  a frame claiming more than WS_MAX_FRAME bytes.
 * The first two bytes of a header (bits, mask flag, opcode, short length)
 * are checked as soon as they arrive, and an extended length as soon as it
 * is whole, so a bad frame is refused without waiting for the rest. Lengths
 * must be in their shortest form because RFC 6455 section 5.2 says senders
 * MUST do so, and every browser does.
 *
 * Memory is bounded: a fixed input buffer, one control payload and one
 * message of at most max bytes. A message longer than max (but with no
 * frame over WS_MAX_FRAME) is reported once as WS_TOO_LONG, as soon as a
 * frame header shows it will not fit; its bytes are then dropped without
 * being checked, and parsing goes on with the next message. This mirrors
 * the TCP framer, so the server can answer "ERR line-too-long" either way.
 */
#ifndef HUBCHAT_WS_H
#define HUBCHAT_WS_H

#include <stdbool.h>
#include <stddef.h>

#define WS_MAX_FRAME   65536  /* payload bytes one client frame may claim */
#define WS_MAX_CONTROL 125    /* payload bytes in a control frame */
#define WS_ACCEPT_LEN  28     /* characters in Sec-WebSocket-Accept */
#define WS_HEADER_MAX  10     /* bytes in a server frame's header */
#define WS_CONTROL_FRAME_MAX (2 + WS_MAX_CONTROL)   /* a whole one, sent */
#define WS_MIN_ROOM    4000   /* ws_parser_space's least room, see there */

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* The close codes this server sends or reports (RFC 6455 section 7.4.1). */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,   /* an empty close's code; never sent */
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* ---- Handshake --------------------------------------------------------- */

/* True when key[0..len) is a valid Sec-WebSocket-Key: the canonical base64
 * of exactly 16 bytes (24 characters). */
bool ws_key_ok(const char *key, size_t len);

/* Writes the Sec-WebSocket-Accept value for the client's key[0..len) to out,
 * NUL-terminated: base64 of the SHA-1 of the key and the RFC's GUID. Check
 * the key with ws_key_ok first. Never fails. */
void ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1]);

/* ---- Parsing client frames --------------------------------------------- */

struct ws_parser;

enum ws_kind {
	WS_NEED_MORE,   /* no complete event buffered: read more */
	WS_TEXT,        /* data/len: one whole text message, valid UTF-8 */
	WS_TOO_LONG,    /* a message over max: reply once, it is skipped */
	WS_PING,        /* data/len: the payload, to echo in a pong */
	WS_PONG,        /* data/len: the payload */
	WS_CLOSE,       /* code: the client's (1005 when it sent none);
	                   data/len: its reason, valid UTF-8 */
	WS_ERROR,       /* code: the close code to send; nothing follows */
};

struct ws_event {
	enum ws_kind kind;
	char *data;     /* inside the parser, NUL-terminated; NULL when the
	                   kind has no payload */
	size_t len;     /* bytes at data, without the NUL */
	unsigned code;  /* WS_CLOSE and WS_ERROR only; 0 otherwise */
};

/* Returns an empty parser whose messages may hold max bytes, or NULL when
 * memory runs out. It takes about 4.2 KiB plus max bytes, all allocated
 * here and never grown. The caller frees it with ws_parser_free. */
struct ws_parser *ws_parser_new(size_t max);
void ws_parser_free(struct ws_parser *p);

/* Where the next read should store bytes: returns the start and sets *room
 * (at least WS_MIN_ROOM after ws_parser_next said WS_NEED_MORE). Report what
 * was stored with ws_parser_commit(p, n), n <= *room. */
char *ws_parser_space(struct ws_parser *p, size_t *room);
void ws_parser_commit(struct ws_parser *p, size_t n);

/* Takes the next event from the committed bytes into *ev and returns its
 * kind. ev->data points into the parser and stays valid until the next call
 * to ws_parser_next; the caller may modify its bytes. Call until it returns
 * WS_NEED_MORE, then read again.
 * After WS_CLOSE the parser ignores all further input (WS_NEED_MORE); after
 * WS_ERROR it reports the same error on every call. Either way the server
 * is expected to answer with a close frame and end the connection. */
enum ws_kind ws_parser_next(struct ws_parser *p, struct ws_event *ev);

/* ---- Encoding server frames -------------------------------------------- */

/* Writes the header of a final, unmasked frame with opcode op and a payload
 * of len bytes to out, in the shortest length form; returns its size (2, 4
 * or 10). The payload can then be sent from where it is (writev). op is not
 * WS_OP_CONTINUATION (the server never fragments), and a control opcode
 * needs len <= WS_MAX_CONTROL (both asserted). */
size_t ws_frame_header(unsigned char out[WS_HEADER_MAX], enum ws_opcode op,
    size_t len);

/* Writes a whole close frame to out and returns its size. code 0 sends an
 * empty payload (the answer to a close that had none); any other code must
 * be one an endpoint may send, and reason[0..len) UTF-8 of at most
 * WS_MAX_CONTROL - 2 bytes (asserted). */
size_t ws_close_frame(unsigned char out[WS_CONTROL_FRAME_MAX], unsigned code,
    const char *reason, size_t len);

/* Writes a whole pong frame echoing payload[0..len), len <= WS_MAX_CONTROL
 * (asserted), to out and returns its size. */
size_t ws_pong_frame(unsigned char out[WS_CONTROL_FRAME_MAX],
    const char *payload, size_t len);

#endif
