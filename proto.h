/*
 * proto.h - the wire protocol as pure functions on bytes: line framing,
 * command parsing, and the text and name rules. No I/O, no threads, no
 * allocation but the framer itself, so every rule is tested on bytes alone.
 *
 * A line ends with LF; a CR right before the LF is dropped. A line from a
 * client may hold PROTO_MAX_LINE bytes; a longer one is reported once and
 * skipped up to its LF. Text must be valid UTF-8 without the characters a
 * display acts on (proto_text_ok says which).
 */
#ifndef HUBCHAT_PROTO_H
#define HUBCHAT_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define PROTO_MAX_LINE 1024   /* bytes in a client's line, without CR/LF */
#define PROTO_MAX_NAME 32     /* bytes in a user name */
#define PROTO_MAX_ROOM 32     /* bytes in a room's name, without its '#' */
/* The longest line a client must accept from the server: a relayed
 * message is longer than PROTO_MAX_LINE (it gains "MSG <name> "), and a
 * USERS line lists everyone in a room. A generous bound, far above what
 * the server sends, that still stops a broken server from making a client
 * buffer without end. */
#define PROTO_MAX_REPLY (1 << 20)

/* ---- Line framing ------------------------------------------------------ */

struct framer;

enum framer_event {
	FRAMER_NEED_MORE,   /* no complete line buffered: read more */
	FRAMER_LINE,        /* *line holds one line, NUL-terminated */
	FRAMER_TOO_LONG,    /* a line over the limit: reply once, go on */
};

/* Returns an empty framer for lines of at most max_line bytes (the server:
 * PROTO_MAX_LINE; a client reading the server: PROTO_MAX_REPLY), or NULL
 * when memory runs out. The caller frees it with framer_free. */
struct framer *framer_new(size_t max_line);
void framer_free(struct framer *f);

/* Where the next read should store bytes: returns the start and sets *room
 * (always > max_line after framer_next said FRAMER_NEED_MORE). Report
 * what was stored with framer_commit(f, n), n <= *room. */
char *framer_space(struct framer *f, size_t *room);
void framer_commit(struct framer *f, size_t n);

/* Takes the next event from the buffered bytes. On FRAMER_LINE, *line and
 * *len describe the line inside the framer's buffer, valid until the next
 * framer_space; the caller may modify its bytes. Call until it returns
 * FRAMER_NEED_MORE, then read again. */
enum framer_event framer_next(struct framer *f, char **line, size_t *len);

/* ---- Commands ---------------------------------------------------------- */

enum proto_verb {
	VERB_NONE,    /* not a verb: a bare name before login, a message after */
	VERB_LOGIN,   /* LOGIN <name> */
	VERB_MSG,     /* MSG <text> */
	VERB_DM,      /* DM <user> <text> */
	VERB_WHO,     /* WHO [#room] */
	VERB_PING,    /* PING [token] */
	VERB_QUIT,    /* QUIT or !exit */
	VERB_HELP,    /* HELP */
	VERB_JOIN,    /* JOIN <#room> */
	VERB_ROOMS,   /* ROOMS */
	VERB_HISTORY, /* HISTORY [n] */
	VERB_MISTYPED,  /* a verb in the wrong case or after a '/' (who, /quit,
	                   msg hi): a mistake, not text; text is the verb as
	                   it should be written */
};

struct command {
	enum proto_verb verb;
	const char *user;   /* DM's recipient; NULL when the line lacks one */
	const char *text;   /* argument (name, text, token): "" when absent;
	                       NULL for a DM with no text; the whole line for
	                       VERB_NONE */
};

/* Splits one line (NUL-terminated, already checked by proto_text_ok) into a
 * command. Verbs are exact and uppercase and end at a space or the line's
 * end: "PINGS" is not a verb. A line that looks like a verb typed wrongly
 * is VERB_MISTYPED rather than text: its first word, with a leading '/'
 * dropped, is a verb ignoring case, and either it had the '/', or the line
 * is that word alone ("who"), or the verb takes an argument and the line
 * has one ("msg hi"). So "who is here?" is still text: WHO takes nothing.
 * Writes a NUL into line to end DM's user, so cmd's pointers point into
 * line. Never fails. */
void proto_parse(char *line, struct command *cmd);

/* ---- Error lines ------------------------------------------------------- */

/*
 * Every error the server sends: "ERR <code>", then a space and words for a
 * person. Clients key on the code alone (docs/PROTOCOL.md); the words are
 * for someone reading the stream in ncat. Usage errors are "ERR usage"
 * followed by the verb's form, and "ERR no-such-user <user>" names the
 * user and nothing else, so it stays parseable.
 */
#define PROTO_ERR_BAD_NAME "ERR bad-name names are 1-32 characters: a " \
	"letter, then letters, digits, _ or -, and not a protocol word"
#define PROTO_ERR_NAME_TAKEN "ERR username-taken that name is in use"
#define PROTO_ERR_LOGGED_IN "ERR already-logged-in you are logged in already"
#define PROTO_ERR_NOT_IN "ERR not-logged-in log in first: LOGIN <name>"
#define PROTO_ERR_TOO_LONG "ERR line-too-long a line holds at most 1024 bytes"
#define PROTO_ERR_BAD_TEXT "ERR bad-text control characters, bidi " \
	"controls and invalid UTF-8 are not allowed"
#define PROTO_ERR_UNKNOWN "ERR unknown-command try HELP"
#define PROTO_ERR_BUSY "ERR server-busy try again later"
#define PROTO_ERR_FULL "ERR server-full try again later"
#define PROTO_ERR_PER_ADDR "ERR too-many-connections from your address"
#define PROTO_ERR_SLOW "ERR slow-consumer you fell too far behind; " \
	"reconnect"
#define PROTO_ERR_USAGE_LOGIN "ERR usage LOGIN <name>"
#define PROTO_ERR_USAGE_MSG "ERR usage MSG <text>"
#define PROTO_ERR_USAGE_DM "ERR usage DM <user> <text>"
#define PROTO_ERR_USAGE_JOIN "ERR usage JOIN <#room>"
#define PROTO_ERR_USAGE_HISTORY "ERR usage HISTORY [n] (n from 1 to the " \
	"history kept)"
#define PROTO_ERR_BAD_ROOM "ERR bad-room rooms are # and 1-32 characters: " \
	"letters, digits, _ or -"
#define PROTO_ERR_ROOMS "ERR too-many-rooms every room held has someone " \
	"in it; try an existing room"
#define PROTO_ERR_CLUSTER "ERR cluster-unavailable the chat's other servers " \
	"did not answer; what you sent may not have arrived, try again soon"
#define PROTO_ERR_NAME_LOST "ERR name-lost someone took your name on another " \
	"server while they could not be reached; log in again"
#define PROTO_ERR_ARCHIVE "ERR server-busy the history cannot keep up; " \
	"nobody got your message, send it again"

/* ---- Text and name rules ----------------------------------------------- */

/* True when s[0..len) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) with none of the characters a terminal or a text
 * display acts on: C0 controls but TAB, DEL, C1 controls (U+0080-U+009F),
 * and the bidi embeddings, overrides and isolates (U+202A-U+202E,
 * U+2066-U+2069). proto.c says why each. */
bool proto_text_ok(const char *s, size_t len);

/* True when s[0..len) is valid UTF-8 by the same rules, control bytes
 * allowed: the check a transport that promises UTF-8 (WebSocket text)
 * makes before the text rules above are applied to each line. */
bool proto_utf8_ok(const char *s, size_t len);

/* True when name is 1-32 ASCII letters, digits, '_' or '-', starting with a
 * letter, and is not a protocol word in any letter case (a verb, a word
 * that starts a server line such as OK or INFO, or one set aside; proto.c
 * lists them). */
bool proto_name_ok(const char *name);

/* True when room is '#' and then 1-32 ASCII letters, digits, '_' or '-'.
 * Rooms are compared ignoring ASCII case, and shown as first created. */
bool proto_room_ok(const char *room);

/* A room's key, what it is compared and stored by: its name (proto_room_ok)
 * without the '#', in lowercase. */
void proto_room_key(const char *room, char key[PROTO_MAX_ROOM + 1]);

/* Copies s[0..len) to out for showing on a terminal: each character that
 * proto_text_ok refuses, and each invalid byte, becomes '?', so no escape
 * sequence or reordering survives. out gets at most outsz - 1 bytes and a
 * NUL; returns the bytes written. */
size_t proto_sanitize(const char *s, size_t len, char *out, size_t outsz);

#endif
