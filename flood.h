/*
 * flood.h - flood control: a token bucket per client, on its reader.
 *
 * A client may send `burst` lines at once and `rate` lines a second after
 * that. It is never cut off and loses nothing for going faster: its reader
 * simply waits before handling the next line until the bucket has a token
 * again. While it waits it reads nothing, so the client's unread bytes
 * pile up in the kernel, TCP's window closes, and the flooder's own sends
 * block. Only the flooder waits: this is the natural back-pressure of a
 * thread per client (in a Go server, the goroutine reading that connection
 * would sleep the same way).
 *
 * A reply much bigger than a line (a USERS line listing a whole room) can
 * cost more than one token (flood_charge), so asking for it over and over
 * is slowed in proportion to what it costs to send.
 *
 * Pure arithmetic on times the caller passes in: no clock, no lock. A
 * bucket belongs to one reader thread.
 */
#ifndef HUBCHAT_FLOOD_H
#define HUBCHAT_FLOOD_H

#include <stddef.h>
#include <stdint.h>

struct flood {
	double tokens;          /* may go below 0 after a costly reply */
	double burst;           /* the bucket's size */
	double per_ms;          /* tokens added per millisecond; 0 = off */
	int64_t at_ms;          /* when tokens was last brought up to date */
};

/* A full bucket: burst lines now, then rate lines a second; rate 0 turns
 * flood control off. now_ms is any monotonic clock in milliseconds. */
void flood_init(struct flood *f, size_t burst, size_t rate, int64_t now_ms);

/* Milliseconds to wait before the next line may be handled: 0 when it may
 * be now. Does not take a token. */
int64_t flood_wait_ms(struct flood *f, int64_t now_ms);

/* Takes cost tokens (1 for a line; more for a costly reply). */
void flood_charge(struct flood *f, double cost);

#endif
