/*
 * session_internal.h - the session's layout, shared by session.c (its life:
 * threads, ending), session_read.c (the reader's loop) and cmd.c (the
 * commands it runs). Nothing else includes it: to the rest of the server a
 * session is opaque (session.h).
 */
#ifndef HUBCHAT_SESSION_INTERNAL_H
#define HUBCHAT_SESSION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "flood.h"
#include "hub.h"
#include "session.h"

struct hub_member;
struct msg;
struct queue;
struct transport;

#define SESSION_BATCH 64        /* broadcasts read before one hub call */

/* Why a session ended: what the log says and what the client is told
 * (session.c, session_endings). */
enum end_reason {
	END_NONE,       /* still going */
	END_QUIT,       /* QUIT or !exit */
	END_EOF,        /* the client closed its side */
	END_ERROR,      /* a read or write failed (reset, ...) */
	END_IDLE,       /* no complete line within the idle timeout */
	END_SLOW,       /* its queue overflowed: a slow consumer */
	END_NAME_LOST,  /* clustered: its name was taken on another node */
	END_SHUTDOWN,   /* the server is stopping */
	END_LOGIN,      /* not logged in within the login timeout */
	END_PROTOCOL,   /* broke its transport's framing (a bad frame) */
	END_SERVED,     /* a web request answered: no chat session */
};

/* One client. Fields marked "reader only" are touched by the reader thread
 * alone (cmd.c runs on it); the rest say who writes them. */
struct session {
	const struct session_env *env;
	unsigned long id;
	int fd;                     /* closed by the reader, last */
	char peer[64];              /* const after session_new */
	struct net_addr_key addr;   /* const after session_new */
	struct queue *out;          /* the writer drains it */
	struct transport *wire;     /* recv/next: reader; send: writer */
	struct hub_member *member;  /* reader only; NULL until logged in */
	int64_t idle_deadline;      /* reader only; ms on CLOCK_MONOTONIC */
	int64_t login_deadline;     /* reader only; likewise; 0 = none */
	struct flood flood;         /* reader only */
	struct hub_line batch[SESSION_BATCH]; /* reader only: messages read
	                               but not yet delivered; empty whenever
	                               cmd_flush has run */
	char *texts[SESSION_BATCH]; /* reader only: in a cluster, the batch
	                               is their texts instead */
	size_t nbatch;
	int read_errno;             /* reader only */
	atomic_int write_errno;     /* set once by the writer when a send
	                               fails */
	atomic_int cut;             /* set once by the hub's kick: 0, or 1 +
	                               its enum hub_cut */
	bool chatting;              /* reader only: past the transport's
	                               handshake, a chat session */
	pthread_t reader;
	pthread_t writer;
};

/* Queues m for this client, consuming the caller's reference (NULL, from an
 * allocation that failed, is skipped). END_NONE, or why the session is
 * over: its own queue is full (it does not read its replies), or was
 * closed by an eviction or a failed write. Reader only. */
enum end_reason session_send(struct session *c, struct msg *m);

/* session_send of one formatted line. */
enum end_reason session_reply(struct session *c, const char *line);

/* The one place that decides why a session ended, given what the reader
 * saw: an eviction makes it a slow consumer and a failed write an error,
 * whatever the reader saw after them (they both shut the socket, so the
 * reader sees EOF); otherwise what the reader saw. END_NONE while
 * neither happened and the reader saw nothing. */
enum end_reason session_why(struct session *c, enum end_reason seen);

/* The hub's kick (hub_kick_fn) for a member whose kick_arg is the
 * session: marks it cut off, and why, and wakes its reader. */
void session_kick(void *arg, enum hub_cut why);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t session_now_ms(void);

/* session_read.c: frames and handles lines until the session must end;
 * returns why. */
enum end_reason session_read_loop(struct session *c);

/* cmd.c: runs one line (NUL-terminated, len bytes) for the session. */
enum end_reason cmd_handle_line(struct session *c, char *line, size_t len);

/* cmd.c: delivers the messages batched so far, in order, in one hub
 * call. Runs before any other command and before the reader waits.
 * END_NONE, or why the session must end (its own replies did not fit). */
enum end_reason cmd_flush(struct session *c);

#endif
