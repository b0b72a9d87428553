/*
 * lineedit.c - the input line editor; see lineedit.h for what it does.
 *
 * It stands on four helpers: rawtty (raw mode, and the terminal restored
 * on every way out), keys (input bytes to keys), utf8 (characters and their
 * widths) and linehist (the submitted lines). What is left here is the line
 * itself: editing it, recalling lines into it, and drawing the input row.
 *
 * The prompt and the line live in one array, prompt first, so drawing is a
 * walk over one string: the row shows the characters from `first` on, as
 * many as fit in width - 1 columns. The last column stays empty, so the
 * terminal never wraps, and "CR, erase to the end of the row" always
 * clears all of it. The row starts at the prompt whenever the cursor fits
 * there; past that, `first` moves only as far as it must to keep the
 * cursor in view, and back again when the line shrinks.
 *
 * Every change marks the row dirty; it is drawn once, after a whole read's
 * keys, and output is gathered in a buffer and written with one write()
 * where it fits, so the row does not flicker.
 */
#include "lineedit.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "linehist.h"
#include "keys.h"
#include "rawtty.h"
#include "sync.h"
#include "utf8.h"

#define CLEAR_ROW "\r\033[K"

struct lined {
	pthread_mutex_t lock;   /* protects the fields below but the reader's */

	char *text;             /* the prompt, then the line; no NUL. All of
	                           it printable UTF-8 */
	size_t plen;            /* prompt bytes: <= LINED_MAX_PROMPT */
	size_t len;             /* line bytes: <= max */
	size_t pos;             /* cursor, in line bytes: <= len, at the start
	                           of a character */
	size_t max;
	size_t first;           /* first shown byte of text: the start of a
	                           character, <= plen + pos after a draw */
	bool dirty;             /* the row must be drawn again */
	bool echo;              /* a submitted line stays on screen */

	struct linehist *hist;   /* submitted lines */
	size_t hist_at;         /* the entry shown; linehist_count: the draft */
	char *draft;            /* the line typed before Up: max + 1 bytes */

	char out[2048];         /* output not yet written */
	size_t out_len;

	/* The reader's own: only lined_read's thread uses these, so they
	 * need no lock (it holds it anyway while it handles keys). */
	struct keys *keys;
	unsigned char in[256];  /* bytes read; [in_start, in_len) unhandled */
	size_t in_start, in_len;
	bool eof;               /* stdin has ended */
	char *result;           /* the line lined_read returned: max + 1 */
	size_t result_len;
};

/* ---- Output (all with the lock held) ----------------------------------- */

/* Writes all of p[0..n) to stdout; gives up quietly if the terminal is
 * gone, as there is nobody left to tell. */
static void
lined_write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Writes what lined_put has queued. */
static void
lined_flush(struct lined *ed)
{
	lined_write_all(ed->out, ed->out_len);
	ed->out_len = 0;
}

/* Queues p[0..n) for the terminal. */
static void
lined_put(struct lined *ed, const char *p, size_t n)
{
	if (ed->out_len + n > sizeof(ed->out))
		lined_flush(ed);
	if (n > sizeof(ed->out)) {
		lined_write_all(p, n);
		return;
	}
	memcpy(ed->out + ed->out_len, p, n);
	ed->out_len += n;
}

static void
lined_puts(struct lined *ed, const char *s)
{
	lined_put(ed, s, strlen(s));
}

/* ---- Drawing (with the lock held) -------------------------------------- */

/* The terminal's width in columns, at least 2; 80 when it will not say.
 * Read at every draw, so a resize shows at the next one. */
static int
lined_columns(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return 80;
	return ws.ws_col < 2 ? 2 : ws.ws_col;
}

/* Columns taken by the character at text[i]. */
static int
lined_cw(const struct lined *ed, size_t i)
{
	uint32_t cp = '?';

	utf8_decode(ed->text + i, ed->plen + ed->len - i, &cp);
	return utf8_width(cp);
}

/* Columns taken by text[from..to). */
static int
lined_span(const struct lined *ed, size_t from, size_t to)
{
	int w = 0;

	for (size_t i = from; i < to; i = utf8_next(ed->text, to, i))
		w += lined_cw(ed, i);
	return w;
}

/* Chooses `first`: 0 while the cursor (text byte cur) fits in avail
 * columns from the prompt's start; else as little a move as keeps the
 * cursor within avail columns of it, then back while the rest of the line
 * still fits. */
static void
lined_scroll(struct lined *ed, size_t cur, size_t end, int avail)
{
	int w;

	if (lined_span(ed, 0, cur) <= avail) {
		ed->first = 0;
		return;
	}
	if (ed->first > cur)
		ed->first = cur;
	for (w = lined_span(ed, ed->first, cur); w > avail;
	    ed->first = utf8_next(ed->text, end, ed->first))
		w -= lined_cw(ed, ed->first);
	w = lined_span(ed, ed->first, end);
	while (ed->first > 0) {
		size_t prev = utf8_prev(ed->text, ed->first);
		w += lined_cw(ed, prev);
		if (w > avail)
			break;
		ed->first = prev;
	}
}

/* Draws the input row: CR, the part of prompt and line in view, erase to
 * the end of the row, and the cursor put back in its column. */
static void
lined_draw(struct lined *ed)
{
	size_t end = ed->plen + ed->len, cur = ed->plen + ed->pos, i;
	int avail = lined_columns() - 1, col = 0, ccol = -1;
	char move[32];

	lined_scroll(ed, cur, end, avail);
	lined_puts(ed, "\r");
	for (i = ed->first; i < end; i = utf8_next(ed->text, end, i)) {
		int w = lined_cw(ed, i);
		if (i == cur)
			ccol = col;
		if (col + w > avail)
			break;
		lined_put(ed, ed->text + i, utf8_next(ed->text, end, i) - i);
		col += w;
	}
	assert(ccol >= 0 || i == end);     /* lined_scroll kept it in view */
	if (ccol < 0)
		ccol = col;
	lined_puts(ed, "\033[K\r");
	if (ccol > 0) {
		snprintf(move, sizeof(move), "\033[%dC", ccol);
		lined_puts(ed, move);
	}
	ed->dirty = false;
}

/* ---- Editing (with the lock held) -------------------------------------- */

/* The line, after the prompt. */
static char *
lined_line(struct lined *ed)
{
	return ed->text + ed->plen;
}

/* Inserts the character c[0..n) at the cursor, or rings the bell when the
 * line has no room for it. */
static void
lined_insert(struct lined *ed, const char *c, size_t n)
{
	char *line = lined_line(ed);

	if (ed->len + n > ed->max) {
		lined_puts(ed, "\a");
		return;
	}
	memmove(line + ed->pos + n, line + ed->pos, ed->len - ed->pos);
	memcpy(line + ed->pos, c, n);
	ed->len += n;
	ed->pos += n;
}

/* Deletes line bytes [from, to), both starts of characters. The cursor
 * stays on its character, or moves to `from` if that was deleted. */
static void
lined_cut(struct lined *ed, size_t from, size_t to)
{
	char *line = lined_line(ed);

	assert(from <= to && to <= ed->len);
	memmove(line + from, line + to, ed->len - to);
	ed->len -= to - from;
	if (ed->pos >= to)
		ed->pos -= to - from;
	else if (ed->pos > from)
		ed->pos = from;
}

/* Replaces the line with s[0..n), the cursor at its end. */
static void
lined_set_line(struct lined *ed, const char *s, size_t n)
{
	assert(n <= ed->max);
	memcpy(lined_line(ed), s, n);
	ed->len = ed->pos = n;
	ed->first = 0;
}

/* Where ^W cuts from: back over spaces, then over the word before them. */
static size_t
lined_word_start(struct lined *ed)
{
	const char *line = lined_line(ed);
	size_t i = ed->pos;

	while (i > 0 && line[i - 1] == ' ')
		i--;
	while (i > 0 && line[i - 1] != ' ')
		i--;
	return i;               /* after a space byte: a character's start */
}

/*
 * Up (dir -1, older) and Down (+1, newer). A recalled line is a copy:
 * editing it never changes the entry, moving on drops the edits, and
 * submitting it adds it as the newest entry. The draft, what was typed
 * before the first Up, is kept and comes back below the newest entry.
 */
static void
lined_recall(struct lined *ed, int dir)
{
	size_t count = linehist_count(ed->hist);
	const char *s;

	if ((dir < 0 && ed->hist_at == 0) ||
	    (dir > 0 && ed->hist_at == count)) {
		lined_puts(ed, "\a");
		return;
	}
	if (ed->hist_at == count) {
		memcpy(ed->draft, lined_line(ed), ed->len);
		ed->draft[ed->len] = '\0';
	}
	ed->hist_at = dir < 0 ? ed->hist_at - 1 : ed->hist_at + 1;
	s = ed->hist_at == count ? ed->draft :
	    linehist_get(ed->hist, ed->hist_at);
	lined_set_line(ed, s, strlen(s));
}

/* Enter: hands the line to lined_read's caller and, when echo is on,
 * leaves it on screen whole, after its prompt (it may wrap now: it is no
 * longer edited), so the next draw starts a fresh input row below; with
 * echo off the next draw simply empties this row. */
static enum lined_event
lined_submit(struct lined *ed)
{
	memcpy(ed->result, lined_line(ed), ed->len);
	ed->result[ed->len] = '\0';
	ed->result_len = ed->len;
	if (ed->echo) {
		lined_puts(ed, CLEAR_ROW);
		lined_put(ed, ed->text, ed->plen + ed->len);
		lined_puts(ed, "\n");
	}
	linehist_add(ed->hist, ed->result, ed->result_len);
	ed->hist_at = linehist_count(ed->hist);
	lined_set_line(ed, "", 0);
	return LINED_LINE;
}

/* Does what a key asks; returns the event it makes, if any. */
static enum lined_event
lined_act(struct lined *ed, const struct key *key)
{
	const char *line = lined_line(ed);
	size_t pos = ed->pos, len = ed->len;
	enum keys_kind a = key->kind;

	if (a == KEYS_CTRL_D && len == 0)
		return LINED_EOF;       /* on a line with text, it is Delete */
	if (a != KEYS_INTERRUPT)
		ed->dirty = true;       /* even if the key changed nothing */
	switch (a) {
	case KEYS_CHAR:
		lined_insert(ed, key->ch, key->len);
		break;
	case KEYS_REDRAW:
		break;
	case KEYS_LEFT:
		ed->pos = pos > 0 ? utf8_prev(line, pos) : 0;
		break;
	case KEYS_RIGHT:
		ed->pos = pos < len ? utf8_next(line, len, pos) : len;
		break;
	case KEYS_HOME:
	case KEYS_END:
		ed->pos = a == KEYS_HOME ? 0 : len;
		break;
	case KEYS_UP:
	case KEYS_DOWN:
		lined_recall(ed, a == KEYS_UP ? -1 : 1);
		break;
	case KEYS_DELETE:
	case KEYS_CTRL_D:
		if (pos < len)
			lined_cut(ed, pos, utf8_next(line, len, pos));
		break;
	case KEYS_BACKSPACE:
		if (pos > 0)
			lined_cut(ed, utf8_prev(line, pos), pos);
		break;
	case KEYS_KILL_START:
		lined_cut(ed, 0, pos);
		break;
	case KEYS_KILL_END:
		lined_cut(ed, pos, len);
		break;
	case KEYS_KILL_WORD:
		lined_cut(ed, lined_word_start(ed), pos);
		break;
	case KEYS_ENTER:
		return lined_submit(ed);
	case KEYS_INTERRUPT:
		return LINED_INTERRUPT;
	}
	return LINED_NONE;
}

/* ---- The interface ----------------------------------------------------- */

/* Frees the editor and what it owns; the terminal is not touched. */
static void
lined_free(struct lined *ed)
{
	linehist_free(ed->hist);
	keys_free(ed->keys);
	pthread_mutex_destroy(&ed->lock);
	free(ed->text);
	free(ed->draft);
	free(ed->result);
	free(ed);
}

bool
lined_wanted(void)
{
	const char *term = getenv("TERM");

	return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
	    (term == NULL || strcmp(term, "dumb") != 0);
}

struct lined *
lined_start(size_t max_bytes)
{
	struct lined *ed;
	int saved;

	assert(max_bytes > 0);
	if ((ed = calloc(1, sizeof(*ed))) == NULL)
		return NULL;
	sync_mutex_init(&ed->lock);
	ed->max = max_bytes;
	ed->echo = true;
	ed->text = malloc(LINED_MAX_PROMPT + max_bytes);
	ed->draft = malloc(max_bytes + 1);
	ed->result = malloc(max_bytes + 1);
	ed->keys = keys_new();
	ed->hist = linehist_new(LINED_HISTORY);
	if (ed->text == NULL || ed->draft == NULL || ed->result == NULL ||
	    ed->keys == NULL || ed->hist == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	ed->result[0] = '\0';
	fflush(stdout);         /* what stdio holds goes out before the row */
	if (!rawtty_enter())
		goto fail;
	lined_draw(ed);
	lined_flush(ed);
	return ed;
fail:
	saved = errno;
	lined_free(ed);
	errno = saved;
	return NULL;
}

void
lined_stop(struct lined *ed)
{
	assert(ed != NULL);
	rawtty_leave();
	lined_free(ed);
}

void
lined_restore(void)
{
	rawtty_restore();
}

void
lined_set_prompt(struct lined *ed, const char *prompt)
{
	char clean[LINED_MAX_PROMPT];
	size_t n;

	assert(ed != NULL && prompt != NULL);
	n = utf8_clean(prompt, clean, sizeof(clean));
	sync_lock(&ed->lock);
	memmove(ed->text + n, lined_line(ed), ed->len);
	memcpy(ed->text, clean, n);
	ed->plen = n;
	ed->first = 0;
	if (rawtty_is_raw())
		lined_draw(ed);
	lined_flush(ed);
	sync_unlock(&ed->lock);
}

void
lined_set_echo(struct lined *ed, bool echo)
{
	assert(ed != NULL);
	sync_lock(&ed->lock);
	ed->echo = echo;
	sync_unlock(&ed->lock);
}

void
lined_print(struct lined *ed, const char *text)
{
	assert(ed != NULL && strchr(text, '\n') == NULL);
	sync_lock(&ed->lock);
	if (rawtty_is_raw())
		lined_puts(ed, CLEAR_ROW);
	lined_puts(ed, text);
	lined_puts(ed, "\n");
	if (rawtty_is_raw())
		lined_draw(ed);
	lined_flush(ed);
	sync_unlock(&ed->lock);
}

void
lined_printf(struct lined *ed, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* A longer line gets its own buffer; without memory, it is cut. */
	if ((size_t)n >= sizeof(small) && (big = malloc((size_t)n + 1))) {
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	lined_print(ed, big != NULL ? big : small);
	free(big);
}

void
lined_refresh(struct lined *ed)
{
	sync_lock(&ed->lock);
	if (rawtty_is_raw())
		lined_draw(ed);
	lined_flush(ed);
	sync_unlock(&ed->lock);
}

/* Reads stdin once if it is readable now; notes its end. */
static void
lined_fill(struct lined *ed)
{
	struct pollfd pf = { .fd = STDIN_FILENO, .events = POLLIN };
	ssize_t n;

	if (poll(&pf, 1, 0) <= 0)
		return;
	n = read(STDIN_FILENO, ed->in, sizeof(ed->in));
	if (n > 0) {
		ed->in_start = 0;
		ed->in_len = (size_t)n;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		ed->eof = true;
	}
}

enum lined_event
lined_read(struct lined *ed, char **line, size_t *len)
{
	enum lined_event ev = LINED_NONE;
	struct key key;

	assert(ed != NULL && line != NULL && len != NULL);
	if (ed->in_start == ed->in_len && !ed->eof)
		lined_fill(ed);
	sync_lock(&ed->lock);
	while (rawtty_is_raw() && ev == LINED_NONE &&
	    ed->in_start < ed->in_len) {
		if (keys_feed(ed->keys, ed->in[ed->in_start++], &key))
			ev = lined_act(ed, &key);
	}
	if (rawtty_is_raw() && ed->dirty)
		lined_draw(ed);
	lined_flush(ed);
	sync_unlock(&ed->lock);
	if (ev == LINED_NONE && (!rawtty_is_raw() ||
	    (ed->eof && ed->in_start == ed->in_len)))
		ev = LINED_EOF;
	*line = ed->result;
	*len = ed->result_len;
	return ev;
}
