/*
 * cmd.c - the commands a session runs: one line in, replies into the
 * session's own queue, everything else through the hub.
 *
 * cmd_handle_line checks the line's text, parses it (proto.c) and runs the
 * verb. Broadcasts are not delivered one by one: do_msg adds each to the
 * session's batch, and cmd_flush hands the whole batch to the hub in one
 * call before any other command runs and before the reader waits for more
 * input, so a burst costs one lock and at most one wake-up per recipient,
 * and a sender's lines keep their order.
 *
 * Every function here runs on the session's reader thread.
 */
#include "session_internal.h"

#include <stdio.h>
#include <string.h>

#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"

static enum end_reason cmd_login(struct session *c, const char *name);
static enum end_reason cmd_msg(struct session *c, const char *text);
static enum end_reason cmd_dm(struct session *c, const char *user,
    const char *text);
static enum end_reason cmd_ping(struct session *c, const char *token);
static enum end_reason cmd_who(struct session *c);
static struct hub_trace *cmd_trace_start(struct hub_trace *t);
static void cmd_trace_log(struct session *c, const char *verb, size_t lines,
    const struct hub_trace *t);

/* Runs one line. Before login only LOGIN, PING and QUIT work, and a line
 * that is no verb is taken as the name; after it, such a line is a MSG. */
enum end_reason
cmd_handle_line(struct session *c, char *line, size_t len)
{
	struct command cmd;

	if (len == 0)
		return END_NONE;                /* empty lines are ignored */
	if (!proto_text_ok(line, len))
		return session_reply(c, "ERR bad-text");
	proto_parse(line, &cmd);
	bool in = c->member != NULL;
	bool broadcast = in && (cmd.verb == VERB_MSG || cmd.verb == VERB_NONE);

	if (!broadcast)
		cmd_flush(c);           /* what came before goes out first */
	switch (cmd.verb) {
	case VERB_PING:
		return cmd_ping(c, cmd.text);
	case VERB_QUIT:
		return END_QUIT;        /* session_end says "INFO bye" */
	case VERB_LOGIN:
		return cmd_login(c, cmd.text);
	case VERB_NONE:
		return in ? cmd_msg(c, cmd.text) : cmd_login(c, cmd.text);
	case VERB_MSG:
		return in ? cmd_msg(c, cmd.text) :
		    session_reply(c, "ERR not-logged-in");
	case VERB_DM:
		return in ? cmd_dm(c, cmd.user, cmd.text) :
		    session_reply(c, "ERR not-logged-in");
	case VERB_WHO:
		return in ? cmd_who(c) : session_reply(c, "ERR not-logged-in");
	}
	return END_NONE;
}

static enum end_reason
cmd_login(struct session *c, const char *name)
{
	if (c->member != NULL)
		return session_reply(c, "ERR already-logged-in");
	if (!proto_name_ok(name))
		return session_reply(c, "ERR bad-name");
	switch (hub_join(c->env->hub, name, c->out, session_kick, c,
	    &c->member)) {
	case HUB_OK:
		log_event(LOG_LOGIN, "id=%lu user=%s", c->id, name);
		return END_NONE;
	case HUB_NAME_TAKEN:
		return session_reply(c, "ERR username-taken");
	default:        /* its own queue is full or closed, or memory ran out */
		return session_reply(c, "ERR server-busy");
	}
}

/* Formats a broadcast and adds it to the batch; cmd_flush delivers it
 * before any other command runs and before the reader waits for more
 * input, so a sender's lines keep their order. */
static enum end_reason
cmd_msg(struct session *c, const char *text)
{
	char quoted[2 * PROTO_MAX_LINE + 3];

	if (*text == '\0')
		return session_reply(c, "ERR usage MSG <text>");
	struct msg *line = hub_msg_line(c->member, text);
	if (line == NULL)
		return session_reply(c, "ERR server-busy");
	if (c->nbatch == SESSION_BATCH)
		cmd_flush(c);
	c->batch[c->nbatch++] = line;
	log_chat(LOG_MSG, "id=%lu from=%s text=%s", c->id,
	    hub_member_name(c->member), log_quote(text, quoted, sizeof(quoted)));
	return END_NONE;
}

void
cmd_flush(struct session *c)
{
	struct hub_trace trace;
	struct hub_trace *t;

	if (c->nbatch == 0)
		return;
	t = cmd_trace_start(&trace);
	hub_broadcast_lines(c->env->hub, c->member, c->batch, c->nbatch, t);
	if (t != NULL)
		cmd_trace_log(c, "MSG", c->nbatch, t);
	for (size_t i = 0; i < c->nbatch; i++)
		msg_unref(c->batch[i]);
	c->nbatch = 0;
}

static enum end_reason
cmd_dm(struct session *c, const char *user, const char *text)
{
	char quoted[2 * PROTO_MAX_LINE + 3];

	if (user == NULL || text == NULL)
		return session_reply(c, "ERR usage DM <user> <text>");
	struct hub_trace trace;
	struct hub_trace *t = cmd_trace_start(&trace);

	switch (hub_dm(c->env->hub, c->member, user, text, t)) {
	case HUB_NO_SUCH_USER:
		return session_send(c, msg_printf("ERR no-such-user %s", user));
	case HUB_REFUSED:
		return session_reply(c, "ERR server-busy");
	default:
		break;
	}
	if (t != NULL)
		cmd_trace_log(c, "DM", 1, t);
	log_chat(LOG_DM, "id=%lu from=%s to=%s text=%s", c->id,
	    hub_member_name(c->member), user,
	    log_quote(text, quoted, sizeof(quoted)));
	return END_NONE;
}

/* WHO. Its reply may be far longer than a line, so it costs the asker's
 * flood budget a line per PROTO_MAX_LINE bytes of it, beside the line
 * that asked: asking again and again is slowed in proportion to what the
 * replies cost to hold and send. */
static enum end_reason
cmd_who(struct session *c)
{
	struct msg *users = hub_who(c->env->hub);

	if (users == NULL)
		return session_reply(c, "ERR server-busy");
	flood_charge(&c->flood, (double)(msg_len(users) / PROTO_MAX_LINE));
	return session_send(c, users);
}

static enum end_reason
cmd_ping(struct session *c, const char *token)
{
	if (*token == '\0')
		return session_reply(c, "PONG");
	return session_send(c, msg_printf("PONG %s", token));
}

/* ---- --trace ----------------------------------------------------------- */

/* A zeroed delivery record for the hub to fill, or NULL when not tracing,
 * so a message costs nothing more than this branch. */
static struct hub_trace *
cmd_trace_start(struct hub_trace *t)
{
	if (!log_tracing)
		return NULL;
	memset(t, 0, sizeof(*t));
	return t;
}

/* One line for a delivery, listing each recipient's queue depth after the
 * push, or its eviction. Called after the hub lock is released, from the
 * record the hub filled. */
static void
cmd_trace_log(struct session *c, const char *verb, size_t lines,
    const struct hub_trace *t)
{
	char list[HUB_TRACE_MAX * 48 + 32];
	size_t o = 0;

	list[0] = '\0';
	for (size_t i = 0; i < t->n; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o,
		    t->to[i].evicted ? " %s(full: EVICTED)" : " %s(depth=%zu)",
		    t->to[i].name, t->to[i].depth);
	if (t->more > 0)
		snprintf(list + o, sizeof(list) - o, " +%zu more", t->more);
	log_trace("deliver %s from=%s via rd/%lu lines=%zu to:%s", verb,
	    hub_member_name(c->member), c->id, lines, t->n ? list : " nobody");
}
