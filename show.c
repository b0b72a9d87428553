/*
 * show.c - the server's lines as a person reads them; see show.h.
 */
#include "show.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"
#include "term.h"

/* The client's words for the error codes it knows. */
static const struct {
	const char *code;
	const char *words;
} show_errors[] = {
	{ "username-taken", "name taken" },
	{ "bad-name", SHOW_NAME_RULE },
	{ "line-too-long", "not sent: the line was too long for the server" },
	{ "bad-text", "not sent: the server refused its characters" },
	{ "unknown-command", "the server did not know a command this client "
	  "sent (is it older than the client?)" },
	{ "server-full", "the server is full; try again later" },
	{ "server-busy", "the server is busy and did not do that (a message "
	  "reached nobody); try again later" },
	{ "too-many-connections", "too many connections from your address" },
	{ "slow-consumer", "cut off: this client did not read fast enough" },
	{ "not-logged-in", "not logged in" },
	{ "already-logged-in", "already logged in" },
	{ "bad-room", SHOW_ROOM_RULE },
	{ "too-many-rooms", "too many rooms: try an existing one" },
};

#define SHOW_NERRORS (sizeof(show_errors) / sizeof(show_errors[0]))

/* The client's forms of the verbs a usage error may name ("ERR usage DM
 * <user> <text>"). */
static const struct {
	const char *verb;
	const char *usage;
} show_usages[] = {
	{ "DM", SHOW_USAGE_DM },
	{ "JOIN", SHOW_USAGE_JOIN },
	{ "HISTORY", SHOW_USAGE_HISTORY },
};

#define SHOW_NUSAGES (sizeof(show_usages) / sizeof(show_usages[0]))

/* Whether HIST lines are dimmed; written before any thread shows one. */
static bool show_dim;

void
show_set_dim(bool dim)
{
	show_dim = dim;
}

bool
show_is_error(const char *line, const char *code)
{
	size_t n = strlen(code);

	return strncmp(line, "ERR ", 4) == 0 &&
	    strncmp(line + 4, code, n) == 0 &&
	    (line[4 + n] == '\0' || line[4 + n] == ' ');
}

/* True when line is word, alone or followed by a space. */
static bool
show_starts(const char *line, const char *word)
{
	size_t n = strlen(word);

	return strncmp(line, word, n) == 0 &&
	    (line[n] == '\0' || line[n] == ' ');
}

/* A usage error; words are the server's, after "ERR usage ": the verb's
 * form. */
static void
show_usage(const char *words)
{
	for (size_t i = 0; i < SHOW_NUSAGES; i++) {
		if (show_starts(words, show_usages[i].verb)) {
			term_say("! %s", show_usages[i].usage);
			return;
		}
	}
	term_say("! usage: %s", words);
}

/* Shows an error; rest is the line after "ERR ": a code, maybe words. */
static void
show_error(const char *rest)
{
	size_t n = strcspn(rest, " ");
	const char *words = rest[n] == ' ' ? rest + n + 1 : "";

	for (size_t i = 0; i < SHOW_NERRORS; i++) {
		if (strlen(show_errors[i].code) == n &&
		    strncmp(rest, show_errors[i].code, n) == 0) {
			term_say("! %s", show_errors[i].words);
			return;
		}
	}
	if (strncmp(rest, "usage ", 6) == 0)
		show_usage(words);
	else if (strncmp(rest, "no-such-user ", 13) == 0)
		term_say("! nobody called %s is online", words);
	else if (*words != '\0')
		term_say("! %s", words);
	else
		term_say("! error: %.*s", (int)n, rest);
}

/* "HIST <time> <from> <text>", rest after "HIST ": shown at its own time,
 * marked. False when the line is not of that form (it is then shown as it
 * came, which still says HIST). */
static bool
show_hist(const char *rest)
{
	char name[PROTO_MAX_NAME + 1];
	struct tm tm = { 0 };
	int skip = 0;

	if (sscanf(rest, "%4d-%2d-%2dT%2d:%2d:%2dZ %32s %n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    name, &skip) != 7 || skip == 0)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t when = timegm(&tm);
	if (when == (time_t)-1)
		return false;
	term_say_at(when, show_dim, "(history) %s: %s", name, rest + skip);
	return true;
}

/* "ROOMS #a 3 #b 1", list after "ROOMS": "* rooms: #a 3, #b 1". */
static void
show_rooms(const char *list)
{
	size_t words = 0, o = 0;
	/* Each separator grows by at most one byte, and a word has one. */
	char *out = malloc(2 * strlen(list) + 1);

	if (out == NULL) {
		term_say("* rooms:%s", list);
		return;
	}
	for (const char *p = list + strspn(list, " "); *p != '\0';
	    p += strspn(p, " ")) {
		size_t w = strcspn(p, " ");
		if (words > 0)
			out[o++] = words % 2 == 0 ? ',' : ' ';
		if (words > 0 && words % 2 == 0)
			out[o++] = ' ';
		memcpy(out + o, p, w);
		o += w;
		p += w;
		words++;
	}
	out[o] = '\0';
	term_say("* rooms: %s", words > 0 ? out : "none");
	free(out);
}

/* "USERS <name> ...", names after "USERS": who is in room (NULL: the room
 * the client is in). */
static void
show_users(const char *names, const char *room)
{
	if (room == NULL)
		term_say("* in this room:%s", names);
	else if (*names == '\0')
		term_say("* nobody is in %s", room);
	else
		term_say("* in %s:%s", room, names);
}

/* Shows a sanitized line that is not an error; room is what a USERS line
 * lists, or NULL. */
static void
show_other(const char *safe, const char *room)
{
	char name[PROTO_MAX_NAME + 1];
	int skip = 0;

	if (show_starts(safe, "PONG"))
		return;                         /* heartbeat replies */
	if (sscanf(safe, "MSG %32s %n", name, &skip) == 1 && skip > 0)
		term_say("%s: %s", name, safe + skip);
	else if (sscanf(safe, "DM %32s %n", name, &skip) == 1 && skip > 0)
		term_say("[dm] %s: %s", name, safe + skip);
	else if (strncmp(safe, "INFO ", 5) == 0)
		term_say("* %s", safe + 5);
	else if (strncmp(safe, "HIST ", 5) == 0 && show_hist(safe + 5))
		return;
	else if (show_starts(safe, "USERS"))
		show_users(safe + 5, room);
	else if (show_starts(safe, "ROOMS"))
		show_rooms(safe + 5);
	else
		term_say("%s", safe);
}

/* Shows line[0..len) made safe; room as for show_other. */
static void
show_safely(const char *line, size_t len, const char *room)
{
	char small[PROTO_MAX_LINE + 1];
	/* Sanitizing never lengthens a line: a refused character, or an
	 * invalid byte, becomes one '?'. */
	char *safe = len < sizeof(small) ? small : malloc(len + 1);

	if (safe == NULL) {
		term_say("! a line of %zu bytes could not be shown: out of "
		    "memory", len);
		return;
	}
	proto_sanitize(line, len, safe, len + 1);
	if (strncmp(safe, "ERR ", 4) == 0)
		show_error(safe + 4);
	else
		show_other(safe, room);
	if (safe != small)
		free(safe);
}

void
show_line(const char *line, size_t len)
{
	show_safely(line, len, NULL);
}

void
show_who(const char *line, size_t len, const char *room)
{
	show_safely(line, len, room);
}
