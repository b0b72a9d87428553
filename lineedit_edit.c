/*
 * lineedit_edit.c - what the line editor's keys do to the line: insert,
 * move, delete, recall from the history and submit. Each change marks the
 * row dirty; lined_read draws it. All with the editor's lock held. The
 * interface is lineedit.h; the layout and the other files are in
 * lineedit_internal.h.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "keys.h"
#include "lineedit_internal.h"
#include "linehist.h"
#include "utf8.h"

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
		lined_puts(ed, LINED_CLEAR_ROW);
		lined_put(ed, ed->text, ed->plen + ed->len);
		lined_puts(ed, "\n");
	}
	linehist_add(ed->hist, ed->result, ed->result_len);
	ed->hist_at = linehist_count(ed->hist);
	lined_set_line(ed, "", 0);
	return LINED_LINE;
}

/* Does what a key asks; returns the event it makes, if any. */
enum lined_event
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
