/*
 * transport.h - the seam between a session and the wire: how bytes read
 * from the socket become protocol lines, and how a batch of queued lines
 * becomes bytes on the socket.
 *
 * A session does not care how its lines are carried. Its reader calls
 * transport_recv (one recv into the transport's buffer) and then
 * transport_next until it says TRANSPORT_NEED_MORE; its writer hands each
 * batch it pops from the queue to transport_send. Plain TCP carries one
 * line per LF (transport_lines_new, in transport.c); a WebSocket carries
 * one line per text message and frames each queued line the same way
 * (transport_ws_new, in transport_ws.c). Either way the session, its queue
 * and the hub are the same.
 *
 * A transport may have more to say than lines. Before the session starts
 * it may need a handshake of its own (transport_begin: a WebSocket is an
 * HTTP request first, and may turn out to be a request for the page); it
 * may answer the peer by itself (a pong: TRANSPORT_REPLY); the peer may
 * close in its own way (a close frame: TRANSPORT_CLOSED) or break the
 * framing (TRANSPORT_BROKEN); and it may want a last word after the
 * session's farewell line (a close frame: transport_farewell). What it
 * says is a raw msg (msg_raw) that the session queues like any line, so
 * the writer stays the only thread that writes the socket.
 *
 * Threads: begin, recv and next belong to the session's reader, send to
 * its writer, farewell to the reader as it ends. A transport keeps no state
 * that both sides change, so the two need no lock between them. Ownership:
 * the session that creates a transport frees it, after both threads have
 * stopped.
 */
#ifndef HUBCHAT_TRANSPORT_H
#define HUBCHAT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct msg;
struct queue;
struct transport;
struct web;

enum transport_event {
	TRANSPORT_NEED_MORE,    /* no complete line buffered: recv again */
	TRANSPORT_LINE,         /* *line holds one line, NUL-terminated */
	TRANSPORT_TOO_LONG,     /* a line over PROTO_MAX_LINE: reply, go on */
	TRANSPORT_REPLY,        /* *reply: queue it, and go on */
	TRANSPORT_CLOSED,       /* the peer closed: queue *reply (when not
	                           NULL) and end the session */
	TRANSPORT_BROKEN,       /* the peer broke the framing: likewise */
};

/* What a transport's handshake may use, on the reader's thread. */
struct transport_io {
	int fd;
	struct queue *out;      /* the session's: responses go here */
	int stop_fd;            /* readable once the server stops */
	unsigned long id;       /* the session's, for the log */
	const char *peer;       /* "ip:port", for the log */
};

enum transport_start {
	TRANSPORT_CHAT,         /* a chat session follows */
	TRANSPORT_SERVED,       /* a request was answered: end quietly */
	TRANSPORT_GONE,         /* the peer left, failed or was too slow */
};

struct transport_ops {
	/* The handshake before the session, or NULL when there is none.
	 * Blocks, reading, until it is over, the server stops (stop_fd) or
	 * its own deadline passes. */
	enum transport_start (*begin)(struct transport *t,
	    const struct transport_io *io);
	/* One recv from fd into the transport's buffer: the bytes read, 0 at
	 * the end of input, or -1 with errno set. Does not block when fd was
	 * reported readable. */
	ssize_t (*recv)(struct transport *t, int fd);
	/* The next event from what is buffered. A line stays valid, and may
	 * be modified, until the next recv. *reply is set for REPLY, and may
	 * be for CLOSED and BROKEN: the caller queues it (taking its
	 * reference). */
	enum transport_event (*next)(struct transport *t, char **line,
	    size_t *len, struct msg **reply);
	/* Sends n msgs (lines ending in LF, or raw msgs) to fd, all of them,
	 * with as few system calls as it can. 0, or -1 with errno set. Blocks
	 * while the socket is full. */
	int (*send)(struct transport *t, int fd, struct msg *const *lines,
	    size_t n);
	/* A raw msg to queue after the session's farewell line (the server
	 * going away, or not), or NULL: none. */
	struct msg *(*farewell)(struct transport *t, bool going_away);
	void (*free)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
};

/* Plain lines over TCP: LF-framed input (proto.h's framer), lines written
 * as they are. NULL when memory runs out. */
struct transport *transport_lines_new(void);

/* A connection to the web listener: HTTP first (web.h: the page, the
 * health check, metrics), then, after an upgrade, lines as WebSocket text
 * messages. NULL when memory runs out. */
struct transport *transport_ws_new(const struct web *web);

static inline enum transport_start
transport_begin(struct transport *t, const struct transport_io *io)
{
	return t->ops->begin != NULL ? t->ops->begin(t, io) : TRANSPORT_CHAT;
}

static inline ssize_t
transport_recv(struct transport *t, int fd)
{
	return t->ops->recv(t, fd);
}

static inline enum transport_event
transport_next(struct transport *t, char **line, size_t *len,
    struct msg **reply)
{
	*reply = NULL;
	return t->ops->next(t, line, len, reply);
}

static inline int
transport_send(struct transport *t, int fd, struct msg *const *lines,
    size_t n)
{
	return t->ops->send(t, fd, lines, n);
}

static inline struct msg *
transport_farewell(struct transport *t, bool going_away)
{
	return t->ops->farewell != NULL ? t->ops->farewell(t, going_away) :
	    NULL;
}

static inline void
transport_free(struct transport *t)
{
	if (t != NULL)
		t->ops->free(t);
}

#endif
