/*
 * queue.c - bounded msg queue; see queue.h for the contract.
 *
 * A ring of msg pointers: 16 slots at first, doubled (up to cap) while msgs
 * wait, and never shrunk (queue_room). The consumer only ever waits when the
 * ring is empty,
 * so a push needs to signal only when it makes the ring non-empty: every
 * other push finds the writer busy sending and its next pop will see the
 * new msg without sleeping. Pushes signal after unlocking, so the woken
 * writer finds the lock free instead of waking only to block on it (with
 * 10,000 clients, that second wake-up was a fifth of the server's time).
 * No wake-up is lost: the writer tests count under the lock before it
 * waits.
 *
 * A caller that pushes while holding a lock of its own (the hub) can put
 * the wake-ups off until it has let go of that lock (struct queue_wakes):
 * a wake-up is a system call, often a trip to the other CPU, and the hub
 * pushing to 100 queues held its lock for 100 of them. The msgs are in the
 * queue at once; only the writer's nudge comes later, so order is as
 * before. A queue is on at most one list (wake_pending), and that list
 * holds a reference, so the owner may free the queue in the meantime.
 */
#include "queue.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "msg.h"
#include "sync.h"

#define QUEUE_FIRST_SLOTS 16    /* a new queue's ring; see queue_room */

struct queue {
	pthread_mutex_t lock;     /* protects ring, size, head, count, closed
	                             and wake_pending */
	pthread_cond_t nonempty;  /* signalled when count becomes > 0, or
	                             closed becomes true */
	pthread_cond_t notfull;   /* broadcast when a pop takes msgs from a
	                             full ring (count == size), or closed
	                             becomes true */
	struct msg **ring;        /* size slots; count of them used from head */
	size_t size;              /* slots allocated: grows by doubling to cap */
	size_t cap;               /* the bound; const */
	size_t head;              /* index of the oldest msg, < size */
	size_t count;             /* <= size <= cap */
	bool closed;              /* once true, stays true */
	bool wake_pending;        /* on a queue_wakes list, next_wake its link */
	struct queue *next_wake;  /* not locked: written while linking q into
	                             a list, read only by the thread that owns
	                             the list (queue_wakes) */
	atomic_int refs;          /* atomic, not locked: the owner's, plus one
	                             while wake_pending */
};

struct queue *
queue_new(size_t cap)
{
	struct queue *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->size = cap < QUEUE_FIRST_SLOTS ? cap : QUEUE_FIRST_SLOTS;
	q->ring = malloc(q->size * sizeof(*q->ring));
	if (q->ring == NULL) {
		free(q);
		return NULL;
	}
	q->cap = cap;
	atomic_init(&q->refs, 1);
	sync_mutex_init(&q->lock);
	sync_check(pthread_cond_init(&q->nonempty, NULL), "pthread_cond_init");
	sync_check(pthread_cond_init(&q->notfull, NULL), "pthread_cond_init");
	return q;
}

/* Drops every waiting msg. Call with q->lock held, or with q private. */
static void
queue_drop_all(struct queue *q)
{
	for (; q->count > 0; q->count--) {
		msg_unref(q->ring[q->head]);
		q->head = (q->head + 1) % q->size;
	}
}

/* Drops one reference; the last frees q. */
static void
queue_unref(struct queue *q)
{
	if (atomic_fetch_sub(&q->refs, 1) != 1)
		return;
	queue_drop_all(q);
	pthread_cond_destroy(&q->nonempty);
	pthread_cond_destroy(&q->notfull);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q);
}

void
queue_free(struct queue *q)
{
	if (q != NULL)
		queue_unref(q);
}

/* Makes the ring hold at least n more msgs, growing it (up to cap) when
 * needed; false when that would pass cap or memory ran out. An idle client
 * holds a 16-slot ring, not cap slots: 128 bytes instead of 8 KiB. The ring
 * is not shrunk again; after a burst it stays as large as the burst was.
 * Call with q->lock held. */
static bool
queue_room(struct queue *q, size_t n)
{
	if (q->cap - q->count < n)
		return false;
	if (q->size - q->count >= n)
		return true;
	size_t size = q->size;
	while (size - q->count < n)
		size = size * 2 < q->cap ? size * 2 : q->cap;
	struct msg **ring = malloc(size * sizeof(*ring));
	if (ring == NULL)
		return false;           /* out of memory: as good as full */
	for (size_t i = 0; i < q->count; i++)
		ring[i] = q->ring[(q->head + i) % q->size];
	free(q->ring);
	q->ring = ring;
	q->size = size;
	q->head = 0;
	return true;
}

/* Appends m. Call with q->lock held and room made by queue_room. The
 * caller signals nonempty if count was 0. */
static void
queue_append(struct queue *q, struct msg *m)
{
	q->ring[(q->head + q->count) % q->size] = msg_ref(m);
	q->count++;
}

enum queue_status
queue_push(struct queue *q, struct msg *m)
{
	return queue_push_many(q, &m, 1, NULL);
}

/* Puts q on later's list, unless it is on one already: that wake-up,
 * delivered after this push, will do. Call with q->lock held. */
static void
queue_defer_wake(struct queue *q, struct queue_wakes *later)
{
	if (q->wake_pending)
		return;
	q->wake_pending = true;
	atomic_fetch_add(&q->refs, 1);
	q->next_wake = later->first;
	later->first = q;
}

enum queue_status
queue_push_many(struct queue *q, struct msg **m, size_t n,
    struct queue_wakes *later)
{
	enum queue_status st = QUEUE_OK;
	bool wake = false;

	sync_lock(&q->lock);
	if (q->closed) {
		st = QUEUE_CLOSED;
	} else if (!queue_room(q, n)) {
		st = QUEUE_FULL;
	} else {
		wake = q->count == 0 && n > 0;
		for (size_t i = 0; i < n; i++)
			queue_append(q, m[i]);
		if (wake && later != NULL) {
			queue_defer_wake(q, later);
			wake = false;
		}
	}
	sync_unlock(&q->lock);
	if (wake)
		sync_signal(&q->nonempty);
	return st;
}

void
queue_wake_all(struct queue_wakes *w)
{
	struct queue *q = w->first;

	while (q != NULL) {
		struct queue *next = q->next_wake;
		sync_lock(&q->lock);
		q->wake_pending = false;
		sync_unlock(&q->lock);
		sync_signal(&q->nonempty);
		queue_unref(q);         /* may be the last reference */
		q = next;
	}
	w->first = NULL;
}

enum queue_status
queue_push_wait(struct queue *q, struct msg *m)
{
	enum queue_status st = QUEUE_OK;
	bool wake = false;

	sync_lock(&q->lock);
	while (!q->closed && !queue_room(q, 1))
		sync_wait(&q->notfull, &q->lock);
	if (q->closed) {
		st = QUEUE_CLOSED;
	} else {
		wake = q->count == 0;
		queue_append(q, m);
	}
	sync_unlock(&q->lock);
	if (wake)
		sync_signal(&q->nonempty);
	return st;
}

size_t
queue_pop(struct queue *q, struct msg **out, size_t max)
{
	size_t n = 0;

	sync_lock(&q->lock);
	while (q->count == 0 && !q->closed)
		sync_wait(&q->nonempty, &q->lock);
	/* A queue_push_wait waits while the ring is full: at cap, or short
	 * of memory to grow. */
	bool was_full = q->count == q->size;
	for (; n < max && q->count > 0; n++, q->count--) {
		out[n] = q->ring[q->head];
		q->head = (q->head + 1) % q->size;
	}
	if (was_full && n > 0)
		sync_check(pthread_cond_broadcast(&q->notfull),
		    "pthread_cond_broadcast");
	sync_unlock(&q->lock);
	return n;
}

/* Closes q once; with discard, replaces the backlog by final first. */
static void
queue_end(struct queue *q, bool discard, struct msg *final)
{
	sync_lock(&q->lock);
	if (!q->closed) {
		if (discard) {
			queue_drop_all(q);
			if (final != NULL)
				queue_append(q, final);
		}
		q->closed = true;
		sync_signal(&q->nonempty);      /* rare: under the lock */
		sync_check(pthread_cond_broadcast(&q->notfull),
		    "pthread_cond_broadcast");
	}
	sync_unlock(&q->lock);
}

void
queue_close(struct queue *q)
{
	queue_end(q, false, NULL);
}

void
queue_abort(struct queue *q, struct msg *final)
{
	queue_end(q, true, final);
}

size_t
queue_len(struct queue *q)
{
	sync_lock(&q->lock);
	size_t n = q->count;
	sync_unlock(&q->lock);
	return n;
}
