/*
 * show.c - the server's lines as a person reads them; see show.h.
 */
#include "show.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{ "server-busy", "the server is busy; try again later" },
	{ "too-many-connections", "too many connections from your address" },
	{ "slow-consumer", "cut off: this client did not read fast enough" },
	{ "not-logged-in", "not logged in" },
	{ "already-logged-in", "already logged in" },
};

#define SHOW_NERRORS (sizeof(show_errors) / sizeof(show_errors[0]))

bool
show_is_error(const char *line, const char *code)
{
	size_t n = strlen(code);

	return strncmp(line, "ERR ", 4) == 0 &&
	    strncmp(line + 4, code, n) == 0 &&
	    (line[4 + n] == '\0' || line[4 + n] == ' ');
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
	if (strncmp(rest, "usage ", 6) == 0 && strncmp(words, "DM", 2) == 0)
		term_say("! usage: /dm USER TEXT");
	else if (strncmp(rest, "usage ", 6) == 0)
		term_say("! usage: %s", words);
	else if (strncmp(rest, "no-such-user ", 13) == 0)
		term_say("! nobody called %s is online", words);
	else if (*words != '\0')
		term_say("! %s", words);
	else
		term_say("! error: %.*s", (int)n, rest);
}

/* Shows a sanitized line that is not an error. */
static void
show_other(const char *safe)
{
	char name[PROTO_MAX_NAME + 1];
	int skip = 0;

	if (strcmp(safe, "PONG") == 0 || strncmp(safe, "PONG ", 5) == 0)
		return;                         /* heartbeat replies */
	if (sscanf(safe, "MSG %32s %n", name, &skip) == 1 && skip > 0)
		term_say("%s: %s", name, safe + skip);
	else if (sscanf(safe, "DM %32s %n", name, &skip) == 1 && skip > 0)
		term_say("[dm] %s: %s", name, safe + skip);
	else if (strncmp(safe, "INFO ", 5) == 0)
		term_say("* %s", safe + 5);
	else if (strcmp(safe, "USERS") == 0 || strncmp(safe, "USERS ", 6) == 0)
		term_say("* online:%s", safe + 5);
	else
		term_say("%s", safe);
}

void
show_line(const char *line, size_t len)
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
		show_other(safe);
	if (safe != small)
		free(safe);
}
