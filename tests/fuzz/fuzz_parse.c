/*
 * fuzz_parse.c - libFuzzer target: the command parser on any line that
 * passed the text rule. Its pointers must stay inside the line, a verb must
 * really start the line, a DM's user must hold no space, and a mistyped
 * verb must be a verb in the wrong case or after a '/'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

static bool
inside(const char *p, const char *line, size_t len)
{
	return p >= line && p <= line + len;
}

/* A mistyped verb (VERB_MISTYPED): its text is the verb as it should be
 * written, and the line's first word, without a leading '/', is that verb
 * (or "!exit", for QUIT) in some case. */
static bool
mistyped_ok(const char *text, const char *line)
{
	static const char *verbs[] = { "LOGIN", "MSG", "DM", "WHO", "PING",
		"QUIT", "HELP", "JOIN", "ROOMS", "HISTORY" };
	const char *w = line[0] == '/' ? line + 1 : line;
	size_t n = strcspn(w, " ");

	if (strcmp(text, "QUIT") == 0 && n == 5 && strncasecmp(w, "!exit",
	    5) == 0)
		return true;            /* "!EXIT" is QUIT's other spelling */
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(text, verbs[i]) == 0)
			return n == strlen(text) && strncasecmp(w, text, n) == 0;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[PROTO_MAX_LINE + 1];
	static const char *words[] = {
		[VERB_LOGIN] = "LOGIN", [VERB_MSG] = "MSG", [VERB_DM] = "DM",
		[VERB_WHO] = "WHO", [VERB_PING] = "PING", [VERB_HELP] = "HELP",
		[VERB_JOIN] = "JOIN", [VERB_ROOMS] = "ROOMS",
		[VERB_HISTORY] = "HISTORY" };
	struct command cmd;

	if (size > PROTO_MAX_LINE || !proto_text_ok((const char *)data, size))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	char first[PROTO_MAX_LINE + 1];
	memcpy(first, line, size + 1);          /* proto_parse writes a NUL */
	proto_parse(line, &cmd);

	if (cmd.verb == VERB_MISTYPED) {
		if (cmd.text == NULL || !mistyped_ok(cmd.text, first))
			abort();
		return 0;
	}
	if (cmd.text != NULL && !inside(cmd.text, line, size))
		abort();
	if (cmd.user != NULL && (!inside(cmd.user, line, size) ||
	    strchr(cmd.user, ' ') != NULL))
		abort();
	if (cmd.verb == VERB_NONE && cmd.text != line)
		abort();
	if (cmd.verb != VERB_NONE && cmd.verb != VERB_QUIT) {
		const char *w = words[cmd.verb];
		size_t n = strlen(w);
		if (strncmp(line, w, n) != 0 || (line[n] != ' ' && line[n] != '\0'))
			abort();
	}
	if (cmd.verb != VERB_DM && cmd.user != NULL)
		abort();
	return 0;
}
