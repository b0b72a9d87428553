/*
 * lineedit.c - the input line editor; see lineedit.h for what it does.
 *
 * It stands on four helpers: rawtty (raw mode, and the terminal restored
 * on every way out), keys (input bytes to keys), utf8 (characters and their
 * widths) and linehist (the submitted lines). What is left to the editor's
 * own files is the line itself: editing it, recalling lines into it, and
 * drawing the input row.
 *
 * The files: this one is the interface (lineedit.h); lineedit_draw.c the
 * output buffer and the input row (how the row scrolls is there);
 * lineedit_edit.c what each key does. lineedit_internal.h holds the
 * editor's layout, which they share.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "lineedit_internal.h"
#include "linehist.h"
#include "rawtty.h"
#include "sync.h"
#include "utf8.h"

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
		lined_puts(ed, LINED_CLEAR_ROW);
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
