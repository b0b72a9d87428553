/*
 * msg.h - an immutable, reference-counted line of output.
 *
 * A broadcast reaches every logged-in client, so the hub formats it once and
 * hands the same msg to every recipient's queue; each queue holds one
 * reference. The writer that sends it drops its reference, and the last one
 * frees it. A msg's bytes never change after msg_printf returns, so readers
 * need no lock; only the count is shared, and it is atomic.
 */
#ifndef HUBCHAT_MSG_H
#define HUBCHAT_MSG_H

#include <stdbool.h>
#include <stddef.h>

struct msg;

/* Formats one line and appends '\n'. Returns a msg with one reference owned
 * by the caller, or NULL when memory runs out. */
struct msg *msg_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The n words joined by single spaces, then '\n': what msg_printf("%s %s
 * ...") makes, with no format to parse. The hot path's lines (a message
 * as MSG, HIST and archive lines) are made this way: formatting them was a
 * seventh of the server's CPU in workload C (bench/README.md). One
 * reference for the caller; NULL when memory runs out. */
struct msg *msg_words(const char *const *words, size_t n);

/* A msg of len bytes sent as they are, not as a protocol line: an HTTP
 * response, a WebSocket control frame. A line transport never sees one;
 * a framing transport sends it unframed (transport.h). One reference for
 * the caller; NULL when memory runs out. */
struct msg *msg_raw(const void *bytes, size_t len);

/* True for a msg made by msg_raw. */
bool msg_is_raw(const struct msg *m);

/* Takes one more reference; returns m. Safe from any thread. */
struct msg *msg_ref(struct msg *m);

/* Drops one reference; frees m with the last. NULL is ignored. */
void msg_unref(struct msg *m);

/* n references at once, taken or dropped with one atomic operation: a
 * broadcast to n queues pays for one, not n, on a line many threads
 * share. msg_unref_n frees m with the last; n may be 0. */
void msg_ref_n(struct msg *m, unsigned n);
void msg_unref_n(struct msg *m, unsigned n);

/* The line's bytes, '\n' included (a raw msg: its bytes), and their
 * count. Valid while a reference is held. */
const char *msg_data(const struct msg *m);
size_t msg_len(const struct msg *m);

#endif
