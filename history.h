/*
 * history.h - the lines submitted this session, for Up and Down: a ring of
 * at most a fixed number of copies, the oldest dropped first.
 *
 * Not thread-safe: its owner (the line editor) locks around it.
 */
#ifndef HUBCHAT_HISTORY_H
#define HUBCHAT_HISTORY_H

#include <stddef.h>

struct history;

/* Returns an empty history of at most limit (> 0) lines, or NULL when
 * memory runs out. The caller frees it with history_free. */
struct history *history_new(size_t limit);
void history_free(struct history *h);

/* Keeps a copy of s[0..n) as the newest line, dropping the oldest when
 * full. An empty line, or a repeat of the newest, is not kept; without
 * memory the line is not kept either, as history is only a
 * convenience. */
void history_add(struct history *h, const char *s, size_t n);

/* How many lines are kept. */
size_t history_count(const struct history *h);

/* Line k, 0 the oldest: NUL-terminated, owned by the history and valid
 * until the next history_add. */
const char *history_get(const struct history *h, size_t k);

#endif
