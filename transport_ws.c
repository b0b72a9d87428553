/*
 * transport_ws.c - a connection to the web listener: HTTP first, then
 * protocol lines as WebSocket text messages; see transport.h and web.h.
 *
 * One text message from the browser is one protocol line, without its LF;
 * one queued line goes out as one text frame, its LF dropped. The frame
 * parser (ws.h) holds the RFC's rules; this file turns its events into
 * the session's: a ping is answered with a pong, a close is echoed and
 * ends the session, a broken frame ends it with the close code the parser
 * names. Those answers are raw msgs (frames made here, whole), which the
 * writer sends as they are, as it does the HTTP responses.
 */
#include "transport.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "msg.h"
#include "net.h"
#include "proto.h"
#include "web.h"
#include "writer.h"
#include "ws.h"

struct ws_transport {
	struct transport base;  /* first: a struct transport * points here */
	const struct web *web;  /* const */
	struct ws_parser *in;   /* the reader's */
};

static enum transport_start
ws_begin(struct transport *t, const struct transport_io *io)
{
	struct ws_transport *wt = (struct ws_transport *)t;
	size_t room, got;
	char *space = ws_parser_space(wt->in, &room);

	switch (web_serve(wt->web, io, space, room, &got)) {
	case WEB_UPGRADE:
		ws_parser_commit(wt->in, got);
		return TRANSPORT_CHAT;
	case WEB_ANSWERED:
		return TRANSPORT_SERVED;
	default:
		return TRANSPORT_GONE;
	}
}

static ssize_t
ws_recv(struct transport *t, int fd)
{
	struct ws_transport *wt = (struct ws_transport *)t;
	size_t room;
	char *space = ws_parser_space(wt->in, &room);

	ssize_t n = recv(fd, space, room, 0);
	if (n > 0)
		ws_parser_commit(wt->in, (size_t)n);
	return n;
}

/* A close frame with code as a raw msg (NULL when memory runs out). */
static struct msg *
ws_close_msg(unsigned code)
{
	unsigned char frame[WS_CONTROL_FRAME_MAX];

	return msg_raw(frame, ws_close_frame(frame, code, NULL, 0));
}

static enum transport_event
ws_next(struct transport *t, char **line, size_t *len, struct msg **reply)
{
	struct ws_transport *wt = (struct ws_transport *)t;
	unsigned char frame[WS_CONTROL_FRAME_MAX];
	struct ws_event e;

	for (;;) {
		switch (ws_parser_next(wt->in, &e)) {
		case WS_NEED_MORE:
			return TRANSPORT_NEED_MORE;
		case WS_TEXT:
			*line = e.data;
			*len = e.len;
			return TRANSPORT_LINE;
		case WS_TOO_LONG:
			return TRANSPORT_TOO_LONG;
		case WS_PING:
			*reply = msg_raw(frame, ws_pong_frame(frame, e.data,
			    e.len));
			return TRANSPORT_REPLY;
		case WS_PONG:
			continue;       /* an answer to nothing we asked */
		case WS_CLOSE:          /* echo its code, as RFC 6455 asks */
			*reply = ws_close_msg(e.code == WS_CLOSE_NO_STATUS ?
			    WS_CLOSE_NORMAL : e.code);
			return TRANSPORT_CLOSED;
		case WS_ERROR:
			*reply = ws_close_msg(e.code);
			return TRANSPORT_BROKEN;
		}
	}
}

/* Sends a batch: each line as a text frame (its header, then its bytes
 * without the LF), each raw msg as it is, all with one writev. */
static int
ws_send(struct transport *t, int fd, struct msg *const *batch, size_t n)
{
	assert(n >= 1 && n <= WRITER_BATCH);
	/* Sized by n, as writer_send_lines's: an idle writer's stack stays
	 * shallow (12 KiB for a full batch). */
	unsigned char head[n][WS_HEADER_MAX];
	struct iovec iov[2 * n];
	int k = 0;

	(void)t;
	for (size_t i = 0; i < n; i++) {
		size_t len = msg_len(batch[i]);
		if (!msg_is_raw(batch[i])) {
			len--;          /* the LF: a frame is the line */
			iov[k].iov_base = head[i];
			iov[k++].iov_len = ws_frame_header(head[i], WS_OP_TEXT,
			    len);
		}
		iov[k].iov_base = (void *)msg_data(batch[i]);
		iov[k++].iov_len = len;
	}
	return net_writev_all(fd, iov, k);
}

/* After the farewell line: close 1001 when the server is going away,
 * 1000 otherwise. */
static struct msg *
ws_farewell(struct transport *t, bool going_away)
{
	(void)t;
	return ws_close_msg(going_away ? WS_CLOSE_GOING_AWAY :
	    WS_CLOSE_NORMAL);
}

static void
ws_free(struct transport *t)
{
	struct ws_transport *wt = (struct ws_transport *)t;

	ws_parser_free(wt->in);
	free(wt);
}

static const struct transport_ops ws_ops = {
	.begin = ws_begin,
	.recv = ws_recv,
	.next = ws_next,
	.send = ws_send,
	.farewell = ws_farewell,
	.free = ws_free,
};

struct transport *
transport_ws_new(const struct web *web)
{
	struct ws_transport *wt = calloc(1, sizeof(*wt));

	if (wt == NULL)
		return NULL;
	wt->base.ops = &ws_ops;
	wt->web = web;
	if ((wt->in = ws_parser_new(PROTO_MAX_LINE)) == NULL) {
		free(wt);
		return NULL;
	}
	return &wt->base;
}
