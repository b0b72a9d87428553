/*
 * lineedit.h - the input line of an interactive terminal program: the
 * person edits one line at the bottom while other threads print above it.
 *
 * Without it the terminal echoes keys itself, and a message printed while
 * someone types lands in the middle of their half-typed line. With it the
 * terminal is in raw mode and the editor draws the line itself: a print
 * clears the input row, writes the text and a newline, and draws the prompt
 * and the line again with the cursor where it was.
 *
 * Use it only when lined_wanted() says so. The editor reads stdin and
 * writes stdout; there is at most one at a time. The input row never
 * wraps: a line wider than the terminal scrolls sideways to keep the cursor
 * in view. Columns are counted as wcwidth() does in C.UTF-8 (utf8.h): 2 for
 * a wide character, 0 for a combining mark; the cursor and the deleting
 * keys move by characters (code points).
 *
 * Keys (keys.h lists the bytes of each): printable UTF-8; Backspace (DEL
 * or ^H); Delete (ESC [3~); Left, Right, Home, End (CSI and SS3 forms,
 * ESC [1~ [4~ [7~ [8~, ^B ^F ^A ^E); Up and Down (or ^P ^N) through this
 * session's submitted lines; ^U, ^K and ^W kill to the start, to the end
 * and the word before the cursor; ^L draws the line again; Enter (CR, LF,
 * or CR LF as one) submits. ^D deletes the character under the cursor, and
 * on an empty line means end of input. ^C is not a signal in raw mode: it
 * is reported as LINED_INTERRUPT. Other control keys (TAB among them), Alt
 * combinations and unknown escape sequences are swallowed whole; a
 * character that would take the line past its limit is refused with a
 * bell. ^Z does nothing (job control would need the terminal handed back
 * and taken again around the stop).
 *
 * The terminal settings are restored, and the input row cleared, by
 * lined_stop, by lined_restore, at exit() and by a handler for the signals
 * that kill (rawtty.h lists them, and says when a program must call
 * lined_restore itself: when it handles, blocks or sigwaits a signal).
 *
 * Locking: one mutex per editor guards its line, prompt, history and
 * output. It is held across the terminal write on purpose: it is the
 * output lock, as stdio's is for term_say today, so what waits on it is
 * other output and the reader's handling of keys. No other lock is taken
 * under it, so a caller may hold its own (stdout's FILE lock in term_say,
 * say) when it calls lined_print, as long as it never takes that lock from
 * inside the editor's.
 */
#ifndef HUBCHAT_LINEEDIT_H
#define HUBCHAT_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>

#define LINED_HISTORY     100   /* submitted lines kept for Up and Down */
#define LINED_MAX_PROMPT  256   /* bytes of prompt kept; more is cut */

struct lined;

/* True when the editor should be used: stdin and stdout are terminals and
 * TERM is not "dumb". When false, keep to plain line-at-a-time I/O. */
bool lined_wanted(void);

/* Saves the terminal settings, puts stdin's terminal in raw mode, installs
 * the restoring handlers and draws an empty input row (which takes over the
 * cursor's row: start on a fresh one). A line may hold up to max_bytes bytes
 * (> 0). Returns the editor, owned by the caller until lined_stop, or NULL
 * with errno set (the terminal untouched). One editor at a time: EBUSY
 * while another holds the terminal. */
struct lined *lined_start(size_t max_bytes);

/* Clears the input row, restores the terminal and frees the editor. Call
 * once, after every other thread has stopped calling lined_print. */
void lined_stop(struct lined *ed);

/* Clears the input row and restores the saved terminal settings, if the
 * editor still holds the terminal; else does nothing. Safe to call twice,
 * from any thread and from a signal handler (it uses only an atomic flag,
 * write and tcsetattr). After it, lined_print prints plain lines and
 * lined_read reports LINED_EOF; lined_stop is still needed to free the
 * editor. */
void lined_restore(void);

/* Sets the prompt shown before the line, and redraws. The text is copied:
 * bytes that are not printable UTF-8 become '?', and it is cut to
 * LINED_MAX_PROMPT bytes. Thread-safe. */
void lined_set_prompt(struct lined *ed, const char *prompt);

/* Whether a submitted line stays on screen after its prompt, as a cooked
 * terminal leaves it (true, the default), or the input row is simply
 * cleared for a fresh prompt (false), for a caller that shows each line
 * its own way, as a chat shows "[15:04:05] alice: hi". Thread-safe. */
void lined_set_echo(struct lined *ed, bool echo);

/* Prints one line of text above the input line: clears the input row,
 * writes text and a newline, and draws the prompt and line again with the
 * cursor where it was. text must be one line (no newline) that is safe to
 * show. Thread-safe; blocks while the terminal does. */
void lined_print(struct lined *ed, const char *text);
void lined_printf(struct lined *ed, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Draws the input row again after reading the terminal's width, which is
 * read at every redraw anyway; call it on SIGWINCH to follow a resize at
 * once. Thread-safe. */
void lined_refresh(struct lined *ed);

enum lined_event {
	LINED_NONE,        /* nothing complete yet: poll stdin again */
	LINED_LINE,        /* a submitted line, maybe empty */
	LINED_EOF,         /* ^D on an empty line, or stdin ended */
	LINED_INTERRUPT,   /* ^C */
};

/*
 * Handles the keys already read, and reads stdin once when none are left
 * and it is readable; never blocks. Call it when poll says stdin is
 * readable, and again after each LINED_LINE until it returns something
 * else (one read may hold several lines).
 *
 * On LINED_LINE, *line and *len give the line (NUL-terminated, valid UTF-8
 * without control characters, at most max_bytes), owned by the editor and
 * valid until the next lined_read. The line stays on screen after the
 * prompt, as a cooked terminal leaves it (unless lined_set_echo says not),
 * and a fresh prompt is drawn. On
 * LINED_EOF and LINED_INTERRUPT the line is left as it is; the caller
 * usually ends with lined_stop. Once stdin has ended, every call returns
 * LINED_EOF. Call from one thread only.
 */
enum lined_event lined_read(struct lined *ed, char **line, size_t *len);

#endif
