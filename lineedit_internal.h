/*
 * lineedit_internal.h - what the line editor's files share, and nothing
 * else includes: the editor's layout and the calls between its files. To
 * its users the editor is opaque (lineedit.h, which also says how it locks).
 *
 *   lineedit.c       the interface: start and stop, print, read
 *   lineedit_draw.c  output: the buffer, and drawing the input row
 *   lineedit_edit.c  editing: what each key does to the line
 *
 * Every function below is called with the editor's lock held.
 */
#ifndef HUBCHAT_LINEEDIT_INTERNAL_H
#define HUBCHAT_LINEEDIT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "lineedit.h"

struct key;
struct keys;
struct linehist;

#define LINED_CLEAR_ROW "\r\033[K"

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

/* The line, after the prompt. */
static inline char *
lined_line(struct lined *ed)
{
	return ed->text + ed->plen;
}

/* lineedit_draw.c: output and drawing. */
void lined_flush(struct lined *ed);
void lined_put(struct lined *ed, const char *p, size_t n);
void lined_puts(struct lined *ed, const char *s);
void lined_draw(struct lined *ed);

/* lineedit_edit.c: editing. */
enum lined_event lined_act(struct lined *ed, const struct key *key);

#endif
