/*
 * linehist.c - submitted lines; see linehist.h.
 */
#include "linehist.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct linehist {
	size_t limit;
	size_t oldest;          /* index of line 0 in lines */
	size_t count;           /* <= limit */
	char *lines[];          /* a ring of limit slots */
};

struct linehist *
linehist_new(size_t limit)
{
	struct linehist *h;

	assert(limit > 0);
	h = calloc(1, sizeof(*h) + limit * sizeof(h->lines[0]));
	if (h != NULL)
		h->limit = limit;
	return h;
}

void
linehist_free(struct linehist *h)
{
	if (h == NULL)
		return;
	for (size_t k = 0; k < h->count; k++)
		free(h->lines[(h->oldest + k) % h->limit]);
	free(h);
}

void
linehist_add(struct linehist *h, const char *s, size_t n)
{
	char *copy;
	const char *newest = h->count > 0 ? linehist_get(h, h->count - 1) : "";

	if (n == 0 || (strlen(newest) == n && memcmp(newest, s, n) == 0))
		return;
	if ((copy = strndup(s, n)) == NULL)
		return;
	if (h->count == h->limit) {
		free(h->lines[h->oldest]);
		h->oldest = (h->oldest + 1) % h->limit;
		h->count--;
	}
	h->lines[(h->oldest + h->count++) % h->limit] = copy;
}

size_t
linehist_count(const struct linehist *h)
{
	return h->count;
}

const char *
linehist_get(const struct linehist *h, size_t k)
{
	assert(k < h->count);
	return h->lines[(h->oldest + k) % h->limit];
}
