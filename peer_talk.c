/*
 * peer_talk.c - talking over the peer's link, once it is up: the writer
 * thread sends the queued lines, the network thread prints the other
 * side's. The design opens peer.c; the shared state is in peer_internal.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "peer_internal.h"
#include "proto.h"
#include "queue.h"
#include "sync.h"
#include "term.h"
#include "writer.h"

/* Sends the queue's lines, a batch per writev, once the link is up; when
 * the queue is closed and drained, half-closes the link so the other side
 * sees the end. A failed write closes the queue, which frees a main thread
 * waiting for room. */
void *
peer_writer_main(void *arg)
{
	struct peer *p = arg;

	if (!peer_wait_for_link(p))
		return NULL;
	if (writer_run(p->link_fd, p->out, writer_send_lines, NULL) < 0)
		queue_abort(p->out, NULL);
	else
		shutdown(p->link_fd, SHUT_WR);
	return NULL;
}

/* Prints the other side's lines until the link ends. If the other side
 * left first, says so and stops the main thread. */
void *
peer_network_main(void *arg)
{
	struct peer *p = arg;
	char remote[80], *line;
	int n;

	if (!peer_wait_for_link(p))
		return NULL;
	net_peer_name(p->link_fd, remote, sizeof(remote));
	term_say("* connected to %s at %s (%s)", p->other, remote,
	    p->verified ? "verified by the shared secret" :
	    "not verified: no --secret");
	/* The server's text rules: a line with control bytes or invalid UTF-8
	 * is refused, so no escape sequence ever reaches the terminal. */
	while ((n = term_read_line(p->link_fd, p->link_in, PROTO_MAX_LINE,
	    &line, -1)) >= 0) {
		if (proto_text_ok(line, (size_t)n))
			term_say("%s: %s", p->other, line);
		else
			term_say("! %s sent a line with control bytes or "
			    "invalid UTF-8; not shown", p->other);
	}

	sync_lock(&p->lock);
	p->left = !p->stopping;
	bool left = p->left;
	sync_unlock(&p->lock);
	if (left) {
		term_say("* %s left", p->other);
		queue_close(p->out);
		if (write(p->wake_wr, "l", 1) < 0)
			term_say("! wake-up pipe: %s", strerror(errno));
	}
	return NULL;
}
