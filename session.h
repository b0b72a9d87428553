/*
 * session.h - one client's session: its two threads, its queue, and the
 * commands it runs against the hub.
 *
 * The server accepts a connection and makes it a session; from then on the
 * session lives on its own. Its reader thread reads lines through the
 * session's transport (transport.h), runs each command (cmd.c) and, when
 * the client leaves for whatever reason, tears the session down. Its writer
 * thread drains the session's bounded queue to the socket. The server only
 * starts sessions, hears when one has finished, and joins it.
 *
 * What a session needs from the server is all in struct session_env, given
 * at creation: the hub, the settings, the stop signal, the thread
 * attributes, and whom to tell when it has finished. A session never
 * reaches further into the server than that.
 *
 * Ownership: session_new's caller owns the session and the fd until
 * session_start succeeds. From then on the reader owns both: it closes the
 * fd exactly once, after leaving the hub and joining the writer, and then
 * calls env->finished; the server must then call session_join, which joins
 * the reader and frees the session. If session_start fails, the caller
 * still owns the fd and frees the session with session_free.
 */
#ifndef HUBCHAT_SESSION_H
#define HUBCHAT_SESSION_H

#include <pthread.h>
#include <stdatomic.h>

#include "net.h"        /* struct net_addr_key */

struct cluster;
struct config;
struct hub;
struct web;
struct msg;
struct session;
struct stats;

/* Called by a session's reader as its last act, just before it closes the
 * fd: the session is over and must be joined with session_join. May run on
 * any reader thread, so it must be thread-safe; it must not block. */
typedef void session_done_fn(struct session *s, void *arg);

/* What every session shares with the server; set up by the server before
 * the first session starts, then read-only, and valid until the last
 * session has been joined. */
struct session_env {
	struct hub *hub;
	const struct config *cfg;
	int stop_fd;                    /* readable once the server stops */
	const atomic_bool *stopping;    /* true once the server stops: the
	                                   reader checks it between lines */
	const pthread_attr_t *thread_attr;  /* for both threads */
	struct stats *stats;            /* counted into by every session */
	const struct web *web;          /* the web listener's, or NULL */
	struct cluster *cluster;        /* --redis's, or NULL: one node */
	struct msg *welcome;            /* every session's first line, made
	                                   once: a connection never goes
	                                   without it for want of memory */
	session_done_fn *finished;
	void *finished_arg;
};

/* How a session's client speaks: lines over TCP, or the web listener's
 * HTTP and then WebSocket (transport.h). */
enum session_kind {
	SESSION_LINES,
	SESSION_WEB,
};

/* A session for the connected socket fd, numbered id (for logs and thread
 * names), from the address whose key is addr (kept for the server, which
 * counts connections per address), speaking as kind says. Starts no
 * thread. NULL when memory runs out. */
struct session *session_new(const struct session_env *env, int fd,
    unsigned long id, const struct net_addr_key *addr,
    enum session_kind kind);

/* Starts the writer, then the reader. 0, or -1 (logged) with no thread
 * left running; then the caller still owns fd and the session. */
int session_start(struct session *s);

/* Joins the reader of a session that has called env->finished, and frees
 * it. Blocks only for as long as the reader takes to return (it has
 * nothing left to do but close the fd). */
void session_join(struct session *s);

/* Frees a session that never started. Does not close its fd. */
void session_free(struct session *s);

unsigned long session_id(const struct session *s);

/* The client's address, "ip:port", fixed at session_new. */
const char *session_peer(const struct session *s);

/* The key given to session_new. */
const struct net_addr_key *session_addr(const struct session *s);

#endif
