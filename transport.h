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
 * one line per text message and frames each queued line the same way.
 * Either way the session, its queue and the hub are the same.
 *
 * Threads: recv and next belong to the session's reader, send to its
 * writer. A transport keeps no state that both sides change, so the two
 * need no lock between them. Ownership: the session that creates a
 * transport frees it, after both threads have stopped.
 */
#ifndef HUBCHAT_TRANSPORT_H
#define HUBCHAT_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

struct msg;
struct transport;

enum transport_event {
	TRANSPORT_NEED_MORE,    /* no complete line buffered: recv again */
	TRANSPORT_LINE,         /* *line holds one line, NUL-terminated */
	TRANSPORT_TOO_LONG,     /* a line over PROTO_MAX_LINE: reply, go on */
};

struct transport_ops {
	/* One recv from fd into the transport's buffer: the bytes read, 0 at
	 * the end of input, or -1 with errno set. Does not block when fd was
	 * reported readable. */
	ssize_t (*recv)(struct transport *t, int fd);
	/* The next event from what is buffered. A line stays valid, and may
	 * be modified, until the next recv. */
	enum transport_event (*next)(struct transport *t, char **line,
	    size_t *len);
	/* Sends n lines (each a msg ending in LF) to fd, all of them, with as
	 * few system calls as it can. 0, or -1 with errno set. Blocks while
	 * the socket is full. */
	int (*send)(struct transport *t, int fd, struct msg *const *lines,
	    size_t n);
	void (*free)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
};

/* Plain lines over TCP: LF-framed input (proto.h's framer), lines written
 * as they are. NULL when memory runs out. */
struct transport *transport_lines_new(void);

static inline ssize_t
transport_recv(struct transport *t, int fd)
{
	return t->ops->recv(t, fd);
}

static inline enum transport_event
transport_next(struct transport *t, char **line, size_t *len)
{
	return t->ops->next(t, line, len);
}

static inline int
transport_send(struct transport *t, int fd, struct msg *const *lines,
    size_t n)
{
	return t->ops->send(t, fd, lines, n);
}

static inline void
transport_free(struct transport *t)
{
	if (t != NULL)
		t->ops->free(t);
}

#endif
