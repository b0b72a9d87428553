/*
 * fuzz_bus.c - libFuzzer target: what a node takes from Redis (bus
 * messages and history entries, cluster_check.c), which anyone who can
 * reach Redis can write. Each property that breaks aborts:
 *   - cluster_parse never reads past the message, and a message holding a
 *     NUL byte is never taken;
 *   - a message it takes is well formed by an oracle of this file's own:
 *     an M message has 1 to CLUSTER_SAY_MAX lines, numbered on from a
 *     first above 0, with a time, a name and texts a client could have
 *     sent (none holding a newline), of a room key and an epoch;
 *     an N message is joined, left or disconnected; a D message's names
 *     and text are well formed;
 *   - the lines it takes, joined again, are the message it was given;
 *   - cluster_hist_entry makes both lines of an entry it takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_internal.h"
#include "msg.h"

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* An M message's lines: numbered on, each well formed, and, joined by
 * newlines after the header, the texts of the message as given. */
static void
check_say(const struct cluster_event *e, const char *orig, size_t len)
{
	const char *text = orig;

	check(e->nlines >= 1 && e->nlines <= CLUSTER_SAY_MAX);
	check(e->lines[0].seq > 0 && cluster_epoch_ok(e->epoch));
	for (int spaces = 0; spaces < 6; text++)        /* "M key epoch seq
	                                                   time from " */
		spaces += *text == ' ';
	for (size_t i = 0; i < e->nlines; i++) {
		const struct hub_bus_line *l = &e->lines[i];
		size_t n = strlen(l->text);
		check(l->seq == e->lines[0].seq + i);
		check(cluster_time_ok(l->time) && proto_name_ok(l->from));
		check(cluster_text_ok(l->text) && strchr(l->text, '\n') == NULL);
		check((size_t)(text - orig) + n <= len &&
		    memcmp(text, l->text, n) == 0);
		text += n;
		check(i + 1 == e->nlines ? (size_t)(text - orig) == len :
		    *text++ == '\n');
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1), *orig = malloc(size + 1);
	struct cluster_event e;
	struct hub_hist h;

	memcpy(p, data, size);
	p[size] = '\0';
	memcpy(orig, p, size + 1);
	cluster_parse(p, size, &e);
	if (e.kind != 0)
		check(memchr(data, '\0', size) == NULL && orig[1] == ' ');
	if (e.kind == 'M') {
		check(orig[0] == 'M');
		check_say(&e, orig, size);
	} else if (e.kind == 'N') {
		check(proto_name_ok(e.name) && (!strcmp(e.text, "joined") ||
		    !strcmp(e.text, "left") || !strcmp(e.text, "disconnected")));
	} else if (e.kind == 'D') {
		check(proto_name_ok(e.name) && proto_name_ok(e.other) &&
		    cluster_text_ok(e.text));
	} else {
		check(e.kind == 0);
	}
	if (cluster_hist_entry(orig, &h)) {
		check(h.line != NULL && h.live != NULL && h.seq > 0);
		msg_unref(h.line);
		msg_unref(h.live);
	}
	free(p);
	free(orig);
	return 0;
}
