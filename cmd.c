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
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster.h"
#include "config.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "stats.h"

/* The static functions, in the order they are defined. */
static bool cmd_before_login(enum proto_verb verb);
static enum end_reason cmd_refuse(struct session *c, const char *line,
    const char *why, const char *name);
static enum cluster_status cmd_claim(struct session *c, const char *name);
static enum end_reason cmd_login(struct session *c, const char *name);
static enum end_reason cmd_mistyped(struct session *c, const char *verb);
static enum end_reason cmd_help(struct session *c);
static enum end_reason cmd_msg(struct session *c, const char *text);
static enum end_reason cmd_flush_cluster(struct session *c);
static enum end_reason cmd_join(struct session *c, const char *room);
static enum end_reason cmd_send_costly(struct session *c, struct msg *reply);
static enum end_reason cmd_send_cluster(struct session *c, struct msg *reply,
    enum cluster_status st);
static enum end_reason cmd_who(struct session *c, const char *arg);
static enum end_reason cmd_rooms(struct session *c);
static enum end_reason cmd_history(struct session *c, const char *arg);
static enum hub_status cmd_dm_cluster(struct session *c, const char *user,
    const char *text);
static enum end_reason cmd_dm(struct session *c, const char *user,
    const char *text);
static enum end_reason cmd_ping(struct session *c, const char *token);
static struct hub_trace *cmd_trace_start(struct hub_trace *t);
static void cmd_trace_log(struct session *c, const char *verb, size_t lines,
    const struct hub_trace *t);

/* Runs one line. Before login only LOGIN, PING, HELP and QUIT work, and a
 * line that is no verb is taken as the name; after it, such a line is a
 * MSG. A verb typed wrongly is never taken as a name or sent as text. */
enum end_reason
cmd_handle_line(struct session *c, char *line, size_t len)
{
	struct command cmd;

	if (len == 0)
		return END_NONE;                /* empty lines are ignored */
	if (!proto_text_ok(line, len))
		return cmd_refuse(c, PROTO_ERR_BAD_TEXT, "bad-text", NULL);
	proto_parse(line, &cmd);
	bool in = c->member != NULL;
	bool broadcast = in && (cmd.verb == VERB_MSG || cmd.verb == VERB_NONE);

	enum end_reason why = broadcast ? END_NONE : cmd_flush(c);
	if (why != END_NONE)            /* what came before goes out first */
		return why;
	if (!in && !cmd_before_login(cmd.verb))
		return session_reply(c, PROTO_ERR_NOT_IN);
	switch (cmd.verb) {
	case VERB_PING:
		return cmd_ping(c, cmd.text);
	case VERB_QUIT:
		return END_QUIT;        /* session_end says "INFO bye" */
	case VERB_HELP:
		return cmd_help(c);
	case VERB_MISTYPED:
		return cmd_mistyped(c, cmd.text);
	case VERB_LOGIN:
		return cmd_login(c, cmd.text);
	case VERB_NONE:
		return in ? cmd_msg(c, cmd.text) : cmd_login(c, cmd.text);
	case VERB_MSG:
		return cmd_msg(c, cmd.text);
	case VERB_DM:
		return cmd_dm(c, cmd.user, cmd.text);
	case VERB_WHO:
		return cmd_who(c, cmd.text);
	case VERB_JOIN:
		return cmd_join(c, cmd.text);
	case VERB_ROOMS:
		return cmd_rooms(c);
	case VERB_HISTORY:
		return cmd_history(c, cmd.text);
	}
	return END_NONE;
}

/* Whether a verb works before login. */
static bool
cmd_before_login(enum proto_verb verb)
{
	switch (verb) {
	case VERB_MSG:
	case VERB_DM:
	case VERB_WHO:
	case VERB_JOIN:
	case VERB_ROOMS:
	case VERB_HISTORY:
		return false;
	default:
		return true;
	}
}

/* Replies line (an error) and logs why, rate-limited so that a flood of
 * bad input cannot fill the log; name, when not NULL, is what the client
 * offered as its name (quoted: it may be anything printable). */
static enum end_reason
cmd_refuse(struct session *c, const char *line, const char *why,
    const char *name)
{
	char quoted[2 * PROTO_MAX_NAME + 8];

	stats_count(&c->env->stats->rejected);
	log_limited(LOG_REJECT, "id=%lu peer=%s reason=%s%s%s", c->id, c->peer,
	    why, name ? " name=" : "", name ? log_quote(name, quoted,
	    sizeof(quoted)) : "");
	return session_reply(c, line);
}

/* In a cluster, LOGIN first claims the name across every node; alone,
 * the hub's own table is the one to check (hub_join). */
static enum cluster_status
cmd_claim(struct session *c, const char *name)
{
	if (c->env->cluster == NULL)
		return CLUSTER_OK;
	return cluster_claim(c->env->cluster, name);
}

static enum end_reason
cmd_login(struct session *c, const char *name)
{
	if (c->member != NULL)
		return session_reply(c, PROTO_ERR_LOGGED_IN);
	if (*name == '\0')
		return session_reply(c, PROTO_ERR_USAGE_LOGIN);
	if (!proto_name_ok(name))
		return cmd_refuse(c, PROTO_ERR_BAD_NAME, "bad-name", name);
	switch (cmd_claim(c, name)) {
	case CLUSTER_OK:
		break;
	case CLUSTER_TAKEN:
		return cmd_refuse(c, PROTO_ERR_NAME_TAKEN, "username-taken",
		    name);
	case CLUSTER_BUSY:
		return session_reply(c, PROTO_ERR_BUSY);
	default:
		return session_reply(c, PROTO_ERR_CLUSTER);
	}
	enum hub_status st = hub_join(c->env->hub, name, c->out, session_kick,
	    c, &c->member);
	if (st != HUB_OK && c->env->cluster != NULL)
		cluster_release(c->env->cluster, name, "#lobby");
	switch (st) {
	case HUB_OK:
		log_event(LOG_LOGIN, "id=%lu user=%s", c->id, name);
		return END_NONE;
	case HUB_NAME_TAKEN:
		return cmd_refuse(c, PROTO_ERR_NAME_TAKEN, "username-taken",
		    name);
	default:        /* its own queue is full or closed, or memory ran out */
		return session_reply(c, PROTO_ERR_BUSY);
	}
}

/* A verb typed in the wrong case or after a '/': say which verb was meant
 * and where the list is. */
static enum end_reason
cmd_mistyped(struct session *c, const char *verb)
{
	return session_send(c, msg_printf("ERR unknown-command try %s "
	    "(verbs are uppercase; HELP lists them)", verb));
}

/* HELP: one INFO line a verb. It works before login. */
static enum end_reason
cmd_help(struct session *c)
{
	static const char *const lines[] = {
		"INFO LOGIN <name>: log in (or just type your name)",
		"INFO MSG <text>: say text to your room (or just type it)",
		"INFO DM <user> <text>: say text to user alone",
		"INFO WHO [#room]: who is in your room, or in that room",
		"INFO JOIN <#room>: move to a room (made if new); its history "
		    "comes first",
		"INFO ROOMS: every room with someone in it, and #lobby",
		"INFO HISTORY [n]: your room's last n messages again",
		"INFO PING [token]: the server answers PONG [token]",
		"INFO QUIT: leave (!exit works too)",
		"INFO HELP: this list",
	};
	enum end_reason why = END_NONE;

	for (size_t i = 0; why == END_NONE && i < sizeof(lines) /
	    sizeof(lines[0]); i++)
		why = session_reply(c, lines[i]);
	flood_charge(&c->flood, (double)(sizeof(lines) / sizeof(lines[0])));
	return why;
}

/* excerpt: cmd-msg */
/* Makes a message's lines and adds them to the batch; cmd_flush delivers
 * it before any other command runs and before the reader waits for more
 * input, so a sender's lines keep their order. */
static enum end_reason
cmd_msg(struct session *c, const char *text)
{
	char quoted[2 * PROTO_MAX_LINE + 3];
	enum end_reason why = END_NONE;

	if (*text == '\0')
		return session_reply(c, PROTO_ERR_USAGE_MSG);
	if (c->nbatch == SESSION_BATCH)
		why = cmd_flush(c);
	if (c->env->cluster != NULL ?
	    (c->texts[c->nbatch] = strdup(text)) == NULL :
	    !hub_line_make(c->env->hub, c->member, text, &c->batch[c->nbatch]))
		return session_reply(c, PROTO_ERR_BUSY);
	c->nbatch++;
	log_chat(LOG_MSG, "id=%lu from=%s room=%s text=%s", c->id,
	    hub_member_name(c->member), hub_member_room(c->member),
	    log_quote(text, quoted, sizeof(quoted)));
	return why;
}

/* cmd_flush in a cluster: the batch goes to Redis, which numbers and keeps
 * its lines and publishes them as one bus message (cluster.h); every node,
 * this one too, delivers them from the bus. A line Redis did not take is
 * said to have failed. */
static enum end_reason
cmd_flush_cluster(struct session *c)
{
	enum cluster_status st[SESSION_BATCH];
	enum end_reason why = END_NONE;

	cluster_say(c->env->cluster, hub_member_room(c->member),
	    hub_member_name(c->member), c->texts, c->nbatch, st);
	for (size_t i = 0; i < c->nbatch; i++) {
		if (why == END_NONE && st[i] != CLUSTER_OK)
			why = session_reply(c, st[i] == CLUSTER_BUSY ?
			    PROTO_ERR_BUSY : PROTO_ERR_CLUSTER);
		free(c->texts[i]);
		c->texts[i] = NULL;
	}
	c->nbatch = 0;
	return why;
}

enum end_reason
cmd_flush(struct session *c)
{
	struct hub_trace trace;
	struct hub_trace *t;
	enum end_reason why = END_NONE;

	if (c->nbatch == 0)
		return END_NONE;
	if (c->env->cluster != NULL)
		return cmd_flush_cluster(c);
	t = cmd_trace_start(&trace);
	enum hub_status st = hub_say(c->env->hub, c->member, c->batch,
	    c->nbatch, t);
	if (t != NULL)
		cmd_trace_log(c, "MSG", c->nbatch, t);
	if (st == HUB_BUSY) {           /* never a silent gap: say so */
		log_limited(LOG_REJECT, "id=%lu user=%s reason=archive-full "
		    "lines=%zu", c->id, hub_member_name(c->member), c->nbatch);
		for (size_t i = 0; why == END_NONE && i < c->nbatch; i++)
			why = session_reply(c, PROTO_ERR_ARCHIVE);
	}
	for (size_t i = 0; i < c->nbatch; i++)
		hub_line_free(&c->batch[i]);
	c->nbatch = 0;
	return why;
}
/* end excerpt */

/* JOIN <#room>. A room that is on disk but not held is read back first,
 * holding no lock (hub.h, HUB_LOAD); it may be forgotten again before the
 * JOIN comes back for it, so this tries a few times. */
static enum end_reason
cmd_join(struct session *c, const char *room)
{
	char was[PROTO_MAX_ROOM + 2];
	enum hub_status st = HUB_LOAD;

	if (*room == '\0')
		return session_reply(c, PROTO_ERR_USAGE_JOIN);
	if (!proto_room_ok(room))
		return cmd_refuse(c, PROTO_ERR_BAD_ROOM, "bad-room", NULL);
	snprintf(was, sizeof(was), "%s", hub_member_room(c->member));
	for (int tries = 0; st == HUB_LOAD && tries < 3; tries++) {
		st = hub_enter(c->env->hub, c->member, room);
		if (st == HUB_LOAD && (st = hub_load_room(c->env->hub, room)) ==
		    HUB_OK)
			st = HUB_LOAD;          /* loaded: enter it now */
	}
	switch (st) {
	case HUB_OK:
		log_event(LOG_JOIN, "id=%lu user=%s room=%s", c->id,
		    hub_member_name(c->member), hub_member_room(c->member));
		if (c->env->cluster != NULL &&
		    strcasecmp(was, hub_member_room(c->member)) != 0)
			cluster_moved(c->env->cluster, hub_member_name(c->member),
			    was, hub_member_room(c->member));
		return END_NONE;
	case HUB_TOO_MANY_ROOMS:
		return session_reply(c, PROTO_ERR_ROOMS);
	case HUB_UNAVAILABLE:
		return session_reply(c, PROTO_ERR_CLUSTER);
	default:        /* memory ran out, or its own queue took no OK */
		return session_reply(c, PROTO_ERR_BUSY);
	}
}

/* ROOMS, and WHO: replies that may be far longer than a line, so they cost
 * the asker's flood budget a line per PROTO_MAX_LINE bytes of them, beside
 * the line that asked: asking again and again is slowed in proportion to
 * what the replies cost to hold and send. */
static enum end_reason
cmd_send_costly(struct session *c, struct msg *reply)
{
	if (reply == NULL)
		return session_reply(c, PROTO_ERR_BUSY);
	flood_charge(&c->flood, (double)(msg_len(reply) / PROTO_MAX_LINE));
	return session_send(c, reply);
}

/* A cluster's answer: the reply, or the error saying why there is none. */
static enum end_reason
cmd_send_cluster(struct session *c, struct msg *reply,
    enum cluster_status st)
{
	if (reply == NULL)
		return session_reply(c, st == CLUSTER_DOWN ? PROTO_ERR_CLUSTER :
		    PROTO_ERR_BUSY);
	return cmd_send_costly(c, reply);
}

/* WHO lists the asker's room; WHO <#room> that room. Anything else after
 * WHO is ignored, as it always was. In a cluster, every node's members. */
static enum end_reason
cmd_who(struct session *c, const char *arg)
{
	enum cluster_status st;

	if (arg[0] == '#' && !proto_room_ok(arg))
		return session_reply(c, PROTO_ERR_BAD_ROOM);
	const char *room = arg[0] == '#' ? arg : NULL;
	if (c->env->cluster != NULL) {
		struct msg *reply = cluster_who(c->env->cluster, room != NULL ?
		    room : hub_member_room(c->member), &st);
		return cmd_send_cluster(c, reply, st);  /* st set by now */
	}
	return cmd_send_costly(c, hub_who(c->env->hub, c->member, room));
}

/* ROOMS: every room with someone in it, here or, in a cluster, anywhere. */
static enum end_reason
cmd_rooms(struct session *c)
{
	enum cluster_status st;

	if (c->env->cluster != NULL) {
		struct msg *reply = cluster_rooms(c->env->cluster, &st);
		return cmd_send_cluster(c, reply, st);  /* st set by now */
	}
	return cmd_send_costly(c, hub_rooms(c->env->hub));
}

/* HISTORY [n]: the last n messages of the room again (all it keeps when n
 * is missing), then OK. */
static enum end_reason
cmd_history(struct session *c, const char *arg)
{
	size_t kept = c->env->cfg->history;
	char *end;
	long n = 0;

	if (*arg != '\0') {
		n = strtol(arg, &end, 10);
		if (*end != '\0' || n < 1 || (size_t)n > kept || kept == 0)
			return session_reply(c, PROTO_ERR_USAGE_HISTORY);
	}
	size_t bytes = 0;
	enum hub_status st = hub_history(c->env->hub, c->member, (size_t)n,
	    &bytes);
	/* Like WHO: a line of budget per PROTO_MAX_LINE bytes replayed. */
	flood_charge(&c->flood, (double)(bytes / PROTO_MAX_LINE));
	if (st != HUB_OK)
		return session_why(c, END_SLOW);
	return END_NONE;
}

/* A DM in a cluster goes by the bus to whichever node has the user. */
static enum hub_status
cmd_dm_cluster(struct session *c, const char *user, const char *text)
{
	switch (cluster_dm(c->env->cluster, hub_member_name(c->member), user,
	    text)) {
	case CLUSTER_OK:
		return HUB_OK;
	case CLUSTER_NO_SUCH_USER:
		return HUB_NO_SUCH_USER;
	case CLUSTER_BUSY:
		return HUB_REFUSED;
	default:
		return HUB_UNAVAILABLE;
	}
}

static enum end_reason
cmd_dm(struct session *c, const char *user, const char *text)
{
	char quoted[2 * PROTO_MAX_LINE + 3];

	if (user == NULL || text == NULL)
		return session_reply(c, PROTO_ERR_USAGE_DM);
	struct hub_trace trace;
	struct hub_trace *t = cmd_trace_start(&trace);
	enum hub_status st = c->env->cluster != NULL ? cmd_dm_cluster(c, user,
	    text) : hub_dm(c->env->hub, c->member, user, text, t);

	switch (st) {
	case HUB_NO_SUCH_USER:
		return session_send(c, msg_printf("ERR no-such-user %s", user));
	case HUB_REFUSED:
		return session_reply(c, PROTO_ERR_BUSY);
	case HUB_UNAVAILABLE:
		return session_reply(c, PROTO_ERR_CLUSTER);
	default:
		break;
	}
	if (t != NULL)
		cmd_trace_log(c, "DM", 1, t);
	/* A private message's text is private: logged only with --log-dm. */
	log_chat(LOG_DM, "id=%lu from=%s to=%s%s%s", c->id,
	    hub_member_name(c->member), user, c->env->cfg->log_dm ?
	    " text=" : "", c->env->cfg->log_dm ? log_quote(text, quoted,
	    sizeof(quoted)) : "");
	return END_NONE;
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
