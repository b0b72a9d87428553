/*
 * transport.c - plain lines over TCP; see transport.h.
 *
 * Input goes through proto.h's framer, which holds several lines, so one
 * recv of a burst is framed without further reads. Output is the lines as
 * they are, sent by writer_send_lines with one writev per batch.
 */
#include "transport.h"

#include <stdlib.h>
#include <sys/socket.h>

#include "proto.h"
#include "writer.h"

struct line_transport {
	struct transport base;  /* first: a struct transport * points here */
	struct framer *in;      /* the reader's */
};

static ssize_t
lines_recv(struct transport *t, int fd)
{
	struct line_transport *lt = (struct line_transport *)t;
	size_t room;
	char *space = framer_space(lt->in, &room);

	ssize_t n = recv(fd, space, room, 0);
	if (n > 0)
		framer_commit(lt->in, (size_t)n);
	return n;
}

static enum transport_event
lines_next(struct transport *t, char **line, size_t *len, struct msg **reply)
{
	struct line_transport *lt = (struct line_transport *)t;

	(void)reply;            /* plain lines have nothing to say back */
	switch (framer_next(lt->in, line, len)) {
	case FRAMER_LINE:
		return TRANSPORT_LINE;
	case FRAMER_TOO_LONG:
		return TRANSPORT_TOO_LONG;
	default:
		return TRANSPORT_NEED_MORE;
	}
}

static int
lines_send(struct transport *t, int fd, struct msg *const *lines, size_t n)
{
	(void)t;
	return writer_send_lines(NULL, fd, lines, n);
}

static void
lines_free(struct transport *t)
{
	struct line_transport *lt = (struct line_transport *)t;

	framer_free(lt->in);
	free(lt);
}

static const struct transport_ops line_ops = {
	.begin = NULL,          /* no handshake: the chat starts at once */
	.recv = lines_recv,
	.next = lines_next,
	.send = lines_send,
	.farewell = NULL,       /* the farewell line is the last word */
	.free = lines_free,
};

struct transport *
transport_lines_new(void)
{
	struct line_transport *lt = calloc(1, sizeof(*lt));

	if (lt == NULL)
		return NULL;
	lt->base.ops = &line_ops;
	if ((lt->in = framer_new(PROTO_MAX_LINE)) == NULL) {
		free(lt);
		return NULL;
	}
	return &lt->base;
}
