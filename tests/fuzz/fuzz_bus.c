/*
 * fuzz_bus.c - libFuzzer target: what a node takes from Redis (bus
 * messages and history entries, cluster_check.c), which anyone who can
 * reach Redis can write. The input is read twice: as a message or entry
 * as it is, and as the texts of a batch a real node would publish. Each
 * property that breaks aborts:
 *   - a message taken has the fields its own words say, read here apart
 *     from the parser: kind, key, epoch, the first number, time and name;
 *     the shapes are checked here too (a room key, lowercase hex, digits,
 *     YYYY-MM-DDTHH:MM:SSZ, 1 to PROTO_MAX_LINE bytes of text);
 *   - an M message's lines, 1 to CLUSTER_SAY_MAX, are numbered on from
 *     its first, and joined by newlines again are its texts as given;
 *   - a message holding a NUL byte is never taken;
 *   - a batch made as LUA_SAY makes it, of texts a client could send, is
 *     always taken whole (a batch dropped would lose every line in it);
 *   - a history entry taken becomes "HIST <time> <from> <text>" and
 *     "MSG <from> <text>" from its own words, numbered from 1.
 */
#include <stdint.h>
#include <stdio.h>
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

/* The first n space-separated words of s into w (copied), and where the
 * rest begins; NULL when s has fewer. */
static const char *
words(const char *s, char w[][2048], int n)
{
	for (int i = 0; i < n; i++) {
		const char *sp = strchr(s, ' ');
		if (sp == NULL || (size_t)(sp - s) >= sizeof(w[i]))
			return NULL;
		memcpy(w[i], s, (size_t)(sp - s));
		w[i][sp - s] = '\0';
		s = sp + 1;
	}
	return s;
}

static int
all_of(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, set) == n;
}

/* The time's shape, by position. */
static int
time_shape(const char *s)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(form) - 1)
		return 0;
	for (size_t i = 0; form[i] != '\0'; i++)
		if (form[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
			return 0;
	return 1;
}

static int
key_shape(const char *key)
{
	char room[PROTO_MAX_ROOM + 3];

	return strlen(key) <= PROTO_MAX_ROOM &&
	    snprintf(room, sizeof(room), "#%s", key) < (int)sizeof(room) &&
	    proto_room_ok(room);
}

/* An M message taken: its words, and its texts joined as given. */
static void
check_say(const struct cluster_event *e, const char *orig, size_t len)
{
	static char w[6][2048];
	const char *text = words(orig, w, 6);

	check(text != NULL && strcmp(w[0], "M") == 0);
	check(strcmp(e->key, w[1]) == 0 && key_shape(e->key));
	check(strcmp(e->epoch, w[2]) == 0 && all_of(w[2], "0123456789abcdef",
	    1, EPOCH_LEN - 1));
	check(all_of(w[3], "0123456789", 1, 19));
	check(e->nlines >= 1 && e->nlines <= CLUSTER_SAY_MAX);
	check(e->lines[0].seq == strtoull(w[3], NULL, 10) && e->lines[0].seq > 0);
	for (size_t i = 0; i < e->nlines; i++) {
		const struct hub_bus_line *l = &e->lines[i];
		size_t n = strlen(l->text);
		check(i == 0 || l->seq == e->lines[i - 1].seq + 1);
		check(strcmp(l->time, w[4]) == 0 && time_shape(l->time));
		check(strcmp(l->from, w[5]) == 0 && proto_name_ok(l->from));
		check(n >= 1 && n <= PROTO_MAX_LINE && proto_text_ok(l->text, n));
		check((size_t)(text - orig) + n <= len &&
		    memcmp(text, l->text, n) == 0);
		text += n;
		check(i + 1 == e->nlines ? (size_t)(text - orig) == len :
		    *text++ == '\n');
	}
}

/* The input as it is: a bus message. */
static void
as_message(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1), *orig = malloc(size + 1);
	static char w[3][2048];
	struct cluster_event e;

	memcpy(p, data, size);
	p[size] = '\0';
	memcpy(orig, p, size + 1);
	cluster_parse(p, size, &e);
	if (e.kind != 0)
		check(memchr(data, '\0', size) == NULL);
	if (e.kind == 'M') {
		check_say(&e, orig, size);
	} else if (e.kind == 'N') {
		const char *how = words(orig, w, 3);
		check(how != NULL && strcmp(w[0], "N") == 0);
		check(strcmp(e.key, w[1]) == 0 && key_shape(e.key));
		check(strcmp(e.name, w[2]) == 0 && proto_name_ok(e.name));
		check(strcmp(e.text, how) == 0 && (!strcmp(how, "joined") ||
		    !strcmp(how, "left") || !strcmp(how, "disconnected")));
	} else if (e.kind == 'D') {
		const char *text = words(orig, w, 3);
		check(text != NULL && strcmp(w[0], "D") == 0);
		check(strcmp(e.name, w[1]) == 0 && proto_name_ok(e.name));
		check(strcmp(e.other, w[2]) == 0 && proto_name_ok(e.other));
		check(strcmp(e.text, text) == 0 && strlen(text) >= 1 &&
		    strlen(text) <= PROTO_MAX_LINE &&
		    proto_text_ok(text, strlen(text)));
	} else {
		check(e.kind == 0);
	}
	free(p);
	free(orig);
}

/* The input as it is: a history entry. */
static void
as_entry(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), want[4200];
	static char w[3][2048];
	struct hub_hist h;

	memcpy(s, data, size);
	s[size] = '\0';
	if (cluster_hist_entry(s, &h)) {
		const char *text = words(s, w, 3);
		check(text != NULL && all_of(w[0], "0123456789", 1, 19));
		check(h.seq == strtoull(w[0], NULL, 10) && h.seq > 0);
		check(time_shape(w[1]) && strcmp(h.from, w[2]) == 0);
		snprintf(want, sizeof(want), "HIST %s %s %s\n", w[1], w[2], text);
		check(strlen(want) == msg_len(h.line) &&
		    memcmp(want, msg_data(h.line), msg_len(h.line)) == 0);
		snprintf(want, sizeof(want), "MSG %s %s\n", w[2], text);
		check(strlen(want) == msg_len(h.live) &&
		    memcmp(want, msg_data(h.live), msg_len(h.live)) == 0);
		msg_unref(h.line);
		msg_unref(h.live);
	}
	free(s);
}

/* The input as the texts of a batch: cut at each newline (at most
 * CLUSTER_SAY_MAX pieces, each at most PROTO_MAX_LINE bytes), each made a
 * text a client could send (proto_sanitize; an empty one becomes "x"),
 * and published as LUA_SAY does. The node must take all of it. */
static void
as_batch(const uint8_t *data, size_t size)
{
	static char msg[96 + CLUSTER_SAY_MAX * (PROTO_MAX_LINE + 1)];
	static char texts[CLUSTER_SAY_MAX][PROTO_MAX_LINE + 1];
	size_t n = 0, at = 0, len;

	len = (size_t)snprintf(msg, sizeof(msg), "M lobby 0ff1ce %zu "
	    "2026-11-29T10:00:00Z alice ", size + 1);
	while (n < CLUSTER_SAY_MAX && (at < size || n == 0)) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t piece = (nl != NULL ? (size_t)(nl - data) : size) - at;
		size_t keep = piece < PROTO_MAX_LINE ? piece : PROTO_MAX_LINE;
		proto_sanitize((const char *)data + at, keep, texts[n],
		    sizeof(texts[n]));
		if (texts[n][0] == '\0')
			strcpy(texts[n], "x");
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s",
		    n > 0 ? "\n" : "", texts[n]);
		n++;
		at += piece + 1;
	}
	struct cluster_event e;
	cluster_parse(msg, len, &e);
	check(e.kind == 'M' && e.nlines == n && e.lines[0].seq == size + 1);
	for (size_t i = 0; i < n; i++)
		check(strcmp(e.lines[i].text, texts[i]) == 0 &&
		    strcmp(e.lines[i].from, "alice") == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_message(data, size);
	as_entry(data, size);
	as_batch(data, size);
	return 0;
}
