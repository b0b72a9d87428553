/*
 * resp.c - RESP2 replies and their incremental parser; see resp.h for the
 * contract.
 *
 * The parser is a small state machine over bytes, so a reply split across
 * any number of reads is parsed once, never re-scanned. It is reading
 * either a line (the type byte and what follows it up to CR LF) or the body
 * of a bulk string, whose length the line gave. Arrays being filled sit on
 * a stack, one frame per level, the outermost at the bottom: a finished
 * value goes into the top frame's array, and a finished array goes into the
 * frame below, until the outermost one finishes and becomes the reply.
 * An open array is owned by its frame until it is finished, so a broken
 * reply is freed frame by frame without freeing anything twice.
 *
 * Every node is one allocation: the struct, then its bytes or its element
 * slots. What a reply has allocated so far is counted against max_reply
 * before each allocation, so a hostile reply is refused before it costs.
 */
#include "resp.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Replies ----------------------------------------------------------- */

/*
 * A node of a reply tree. For strings, str holds len bytes and a NUL; for
 * arrays, elem holds len slots, each NULL until its element is finished.
 * Both live in the same allocation, right after the struct.
 */
struct resp_reply {
	enum resp_type type;
	long long integer;
	size_t len;
	char *str;
	struct resp_reply **elem;
};

enum resp_type
resp_type(const struct resp_reply *r)
{
	assert(r != NULL);
	return r->type;
}

const char *
resp_str(const struct resp_reply *r, size_t *len)
{
	bool text = r->type == RESP_STRING || r->type == RESP_ERROR ||
	    r->type == RESP_BULK;

	if (len != NULL)
		*len = text ? r->len : 0;
	return text ? r->str : NULL;
}

long long
resp_integer(const struct resp_reply *r)
{
	assert(r->type == RESP_INTEGER);
	return r->integer;
}

size_t
resp_count(const struct resp_reply *r)
{
	return r->type == RESP_ARRAY ? r->len : 0;
}

const struct resp_reply *
resp_elem(const struct resp_reply *r, size_t i)
{
	return i < resp_count(r) ? r->elem[i] : NULL;
}

bool
resp_str_eq(const struct resp_reply *r, const char *s)
{
	size_t n = strlen(s);

	return r != NULL && (r->type == RESP_STRING || r->type == RESP_BULK) &&
	    r->len == n && memcmp(r->str, s, n) == 0;
}

void
resp_reply_free(struct resp_reply *r)
{
	if (r == NULL)
		return;
	if (r->type == RESP_ARRAY)
		for (size_t i = 0; i < r->len; i++)
			resp_reply_free(r->elem[i]);
	free(r);
}

/* True when r is a bulk string; points *s and *len at its bytes. */
static bool
resp_bulk_of(const struct resp_reply *r, const char **s, size_t *len)
{
	if (r == NULL || r->type != RESP_BULK)
		return false;
	*s = r->str;
	*len = r->len;
	return true;
}

bool
resp_message(const struct resp_reply *r, struct resp_message *m)
{
	size_t n = resp_count(r);
	bool pmessage = n == 4 && resp_str_eq(resp_elem(r, 0), "pmessage");
	struct resp_message got = { 0 };

	if (!pmessage && !(n == 3 && resp_str_eq(resp_elem(r, 0), "message")))
		return false;
	if ((pmessage &&
	    !resp_bulk_of(r->elem[1], &got.pattern, &got.pattern_len)) ||
	    !resp_bulk_of(r->elem[n - 2], &got.channel, &got.channel_len) ||
	    !resp_bulk_of(r->elem[n - 1], &got.payload, &got.payload_len))
		return false;
	*m = got;
	return true;
}

/* ---- Parsing replies --------------------------------------------------- */

/* An array being filled. Invariant: filled < array->len. */
struct resp_frame {
	struct resp_reply *array;
	size_t filled;
};

struct resp_parser {
	struct resp_limits lim;
	char *line;                 /* lim.max_line + 1 bytes: type and text */
	size_t line_len;            /* bytes in line so far */
	bool line_cr;               /* the line's CR was read; LF must follow */
	struct resp_reply *bulk;    /* a bulk string being read, or NULL */
	size_t bulk_got;            /* bytes of it read, of len + 2 (CR LF) */
	struct resp_frame *stack;   /* lim.max_depth frames */
	size_t depth;               /* frames in use */
	size_t used;                /* bytes the reply under way has taken;
	                               invariant: used <= lim.max_reply */
	char err[128];              /* the failure; "" while there is none */
};

/* Takes the default for a zero limit, and keeps every limit far enough
 * below SIZE_MAX that sums of a few of them cannot wrap. */
static size_t
resp_limit(size_t given, size_t dflt)
{
	size_t v = given != 0 ? given : dflt;

	return v < SIZE_MAX / 8 ? v : SIZE_MAX / 8;
}

struct resp_parser *
resp_parser_new(const struct resp_limits *lim)
{
	struct resp_limits none = { 0 };
	struct resp_parser *p = calloc(1, sizeof(*p));

	if (lim == NULL)
		lim = &none;
	if (p == NULL)
		return NULL;
	p->lim.max_bulk = resp_limit(lim->max_bulk, RESP_MAX_BULK);
	p->lim.max_line = resp_limit(lim->max_line, RESP_MAX_LINE);
	p->lim.max_elems = resp_limit(lim->max_elems, RESP_MAX_ELEMS);
	p->lim.max_depth = resp_limit(lim->max_depth, RESP_MAX_DEPTH);
	p->lim.max_reply = resp_limit(lim->max_reply, RESP_MAX_REPLY);
	p->line = malloc(p->lim.max_line + 1);
	p->stack = calloc(p->lim.max_depth, sizeof(*p->stack));
	if (p->line == NULL || p->stack == NULL) {
		resp_parser_free(p);
		return NULL;
	}
	return p;
}

/* Frees the reply under way: the bulk string being read and every open
 * array (each owns what was finished inside it). */
static void
resp_parser_discard(struct resp_parser *p)
{
	resp_reply_free(p->bulk);
	p->bulk = NULL;
	while (p->depth > 0)
		resp_reply_free(p->stack[--p->depth].array);
	p->used = 0;
}

void
resp_parser_free(struct resp_parser *p)
{
	if (p == NULL)
		return;
	resp_parser_discard(p);
	free(p->stack);
	free(p->line);
	free(p);
}

const char *
resp_parser_error(const struct resp_parser *p)
{
	return p->err;
}

/* Marks the stream broken with a reason and frees the reply under way.
 * Messages never name offsets, so any chunking gives the same one. */
static void __attribute__((format(printf, 2, 3)))
resp_fail(struct resp_parser *p, const char *fmt, ...)
{
	va_list ap;

	assert(p->err[0] == '\0');
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	resp_parser_discard(p);
}

/* Returns a zeroed node with extra bytes after it, charged to the reply
 * under way; NULL, with the parser failed, past max_reply or out of
 * memory. */
static struct resp_reply *
resp_node(struct resp_parser *p, enum resp_type type, size_t extra)
{
	size_t size = sizeof(struct resp_reply) + extra;

	if (extra > p->lim.max_reply || size > p->lim.max_reply - p->used) {
		resp_fail(p, "reply over the limit of %zu bytes",
		    p->lim.max_reply);
		return NULL;
	}
	struct resp_reply *r = calloc(1, size);
	if (r == NULL) {
		resp_fail(p, "out of memory for a reply of %zu bytes", size);
		return NULL;
	}
	p->used += size;
	r->type = type;
	return r;
}

/* Puts a finished value into the innermost open array; each array it
 * finishes goes into the one around it. When the outermost is finished (or
 * there was none), the value is the whole reply and goes to *out. */
static void
resp_attach(struct resp_parser *p, struct resp_reply *r,
    struct resp_reply **out)
{
	while (p->depth > 0) {
		struct resp_frame *top = &p->stack[p->depth - 1];
		assert(top->array->type == RESP_ARRAY &&
		    top->filled < top->array->len);
		top->array->elem[top->filled++] = r;
		if (top->filled < top->array->len)
			return;
		r = top->array;
		p->depth--;
	}
	*out = r;
	p->used = 0;
}

/* Parses s[0..n) as a signed decimal that fits a long long: an optional
 * '-' and at least one digit, nothing else. */
static bool
resp_parse_int(const char *s, size_t n, long long *v)
{
	bool neg = n > 0 && s[0] == '-';
	unsigned long long max = neg ? (unsigned long long)LLONG_MAX + 1 :
	    (unsigned long long)LLONG_MAX;
	unsigned long long u = 0;
	size_t i = neg ? 1 : 0;

	if (i == n)
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (u > (max - d) / 10)
			return false;
		u = u * 10 + d;
	}
	*v = !neg ? (long long)u : u == 0 ? 0 : -(long long)(u - 1) - 1;
	return true;
}

/* Parses the length in the header of what (a bulk string or an array)
 * into *len; -1 sets *nil instead. False, with the parser failed, for
 * anything else. */
static bool
resp_parse_len(struct resp_parser *p, const char *what, const char *s,
    size_t n, size_t *len, bool *nil)
{
	long long v;

	if (!resp_parse_int(s, n, &v) || v < -1) {
		resp_fail(p, "bad length in %s header", what);
		return false;
	}
	*nil = v == -1;
	*len = v < 0 ? 0 : (unsigned long long)v > SIZE_MAX ? SIZE_MAX :
	    (size_t)v;
	return true;
}

/* Handles "$<len>": a nil, or a bulk string whose body comes next. */
static void
resp_bulk_start(struct resp_parser *p, const char *s, size_t n,
    struct resp_reply **out)
{
	size_t len;
	bool nil;

	if (!resp_parse_len(p, "a bulk string", s, n, &len, &nil))
		return;
	if (len > p->lim.max_bulk) {
		resp_fail(p, "bulk string of %zu bytes over the limit of %zu",
		    len, p->lim.max_bulk);
		return;
	}
	struct resp_reply *r = resp_node(p, nil ? RESP_NIL : RESP_BULK,
	    nil ? 0 : len + 2);
	if (r == NULL)
		return;
	if (nil) {
		resp_attach(p, r, out);
		return;
	}
	r->len = len;
	r->str = (char *)(r + 1);
	p->bulk = r;
	p->bulk_got = 0;
}

/* Handles "*<count>": a nil, an empty array, or a frame to fill. */
static void
resp_array_start(struct resp_parser *p, const char *s, size_t n,
    struct resp_reply **out)
{
	struct resp_reply *r;
	size_t count;
	bool nil;

	if (!resp_parse_len(p, "an array", s, n, &count, &nil))
		return;
	if (nil) {
		if ((r = resp_node(p, RESP_NIL, 0)) != NULL)
			resp_attach(p, r, out);
		return;
	}
	if (count > p->lim.max_elems) {
		resp_fail(p, "array of %zu elements over the limit of %zu",
		    count, p->lim.max_elems);
		return;
	}
	if (p->depth == p->lim.max_depth) {
		resp_fail(p, "arrays nested over the limit of %zu deep",
		    p->lim.max_depth);
		return;
	}
	r = resp_node(p, RESP_ARRAY, count * sizeof(struct resp_reply *));
	if (r == NULL)
		return;
	r->len = count;
	r->elem = (struct resp_reply **)(r + 1);
	if (count == 0) {
		resp_attach(p, r, out);
		return;
	}
	p->stack[p->depth++] = (struct resp_frame){ .array = r };
}

/* Handles a simple string or an error: its text is the line's rest. */
static void
resp_text(struct resp_parser *p, enum resp_type type, const char *s,
    size_t n, struct resp_reply **out)
{
	struct resp_reply *r = resp_node(p, type, n + 1);

	if (r == NULL)
		return;
	r->len = n;
	r->str = (char *)(r + 1);
	memcpy(r->str, s, n);
	resp_attach(p, r, out);
}

/* Acts on a complete line (without its CR LF) by its type byte. */
static void
resp_line_done(struct resp_parser *p, struct resp_reply **out)
{
	const char *s = p->line + 1;
	size_t n = p->line_len - 1;
	struct resp_reply *r;
	long long v;

	assert(p->line_len >= 1);
	p->line_len = 0;
	switch (p->line[0]) {
	case '+':
		resp_text(p, RESP_STRING, s, n, out);
		break;
	case '-':
		resp_text(p, RESP_ERROR, s, n, out);
		break;
	case ':':
		if (!resp_parse_int(s, n, &v))
			resp_fail(p, "bad integer reply");
		else if ((r = resp_node(p, RESP_INTEGER, 0)) != NULL) {
			r->integer = v;
			resp_attach(p, r, out);
		}
		break;
	case '$':
		resp_bulk_start(p, s, n, out);
		break;
	default:
		assert(p->line[0] == '*');
		resp_array_start(p, s, n, out);
		break;
	}
}

/* Checks one byte of a line and stores it; false, with the parser failed,
 * when it cannot be there. A line's first byte must be a RESP2 type. */
static bool
resp_line_byte(struct resp_parser *p, char c)
{
	if (c == '\r' || c == '\n') {
		resp_fail(p, c == '\n' ? "LF without CR" :
		    p->line_len == 0 ? "empty line" : "CR without LF");
		return false;
	}
	if (p->line_len == 0 && memchr("+-:$*", c, 5) == NULL) {
		resp_fail(p, "unknown type byte 0x%02x",
		    (unsigned)(unsigned char)c);
		return false;
	}
	if (p->line_len > p->lim.max_line) {
		resp_fail(p, "line over the limit of %zu bytes",
		    p->lim.max_line);
		return false;
	}
	p->line[p->line_len++] = c;
	return true;
}

/* Reads line bytes from s[0..n) up to and including the LF that ends the
 * line, and acts on the line. Returns the bytes used. */
static size_t
resp_line_fill(struct resp_parser *p, const char *s, size_t n,
    struct resp_reply **out)
{
	for (size_t i = 0; i < n; i++) {
		if (p->line_cr) {
			p->line_cr = false;
			if (s[i] != '\n')
				resp_fail(p, "CR without LF");
			else
				resp_line_done(p, out);
			return i + 1;
		}
		if (s[i] == '\r' && p->line_len > 0)
			p->line_cr = true;
		else if (!resp_line_byte(p, s[i]))
			return i + 1;
	}
	return n;
}

/* Reads bulk body bytes from s[0..n), and when the body and its CR LF are
 * all in, finishes the bulk string. Returns the bytes used. */
static size_t
resp_bulk_fill(struct resp_parser *p, const char *s, size_t n,
    struct resp_reply **out)
{
	struct resp_reply *r = p->bulk;
	size_t take = r->len + 2 - p->bulk_got;

	if (take > n)
		take = n;
	memcpy(r->str + p->bulk_got, s, take);
	p->bulk_got += take;
	if (p->bulk_got < r->len + 2)
		return take;
	if (r->str[r->len] != '\r' || r->str[r->len + 1] != '\n') {
		resp_fail(p, "bulk string of %zu bytes not followed by CR LF",
		    r->len);
		return take;
	}
	r->str[r->len] = '\0';
	p->bulk = NULL;
	resp_attach(p, r, out);
	return take;
}

enum resp_parse
resp_parser_feed(struct resp_parser *p, const char *buf, size_t len,
    size_t *used, struct resp_reply **out)
{
	size_t off = 0;

	*out = NULL;
	while (off < len && p->err[0] == '\0' && *out == NULL) {
		if (p->bulk != NULL)
			off += resp_bulk_fill(p, buf + off, len - off, out);
		else
			off += resp_line_fill(p, buf + off, len - off, out);
	}
	*used = off;
	if (p->err[0] != '\0')
		return RESP_PARSE_ERROR;
	return *out != NULL ? RESP_PARSE_REPLY : RESP_PARSE_MORE;
}
