/*
 * msg.c - reference-counted lines of output. See msg.h for the contract.
 */
#include "msg.h"

#include <assert.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct msg {
	atomic_uint refs;   /* > 0 while anyone may still read data */
	bool raw;           /* msg_raw's: bytes, not a line; const */
	size_t len;         /* bytes in data, '\n' included */
	char data[];        /* the line; also NUL-terminated for logging */
};

struct msg *
msg_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;

	struct msg *m = malloc(sizeof(*m) + (size_t)n + 2);
	if (m == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(m->data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	m->data[n] = '\n';
	m->data[n + 1] = '\0';
	m->len = (size_t)n + 1;
	m->raw = false;
	atomic_init(&m->refs, 1);
	return m;
}

struct msg *
msg_words(const char *const *words, size_t n)
{
	size_t lens[8], total = n;      /* a space or '\n' after each */

	assert(n >= 1 && n <= sizeof(lens) / sizeof(lens[0]));
	for (size_t i = 0; i < n; i++)
		total += lens[i] = strlen(words[i]);
	struct msg *m = malloc(sizeof(*m) + total + 1);
	if (m == NULL)
		return NULL;
	char *p = m->data;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, words[i], lens[i]);
		p += lens[i];
		*p++ = i + 1 < n ? ' ' : '\n';
	}
	*p = '\0';
	m->len = total;
	m->raw = false;
	atomic_init(&m->refs, 1);
	return m;
}

struct msg *
msg_raw(const void *bytes, size_t len)
{
	struct msg *m = malloc(sizeof(*m) + len + 1);

	if (m == NULL)
		return NULL;
	memcpy(m->data, bytes, len);
	m->data[len] = '\0';
	m->len = len;
	m->raw = true;
	atomic_init(&m->refs, 1);
	return m;
}

bool
msg_is_raw(const struct msg *m)
{
	return m->raw;
}

struct msg *
msg_ref(struct msg *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void
msg_ref_n(struct msg *m, unsigned n)
{
	atomic_fetch_add_explicit(&m->refs, n, memory_order_relaxed);
}

void
msg_unref_n(struct msg *m, unsigned n)
{
	if (n > 0 && atomic_fetch_sub_explicit(&m->refs, n,
	    memory_order_acq_rel) == n)
		free(m);
}

void
msg_unref(struct msg *m)
{
	if (m == NULL)
		return;
	/* acq_rel: the freeing thread must see every other holder's reads done. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		free(m);
}

const char *
msg_data(const struct msg *m)
{
	return m->data;
}

size_t
msg_len(const struct msg *m)
{
	return m->len;
}
