/*
 * server_internal.h - the server program's own state, shared by the files
 * that make up the server itself:
 *   server.c         main: start-up, the accept loop, refusals, reaping,
 *                    shutdown (the story; read it first)
 *   server_open.c    start-up's parts: sockets, the hub with its archive
 *                    and cluster, the web listener, the sessions' env
 *   server_report.c  what the server says about itself: LISTEN, [STATS],
 *                    /metrics, /debug.json
 * Nothing else includes it: a session sees the server only through struct
 * session_env (session.h).
 */
#ifndef HUBCHAT_SERVER_INTERNAL_H
#define HUBCHAT_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "session.h"
#include "stats.h"

/* What the whole server shares. Written by main before the first session
 * starts, except where a field says otherwise. */
struct server {
	struct config cfg;
	struct session_env env;     /* what each session gets; const */
	struct hub *hub;
	struct archive *archive;    /* --data-dir's, or NULL */
	struct cluster *cluster;    /* --redis's, or NULL */
	struct msg *welcome;        /* shared by every session; const */
	int listen_fd;
	int web_fd;                 /* the web listener's, or -1 */
	struct web *web;            /* its settings, or NULL */
	int signal_fd;              /* SIGINT, SIGTERM, SIGHUP, SIGUSR1 */
	int stop_rd, stop_wr;       /* a pipe: closing stop_wr tells every
	                               reader the server is stopping ... */
	atomic_bool stopping;       /* ... and this tells a reader busy with
	                               buffered lines; set before the close */
	int reap_fd;                /* eventfd: a session finished */
	int spare_fd;               /* held for refusing a connection when
	                               out of fds; accept loop only */
	pthread_attr_t thread_attr; /* joinable, THREAD_STACK_KIB stacks */
	unsigned long next_id;      /* accept loop only */
	size_t live;                /* sessions started, not yet joined;
	                               accept loop only */
	int64_t full_until;         /* full since; refuse after this (ms on
	                               CLOCK_MONOTONIC); 0 = not full. Accept
	                               loop only */
	struct slots *slots;        /* --max-clients and --max-per-addr
	                               (slots.h): taken by the accept loop,
	                               given back by a reader before it
	                               closes its socket (server_session_done) */
	struct stats stats;         /* counted by any thread (stats.h) */
	struct stats_prev stats_prev; /* accept loop only */
	int64_t started_ms;         /* CLOCK_MONOTONIC; const */
	pthread_mutex_t done_lock;  /* protects done and ndone */
	struct session **done;      /* finished sessions waiting for a join;
	                               room for max_clients, as live <= that */
	size_t ndone;
};

/* server.c */

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t server_now_ms(void);

/* server_open.c: start-up, on the main thread before any other thread
 * exists. Each exits 1 with one line (die.h) when it fails. */

/* A non-blocking listening socket on addr and port. */
int server_open_listen(const char *addr, const char *port);

/* --web: opens the web listener (s->web_fd) and makes its settings
 * (s->web), whose /metrics and /debug.json read s once sessions run. */
void server_open_web(struct server *s);

/* The stop pipe, the reap eventfd and the spare descriptor. */
void server_open_fds(struct server *s);

/* Opens --data-dir's archive, if any, and makes s->hub, with #lobby's
 * history read back from the archive (s->hub is NULL when memory runs
 * out: server_open_env checks); with --redis, makes s->cluster and starts
 * it. Needs s->listen_fd (a node is named after its port). */
void server_open_hub(struct server *s);

/* The welcome line, the slots, the done list, the thread attributes, and
 * s->env naming them, with finished as the sessions' "finished" callback.
 * Needs the hub, the fds and the web listener's settings. */
void server_open_env(struct server *s, session_done_fn *finished);

/* server_report.c */

/* Logs the settings that will bite (start-up). */
void server_report_warnings(struct server *s);

/* Logs the LISTEN line, which ends start-up. */
void server_report_listen(struct server *s);

/* Milliseconds until the next periodic [STATS]: 0 when due, -1 for none
 * (--stats 0). Accept loop only. */
int server_report_due(struct server *s);

/* Logs a [STATS] line. Accept loop only. */
void server_report_stats(struct server *s);

/* web.h's metrics_fn and debug_fn (arg is the server): /metrics and
 * /debug.json, on a reader thread holding no lock. */
void server_report_metrics(void *arg, FILE *out);
void server_report_debug(void *arg, FILE *out);

#endif
