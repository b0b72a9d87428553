/*
 * fuzz_http.c - libFuzzer target: the request-head parser on any bytes.
 * A complete head lies within the input and HTTP_MAX_HEAD, ends in a blank
 * line, and every span it reports lies inside it; parsing just the head
 * gives the same request. A refusal carries 400, 431 or 505 (431 only at
 * the limit). The verdict is consistent over prefixes: a prefix is either
 * incomplete or gets the whole input's verdict, so feeding bytes as they
 * arrive can never change an answer already given. Each prefix is parsed
 * from an exact-size copy, so AddressSanitizer sees any read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void
check_span(struct http_span s, const char *buf, size_t len)
{
	if (s.p != NULL && (s.p < buf || s.p + s.len > buf + len))
		abort();
}

static void
check_complete(const char *buf, size_t size, const struct http_request *r)
{
	size_t h = r->head_len;
	const struct http_span *spans[] = { &r->method, &r->path, &r->query,
	    &r->host, &r->origin, &r->upgrade, &r->connection, &r->ws_key,
	    &r->ws_version };

	if (h < 4 || h > size || h > HTTP_MAX_HEAD ||
	    memcmp(buf + h - 4, "\r\n\r\n", 4) != 0)
		abort();
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
		check_span(*spans[i], buf, h);
	if (r->host.p == NULL || r->path.len == 0 || r->path.p[0] != '/' ||
	    r->method.len == 0 || (r->minor != 0 && r->minor != 1))
		abort();

	/* Exercised for the sanitizers; the answers are tested elsewhere. */
	static const char *const allow[] = { "http://localhost:8080", "x" };
	(void)http_origin_ok(r, allow, 2);
	(void)http_has_token(r->connection, "upgrade");
}

/* Parses buf[0..k) from an exact copy and checks it against the whole
 * input's verdict. */
static void
check_prefix(const char *buf, size_t k, enum http_result whole,
    const struct http_request *w)
{
	struct http_request r;
	char *copy = malloc(k > 0 ? k : 1);

	if (copy == NULL)
		abort();
	memcpy(copy, buf, k);
	enum http_result v = http_parse(copy, k, &r);
	if (v == HTTP_BAD && (whole != HTTP_BAD || r.status != w->status))
		abort();
	if (v == HTTP_COMPLETE && (whole != HTTP_COMPLETE ||
	    r.head_len != w->head_len || r.host.len != w->host.len ||
	    r.path.len != w->path.len))
		abort();
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request w;
	enum http_result v = http_parse(buf, size, &w);

	if (v == HTTP_COMPLETE)
		check_complete(buf, size, &w);
	else if (v == HTTP_BAD && w.status != 400 && w.status != 505 &&
	    (w.status != 431 || size < HTTP_MAX_HEAD))
		abort();
	else if (v == HTTP_INCOMPLETE && size >= HTTP_MAX_HEAD)
		abort();

	size_t cuts[] = { size, size / 2, size / 3, size > 0 ? size - 1 : 0,
	    v == HTTP_COMPLETE ? w.head_len : 0,
	    v == HTTP_COMPLETE ? w.head_len - 1 : 0 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
		check_prefix(buf, cuts[i], v, &w);
	return 0;
}
