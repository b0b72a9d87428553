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
 * further reads; it must hold at least one whole line with CR and LF, and
 * a read's worth more. The server's framer, for lines of PROTO_MAX_LINE,
 * is 4 KiB: every connection has one.
 * Invariant: start <= end <= size; bytes [start, end) are unread.
 */
#define FRAMER_MIN_SIZE 4096

struct framer {
	size_t max;         /* the longest line, without CR and LF */
	size_t size;        /* of buf: at least 2 * (max + 2) */
	size_t start;
	size_t end;
	bool discarding;    /* inside a too-long line: drop up to its LF */
	char buf[];
};

struct framer *
framer_new(size_t max_line)
{
	size_t size = 2 * (max_line + 2);

	size = size < FRAMER_MIN_SIZE ? FRAMER_MIN_SIZE : size;
	struct framer *f = calloc(1, sizeof(*f) + size);
	if (f == NULL)
		return NULL;
	f->max = max_line;
	f->size = size;
	return f;
}

void
framer_free(struct framer *f)
{
	free(f);
}

char *
framer_space(struct framer *f, size_t *room)
{
	*room = f->size - f->end;
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

	/* A line of max bytes may still be followed by a CR. */
	if (f->discarding || pending > f->max + 1) {
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
		if (n > f->max)
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
	bool args;          /* takes an argument (see proto_mistyped) */
} proto_verbs[] = {
	{ "LOGIN", VERB_LOGIN, true }, { "MSG", VERB_MSG, true },
	{ "DM", VERB_DM, true }, { "WHO", VERB_WHO, false },
	{ "PING", VERB_PING, true }, { "QUIT", VERB_QUIT, false },
	{ "HELP", VERB_HELP, false }, { "JOIN", VERB_JOIN, true },
	{ "ROOMS", VERB_ROOMS, false }, { "HISTORY", VERB_HISTORY, true },
	{ "!exit", VERB_QUIT, false },
};

#define PROTO_NVERBS (sizeof(proto_verbs) / sizeof(proto_verbs[0]))

/* The verb that line starts with (followed by a space or the end), and
 * where its argument starts; VERB_NONE when there is none. */
static enum proto_verb
proto_verb(const char *line, const char **arg)
{
	size_t n = strcspn(line, " ");

	for (size_t i = 0; i < PROTO_NVERBS; i++) {
		if (strlen(proto_verbs[i].word) == n &&
		    memcmp(line, proto_verbs[i].word, n) == 0) {
			*arg = line[n] == ' ' ? line + n + 1 : line + n;
			return proto_verbs[i].verb;
		}
	}
	return VERB_NONE;
}

/* For a line that is no verb: the verb it was meant to be, by the rule in
 * proto.h (proto_parse), or NULL when it is text. */
static const char *
proto_mistyped(const char *line)
{
	bool slash = line[0] == '/';
	const char *w = line + slash;
	size_t n = strcspn(w, " ");
	bool alone = w[n] == '\0';

	for (size_t i = 0; i < PROTO_NVERBS; i++) {
		const char *v = proto_verbs[i].word;
		if (strlen(v) != n || strncasecmp(w, v, n) != 0)
			continue;
		if (slash || alone || (proto_verbs[i].args && w[n + 1] != '\0'))
			return v[0] == '!' ? "QUIT" : v;
	}
	return NULL;
}

void
proto_parse(char *line, struct command *cmd)
{
	const char *arg = "";

	cmd->verb = proto_verb(line, &arg);
	cmd->user = NULL;
	cmd->text = cmd->verb == VERB_NONE ? line : arg;
	if (cmd->verb == VERB_NONE && (arg = proto_mistyped(line)) != NULL) {
		cmd->verb = VERB_MISTYPED;
		cmd->text = arg;
	}
	if (cmd->verb != VERB_DM)
		return;

	/* DM <user> <text>: the user ends at the first space after it. A
	 * second space right after the verb leaves no user: a usage error,
	 * not a search for the user "". */
	char *user = line + (arg - line);
	char *space = strchr(user, ' ');
	cmd->user = *user != '\0' && *user != ' ' ? user : NULL;
	cmd->text = NULL;
	if (space != NULL) {
		*space = '\0';
		if (space[1] != '\0')
			cmd->text = space + 1;
	}
}

/* ---- Text and name rules ----------------------------------------------- */

/* Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is not
 * a valid, shortest-form encoding of a scalar value; sets *cp to it. */
static size_t
proto_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		len = 2, *cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3, *cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4, *cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3F);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (*cp < min[len] || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return len;
}

/*
 * Characters no line may hold, because a terminal or a text display acts on
 * them instead of showing them:
 *   C0 controls but TAB, and DEL     the classic escapes (ESC, BEL, CR ...)
 *   C1 controls, U+0080-U+009F       the same as 8-bit codes: U+009B is CSI
 *                                    on a terminal that honours C1, U+009D
 *                                    OSC, U+0085 a line break
 *   bidi embeddings, overrides and   U+202A-U+202E, U+2066-U+2069: they can
 *   isolates                         make text display in an order other
 *                                    than it was sent ("Trojan Source").
 * Right-to-left scripts need none of these to display correctly; the
 * implicit marks U+200E, U+200F and U+061C, which cannot reorder other
 * text, are allowed.
 */
static bool
proto_forbidden(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F) ||
	    (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* excerpt: text-ok */
bool
proto_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		uint32_t cp;
		size_t n = proto_utf8_seq(p, len, &cp);
		if (n == 0 || proto_forbidden(cp))
			return false;
		p += n;
		len -= n;
	}
	return true;
}
/* end excerpt */

bool
proto_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	while (len > 0) {
		uint32_t cp;
		size_t n = proto_utf8_seq(p, len, &cp);
		if (n == 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

static bool
proto_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
proto_is_name_char(char c)
{
	return proto_is_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Words a name may not be, in any letter case: every verb, every word
 * that starts a server line, and the words set aside for later verbs. A
 * name that reads as a protocol word (a user called "ok" or "info") makes
 * the stream ambiguous to a person reading it in ncat. */
static const char *const proto_reserved[] = {
	"LOGIN", "MSG", "DM", "WHO", "PING", "QUIT", "HELP", "JOIN", "ROOMS",
	"HISTORY", "OK", "ERR", "INFO", "PONG", "USERS", "HIST",
};

bool
proto_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PROTO_MAX_NAME || !proto_is_alpha(name[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!proto_is_name_char(name[i]))
			return false;
	for (size_t i = 0; i < sizeof(proto_reserved) /
	    sizeof(proto_reserved[0]); i++)
		if (strcasecmp(name, proto_reserved[i]) == 0)
			return false;
	return true;
}

bool
proto_room_ok(const char *room)
{
	size_t n = strlen(room);

	if (n < 2 || n > PROTO_MAX_ROOM + 1 || room[0] != '#')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!proto_is_name_char(room[i]))
			return false;
	return true;
}

void
proto_room_key(const char *room, char key[PROTO_MAX_ROOM + 1])
{
	size_t i = 0;

	for (; room[i + 1] != '\0' && i < PROTO_MAX_ROOM; i++)
		key[i] = (char)(room[i + 1] | ((room[i + 1] >= 'A' &&
		    room[i + 1] <= 'Z') ? 0x20 : 0));
	key[i] = '\0';
}

size_t
proto_sanitize(const char *s, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	if (outsz == 0)
		return 0;
	while (len > 0) {
		uint32_t cp;
		size_t n = proto_utf8_seq(p, len, &cp);
		bool bad = n == 0 || proto_forbidden(cp);
		size_t copy = bad ? 1 : n;      /* one '?' per bad character */
		if (o + copy >= outsz)
			break;
		if (bad)
			out[o] = '?';
		else
			memcpy(out + o, p, n);
		o += copy;
		n = n == 0 ? 1 : n;             /* an invalid byte: skip it */
		p += n;
		len -= n;
	}
	out[o] = '\0';
	return o;
}
