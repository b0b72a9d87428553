/*
 * resp.h - RESP2, the Redis protocol, as pure functions on bytes: commands
 * encoded as arrays of bulk strings, and replies parsed incrementally into
 * small trees. No I/O and no threads; resp_conn.h adds the socket.
 *
 * The parser is fed bytes in any chunking and hands back one complete reply
 * at a time; a pipelined burst yields several. It trusts nothing it reads:
 * every length is checked against a limit before anything is allocated, and
 * the memory one reply may take in total is capped too, since the element
 * and bulk limits alone would still multiply into terabytes. A parse error
 * is final: RESP2 has no way to find the next reply after a broken one, so
 * the parser keeps failing with the same message until it is freed.
 *
 * Only RESP2 is understood (the server's default; we never send HELLO 3).
 * A nil bulk string ($-1) and a nil array (*-1) both read as RESP_NIL:
 * RESP2 gives them the same meaning, "no value".
 *
 * Ownership: a struct resp_buf is the caller's own. A parser comes from
 * resp_parser_new and each reply from a parser; whoever holds one frees it
 * with one call. Every object belongs to one thread at a time; nothing
 * here locks.
 */
#ifndef HUBCHAT_RESP_H
#define HUBCHAT_RESP_H

#include <stdbool.h>
#include <stddef.h>

/* ---- Encoding commands ------------------------------------------------- */

/*
 * A growable byte buffer owned by the caller: all zero is an empty buffer.
 * Invariant: len <= cap, and data holds cap bytes (NULL when cap is 0).
 */
struct resp_buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Appends the command argv[0..argc) to b as an array of bulk strings.
 * Argument i is lens[i] bytes of any value, or, when lens is NULL, the
 * NUL-terminated string argv[i]. argc must be at least 1. Returns 0, or -1
 * when memory runs out, leaving b as it was. */
int resp_encode(struct resp_buf *b, int argc, const char *const argv[],
    const size_t lens[]);

/* Frees b's bytes and leaves it empty, ready for reuse. */
void resp_buf_free(struct resp_buf *b);

/* ---- Replies ----------------------------------------------------------- */

struct resp_reply;

enum resp_type {
	RESP_STRING,    /* +OK: a simple string, no CR or LF inside */
	RESP_ERROR,     /* -ERR ...: the server refused the command */
	RESP_INTEGER,   /* :42 */
	RESP_BULK,      /* $3 abc: binary-safe bytes */
	RESP_NIL,       /* $-1 or *-1: no value */
	RESP_ARRAY,     /* *2 ...: elements, each a reply */
};

enum resp_type resp_type(const struct resp_reply *r);

/* The bytes of a RESP_STRING, RESP_ERROR or RESP_BULK, followed by a NUL
 * that is not counted in *len (a bulk may hold NULs of its own). NULL, with
 * *len 0, for the other types. The bytes belong to r. len may be NULL. */
const char *resp_str(const struct resp_reply *r, size_t *len);

/* The value of a RESP_INTEGER; r must be one (check resp_type first). */
long long resp_integer(const struct resp_reply *r);

/* The number of elements of a RESP_ARRAY; 0 for the other types. */
size_t resp_count(const struct resp_reply *r);

/* Element i of a RESP_ARRAY, owned by r; NULL when r is not an array or i
 * is out of range, so a reply of an unexpected shape is never a crash. */
const struct resp_reply *resp_elem(const struct resp_reply *r, size_t i);

/* True when r is a RESP_STRING or RESP_BULK whose bytes are exactly s. */
bool resp_str_eq(const struct resp_reply *r, const char *s);

/* Frees r and everything inside it. NULL is allowed. */
void resp_reply_free(struct resp_reply *r);

/*
 * A pub/sub push, as a subscribed connection receives it:
 * ["message", channel, payload] or ["pmessage", pattern, channel, payload].
 * The pointers point into the reply and stay valid until it is freed.
 */
struct resp_message {
	const char *pattern;    /* what matched; NULL for a "message" */
	size_t pattern_len;
	const char *channel;
	size_t channel_len;
	const char *payload;    /* binary-safe: use payload_len */
	size_t payload_len;
};

/* True, filling *m, when r is a "message" or "pmessage" push of that exact
 * shape. False, leaving *m alone, for anything else, subscribe
 * confirmations included. */
bool resp_message(const struct resp_reply *r, struct resp_message *m);

/* ---- Parsing replies --------------------------------------------------- */

/* What the parser accepts. A zero field takes the default in brackets. */
struct resp_limits {
	size_t max_bulk;    /* bytes in one bulk string [RESP_MAX_BULK] */
	size_t max_line;    /* bytes in a line after its type byte, without
	                       its CR LF: a simple string, an error, an
	                       integer or a length [RESP_MAX_LINE] */
	size_t max_elems;   /* elements in one array [RESP_MAX_ELEMS] */
	size_t max_depth;   /* arrays open one inside another
	                       [RESP_MAX_DEPTH] */
	size_t max_reply;   /* bytes of memory one whole reply may take,
	                       bookkeeping included [RESP_MAX_REPLY] */
};

/* The defaults are generous for chat (payloads of a few KiB, histories of a
 * few thousand entries, stream replies four arrays deep) and still put a
 * hostile or broken server's cost at tens of MiB per connection. */
#define RESP_MAX_BULK  (16u << 20)
#define RESP_MAX_LINE  (64u << 10)
#define RESP_MAX_ELEMS (1u << 20)
#define RESP_MAX_DEPTH 8u
#define RESP_MAX_REPLY (64u << 20)

struct resp_parser;

enum resp_parse {
	RESP_PARSE_MORE,    /* everything given was used: feed more bytes */
	RESP_PARSE_REPLY,   /* one reply is complete; more may follow */
	RESP_PARSE_ERROR,   /* the stream is broken: see resp_parser_error */
};

/* Returns a parser with the given limits (NULL for all defaults), or NULL
 * when memory runs out. The caller frees it with resp_parser_free. */
struct resp_parser *resp_parser_new(const struct resp_limits *lim);

/* Frees p and any reply it was in the middle of. NULL is allowed. */
void resp_parser_free(struct resp_parser *p);

/* Parses from buf[0..len), storing in *used how many bytes it took. On
 * RESP_PARSE_REPLY, *out is the reply, owned by the caller, and the bytes
 * after *used have not been looked at: feed them again. On RESP_PARSE_MORE
 * all len bytes were used (they are copied; buf may be reused). On
 * RESP_PARSE_ERROR, then and forever after, resp_parser_error says why. */
enum resp_parse resp_parser_feed(struct resp_parser *p, const char *buf,
    size_t len, size_t *used, struct resp_reply **out);

/* Why the parser failed, as one line; "" while it has not. */
const char *resp_parser_error(const struct resp_parser *p);

#endif
