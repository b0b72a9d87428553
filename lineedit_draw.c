/*
 * lineedit_draw.c - the line editor's output: a buffer gathered while the
 * lock is held and written with one write() where it fits, and the input
 * row drawn from the editor's state. The interface is lineedit.h; the
 * layout and the other files are in lineedit_internal.h.
 *
 * The prompt and the line live in one array, prompt first, so drawing is a
 * walk over one string: the row shows the characters from `first` on, as
 * many as fit in width - 1 columns. The last column stays empty, so the
 * terminal never wraps, and "CR, erase to the end of the row" always
 * clears all of it. The row starts at the prompt whenever the cursor fits
 * there; past that, `first` moves only as far as it must to keep the
 * cursor in view, and back again when the line shrinks.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lineedit_internal.h"
#include "utf8.h"

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
void
lined_flush(struct lined *ed)
{
	lined_write_all(ed->out, ed->out_len);
	ed->out_len = 0;
}

/* Queues p[0..n) for the terminal. */
void
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

void
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
void
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
