/*
 * proto.c - framing, parsing and text rules; see proto.h for the contract.
 */
#include "proto.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- Line framing ------------------------------------------------------ */

/*
 * The buffer holds several lines, so one read of a burst is framed without
 * further reads; it must hold at least one whole line with CR and LF.
 * Invariant: start <= end <= FRAMER_SIZE; bytes [start, end) are unread.
 */
#define FRAMER_SIZE 4096

struct framer {
	char buf[FRAMER_SIZE];
	size_t start;
	size_t end;
	bool discarding;    /* inside a too-long line: drop up to its LF */
};

_Static_assert(FRAMER_SIZE > 2 * (PROTO_MAX_LINE + 2),
    "the framer must hold a full line plus a read's worth");

struct framer *
framer_new(void)
{
	return calloc(1, sizeof(struct framer));
}

void
framer_free(struct framer *f)
{
	free(f);
}

char *
framer_space(struct framer *f, size_t *room)
{
	*room = FRAMER_SIZE - f->end;
	return f->buf + f->end;
}

void
framer_commit(struct framer *f, size_t n)
{
	f->end += n;
}

/* No LF is buffered: keep the partial line, or give up on it. */
static enum framer_event
framer_partial(struct framer *f)
{
	size_t pending = f->end - f->start;

	/* A line of PROTO_MAX_LINE bytes may still be followed by a CR. */
	if (f->discarding || pending > PROTO_MAX_LINE + 1) {
		bool first = !f->discarding;
		f->discarding = true;
		f->start = f->end = 0;
		return first ? FRAMER_TOO_LONG : FRAMER_NEED_MORE;
	}
	memmove(f->buf, f->buf + f->start, pending);
	f->start = 0;
	f->end = pending;
	return FRAMER_NEED_MORE;
}

enum framer_event
framer_next(struct framer *f, char **line, size_t *len)
{
	for (;;) {
		char *s = f->buf + f->start;
		char *lf = memchr(s, '\n', f->end - f->start);
		if (lf == NULL)
			return framer_partial(f);

		size_t n = (size_t)(lf - s);
		f->start += n + 1;
		if (f->discarding) {     /* the tail of a too-long line */
			f->discarding = false;
			continue;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		s[n] = '\0';
		if (n > PROTO_MAX_LINE)
			return FRAMER_TOO_LONG;
		*line = s;
		*len = n;
		return FRAMER_LINE;
	}
}

/* ---- Commands ---------------------------------------------------------- */

static const struct {
	const char *word;
	enum proto_verb verb;
} verbs[] = {
	{ "LOGIN", VERB_LOGIN }, { "MSG", VERB_MSG }, { "DM", VERB_DM },
	{ "WHO", VERB_WHO }, { "PING", VERB_PING }, { "QUIT", VERB_QUIT },
	{ "!exit", VERB_QUIT },
};

/* The verb that line starts with (followed by a space or the end), and
 * where its argument starts; VERB_NONE when there is none. */
static enum proto_verb
proto_verb(const char *line, const char **arg)
{
	size_t n = strcspn(line, " ");

	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strlen(verbs[i].word) == n &&
		    memcmp(line, verbs[i].word, n) == 0) {
			*arg = line[n] == ' ' ? line + n + 1 : line + n;
			return verbs[i].verb;
		}
	}
	return VERB_NONE;
}

void
proto_parse(char *line, struct command *cmd)
{
	const char *arg = "";

	cmd->verb = proto_verb(line, &arg);
	cmd->user = NULL;
	cmd->text = cmd->verb == VERB_NONE ? line : arg;
	if (cmd->verb != VERB_DM)
		return;

	/* DM <user> <text>: the user ends at the first space after it. */
	char *user = line + (arg - line);
	char *space = strchr(user, ' ');
	cmd->user = *user != '\0' ? user : NULL;
	cmd->text = NULL;
	if (space != NULL) {
		*space = '\0';
		if (space[1] != '\0')
			cmd->text = space + 1;
	}
}

/* ---- Text and name rules ----------------------------------------------- */

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not
 * a valid, shortest-form encoding of a scalar value. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	else if ((s[0] & 0xE0) == 0xC0)
		len = 2, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static bool
is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

bool
proto_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		size_t n = utf8_seq(p, len);
		if (n == 0 || (n == 1 && is_control(*p)))
			return false;
		p += n;
		len -= n;
	}
	return true;
}

bool
proto_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		size_t n = utf8_seq(p, len);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_name_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool
proto_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PROTO_MAX_NAME || !is_alpha(name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_name_char(name[i]))
			return false;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcasecmp(name, verbs[i].word) == 0)
			return false;
	return true;
}

size_t
proto_sanitize(const char *s, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (outsz == 0)
		return 0;
	while (len > 0) {
		size_t n = utf8_seq(p, len);
		bool bad = n == 0 || (n == 1 && is_control(*p));
		size_t copy = bad ? 1 : n;
		if (o + copy >= outsz)
			break;
		if (bad)
			out[o] = '?';
		else
			memcpy(out + o, p, n);
		o += copy;
		p += bad ? 1 : n;
		len -= bad ? 1 : n;
	}
	out[o] = '\0';
	return o;
}
