/*
 * queue.h - a bounded queue of msgs: the C twin of a buffered Go channel.
 *
 * One client has one queue. Any thread may push (the hub, delivering a
 * broadcast; the client's own reader, replying); exactly one thread pops
 * (the client's writer). queue_push never blocks: when the queue is over
 * its limit it says so, and the caller decides (the hub evicts the slow
 * client). Only a producer that may be held back (the peer's terminal
 * reader) uses queue_push_wait, which waits for room. Pop blocks until
 * there is something to send or the queue is closed, and takes everything
 * queued at once, so the writer can send a batch with one writev.
 *
 * The bound is in bytes, not lines, as in Redis's client-output-buffer-limit
 * and ngIRCd's write buffer: what a client that stops reading can make the
 * server hold is what matters, and a line bound lets a burst of tiny lines
 * from someone else fill a healthy reader's queue in a moment. Each msg
 * counts its length plus QUEUE_LINE_COST for the slot and the msg's header,
 * even when the msg is shared with other queues, because the bound is on
 * what this one reader pins. There are two limits:
 *   hard   a push that would pass it is refused at once;
 *   soft   a push that finds the queue above it for longer than soft_ms is
 *          refused too. So a reader that is briefly behind (a burst, a
 *          moment without CPU) survives, and one that has stopped reading
 *          is still cut off within soft_ms.
 *
 * Closing is like close(ch) in Go: pushes fail from then on (a waiting
 * queue_push_wait too), the writer drains what is left and then pop
 * returns 0 (a `range` loop ending). queue_abort is the slow-consumer
 * variant: it throws the backlog away and leaves one final line in its
 * place.
 *
 * Ownership: queue_new's caller owns the queue and frees it, after the writer
 * has stopped. A pending wake-up (struct queue_wakes) holds a reference too,
 * so the last of the two frees it. A pushed msg gains a reference held by
 * the queue; popped msgs pass that reference to the caller; freeing the
 * queue drops what is left.
 *
 * Locking: each queue has its own mutex, taken briefly by every call and
 * never held across a blocking call. In the lock order it comes after the
 * hub's lock (see hub.h): the hub pushes while holding its own lock.
 */
#ifndef HUBCHAT_QUEUE_H
#define HUBCHAT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct msg;
struct queue;

/* Bytes counted for each queued msg beside its own: the ring slot, the
 * msg's header and its allocation. A flood of tiny lines is bounded too. */
#define QUEUE_LINE_COST 32

enum queue_status {
	QUEUE_OK,       /* queued */
	QUEUE_FULL,     /* over a limit: the consumer is too slow */
	QUEUE_CLOSED,   /* closed or aborted: nothing more is accepted */
};

struct queue_limits {
	size_t hard;    /* bytes (with QUEUE_LINE_COST each): never more */
	size_t soft;    /* bytes; 0 = no soft limit */
	int soft_ms;    /* how long the queue may stay above soft */
};

/* What a queue holds, or held when it first refused a push. */
struct queue_usage {
	size_t lines;
	size_t bytes;           /* counted as the limits count them */
	int limit;              /* refusals only: 'h' hard, 's' soft, else 0 */
};

/* Returns an empty open queue with those limits (hard > 0), or NULL when
 * memory runs out. Its ring starts at 16 slots and grows while msgs wait;
 * a push that finds no memory to grow gets QUEUE_FULL. */
struct queue *queue_new(const struct queue_limits *lim);

/* The owner lets go of q: no thread of the owner's may use it any more.
 * q, and the msgs still in it, are freed at once, or by queue_wake_all
 * when a wake-up for q is still pending there. */
void queue_free(struct queue *q);

/* Appends m without blocking; on QUEUE_OK the queue holds a new reference.
 * Wakes the consumer when the queue goes from empty to non-empty. */
enum queue_status queue_push(struct queue *q, struct msg *m);

/* Wake-ups put off until the caller has released a lock of its own: a
 * list of queues whose consumers must be woken, each holding a reference
 * to its queue so that it outlives its owner's queue_free if need be.
 * Zero-initialise; only the thread that filled it may use it. */
struct queue_wakes {
	struct queue *first;
};

/* Appends the n msgs of m, all or none: QUEUE_FULL when they do not all
 * fit. Wakes the consumer at most once: now, or, with later not NULL, by
 * adding q to later for queue_wake_all. For a burst of lines from one
 * client, which then costs one lock and one wake-up. */
enum queue_status queue_push_many(struct queue *q, struct msg **m, size_t n,
    struct queue_wakes *later);

/* What n msgs count against a queue's limits: their lengths plus
 * QUEUE_LINE_COST each. */
size_t queue_cost(struct msg *const *m, size_t n);

/* queue_push_many with cost = queue_cost(m, n) worked out by the caller:
 * the hub pushes one batch into many queues and counts it once. */
enum queue_status queue_push_batch(struct queue *q, struct msg **m, size_t n,
    size_t cost, struct queue_wakes *later);

/* queue_push_batch for a caller that took the queue's references itself
 * (msg_ref_n, once for many queues): on QUEUE_OK they pass to the queue;
 * otherwise they stay the caller's. */
enum queue_status queue_push_owned(struct queue *q, struct msg **m, size_t n,
    size_t cost, struct queue_wakes *later);

/* Delivers the wake-ups collected in w and empties it. Takes each queue's
 * lock in turn; call it holding no lock of the caller's. */
void queue_wake_all(struct queue_wakes *w);

/* Like queue_push, but waits for room under the hard limit instead of
 * reporting QUEUE_FULL (the soft limit does not apply): Go's blocking
 * `ch <- m`. For a producer that may be held back (the peer's terminal
 * reader); the server never calls it. QUEUE_OK or QUEUE_CLOSED. */
enum queue_status queue_push_wait(struct queue *q, struct msg *m);

/* Blocks until q holds at least one msg or is closed (yielding the CPU to
 * other threads a couple of times before it sleeps: queue.c says why);
 * then moves up to max msgs, oldest first, into out and returns how many. Returns 0 only once q
 * is closed and empty. The caller owns one reference to each msg. */
size_t queue_pop(struct queue *q, struct msg **out, size_t max);

/* Like queue_pop, but waits at most ms: returns 0 then too. *ended is set
 * when q is closed and empty (no msg will ever come). For a consumer with
 * work of its own to do now and then (the archive's fsync each second). */
size_t queue_pop_timed(struct queue *q, struct msg **out, size_t max, int ms,
    bool *ended);

/* Closes q; later pushes get QUEUE_CLOSED, the consumer drains what is left.
 * Idempotent. */
void queue_close(struct queue *q);

/* Drops every waiting msg, queues final (when not NULL, taking a reference)
 * as the last thing the consumer will get, and closes q. Idempotent: only the
 * first close or abort decides what the stream ends with. */
void queue_abort(struct queue *q, struct msg *final);

/* What q holds now: a snapshot, for logs, statistics and tests. */
void queue_usage(struct queue *q, struct queue_usage *u);

/* What q held when it first refused a push, and which limit refused it;
 * false when it never has. For the log line of an eviction. */
bool queue_refusal(struct queue *q, struct queue_usage *u);

/* How many msgs are waiting now: a snapshot, for tests and logs. */
size_t queue_len(struct queue *q);

#endif
