/*
 * http.h - the web listener's HTTP/1.1 as pure functions on bytes: a strict
 * parser for a request's head, the Origin check a WebSocket upgrade needs,
 * and response formatters. No sockets, no allocation.
 *
 * The parser serves a listener with four resources and no request bodies,
 * so it refuses rather than guesses (RFC 9112 lets a server be this strict):
 *   400  a request line that is not "METHOD SP /path[?query] SP HTTP/x.y"
 *        (absolute-form, authority-form, '*', a '#', or a leading empty line
 *        included); a line ending in a bare CR or LF; a header line that
 *        is folded (starts with SP or TAB), has no ':', has a name that is
 *        not a token or space before the ':', or holds a control byte; no
 *        Host, or a Host that is not host[:port]; Host, Origin, Upgrade,
 *        Connection, Sec-WebSocket-Key or Sec-WebSocket-Version twice;
 *   431  no end of the head within HTTP_MAX_HEAD bytes;
 *   505  a well-formed version other than HTTP/1.0 and HTTP/1.1.
 * Host is required of HTTP/1.0 too: every client this listener expects
 * sends it, and the Origin check needs it. The request line is checked as
 * soon as it is complete, so garbage is refused without waiting for more.
 */
#ifndef HUBCHAT_HTTP_H
#define HUBCHAT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEAD 8192   /* bytes in a request head, blank line included */

/* A piece of the caller's buffer; p == NULL when it is absent. Not
 * NUL-terminated. */
struct http_span {
	const char *p;
	size_t len;
};

enum http_result {
	HTTP_INCOMPLETE,   /* no error so far, but no end of the head yet */
	HTTP_COMPLETE,     /* the head is whole and valid */
	HTTP_BAD,          /* refused: answer with req->status and close */
};

struct http_request {
	size_t head_len;         /* COMPLETE: bytes in the head; any after it
	                            are not the head's */
	int status;              /* BAD: 400, 431 or 505 */
	int minor;               /* the x in HTTP/1.x: 0 or 1 */
	struct http_span method; /* a token, case-sensitive */
	struct http_span path;   /* starts with '/', still percent-encoded */
	struct http_span query;  /* after '?' (maybe empty); absent: no '?' */
	/* Header values, without surrounding spaces; absent when not sent. */
	struct http_span host, origin, upgrade, connection;
	struct http_span ws_key, ws_version;
};

/* Parses the head at the start of buf[0..len), the bytes received so far;
 * call again with all of them when more arrive. Returns the verdict and
 * fills *req; on COMPLETE its spans point into buf. Never fails otherwise. */
enum http_result http_parse(const char *buf, size_t len,
    struct http_request *req);

/* True when the comma-separated list (a Connection or Upgrade value) holds
 * token, compared without regard to case; "keep-alive, Upgrade" holds
 * "upgrade". An absent list holds nothing. */
bool http_has_token(struct http_span list, const char *token);

/* True when a WebSocket upgrade from this request may go ahead as far as
 * its origin goes: it has no Origin header (not a browser), or its Origin
 * names the same host and port as its Host header, or it matches one of
 * allow[0..nallow). Hosts compare without regard to case; localhost,
 * 127.0.0.1 and [::1] count as one host; a missing port is the scheme's
 * (80 for http, 443 for https). A Host without a port matches an Origin on
 * its scheme's default port. The opaque origin "null" matches nothing. */
bool http_origin_ok(const struct http_request *req, const char *const *allow,
    size_t nallow);

/* For a listener on a loopback address: true when the request's Host
 * names this machine (localhost, 127.0.0.1 or [::1], any port) or the
 * host of one of allow[0..nallow). A page of another site that a DNS
 * rebinding pointed at 127.0.0.1 sends its own name as Host, and passes
 * the Origin check (its Origin names the same host): this one stops it. */
bool http_host_ok(const struct http_request *req, const char *const *allow,
    size_t nallow);

/* True when s is an origin http_origin_ok can match: "http://" or "https://"
 * then host[:port], no path. For checking an allow-list at start-up. */
bool http_origin_valid(const char *s);

/* ---- Responses --------------------------------------------------------- */

struct http_response {
	int status;
	const char *content_type;    /* NULL: no Content-Type */
	const char *cache_control;   /* NULL: no Cache-Control */
	const char *extra;           /* more header lines, each ending in
	                                CRLF, or NULL */
	const char *body;            /* NULL: write the head only */
	size_t body_len;             /* Content-Length, body or not */
};

/* The reason phrase for status, or "" for one this server does not use. */
const char *http_reason(int status);

/* Writes the response to out (NUL-terminated; the head, and the body unless
 * r->body is NULL, so a large body can go out with writev). The head says
 * "Connection: close": the listener serves one request per connection.
 * Returns the bytes written without the NUL, or 0 when they do not fit in
 * outsz. Header strings must hold no CR or LF but extra's line ends
 * (asserted). */
size_t http_format(char *out, size_t outsz, const struct http_response *r);

/* Writes the 101 Switching Protocols response to a WebSocket upgrade, with
 * accept (from ws_accept_key) as Sec-WebSocket-Accept, NUL-terminated.
 * Returns the bytes written, or 0 when they do not fit. */
size_t http_format_upgrade(char *out, size_t outsz, const char *accept);

#endif
