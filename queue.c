/*
 * queue.c - bounded msg queue; see queue.h for the contract.
 *
 * A ring of msg pointers: 16 slots at first, doubled while msgs wait, and
 * shrunk back to 16 when a pop empties a ring that had grown to 4,096
 * (queue_room, queue_shrink), so a burst does not cost an idle client
 * memory for ever. The limits are on bytes: each push adds its msgs' cost
 * (length plus QUEUE_LINE_COST), each pop takes it off.
 *
 * The consumer only ever waits when the ring is empty, so a push needs to
 * signal only when it makes the ring non-empty: every other push finds the
 * writer busy sending and its next pop will see the new msg without
 * sleeping. Pushes signal after unlocking, so the woken writer finds the
 * lock free instead of waking only to block on it (with 10,000 clients,
 * that second wake-up was a fifth of the server's time). No wake-up is
 * lost: the writer tests count under the lock before it waits.
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

#include <assert.h>
#include <sched.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "msg.h"
#include "sync.h"

static size_t queue_take(struct queue *q, struct msg **out, size_t max);

#define QUEUE_FIRST_SLOTS 16    /* a new queue's ring; see queue_room */
#define QUEUE_YIELDS 2          /* a popper's yields before it sleeps */
#define QUEUE_SHRINK_FROM 4096  /* an emptied ring this big goes back to 16:
                                   smaller ones stay, or a client busy with
                                   bursts would free and grow its ring over
                                   and over */

/* excerpt: queue */
struct queue {
	pthread_mutex_t lock;     /* protects ring, size, head, count, bytes,
	                             soft_since, refusal, refused, waiters,
	                             closed and wake_pending */
	pthread_cond_t nonempty;  /* signalled when count becomes > 0, or
	                             closed becomes true */
	pthread_cond_t notfull;   /* broadcast when a pop takes msgs while
	                             waiters > 0, or closed becomes true */
	struct msg **ring;        /* size slots; count of them used from head */
	size_t size;              /* slots allocated, a power of two >= 16 */
	size_t head;              /* index of the oldest msg, < size */
	size_t count;             /* <= size */
	size_t bytes;             /* cost of the count msgs: <= lim.hard */
	int64_t soft_since;       /* ms on CLOCK_MONOTONIC_COARSE since bytes
	                             went above lim.soft; 0 while not above */
	struct queue_limits lim;  /* const */
	struct queue_usage refusal; /* what it held at its first refusal */
	bool refused;
	int waiters;              /* queue_push_wait calls waiting for room */
	bool closed;              /* once true, stays true */
	bool wake_pending;        /* on a queue_wakes list, next_wake its link */
	struct queue *next_wake;  /* not locked: written while linking q into
	                             a list, read only by the thread that owns
	                             the list (queue_wakes) */
	atomic_int refs;          /* atomic, not locked: the owner's, plus one
	                             while wake_pending */
};
/* end excerpt */

size_t
queue_cost(struct msg *const *m, size_t n)
{
	size_t cost = n * QUEUE_LINE_COST;

	for (size_t i = 0; i < n; i++)
		cost += msg_len(m[i]);
	return cost;
}

struct queue *
queue_new(const struct queue_limits *lim)
{
	struct queue *q = calloc(1, sizeof(*q));

	assert(lim->hard > 0);
	if (q == NULL)
		return NULL;
	q->size = QUEUE_FIRST_SLOTS;
	q->ring = malloc(q->size * sizeof(*q->ring));
	if (q->ring == NULL) {
		free(q);
		return NULL;
	}
	q->lim = *lim;
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
	q->bytes = 0;
	q->soft_since = 0;
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

static int64_t
queue_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
}

/* excerpt: queue-within */
/* Whether msgs costing cost more bytes may be added now: under the hard
 * limit, and not above the soft limit for longer than soft_ms. Starts the
 * soft clock when this push is the one that goes above. Sets *limit to
 * the limit that refuses. Call with q->lock held. */
static bool
queue_within(struct queue *q, size_t cost, int *limit)
{
	size_t after = q->bytes + cost;

	if (after > q->lim.hard) {
		*limit = 'h';
		return false;
	}
	if (q->lim.soft == 0 || after <= q->lim.soft)
		return true;
	int64_t now = queue_now_ms();
	if (q->soft_since == 0)
		q->soft_since = now;
	else if (now - q->soft_since > q->lim.soft_ms) {
		*limit = 's';
		return false;
	}
	return true;
}
/* end excerpt */

/* Makes the ring hold at least n more msgs, doubling it as needed; false
 * when memory ran out. An idle client holds a 16-slot ring: 128 bytes.
 * Call with q->lock held. */
static bool
queue_room(struct queue *q, size_t n)
{
	if (q->size - q->count >= n)
		return true;
	size_t size = q->size;
	while (size - q->count < n)
		size *= 2;
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

/* A pop emptied the ring: one that grew for a burst goes back to its first
 * size (keeping the big one if the small allocation fails). Call with
 * q->lock held. */
static void
queue_shrink(struct queue *q)
{
	assert(q->count == 0);
	if (q->size < QUEUE_SHRINK_FROM)
		return;
	struct msg **ring = malloc(QUEUE_FIRST_SLOTS * sizeof(*ring));
	if (ring == NULL)
		return;
	free(q->ring);
	q->ring = ring;
	q->size = QUEUE_FIRST_SLOTS;
	q->head = 0;
}

/* Appends m, whose reference the queue now holds. Call with q->lock held
 * and room made by queue_room; the caller adds m's cost to bytes, and
 * signals nonempty if count was 0. */
static void
queue_append(struct queue *q, struct msg *m)
{
	assert(q->count < q->size);
	q->ring[(q->head + q->count) % q->size] = m;
	q->count++;
}

/* Records the first refusal. Call with q->lock held. */
static void
queue_refuse(struct queue *q, int limit)
{
	if (q->refused)
		return;
	q->refused = true;
	q->refusal = (struct queue_usage){ .lines = q->count,
	    .bytes = q->bytes, .limit = limit };
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
	return queue_push_batch(q, m, n, queue_cost(m, n), later);
}

/* queue_push_batch and queue_push_owned: with ref, the queue takes its own
 * reference to each msg; without, it takes the caller's. */
static enum queue_status
queue_push_refs(struct queue *q, struct msg **m, size_t n, size_t cost,
    struct queue_wakes *later, bool ref)
{
	enum queue_status st = QUEUE_OK;
	bool wake = false;
	int limit = 0;

	sync_lock(&q->lock);
	if (q->closed) {
		st = QUEUE_CLOSED;
	} else if (!queue_within(q, cost, &limit) || !queue_room(q, n)) {
		queue_refuse(q, limit);
		st = QUEUE_FULL;
	} else {
		wake = q->count == 0 && n > 0;
		for (size_t i = 0; i < n; i++)
			queue_append(q, ref ? msg_ref(m[i]) : m[i]);
		q->bytes += cost;
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

enum queue_status
queue_push_batch(struct queue *q, struct msg **m, size_t n, size_t cost,
    struct queue_wakes *later)
{
	return queue_push_refs(q, m, n, cost, later, true);
}

enum queue_status
queue_push_owned(struct queue *q, struct msg **m, size_t n, size_t cost,
    struct queue_wakes *later)
{
	return queue_push_refs(q, m, n, cost, later, false);
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
	/* An empty queue takes any msg, so one over the limit cannot wait
	 * for ever. */
	size_t cost = queue_cost(&m, 1);
	while (!q->closed && ((q->count > 0 &&
	    q->bytes + cost > q->lim.hard) || !queue_room(q, 1))) {
		q->waiters++;
		sync_wait(&q->notfull, &q->lock);
		q->waiters--;
	}
	if (q->closed) {
		st = QUEUE_CLOSED;
	} else {
		wake = q->count == 0;
		queue_append(q, msg_ref(m));
		q->bytes += cost;
	}
	sync_unlock(&q->lock);
	if (wake)
		sync_signal(&q->nonempty);
	return st;
}

/* excerpt: queue-pop */
size_t
queue_pop(struct queue *q, struct msg **out, size_t max)
{
	sync_lock(&q->lock);
	/* Found empty, the writer first lets the other runnable threads go
	 * ahead (twice) before it sleeps: under load the next batch has often
	 * been pushed by then, and a sleep and a wake-up, two context
	 * switches, are saved. Measured (bench/README.md, "What each change
	 * bought"): CPU per delivery a third lower in A and C, a quarter in
	 * D, and D's median latency about 40 % lower. Idle, it costs two
	 * sched_yield calls before each sleep. */
	for (int yield = 0; yield < QUEUE_YIELDS && q->count == 0 &&
	    !q->closed; yield++) {
		sync_unlock(&q->lock);
		sched_yield();
		sync_lock(&q->lock);
	}
	while (q->count == 0 && !q->closed)
		sync_wait(&q->nonempty, &q->lock);
	size_t n = queue_take(q, out, max);
	sync_unlock(&q->lock);
	return n;
}

/* Moves up to max msgs into out. Call with q->lock held. */
static size_t
queue_take(struct queue *q, struct msg **out, size_t max)
{
	size_t n = 0;

	for (; n < max && q->count > 0; n++, q->count--) {
		out[n] = q->ring[q->head];
		q->bytes -= queue_cost(&out[n], 1);
		q->head = (q->head + 1) % q->size;
	}
	if (q->lim.soft == 0 || q->bytes <= q->lim.soft)
		q->soft_since = 0;
	if (q->count == 0)
		queue_shrink(q);
	if (q->waiters > 0 && n > 0)
		sync_check(pthread_cond_broadcast(&q->notfull),
		    "pthread_cond_broadcast");
	return n;
}
/* end excerpt */

size_t
queue_pop_timed(struct queue *q, struct msg **out, size_t max, int ms,
    bool *ended)
{
	struct timespec until = sync_deadline(ms);
	int rc = 0;

	sync_lock(&q->lock);
	while (q->count == 0 && !q->closed && rc != ETIMEDOUT) {
		rc = pthread_cond_timedwait(&q->nonempty, &q->lock, &until);
		if (rc != ETIMEDOUT)
			sync_check(rc, "pthread_cond_timedwait");
	}
	size_t n = queue_take(q, out, max);
	*ended = q->closed && q->count == 0;
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
			if (final != NULL) {
				queue_append(q, msg_ref(final));
				q->bytes = queue_cost(&final, 1);
			}
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

void
queue_usage(struct queue *q, struct queue_usage *u)
{
	sync_lock(&q->lock);
	*u = (struct queue_usage){ .lines = q->count, .bytes = q->bytes };
	sync_unlock(&q->lock);
}

bool
queue_refusal(struct queue *q, struct queue_usage *u)
{
	sync_lock(&q->lock);
	bool refused = q->refused;
	*u = q->refusal;
	sync_unlock(&q->lock);
	return refused;
}

size_t
queue_len(struct queue *q)
{
	sync_lock(&q->lock);
	size_t n = q->count;
	sync_unlock(&q->lock);
	return n;
}
