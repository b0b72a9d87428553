/*
 * http_response.c - the response formatters; see http.h for the contract.
 *
 * Every piece is appended with snprintf into the caller's buffer through a
 * small cursor that remembers when something did not fit, so a response is
 * either written whole or reported as not fitting (0), never cut short.
 */
#include "http.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
http_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 421: return "Misdirected Request";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}

/* An output buffer that remembers whether anything failed to fit. */
struct http_out {
	char *p;
	size_t size, len;
	bool full;
};

static void
http_put(struct http_out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->full)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static bool
http_one_line(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

size_t
http_format(char *out, size_t outsz, const struct http_response *r)
{
	struct http_out o = { out, outsz, 0, outsz == 0 };

	assert(http_one_line(r->content_type));
	assert(http_one_line(r->cache_control));
	assert(r->extra == NULL || r->extra[0] == '\0' ||
	    (strlen(r->extra) >= 2 &&
	    strcmp(r->extra + strlen(r->extra) - 2, "\r\n") == 0));
	http_put(&o, "HTTP/1.1 %d %s\r\n", r->status, http_reason(r->status));
	if (r->content_type != NULL)
		http_put(&o, "Content-Type: %s\r\n", r->content_type);
	http_put(&o, "Content-Length: %zu\r\n", r->body_len);
	if (r->cache_control != NULL)
		http_put(&o, "Cache-Control: %s\r\n", r->cache_control);
	http_put(&o, "Connection: close\r\n%s\r\n",
	    r->extra != NULL ? r->extra : "");
	if (r->body != NULL && !o.full) {
		if (r->body_len >= o.size - o.len)
			return 0;
		memcpy(o.p + o.len, r->body, r->body_len);
		o.len += r->body_len;
		o.p[o.len] = '\0';
	}
	return o.full ? 0 : o.len;
}

size_t
http_format_upgrade(char *out, size_t outsz, const char *accept)
{
	struct http_out o = { out, outsz, 0, outsz == 0 };

	assert(http_one_line(accept));
	http_put(&o, "HTTP/1.1 101 %s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	    http_reason(101), accept);
	return o.full ? 0 : o.len;
}
