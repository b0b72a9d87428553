/*
 * http.c - the request-head parser and the Origin check; see http.h for the
 * contract. The response formatters live in http_response.c.
 *
 * Parsing is three passes over the bytes received so far, cheap because a
 * head is at most HTTP_MAX_HEAD bytes. The first finds where the request
 * line and the head end, refusing a bare CR or LF on the way, so later
 * passes may assume every line ends in CRLF. The second checks the request
 * line as soon as it is whole. The third, once the head is whole, checks
 * each header line and keeps the values the listener needs, found by name
 * in a table of field offsets.
 */
#include "http.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* ---- Characters -------------------------------------------------------- */

/* True when c is one of the characters in set (never for NUL). */
static bool
http_in(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

static bool
http_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 9110's tchar: what a method or a header name may be made of. */
static bool
http_tchar(char c)
{
	return http_alnum(c) || http_in(c, "!#$%&'*+-.^_`|~");
}

/* What a header value may hold: visible ASCII, SP, TAB and obs-text. */
static bool
http_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7F);
}

static bool
http_ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct http_span
http_span_of(const char *p, size_t len)
{
	return (struct http_span){ p, len };
}

/* s[0..*n) without its leading and trailing spaces and tabs. */
static const char *
http_trim(const char *s, size_t *n)
{
	while (*n > 0 && http_ows(s[0]))
		s++, (*n)--;
	while (*n > 0 && http_ows(s[*n - 1]))
		(*n)--;
	return s;
}

/* ---- Finding the lines ------------------------------------------------- */

/* Scans buf[0..len) (at most HTTP_MAX_HEAD bytes of it) and sets *line_end
 * and *head_end to just past the request line's and the head's CRLF, or 0
 * when not there yet. Returns 0, or 400 for a bare CR or LF; *line_end is
 * still set when the bad byte came after the request line. */
static int
http_scan(const char *buf, size_t len, size_t *line_end, size_t *head_end)
{
	size_t n = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;

	*line_end = *head_end = 0;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return 400;
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r')
			return 400;
		if (*line_end == 0)
			*line_end = i + 1;
		else if (i >= 3 && buf[i - 2] == '\n') {
			*head_end = i + 1;
			return 0;
		}
	}
	return 0;
}

/* ---- The request line -------------------------------------------------- */

/* Checks "HTTP/x.y" in s[0..n) and sets *minor. Returns 0, 400 for no
 * version at all, or 505 for one other than 1.0 and 1.1. */
static int
http_version(const char *s, size_t n, int *minor)
{
	if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
	    s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
		return 400;
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return 505;
	*minor = s[7] - '0';
	return 0;
}

/* Splits an origin-form target into path and query. */
static void
http_target(const char *s, size_t n, struct http_request *req)
{
	const char *q = memchr(s, '?', n);

	if (q == NULL) {
		req->path = http_span_of(s, n);
		return;
	}
	req->path = http_span_of(s, (size_t)(q - s));
	req->query = http_span_of(q + 1, n - (size_t)(q - s) - 1);
}

/* Checks the request line s[0..n) (CRLF excluded) and fills method, path,
 * query and minor. Returns 0, or the status to refuse it with. */
static int
http_request_line(const char *s, size_t n, struct http_request *req)
{
	size_t i = 0, t;

	while (i < n && http_tchar(s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return 400;
	req->method = http_span_of(s, i);
	for (t = ++i; i < n && s[i] != ' '; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7E || c == '#')
			return 400;
	}
	if (i == t || i == n || s[t] != '/')
		return 400;
	http_target(s + t, i - t, req);
	return http_version(s + i + 1, n - i - 1, &req->minor);
}

/* ---- Header lines ------------------------------------------------------ */

static const struct {
	const char *name;
	size_t field;   /* offset of its span in struct http_request */
} http_fields[] = {
	{ "Host", offsetof(struct http_request, host) },
	{ "Origin", offsetof(struct http_request, origin) },
	{ "Upgrade", offsetof(struct http_request, upgrade) },
	{ "Connection", offsetof(struct http_request, connection) },
	{ "Sec-WebSocket-Key", offsetof(struct http_request, ws_key) },
	{ "Sec-WebSocket-Version", offsetof(struct http_request, ws_version) },
};

/* The span in req for header name[0..n), or NULL for a header not kept. */
static struct http_span *
http_field(struct http_request *req, const char *name, size_t n)
{
	size_t count = sizeof(http_fields) / sizeof(http_fields[0]);

	for (size_t i = 0; i < count; i++)
		if (strlen(http_fields[i].name) == n &&
		    strncasecmp(http_fields[i].name, name, n) == 0)
			return (struct http_span *)((char *)req +
			    http_fields[i].field);
	return NULL;
}

/* Checks one header line s[0..n) (CRLF excluded) and keeps its value when
 * req has a field for it. Returns 0 or 400. */
static int
http_header_line(const char *s, size_t n, struct http_request *req)
{
	size_t i = 0;

	while (i < n && http_tchar(s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return 400;   /* also a fold, which starts with SP or TAB */
	for (size_t j = i + 1; j < n; j++)
		if (!http_field_char((unsigned char)s[j]))
			return 400;

	struct http_span *f = http_field(req, s, i);
	if (f == NULL)
		return 0;
	if (f->p != NULL)
		return 400;   /* twice */
	size_t vlen = n - i - 1;
	const char *v = http_trim(s + i + 1, &vlen);
	*f = http_span_of(v, vlen);
	return 0;
}

/* ---- Authorities and origins ------------------------------------------- */

struct http_authority {
	struct http_span host;   /* a name, an IPv4 address or [IPv6] */
	long port;               /* -1 when none was given */
};

/* Parses the bracketed IPv6 literal at the start of s[0..n) and returns its
 * length with the brackets, or 0 when there is none. */
static size_t
http_ipv6(const char *s, size_t n)
{
	size_t i = 1;

	if (n < 3 || s[0] != '[')
		return 0;
	while (i < n && http_in(s[i], "0123456789abcdefABCDEF:."))
		i++;
	return i < n && s[i] == ']' && i > 1 ? i + 1 : 0;
}

/* Parses "host[:port]" (RFC 3986's authority without userinfo) in s[0..n).
 * Returns false when it is not one. */
static bool
http_authority(const char *s, size_t n, struct http_authority *a)
{
	size_t i = http_ipv6(s, n);

	if (i == 0)
		while (i < n && (http_alnum(s[i]) || http_in(s[i], "-._~")))
			i++;
	if (i == 0)
		return false;
	a->host = http_span_of(s, i);
	a->port = -1;
	if (i == n)
		return true;
	if (s[i] != ':' || n - i - 1 < 1 || n - i - 1 > 5)
		return false;
	a->port = 0;
	for (i++; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		a->port = a->port * 10 + (s[i] - '0');
	}
	return a->port <= 65535;
}

struct http_origin {
	long default_port;       /* 80 for http, 443 for https */
	struct http_authority a;
};

/* Parses "http://host[:port]" or "https://host[:port]" in s[0..n). */
static bool
http_origin_parse(const char *s, size_t n, struct http_origin *o)
{
	size_t skip;

	if (n > 7 && strncasecmp(s, "http://", 7) == 0)
		o->default_port = 80, skip = 7;
	else if (n > 8 && strncasecmp(s, "https://", 8) == 0)
		o->default_port = 443, skip = 8;
	else
		return false;
	return http_authority(s + skip, n - skip, &o->a);
}

static long
http_origin_port(const struct http_origin *o)
{
	return o->a.port >= 0 ? o->a.port : o->default_port;
}

static bool
http_loopback(struct http_span h)
{
	static const char *names[] = { "localhost", "127.0.0.1", "[::1]" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (h.len == strlen(names[i]) &&
		    strncasecmp(h.p, names[i], h.len) == 0)
			return true;
	return false;
}

static bool
http_same_host(struct http_span a, struct http_span b)
{
	if (http_loopback(a) && http_loopback(b))
		return true;
	return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

/* True when origin o is the allow-list entry s. */
static bool
http_origin_listed(const struct http_origin *o, const char *s)
{
	struct http_origin e;

	return http_origin_parse(s, strlen(s), &e) &&
	    e.default_port == o->default_port &&
	    http_same_host(e.a.host, o->a.host) &&
	    http_origin_port(&e) == http_origin_port(o);
}

bool
http_origin_ok(const struct http_request *req, const char *const *allow,
    size_t nallow)
{
	struct http_authority host;
	struct http_origin o;

	if (req->origin.p == NULL)
		return true;
	if (!http_origin_parse(req->origin.p, req->origin.len, &o))
		return false;
	if (req->host.p != NULL &&
	    http_authority(req->host.p, req->host.len, &host) &&
	    http_same_host(host.host, o.a.host) &&
	    http_origin_port(&o) == (host.port >= 0 ? host.port :
	    o.default_port))
		return true;
	for (size_t i = 0; i < nallow; i++)
		if (http_origin_listed(&o, allow[i]))
			return true;
	return false;
}

bool
http_host_ok(const struct http_request *req, const char *const *allow,
    size_t nallow)
{
	struct http_authority host;
	struct http_origin e;

	if (req->host.p == NULL ||
	    !http_authority(req->host.p, req->host.len, &host))
		return false;
	if (http_loopback(host.host))
		return true;
	for (size_t i = 0; i < nallow; i++)
		if (http_origin_parse(allow[i], strlen(allow[i]), &e) &&
		    http_same_host(e.a.host, host.host))
			return true;
	return false;
}

bool
http_origin_valid(const char *s)
{
	struct http_origin o;

	return http_origin_parse(s, strlen(s), &o);
}

/* ---- The whole head ---------------------------------------------------- */

static enum http_result
http_refuse(struct http_request *req, int status)
{
	req->status = status;
	return HTTP_BAD;
}

/* Checks the header lines in s[0..n), each ending in CRLF, and that a valid
 * Host was among them. Returns 0 or 400. */
static int
http_headers(const char *s, size_t n, struct http_request *req)
{
	struct http_authority a;

	while (n > 0) {
		const char *cr = memchr(s, '\r', n);
		assert(cr != NULL && (size_t)(cr - s) + 2 <= n);
		size_t len = (size_t)(cr - s);
		if (http_header_line(s, len, req) != 0)
			return 400;
		s += len + 2;
		n -= len + 2;
	}
	if (req->host.p == NULL ||
	    !http_authority(req->host.p, req->host.len, &a))
		return 400;
	return 0;
}

enum http_result
http_parse(const char *buf, size_t len, struct http_request *req)
{
	size_t line_end, head_end;
	int status;

	/* Errors are reported in the order their bytes arrive, so that a
	 * caller parsing as data comes in gets the same answer whatever the
	 * reads were: a bad request line wins over a bare CR or LF after it. */
	memset(req, 0, sizeof(*req));
	int scanned = http_scan(buf, len, &line_end, &head_end);
	if (line_end > 0 &&
	    (status = http_request_line(buf, line_end - 2, req)) != 0)
		return http_refuse(req, status);
	if (scanned != 0)
		return http_refuse(req, scanned);
	if (head_end == 0)
		return len >= HTTP_MAX_HEAD ? http_refuse(req, 431) :
		    HTTP_INCOMPLETE;
	/* The headers lie between the two CRLFs; the last is the blank line. */
	if ((status = http_headers(buf + line_end, head_end - line_end - 2,
	    req)) != 0)
		return http_refuse(req, status);
	req->head_len = head_end;
	return HTTP_COMPLETE;
}

/* ---- Lists ------------------------------------------------------------- */

bool
http_has_token(struct http_span list, const char *token)
{
	size_t tlen = strlen(token);
	const char *s = list.p;
	size_t n = list.len;

	while (s != NULL && n > 0) {
		const char *comma = memchr(s, ',', n);
		size_t elen = comma != NULL ? (size_t)(comma - s) : n;
		size_t tl = elen;
		const char *t = http_trim(s, &tl);
		if (tl == tlen && strncasecmp(t, token, tlen) == 0)
			return true;
		s += elen;
		n -= elen;
		if (comma != NULL)
			s++, n--;
	}
	return false;
}
