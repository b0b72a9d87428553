/*
 * session_read.c - the reader's loop: it runs every complete line the
 * transport holds, each when it may (session_may_run: the server is not
 * stopping, the client was not evicted, the login deadline has not passed,
 * the flood budget has a token), then waits for input or a deadline, and
 * reads. session.c starts the reader and ends the session when the loop
 * returns; the commands are cmd.c's. The contract is in session.h, the
 * layout in session_internal.h.
 *
 * Every function here runs on the session's reader thread.
 */
#include "session_internal.h"

#include <errno.h>
#include <poll.h>

#include "config.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "stats.h"
#include "transport.h"

/* The static functions, in the order they are defined. */
static enum end_reason session_handle_buffered(struct session *c);
static enum end_reason session_too_long(struct session *c);
static enum end_reason session_may_run(struct session *c, int64_t now);
static enum end_reason session_throttle(struct session *c);
static enum end_reason session_deadline(struct session *c, int64_t *at);
static enum end_reason session_wait_input(struct session *c);
static enum end_reason session_read_input(struct session *c);

enum end_reason
session_read_loop(struct session *c)
{
	enum end_reason why = END_NONE;

	while (why == END_NONE) {
		why = session_handle_buffered(c);
		if (why == END_NONE)
			why = session_wait_input(c);
		if (why == END_NONE)
			why = session_read_input(c);
	}
	return why;
}

/* Handles every complete line the transport holds, each when it may run
 * (session_may_run). Broadcasts among them are delivered in batches
 * (cmd_flush), all before this returns: a burst of lines from one read
 * costs one hub call, not one each. */
static enum end_reason
session_handle_buffered(struct session *c)
{
	enum end_reason why = END_NONE;
	enum transport_event ev;
	char *line;
	size_t len;

	struct msg *reply;

	while (why == END_NONE && (ev = transport_next(c->wire, &line, &len,
	    &reply)) != TRANSPORT_NEED_MORE) {
		if (ev == TRANSPORT_CLOSED || ev == TRANSPORT_BROKEN) {
			cmd_flush(c);   /* what came before it goes out */
			session_send(c, reply);
			return ev == TRANSPORT_CLOSED ? END_EOF : END_PROTOCOL;
		}
		int64_t now = session_now_ms();
		if ((why = session_may_run(c, now)) != END_NONE) {
			msg_unref(reply);
			break;          /* the line is not run */
		}
		/* A line is activity; a WebSocket ping is not (PROTOCOL.md:
		 * only a complete line keeps a client from --idle-timeout),
		 * but it is flood-charged like one. */
		if (ev != TRANSPORT_REPLY)
			c->idle_deadline = now + c->env->cfg->idle_timeout *
			    1000LL;
		flood_charge(&c->flood, 1);
		if (ev == TRANSPORT_REPLY)
			why = session_send(c, reply);   /* a pong */
		else if (ev == TRANSPORT_TOO_LONG)
			why = session_too_long(c);
		else
			why = cmd_handle_line(c, line, len);
		if (c->member != NULL)  /* for /debug: one relaxed store */
			hub_member_set_budget(c->member, c->flood.tokens,
			    c->flood.at_ms);
	}
	enum end_reason flushed = cmd_flush(c);
	return why != END_NONE ? why : flushed;
}

/* A line over PROTO_MAX_LINE: told, counted and logged (rate-limited);
 * the connection goes on. */
static enum end_reason
session_too_long(struct session *c)
{
	stats_count(&c->env->stats->rejected);
	log_limited(LOG_REJECT, "id=%lu peer=%s reason=line-too-long", c->id,
	    c->peer);
	return session_reply(c, PROTO_ERR_TOO_LONG);
}

/* excerpt: may-run */
/* Before each line, at now (ms): END_NONE when it may run, else why the
 * session ends instead. The server stopping is checked here, not only while the
 * reader waits, so a client with a backlog of buffered lines cannot hold
 * up shutdown; so are an eviction and the login deadline. A client over
 * its flood budget is made to wait (session_throttle). */
static enum end_reason
session_may_run(struct session *c, int64_t now)
{
	if (atomic_load(c->env->stopping))
		return END_SHUTDOWN;
	enum end_reason why = session_why(c, END_NONE);
	if (why != END_NONE)
		return why;
	if (c->member == NULL && c->login_deadline != 0 &&
	    now >= c->login_deadline)
		return END_LOGIN;
	if (flood_wait_ms(&c->flood, now) > 0) {
		cmd_flush(c);   /* what was read before goes out first */
		return session_throttle(c);
	}
	return END_NONE;
}
/* end excerpt */

/* excerpt: throttle */
/*
 * Waits until the flood budget allows the next line, reading nothing
 * meanwhile: the client's bytes stay in the kernel and TCP pushes back on
 * the flooder alone. Returns END_NONE then, or why the session must end:
 * the server stopping, or the socket shut down by an eviction or a failed
 * write (POLLRDHUP; a client that merely half-closed its side is not an
 * ending, and is not watched for the rest of this wait).
 */
static enum end_reason
session_throttle(struct session *c)
{
	struct pollfd pf[2] = {
		{ .fd = c->env->stop_fd, .events = POLLIN },
		{ .fd = c->fd, .events = POLLRDHUP },
	};
	int64_t wait;

	while ((wait = flood_wait_ms(&c->flood, session_now_ms())) > 0) {
		if (poll(pf, 2, (int)wait) < 0 && errno != EINTR) {
			c->read_errno = errno;
			return END_ERROR;
		}
		if (pf[0].revents != 0 || atomic_load(c->env->stopping))
			return END_SHUTDOWN;
		enum end_reason why = session_why(c, END_NONE);
		if (why != END_NONE)
			return why;
		if (pf[1].revents != 0)
			pf[1].fd = -1;
	}
	return END_NONE;
}
/* end excerpt */

/* The reader's next deadline in *at (ms on CLOCK_MONOTONIC), and what
 * passing it means: END_IDLE or END_LOGIN, whichever comes first; END_NONE
 * when there is none. */
static enum end_reason
session_deadline(struct session *c, int64_t *at)
{
	enum end_reason why = END_NONE;

	if (c->env->cfg->idle_timeout > 0) {
		*at = c->idle_deadline;
		why = END_IDLE;
	}
	if (c->member == NULL && c->login_deadline != 0 &&
	    (why == END_NONE || c->login_deadline < *at)) {
		*at = c->login_deadline;
		why = END_LOGIN;
	}
	return why;
}

/* excerpt: wait-input */
/* Waits until the socket has bytes (or EOF) to read; END_NONE then, or
 * END_IDLE when the idle deadline passes, END_LOGIN when the login
 * deadline does, or END_SHUTDOWN when the server stops. */
static enum end_reason
session_wait_input(struct session *c)
{
	struct pollfd pf[2] = {
		{ .fd = c->env->stop_fd, .events = POLLIN },
		{ .fd = c->fd, .events = POLLIN },
	};

	for (;;) {
		int64_t at = 0, left = -1;
		enum end_reason at_deadline = session_deadline(c, &at);
		if (at_deadline != END_NONE) {
			left = at - session_now_ms();
			if (left <= 0)
				return at_deadline;
		}
		if (poll(pf, 2, (int)left) < 0 && errno != EINTR) {
			c->read_errno = errno;
			return END_ERROR;
		}
		if (pf[0].revents != 0)
			return END_SHUTDOWN;
		if (pf[1].revents != 0)  /* data, EOF or an error: recv says */
			return END_NONE;
	}
}
/* end excerpt */

/* One recv into the transport. Does not block: session_wait_input said
 * readable. */
static enum end_reason
session_read_input(struct session *c)
{
	ssize_t n = transport_recv(c->wire, c->fd);

	if (n > 0)
		return END_NONE;
	if (n == 0)
		return session_why(c, END_EOF);
	if (errno == EINTR)
		return END_NONE;
	c->read_errno = errno;
	return session_why(c, END_ERROR);
}
