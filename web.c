/*
 * web.c - one HTTP request on the web listener; see web.h.
 *
 * web_serve reads until the head is whole (http.h parses it, strictly),
 * routes it, and queues the response: its head as one raw msg, its body as
 * another (the page's files are built into the binary: web_assets.h).
 */
#include "web.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "transport.h"
#include "web_assets.h"
#include "ws.h"

/* The page may run its own script and style and talk to its own host,
 * nothing else: no inline script, no handler attributes, no other site. */
#define WEB_CSP "Content-Security-Policy: default-src 'none'; " \
	"script-src 'self'; style-src 'self'; connect-src 'self'; " \
	"img-src 'self'; base-uri 'none'; form-action 'none'; " \
	"frame-ancestors 'none'\r\nX-Content-Type-Options: nosniff\r\n"

struct web {
	struct web_config cfg;          /* const; origins point into copies */
	char *copies[WEB_MAX_ORIGINS];
};

struct web *
web_new(const struct web_config *cfg)
{
	struct web *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->cfg = *cfg;
	assert(cfg->head_ms > 0);
	for (size_t i = 0; i < cfg->norigins; i++) {
		if ((w->copies[i] = strdup(cfg->origins[i])) == NULL) {
			web_free(w);
			return NULL;
		}
		w->cfg.origins[i] = w->copies[i];
	}
	return w;
}

void
web_free(struct web *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < WEB_MAX_ORIGINS; i++)
		free(w->copies[i]);
	free(w);
}

/* ---- Reading the head ---------------------------------------------------- */

static long long
web_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads into buf until the head parses (COMPLETE or BAD). 408 when the
 * deadline passes first, 0 when the peer left or the server stops. */
static int
web_read_head(const struct web *w, const struct transport_io *io, char *buf,
    size_t size, size_t *len, struct http_request *req)
{
	long long deadline = web_now_ms() + w->cfg.head_ms;
	struct pollfd pf[2] = {
		{ .fd = io->stop_fd, .events = POLLIN },
		{ .fd = io->fd, .events = POLLIN },
	};

	for (;;) {
		enum http_result r = http_parse(buf, *len, req);
		if (r == HTTP_COMPLETE)
			return 200;
		if (r == HTTP_BAD)
			return req->status;
		long long left = deadline - web_now_ms();
		if (left <= 0)
			return 408;
		if (poll(pf, 2, (int)left) < 0 && errno != EINTR)
			return 0;
		if (pf[0].revents != 0)
			return 0;
		if (pf[1].revents == 0)
			continue;
		ssize_t n = recv(io->fd, buf + *len, size - *len, 0);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return 0;
		if (n > 0)
			*len += (size_t)n;
	}
}

/* ---- Answering ----------------------------------------------------------- */

/* Queues a response: its head, and its body when there is one. */
static enum web_outcome
web_respond(const struct transport_io *io, const struct http_response *r)
{
	char head[1024];
	size_t n = http_format(head, sizeof(head), &(struct http_response){
	    .status = r->status, .content_type = r->content_type,
	    .cache_control = r->cache_control, .extra = r->extra,
	    .body = NULL, .body_len = r->body_len });
	struct msg *m[2] = { n > 0 ? msg_raw(head, n) : NULL,
	    r->body != NULL && r->body_len > 0 ? msg_raw(r->body,
	    r->body_len) : NULL };
	size_t count = m[1] != NULL ? 2 : 1;

	if (m[0] == NULL || (count == 2 && m[1] == NULL) ||
	    queue_push_many(io->out, m, count, NULL) != QUEUE_OK) {
		msg_unref(m[0]);
		msg_unref(m[1]);
		return WEB_GONE;
	}
	msg_unref(m[0]);
	msg_unref(m[1]);
	return WEB_ANSWERED;
}

/* A status with a short plain-text body saying what it is. */
static enum web_outcome
web_status(const struct transport_io *io, int status, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status,
	    http_reason(status));

	return web_respond(io, &(struct http_response){ .status = status,
	    .content_type = "text/plain; charset=utf-8",
	    .cache_control = "no-store", .extra = extra, .body = body,
	    .body_len = (size_t)n });
}

static bool
web_is(struct http_span s, const char *text)
{
	return s.p != NULL && s.len == strlen(text) &&
	    memcmp(s.p, text, s.len) == 0;
}

/* GET /metrics and /debug.json: a body made by one of the server's
 * callbacks, into memory (no lock is held while it is sent). */
static enum web_outcome
web_generated(const struct transport_io *io, void (*fn)(void *, FILE *),
    void *arg, const char *type)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	enum web_outcome out = WEB_GONE;

	if (f == NULL)
		return WEB_GONE;
	fn(arg, f);
	if (fclose(f) == 0)
		out = web_respond(io, &(struct http_response){ .status = 200,
		    .content_type = type, .cache_control = "no-store",
		    .body = text, .body_len = len });
	free(text);
	return out;
}

/* The asset a path names: "/debug" is debug.html, and the debug page's
 * files exist only with --debug-page. NULL when there is none. */
static const struct web_asset *
web_asset_for(const struct web *w, struct http_span path)
{
	bool debug = path.len >= 6 && memcmp(path.p, "/debug", 6) == 0;

	if (debug && !w->cfg.debug)
		return NULL;
	if (web_is(path, "/debug"))
		path = (struct http_span){ .p = "/debug.html", .len = 11 };
	for (size_t i = 0; i < web_nassets; i++)
		if (web_is(path, web_assets[i].path))
			return &web_assets[i];
	return NULL;
}

/* GET /ws: RFC 6455's opening handshake, or why not. */
static int
web_upgrade(const struct web *w, const struct transport_io *io,
    const struct http_request *req)
{
	char accept[WS_ACCEPT_LEN + 1], head[256];

	if (!http_has_token(req->upgrade, "websocket") ||
	    !http_has_token(req->connection, "upgrade"))
		return 426;
	if (!web_is(req->ws_version, "13"))
		return 426;
	if (req->minor != 1 || req->ws_key.p == NULL ||
	    !ws_key_ok(req->ws_key.p, req->ws_key.len))
		return 400;
	if (!http_origin_ok(req, w->cfg.origins, w->cfg.norigins))
		return 403;
	ws_accept_key(req->ws_key.p, req->ws_key.len, accept);
	size_t n = http_format_upgrade(head, sizeof(head), accept);
	struct msg *m = n > 0 ? msg_raw(head, n) : NULL;
	enum queue_status st = m != NULL ? queue_push(io->out, m) :
	    QUEUE_CLOSED;
	msg_unref(m);
	return st == QUEUE_OK ? 101 : 0;
}

/* Routes a whole, valid head; returns the status answered (101 for an
 * upgrade, 0 when nothing could be queued). */
static int
web_route(const struct web *w, const struct transport_io *io,
    const struct http_request *req)
{
	if (w->cfg.loopback &&
	    !http_host_ok(req, w->cfg.origins, w->cfg.norigins)) {
		web_status(io, 421, NULL);
		return 421;
	}
	if (!web_is(req->method, "GET")) {
		web_status(io, 405, "Allow: GET\r\n");
		return 405;
	}
	if (web_is(req->path, "/ws")) {
		int st = web_upgrade(w, io, req);
		if (st == 426)
			web_status(io, 426, "Upgrade: websocket\r\n"
			    "Sec-WebSocket-Version: 13\r\n");
		else if (st != 101 && st != 0)
			web_status(io, st, NULL);
		return st;
	}
	if (web_is(req->path, "/healthz")) {
		web_respond(io, &(struct http_response){ .status = 200,
		    .content_type = "text/plain; charset=utf-8",
		    .cache_control = "no-store", .body = "ok\n", .body_len = 3 });
		return 200;
	}
	if (web_is(req->path, "/metrics") && w->cfg.metrics)
		return web_generated(io, w->cfg.metrics_fn, w->cfg.metrics_arg,
		    "text/plain; version=0.0.4; charset=utf-8") ==
		    WEB_ANSWERED ? 200 : 0;
	if (web_is(req->path, "/debug.json") && w->cfg.debug)
		return web_generated(io, w->cfg.debug_fn, w->cfg.debug_arg,
		    "application/json") == WEB_ANSWERED ? 200 : 0;
	const struct web_asset *a = web_asset_for(w, req->path);
	if (a == NULL) {
		web_status(io, 404, NULL);
		return 404;
	}
	web_respond(io, &(struct http_response){ .status = 200,
	    .content_type = a->type, .cache_control = "no-cache",
	    .extra = WEB_CSP, .body = (const char *)a->data,
	    .body_len = a->len });
	return 200;
}

enum web_outcome
web_serve(const struct web *w, const struct transport_io *io, char *extra,
    size_t room, size_t *nextra)
{
	char buf[HTTP_MAX_HEAD + 4096];
	struct http_request req;
	size_t len = 0;

	*nextra = 0;
	int st = web_read_head(w, io, buf, sizeof(buf), &len, &req);
	if (st == 0)
		return WEB_GONE;
	if (st != 200) {                /* 400, 408, 431, 505 */
		log_event(LOG_HTTP, "id=%lu peer=%s status=%d", io->id,
		    io->peer, st);
		return web_status(io, st, NULL);
	}
	st = web_route(w, io, &req);
	log_event(LOG_HTTP, "id=%lu peer=%s %.*s %.*s status=%d", io->id,
	    io->peer, (int)req.method.len, req.method.p, (int)req.path.len,
	    req.path.p, st);
	if (st != 101)
		return st != 0 ? WEB_ANSWERED : WEB_GONE;
	*nextra = len - req.head_len;   /* the first frames, already read */
	if (*nextra > room)
		return WEB_GONE;
	memcpy(extra, buf + req.head_len, *nextra);
	return WEB_UPGRADE;
}
