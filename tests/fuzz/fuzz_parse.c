/*
 * fuzz_parse.c - libFuzzer target: the command parser on any line that
 * passed the text rule. Its pointers must stay inside the line, a verb must
 * really start the line, and a DM's user must hold no space.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static bool
inside(const char *p, const char *line, size_t len)
{
	return p >= line && p <= line + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[PROTO_MAX_LINE + 1];
	static const char *words[] = { "", "LOGIN", "MSG", "DM", "WHO", "PING",
		"QUIT" };
	struct command cmd;

	if (size > PROTO_MAX_LINE || !proto_text_ok((const char *)data, size))
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	proto_parse(line, &cmd);

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
