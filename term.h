/*
 * term.h - line-at-a-time terminal I/O shared by the client and the peer:
 * timestamped output, reading one line from a descriptor through a framer,
 * and the loop that reads typed lines, either plain (a pipe, a file, a
 * dumb terminal) or through the line editor (lineedit.h).
 *
 * Output is one line per call, locked as a whole, so lines printed by
 * different threads never mix. Nothing here prints bytes it was not sure
 * of: text from the network goes through proto_sanitize first.
 */
#ifndef HUBCHAT_TERM_H
#define HUBCHAT_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct framer;
struct lined;

/* Prints "[hh:mm:ss] " (local time), the formatted text and a newline to
 * stdout, and flushes; or hands the line to the printer, if one is set.
 * Any length. Safe from any thread. */
void term_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* term_say for something that happened at when rather than now (a line of
 * history): the stamp is when's local time, with the date before the hour
 * when that is not today, "[2026-11-22 09:58:02] ". With dim set, the
 * whole line is dimmed (ANSI SGR 2, TERM_DIM ... TERM_PLAIN): only for a
 * terminal that takes ANSI sequences, never for a pipe or a file. */
void term_say_at(time_t when, bool dim, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TERM_DIM   "\033[2m"
#define TERM_PLAIN "\033[0m"

/* term_say without the stamp: for text that is not an event, such as the
 * lines of /help. */
void term_put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends term_say's and term_put's lines, without the newline, to
 * print(ctx, line) instead of stdout; NULL goes back to stdout. The line
 * editor is the printer while it holds the terminal (term_editor_print).
 * The printer is called with stdout's FILE lock held, which also guards
 * the setting: once this returns, no call to the old printer is running. */
void term_set_printer(void (*print)(void *ctx, const char *line),
    void *ctx);

/* A printer for term_set_printer: ctx is the struct lined. */
void term_editor_print(void *ctx, const char *line);

/* Reads the next line from fd through framer f, whose lines hold at most
 * max bytes. Returns its length, with *line pointing at it (NUL-terminated,
 * valid until the next read), or -1: errno 0 at the end of input,
 * ETIMEDOUT after timeout_ms (< 0 waits for ever), else the read error. A
 * line over the limit is reported with term_say and skipped. */
int term_read_line(int fd, struct framer *f, size_t max, char **line,
    int timeout_ms);

/* Blocks SIGWINCH in the calling thread. Call it before any other thread
 * starts, so that every thread inherits the mask: term_read_typed, with an
 * editor, then takes the signal from a signalfd and redraws the input row
 * at once after a resize. SIGWINCH is ignored by default, so blocking it
 * changes nothing else. */
void term_block_winch(void);

/* How term_read_typed stopped. */
enum term_end {
	TERM_QUIT,      /* on_line returned false */
	TERM_EOF,       /* stdin ended (Ctrl-D, or the end of a pipe) */
	TERM_INTERRUPT, /* Ctrl-C in the editor */
	TERM_WOKEN,     /* a wake descriptor became readable */
};

struct term_input {
	struct framer *f;       /* stdin's framer: may hold lines already */
	struct lined *ed;       /* the editor, or NULL for plain input */
	const char *too_long;   /* said when a line is over f's limit */
	int wake[2];            /* descriptors that stop the loop; -1 = none */
	int idle_ms;            /* call on_idle after this long without a
	                           line handed on (keys do not count); -1 */
	bool (*on_line)(void *ctx, char *line, size_t len);
	void (*on_idle)(void *ctx);
	void *ctx;
};

/*
 * Reads typed lines and hands each valid one to on_line until it returns
 * false, stdin ends, Ctrl-C is typed in the editor, or a wake descriptor is
 * readable. Lines already in f are handed on first. Without an editor,
 * stdin is read through f; with one, keys go to lined_read. Empty lines are
 * skipped; a line that proto_text_ok refuses, or one over f's limit, is
 * refused with a message and not handed on. Blocks.
 */
enum term_end term_read_typed(const struct term_input *in);

#endif
