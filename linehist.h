/*
 * linehist.h - the lines submitted this session, for Up and Down: a ring of
 * at most a fixed number of copies, the oldest dropped first.
 *
 * Not thread-safe: its owner (the line editor) locks around it.
 */
#ifndef HUBCHAT_LINEHIST_H
#define HUBCHAT_LINEHIST_H

#include <stddef.h>

struct linehist;

/* Returns an empty history of at most limit (> 0) lines, or NULL when
 * memory runs out. The caller frees it with linehist_free. */
struct linehist *linehist_new(size_t limit);
void linehist_free(struct linehist *h);

/* Keeps a copy of s[0..n) as the newest line, dropping the oldest when
 * full. An empty line, or a repeat of the newest, is not kept; without
 * memory the line is not kept either, as history is only a
 * convenience. */
void linehist_add(struct linehist *h, const char *s, size_t n);

/* How many lines are kept. */
size_t linehist_count(const struct linehist *h);

/* Line k, 0 the oldest: NUL-terminated, owned by the history and valid
 * until the next linehist_add. */
const char *linehist_get(const struct linehist *h, size_t k);

#endif
