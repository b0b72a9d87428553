/*
 * typed.c - typed lines into protocol lines; see typed.h.
 */
#include "typed.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "pending.h"
#include "show.h"
#include "term.h"

static const char typed_help_text[] =
"Typed lines go to everyone in your room. Commands:\n"
"  /join #ROOM     move to ROOM (made if new): its last messages come first\n"
"  /rooms          the rooms in use, and how many are in each\n"
"  /who [#ROOM]    who is in your room, or in ROOM\n"
"  /history [N]    your room's last N messages again (no N: all kept)\n"
"  /dm USER TEXT   a private message to USER, in any room\n"
"  /quit or !exit  leave (so do Ctrl-D and, while typing, Ctrl-C)\n"
"  /help           this list\n"
"  //TEXT          sends /TEXT: a line that starts with a slash\n"
"Lines marked (history) were said before, at the time shown.\n";

/* A message to the room, if it fits. */
static void
typed_msg(struct typed *t, const char *text, size_t len)
{
	if (len > TYPED_MSG_MAX) {
		term_say("! not sent: a message may hold %d bytes; this one "
		    "has %zu%s", TYPED_MSG_MAX, len, t->editor ?
		    " (Up brings it back)" : "");
		return;
	}
	typed_send(t, "MSG %s", text);
	if (t->editor)
		term_say("%s: %s", t->user, text);
}

/* "/dm USER TEXT", args pointing after "/dm": a private message, if the
 * line has both parts and "DM USER TEXT" fits in a line. */
static void
typed_dm(struct typed *t, const char *args)
{
	size_t ulen = strcspn(args, " ");
	const char *text = args[ulen] == ' ' ? args + ulen + 1 : args + ulen;
	size_t used = strlen("DM  ") + ulen;
	size_t room = used < PROTO_MAX_LINE ? PROTO_MAX_LINE - used : 0;

	if (ulen == 0 || *text == '\0') {
		term_say("! %s", SHOW_USAGE_DM);
		return;
	}
	if (strlen(text) > room) {
		term_say("! not sent: a private message to %.*s may hold %zu "
		    "bytes; this one has %zu%s", (int)ulen, args, room,
		    strlen(text), t->editor ? " (Up brings it back)" : "");
		return;
	}
	typed_send(t, "DM %.*s %s", (int)ulen, args, text);
	if (t->editor)
		term_say("[dm → %.*s] %s", (int)ulen, args, text);
}

/* Asks the server verb with arg ("" for none) after the question's fence
 * (pending.h); kind says what answers it. arg is a room when it starts
 * with '#'. */
static void
typed_ask(struct typed *t, enum pending_kind kind, const char *verb,
    const char *arg)
{
	char token[PENDING_TOKEN];

	if (!pending_ask(t->pending, kind, arg[0] == '#' ? arg : NULL,
	    token)) {
		term_say("! not sent: %d commands still await the server's "
		    "answer", PENDING_MAX);
		return;
	}
	typed_send(t, "PING %s\n%s%s%s", token, verb, *arg ? " " : "", arg);
}

/* "/join #ROOM": the move happens when the server's OK comes. */
static void
typed_join(struct typed *t, char *room)
{
	if (*room == '\0')
		term_say("! %s", SHOW_USAGE_JOIN);
	else if (!proto_room_ok(room))
		term_say("! %s", SHOW_ROOM_RULE);
	else
		typed_ask(t, PENDING_JOIN, "JOIN", room);
}

/* "/who [#ROOM]". */
static void
typed_who(struct typed *t, char *room)
{
	if (*room != '\0' && !proto_room_ok(room))
		term_say("! %s", SHOW_ROOM_RULE);
	else
		typed_ask(t, PENDING_WHO, "WHO", room);
}

/* "/history [N]": N a whole number from 1; whether the server keeps that
 * many is the server's to say. */
static void
typed_history(struct typed *t, char *n)
{
	bool digits = n[strspn(n, "0123456789")] == '\0';

	if (*n != '\0' && (!digits || strspn(n, "0") == strlen(n)))
		term_say("! %s", SHOW_USAGE_HISTORY);
	else
		typed_ask(t, PENDING_HISTORY, "HISTORY", n);
}

static void
typed_rooms(struct typed *t, char *arg)
{
	if (*arg != '\0')
		term_say("! usage: /rooms");
	else
		typed_ask(t, PENDING_ROOMS, "ROOMS", "");
}

/* /help, a line at a time, so the editor keeps its row below. */
static void
typed_help(struct typed *t, char *arg)
{
	(void)t, (void)arg;
	for (const char *l = typed_help_text; *l != '\0';
	    l += strcspn(l, "\n") + 1)
		term_put("%.*s", (int)strcspn(l, "\n"), l);
}

/* The commands that take at most one word. */
static const struct {
	const char *name;
	void (*run)(struct typed *t, char *arg);
} typed_commands[] = {
	{ "/join", typed_join },
	{ "/who", typed_who },
	{ "/history", typed_history },
	{ "/rooms", typed_rooms },
	{ "/help", typed_help },
};

#define TYPED_NCOMMANDS (sizeof(typed_commands) / sizeof(typed_commands[0]))

/* Runs line if it is one of typed_commands[]: the command's name, then
 * maybe spaces and an argument, whose trailing spaces are dropped. False
 * when it is none of them. */
static bool
typed_command(struct typed *t, char *line)
{
	for (size_t i = 0; i < TYPED_NCOMMANDS; i++) {
		size_t n = strlen(typed_commands[i].name);
		if (strncmp(line, typed_commands[i].name, n) != 0 ||
		    (line[n] != '\0' && line[n] != ' '))
			continue;
		char *arg = line + n + strspn(line + n, " ");
		size_t len = strlen(arg);
		while (len > 0 && arg[len - 1] == ' ')
			arg[--len] = '\0';
		typed_commands[i].run(t, arg);
		return true;
	}
	return false;
}

bool
typed_line(struct typed *t, char *line, size_t len)
{
	if (strcmp(line, "/quit") == 0 || strcmp(line, "!exit") == 0)
		return false;
	if (line[0] != '/')
		typed_msg(t, line, len);
	else if (line[1] == '/')
		typed_msg(t, line + 1, len - 1);
	else if (strcmp(line, "/dm") == 0 || strncmp(line, "/dm ", 4) == 0)
		typed_dm(t, line + 3 + (line[3] == ' '));
	else if (!typed_command(t, line))
		term_say("! unknown command %.40s; /help lists them (// sends "
		    "a line that starts with /)", line);
	return true;
}

void
typed_send(struct typed *t, const char *fmt, ...)
{
	char buf[2 * PROTO_MAX_LINE];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	assert(n >= 0 && n < (int)sizeof(buf) - 1);  /* callers check sizes */
	buf[n++] = '\n';
	net_write_all(t->fd, buf, (size_t)n);
}
