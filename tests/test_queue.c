/*
 * test_queue.c - the bounded queue: order, full, blocking pop woken by push
 * and by close, drain after close, abort, and many producers at once.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"
#include "queue.h"

/* In-process: each test checks for leaks at its end (harness.h). */
TestSuite(queue, .fini = harness_leak_check);

/* A queue whose hard limit holds exactly n lines of len bytes each (LF
 * included), and no soft limit. */
static struct queue *
queue_for(size_t n, size_t len)
{
	struct queue_limits lim = { .hard = n * (len + QUEUE_LINE_COST) };
	struct queue *q = queue_new(&lim);

	cr_assert_not_null(q);
	return q;
}

static enum queue_status
push_text(struct queue *q, const char *text)
{
	struct msg *m = msg_printf("%s", text);
	enum queue_status st = queue_push(q, m);
	msg_unref(m);
	return st;
}

/* Pops exactly one msg and checks its text. */
static void
pop_expect(struct queue *q, const char *want)
{
	struct msg *m;
	char line[2048];

	cr_assert_eq(queue_pop(q, &m, 1), 1);
	snprintf(line, sizeof(line), "%s\n", want);
	cr_assert_str_eq(msg_data(m), line);
	msg_unref(m);
}

/* References taken in bulk for a broadcast: a queue that takes the line
 * keeps one of them, one that refuses it leaves it with the caller; with
 * the leftovers dropped, the line is freed exactly once (the suite's leak
 * check, and ASan, would see one kept or freed twice). */
Test(queue, owned_pushes_keep_or_leave_their_reference)
{
	struct queue *roomy = queue_for(4, 3), *full = queue_for(1, 3);
	struct msg *m = msg_printf("hi"), *got;

	cr_assert_eq(push_text(full, "xx"), QUEUE_OK);  /* full now */
	msg_ref_n(m, 2);                                /* one per queue */
	cr_assert_eq(queue_push_owned(roomy, &m, 1, queue_cost(&m, 1), NULL),
	    QUEUE_OK);
	cr_assert_eq(queue_push_owned(full, &m, 1, queue_cost(&m, 1), NULL),
	    QUEUE_FULL);
	msg_unref_n(m, 1);              /* the one full refused */
	msg_unref(m);                   /* the caller's own */
	cr_assert_eq(queue_pop(roomy, &got, 1), 1);
	cr_assert_str_eq(msg_data(got), "hi\n");       /* still alive */
	msg_unref(got);                 /* the last: freed */
	pop_expect(full, "xx");
	queue_free(roomy);
	queue_free(full);
}

Test(queue, keeps_order_and_batches)
{
	struct queue *q = queue_for(8, 3);
	struct msg *batch[8];

	for (int i = 0; i < 5; i++) {
		char t[16];
		snprintf(t, sizeof(t), "m%d", i);
		cr_assert_eq(push_text(q, t), QUEUE_OK);
	}
	cr_assert_eq(queue_len(q), 5);
	cr_assert_eq(queue_pop(q, batch, 2), 2);
	cr_assert_str_eq(msg_data(batch[0]), "m0\n");
	cr_assert_str_eq(msg_data(batch[1]), "m1\n");
	msg_unref(batch[0]);
	msg_unref(batch[1]);
	cr_assert_eq(queue_pop(q, batch, 8), 3);    /* all that is left */
	cr_assert_str_eq(msg_data(batch[2]), "m4\n");
	for (int i = 0; i < 3; i++)
		msg_unref(batch[i]);
	queue_free(q);
}

Test(queue, full_is_reported_and_nothing_is_lost)
{
	struct queue *q = queue_for(3, 2);

	cr_assert_eq(push_text(q, "a"), QUEUE_OK);
	cr_assert_eq(push_text(q, "b"), QUEUE_OK);
	cr_assert_eq(push_text(q, "c"), QUEUE_OK);
	cr_assert_eq(push_text(q, "d"), QUEUE_FULL);
	pop_expect(q, "a");
	cr_assert_eq(push_text(q, "e"), QUEUE_OK);  /* wraps around the ring */
	pop_expect(q, "b");
	pop_expect(q, "c");
	pop_expect(q, "e");
	cr_assert_eq(queue_len(q), 0);
	queue_free(q);
}

/* A thread that pops one msg. The test reads got and text only after
 * joining it; tid is set before it pops, so the test can wait until it is
 * asleep in queue_pop. */
struct popper {
	struct queue *q;
	atomic_int tid;
	atomic_size_t got;
	char text[64];
};

static void *
pop_one(void *arg)
{
	struct popper *p = arg;
	struct msg *m;

	atomic_store(&p->tid, (int)gettid());
	size_t got = queue_pop(p->q, &m, 1);
	if (got == 1) {
		snprintf(p->text, sizeof(p->text), "%s", msg_data(m));
		msg_unref(m);
	}
	atomic_store(&p->got, got);
	return NULL;
}

/* Starts pop_one and returns once it is blocked in queue_pop (asleep). */
static void
start_popper(struct popper *p, pthread_t *t)
{
	cr_assert_eq(pthread_create(t, NULL, pop_one, p), 0);
	while (atomic_load(&p->tid) == 0)
		sched_yield();          /* it runs at once: a few yields */
	cr_assert(thread_wait_asleep(atomic_load(&p->tid), WAIT_MS),
	    "the popper never blocked");
}

Test(queue, blocking_pop_is_woken_by_push, .timeout = 10)
{
	struct popper p = { .q = queue_for(4, 64) };
	pthread_t t;

	start_popper(&p, &t);
	cr_assert_eq(push_text(p.q, "wake"), QUEUE_OK);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&p.got), 1);
	cr_assert_str_eq(p.text, "wake\n");
	queue_free(p.q);
}

Test(queue, blocking_pop_is_woken_by_close, .timeout = 10)
{
	struct popper p = { .q = queue_for(4, 64) };
	pthread_t t;

	start_popper(&p, &t);
	queue_close(p.q);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&p.got), 0);
	queue_free(p.q);
}

Test(queue, close_lets_the_consumer_drain, .timeout = 10)
{
	struct queue *q = queue_for(4, 64);
	struct msg *m;

	push_text(q, "one");
	push_text(q, "two");
	queue_close(q);
	queue_close(q);                             /* idempotent */
	cr_assert_eq(push_text(q, "late"), QUEUE_CLOSED);
	pop_expect(q, "one");
	pop_expect(q, "two");
	cr_assert_eq(queue_pop(q, &m, 1), 0);       /* closed and empty */
	cr_assert_eq(queue_pop(q, &m, 1), 0);
	queue_free(q);
}

Test(queue, abort_replaces_backlog_with_final_line, .timeout = 10)
{
	struct queue *q = queue_for(4, 64);
	struct msg *final = msg_printf("ERR slow-consumer");
	struct msg *m;

	push_text(q, "a");
	push_text(q, "b");
	queue_abort(q, final);
	queue_abort(q, NULL);                       /* the first one decides */
	msg_unref(final);
	pop_expect(q, "ERR slow-consumer");
	cr_assert_eq(queue_pop(q, &m, 1), 0);
	cr_assert_eq(push_text(q, "c"), QUEUE_CLOSED);
	queue_free(q);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

struct producer {
	struct queue *q;
	int id;
};

static void *
produce(void *arg)
{
	struct producer *p = arg;

	for (int i = 0; i < PER_PRODUCER; i++) {
		struct msg *m = msg_printf("%d %d", p->id, i);
		while (queue_push(p->q, m) == QUEUE_FULL)
			sched_yield();          /* a test producer may retry */
		msg_unref(m);
	}
	return NULL;
}

Test(queue, many_producers_one_consumer_lose_nothing, .timeout = 30)
{
	struct queue *q = queue_for(64, 16);
	struct producer prod[PRODUCERS];
	pthread_t t[PRODUCERS];
	int next[PRODUCERS] = { 0 };
	struct msg *batch[32];
	int total = 0;

	for (int i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct producer){ .q = q, .id = i };
		cr_assert_eq(pthread_create(&t[i], NULL, produce, &prod[i]), 0);
	}
	while (total < PRODUCERS * PER_PRODUCER) {
		size_t n = queue_pop(q, batch, 32);
		for (size_t i = 0; i < n; i++, total++) {
			int id, seq;
			cr_assert_eq(sscanf(msg_data(batch[i]), "%d %d", &id,
			    &seq), 2);
			cr_assert_eq(seq, next[id], "producer %d out of order", id);
			next[id]++;
			msg_unref(batch[i]);
		}
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(queue_len(q), 0);
	queue_free(q);
}

/* A thread that pushes one msg with queue_push_wait; st is read after
 * joining it, tid as for struct popper. */
struct waiter {
	struct queue *q;
	atomic_int tid;
	enum queue_status st;
};

static void *
push_waiting(void *arg)
{
	struct waiter *w = arg;
	struct msg *m = msg_printf("late");

	atomic_store(&w->tid, (int)gettid());
	w->st = queue_push_wait(w->q, m);
	msg_unref(m);
	return NULL;
}

/* Starts push_waiting and returns once it is blocked waiting for room. */
static void
start_waiter(struct waiter *w, pthread_t *t)
{
	cr_assert_eq(pthread_create(t, NULL, push_waiting, w), 0);
	while (atomic_load(&w->tid) == 0)
		sched_yield();
	cr_assert(thread_wait_asleep(atomic_load(&w->tid), WAIT_MS),
	    "the waiter never blocked");
}

Test(queue, push_wait_waits_for_room_and_is_woken_by_pop, .timeout = 10)
{
	struct waiter w = { .q = queue_for(1, 6) };   /* "first" */
	pthread_t t;

	push_text(w.q, "first");
	start_waiter(&w, &t);
	pop_expect(w.q, "first");           /* makes room: the waiter goes */
	pthread_join(t, NULL);
	cr_assert_eq(w.st, QUEUE_OK);
	pop_expect(w.q, "late");
	queue_free(w.q);
}

Test(queue, push_wait_is_woken_by_close, .timeout = 10)
{
	struct waiter w = { .q = queue_for(1, 6) };   /* "first" */
	pthread_t t;

	push_text(w.q, "first");
	start_waiter(&w, &t);
	queue_close(w.q);
	pthread_join(t, NULL);
	cr_assert_eq(w.st, QUEUE_CLOSED);
	queue_free(w.q);
}

Test(queue, push_many_is_all_or_nothing_and_keeps_order)
{
	struct queue_limits lim = { .hard = (6 + QUEUE_LINE_COST) +
	    3 * (3 + QUEUE_LINE_COST) };          /* "first", then 3 of "bN" */
	struct queue *q = queue_new(&lim);
	struct msg *m[5];

	for (int i = 0; i < 5; i++)
		m[i] = msg_printf("b%d", i);
	push_text(q, "first");
	cr_assert_eq(queue_push_many(q, m, 4, NULL), QUEUE_FULL);  /* 3 free */
	cr_assert_eq(queue_len(q), 1);                        /* none went in */
	cr_assert_eq(queue_push_many(q, m, 3, NULL), QUEUE_OK);
	pop_expect(q, "first");
	pop_expect(q, "b0");
	pop_expect(q, "b1");
	pop_expect(q, "b2");
	queue_close(q);
	cr_assert_eq(queue_push_many(q, m, 1, NULL), QUEUE_CLOSED);
	for (int i = 0; i < 5; i++)
		msg_unref(m[i]);
	queue_free(q);
}

/* The ring starts small and grows while msgs wait, also when the oldest
 * msg is not at the start of the ring: order and the bound hold. */
Test(queue, grows_past_its_first_ring_keeping_order_and_bound)
{
	struct queue *q = queue_for(100, 5);        /* "m%03d" */
	char text[16];
	int next_in = 0, next_out = 0;

	for (; next_in < 10; next_in++) {
		snprintf(text, sizeof(text), "m%03d", next_in);
		cr_assert_eq(push_text(q, text), QUEUE_OK);
	}
	for (; next_out < 7; next_out++) {           /* head moves on */
		snprintf(text, sizeof(text), "m%03d", next_out);
		pop_expect(q, text);
	}
	while (queue_len(q) < 100) {                /* grows, wrapped */
		snprintf(text, sizeof(text), "m%03d", next_in++);
		cr_assert_eq(push_text(q, text), QUEUE_OK);
	}
	cr_assert_eq(push_text(q, "m"), QUEUE_FULL);
	for (; next_out < next_in; next_out++) {
		snprintf(text, sizeof(text), "m%03d", next_out);
		pop_expect(q, text);
	}
	cr_assert_eq(queue_len(q), 0);
	queue_free(q);
}

/* A push can leave its wake-up for later: the msg is queued at once, one
 * wake-up is listed however many pushes, and queue_wake_all delivers it. */
Test(queue, deferred_wake_up_is_listed_once_and_delivered, .timeout = 10)
{
	struct popper p = { .q = queue_for(4, 64) };
	struct queue_wakes later = { 0 };
	struct msg *m = msg_printf("later");
	pthread_t t;

	start_popper(&p, &t);
	cr_assert_eq(queue_push_many(p.q, &m, 1, &later), QUEUE_OK);
	cr_assert_eq(queue_push_many(p.q, &m, 1, &later), QUEUE_OK);
	cr_assert_eq(queue_len(p.q), 2);        /* queued at once ... */
	cr_assert(thread_wait_asleep(atomic_load(&p.tid), 0),
	    "the popper was woken before queue_wake_all");  /* ... not woken */
	cr_assert_eq(later.first, p.q);
	queue_wake_all(&later);
	cr_assert_null(later.first);
	pthread_join(t, NULL);                  /* it was woken */
	cr_assert_eq(atomic_load(&p.got), 1);
	cr_assert_str_eq(p.text, "later\n");
	msg_unref(m);
	queue_free(p.q);
}

/* The owner may free a queue whose wake-up is still listed: the list's
 * reference keeps it until queue_wake_all (LeakSanitizer and valgrind
 * would see a leak or a use after free here). */
Test(queue, a_listed_wake_up_outlives_the_owners_free)
{
	struct queue *q = queue_for(4, 64);
	struct queue_wakes later = { 0 };
	struct msg *m = msg_printf("x");

	cr_assert_eq(queue_push_many(q, &m, 1, &later), QUEUE_OK);
	queue_free(q);
	queue_wake_all(&later);
	msg_unref(m);
}

/* The bound is in bytes: one big line takes the room of many small ones,
 * a flood of tiny lines is bounded by QUEUE_LINE_COST each, and the first
 * refusal is recorded with what the queue held. */
Test(queue, the_hard_limit_counts_bytes_and_the_refusal_is_recorded)
{
	struct queue_limits lim = { .hard = 1000 };
	struct queue *q = queue_new(&lim);
	static char big[900];
	struct queue_usage u;

	memset(big, 'x', sizeof(big) - 1);              /* 899 + LF = 900 */
	cr_assert(!queue_refusal(q, &u));
	cr_assert_eq(push_text(q, big), QUEUE_OK);      /* 932 counted */
	cr_assert_eq(push_text(q, "a fifty-byte line, or thereabouts, "
	    "to overflow"), QUEUE_FULL);
	cr_assert(queue_refusal(q, &u));
	cr_assert_eq(u.lines, 1);
	cr_assert_eq(u.bytes, 900 + QUEUE_LINE_COST);
	cr_assert_eq(u.limit, 'h');
	cr_assert_eq(push_text(q, "a"), QUEUE_OK);      /* 34 more fit */
	pop_expect(q, big);
	pop_expect(q, "a");
	int tiny = 0;
	while (push_text(q, "") == QUEUE_OK)            /* LF alone: 33 */
		tiny++;
	cr_assert_eq(tiny, 1000 / (1 + QUEUE_LINE_COST));
	queue_usage(q, &u);
	cr_assert_eq(u.lines, (size_t)tiny);
	queue_free(q);
}

/* Above the soft limit, a queue is allowed soft_ms: pushes go on for that
 * long and are refused after it (a reader that stopped). Going back under
 * the soft limit starts the clock again (a reader briefly behind). */
Test(queue, the_soft_limit_allows_a_grace_period, .timeout = 10)
{
	struct queue_limits lim = { .hard = 100000, .soft = 200,
	    .soft_ms = 100 };
	struct queue *q = queue_new(&lim);
	static char line[180];
	struct queue_usage u;

	memset(line, 'y', sizeof(line) - 1);
	cr_assert_eq(push_text(q, line), QUEUE_OK);     /* 212: above */
	cr_assert_eq(push_text(q, line), QUEUE_OK);     /* within grace */
	pop_expect(q, line);
	pop_expect(q, line);                            /* under: clock off */
	poll(NULL, 0, 150);                             /* the grace, over */
	cr_assert_eq(push_text(q, line), QUEUE_OK);     /* a new clock */
	poll(NULL, 0, 150);                             /* it runs out */
	cr_assert_eq(push_text(q, "z"), QUEUE_FULL);
	cr_assert(queue_refusal(q, &u));
	cr_assert_eq(u.limit, 's');
	cr_assert_eq(u.lines, 1);
	queue_free(q);
}

/* msg_words is msg_printf("%s %s ...\n") without the format. */
Test(msg, words_are_joined_by_single_spaces_and_end_the_line)
{
	struct msg *a = msg_words((const char *[]){ "MSG", "alice", "hi there" },
	    3);
	struct msg *b = msg_printf("MSG %s %s", "alice", "hi there");
	struct msg *one = msg_words((const char *[]){ "OK" }, 1);

	cr_assert_not_null(a);
	cr_assert_eq(msg_len(a), msg_len(b));
	cr_assert_str_eq(msg_data(a), msg_data(b));
	cr_assert_str_eq(msg_data(a), "MSG alice hi there\n");
	cr_assert_str_eq(msg_data(one), "OK\n");
	cr_assert_eq(msg_len(one), 3);
	cr_assert(!msg_is_raw(a));
	msg_unref(a);
	msg_unref(b);
	msg_unref(one);
}
