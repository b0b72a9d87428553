/*
 * cluster_check.c - what a node takes from Redis, checked as strictly as
 * what it takes from a client, since anyone who can reach Redis can write
 * a key or publish on the bus (docs/CLUSTER.md, "Redis is the trust
 * boundary"): bus messages (cluster_lua.h has their forms) and history
 * entries. What is not well formed is refused here; what is well formed
 * but not Redis's (another epoch, out of sequence) is the bus thread's to
 * find (cluster_bus.c).
 */
#include "cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

bool
cluster_time_ok(const char *s)
{
	static const char form[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i] != '\0'; i++)
		if (form[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
			return false;
	return true;
}

bool
cluster_text_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= PROTO_MAX_LINE && proto_text_ok(s, n);
}

bool
cluster_epoch_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < EPOCH_LEN && strspn(s, "0123456789abcdef") == n;
}

/* Splits the first word off *p (ending at a space); NULL when there is
 * none or nothing after it. */
static char *
check_word(char **p)
{
	char *w = *p, *sp = strchr(w, ' ');

	if (sp == NULL || sp == w)
		return NULL;
	*sp = '\0';
	*p = sp + 1;
	return w;
}

static bool
check_key_ok(const char *key)
{
	char room[PROTO_MAX_ROOM + 2];

	snprintf(room, sizeof(room), "#%s", key);
	return strlen(key) <= PROTO_MAX_ROOM && proto_room_ok(room);
}

/* An M message's words after its kind: key, epoch, seq, time, from, then
 * its texts joined by '\n', which become its lines, numbered from seq. */
static bool
check_say(char *p, struct cluster_event *e)
{
	char *seq, *when, *from, *next;

	if ((e->key = check_word(&p)) == NULL || (e->epoch = check_word(&p)) ==
	    NULL || (seq = check_word(&p)) == NULL || (when = check_word(&p)) ==
	    NULL || (from = check_word(&p)) == NULL)
		return false;
	if (!check_key_ok(e->key) || !cluster_epoch_ok(e->epoch) ||
	    strlen(seq) > 19 || strspn(seq, "0123456789") != strlen(seq) ||
	    !cluster_time_ok(when) || !proto_name_ok(from))
		return false;
	unsigned long long first = strtoull(seq, NULL, 10);   /* < 10^19 */
	for (e->nlines = 0; p != NULL; p = next) {
		if ((next = strchr(p, '\n')) != NULL)
			*next++ = '\0';
		if (e->nlines == CLUSTER_SAY_MAX || !cluster_text_ok(p))
			return false;
		e->lines[e->nlines] = (struct hub_bus_line){ first + e->nlines,
		    when, from, p };
		e->nlines++;
	}
	return first > 0;
}

void
cluster_parse(char *p, size_t len, struct cluster_event *e)
{
	char *kind;
	bool ok;

	e->kind = 0;
	if (strlen(p) != len || (kind = check_word(&p)) == NULL ||
	    strlen(kind) != 1)
		return;
	if (*kind == 'M') {
		ok = check_say(p, e);
	} else if (*kind == 'N') {
		ok = (e->key = check_word(&p)) != NULL &&
		    (e->name = check_word(&p)) != NULL && check_key_ok(e->key) &&
		    proto_name_ok(e->name) && (!strcmp(p, "joined") ||
		    !strcmp(p, "left") || !strcmp(p, "disconnected"));
		e->text = p;
	} else if (*kind == 'D') {
		ok = (e->name = check_word(&p)) != NULL &&
		    (e->other = check_word(&p)) != NULL && proto_name_ok(e->name) &&
		    proto_name_ok(e->other) && cluster_text_ok(p);
		e->text = p;
	} else {
		ok = false;
	}
	if (ok)
		e->kind = *kind;
}

/* One history entry "<seq> <time> <from> <text>" as a HIST line and a
 * MSG line; false when it is not one (Redis numbers from 1, as on the
 * bus: an entry numbered 0 is not Redis's). */
bool
cluster_hist_entry(const char *s, struct hub_hist *out)
{
	char when[32], from[PROTO_MAX_NAME + 1];
	size_t n = strspn(s, "0123456789");
	const char *w = s + n + 1, *f, *text;

	if (n == 0 || n > 19 || s[n] != ' ' || (f = strchr(w, ' ')) == NULL ||
	    (size_t)(f - w) >= sizeof(when) || (text = strchr(++f, ' ')) ==
	    NULL || (size_t)(text - f) >= sizeof(from))
		return false;
	if ((out->seq = strtoull(s, NULL, 10)) == 0)
		return false;
	snprintf(when, sizeof(when), "%.*s", (int)(f - 1 - w), w);
	snprintf(from, sizeof(from), "%.*s", (int)(text - f), f);
	text++;
	if (!cluster_time_ok(when) || !proto_name_ok(from) ||
	    !cluster_text_ok(text))
		return false;
	out->line = msg_printf("HIST %s %s %s", when, from, text);
	out->live = msg_printf("MSG %s %s", from, text);
	snprintf(out->from, sizeof(out->from), "%s", from);
	if (out->line != NULL && out->live != NULL)
		return true;
	msg_unref(out->line);
	msg_unref(out->live);
	return false;
}

