/*
 * web.h - the web listener's HTTP: the page, the health check, metrics,
 * and the upgrade to WebSocket (--web PORT).
 *
 * Every connection to the web listener is a session like any other (its
 * own reader and writer, counted against --max-clients and
 * --max-per-addr); its transport (transport_ws_new) starts by reading one
 * HTTP request here. HTTP is minimal and strict: one request per
 * connection, GET only, the head within 10 s (a slow-loris client is
 * answered 408 and cut off) and under 8 KiB (else 431):
 *   GET /                  the page, and its script and style: built into
 *   GET /app.js, /style.css  the binary from web/ (see the Makefile)
 *   GET /healthz           200 "ok"
 *   GET /metrics           with --metrics: counters in the Prometheus
 *                          text format; 404 without
 *   GET /debug, /debug.js, with --debug-page: a page that draws every
 *       /debug.css         client's queue, flood budget and the
 *   GET /debug.json        evictions live, and what it polls; 404
 *                          without
 *   GET /ws + Upgrade      RFC 6455's handshake: 101, and the chat begins
 *                          (426 without the Upgrade headers, 403 for a
 *                          browser Origin that is not the page's own)
 *   anything else          404, 405 (not GET), 400, 505
 * Responses are queued as raw msgs, so the session's writer sends them.
 *
 * A browser's Origin must name the page's own host and port (localhost,
 * 127.0.0.1 and [::1] count as one host), or be listed with --web-origin;
 * a request without Origin (a non-browser client) is let in.
 */
#ifndef HUBCHAT_WEB_H
#define HUBCHAT_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct transport_io;
struct web;

#define WEB_HEAD_MS 10000       /* the request head must arrive by then */
#define WEB_MAX_ORIGINS 8       /* --web-origin given this often at most */

struct web_config {
	const char *origins[WEB_MAX_ORIGINS];   /* --web-origin, as given */
	size_t norigins;
	bool metrics;                           /* --metrics */
	bool loopback;  /* the listener is on a loopback address: a request
	                   whose Host names another host gets 421
	                   (http_host_ok: DNS rebinding) */
	int head_ms;    /* the head's deadline: WEB_HEAD_MS, or --login-timeout
	                   when that is shorter (no one waits longer to log in
	                   by starting with HTTP) */
	/* Writes the metrics' text (called on a reader thread, holding no
	 * lock; it may take the hub's). */
	void (*metrics_fn)(void *arg, FILE *out);
	void *metrics_arg;
	bool debug;                             /* --debug-page */
	/* Writes /debug.json's object (called like metrics_fn). */
	void (*debug_fn)(void *arg, FILE *out);
	void *debug_arg;
};

/* A web listener's settings, copied. NULL when memory runs out. */
struct web *web_new(const struct web_config *cfg);
void web_free(struct web *w);

enum web_outcome {
	WEB_UPGRADE,            /* a WebSocket: the 101 is queued */
	WEB_ANSWERED,           /* a response is queued: close after it */
	WEB_GONE,               /* nothing to answer: the peer left, the
	                           server stops, or memory ran out */
};

/* Reads one request head from io->fd (blocking, within cfg.head_ms, or
 * until io->stop_fd is readable) and answers it on io->out. For an
 * upgrade, the bytes that came after the head (the first frames) are
 * copied to extra, *nextra of them (at most room). Logs one [HTTP] line. */
enum web_outcome web_serve(const struct web *w, const struct transport_io *io,
    char *extra, size_t room, size_t *nextra);

#endif
