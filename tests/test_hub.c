/*
 * test_hub.c - the hub without sockets: members are plain queues, and a
 * test reads what each one would have been sent.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hub.h"
#include "msg.h"
#include "proto.h"
#include "queue.h"

/* In-process: each test checks for leaks at its end (harness.h). */
TestSuite(hub, .fini = harness_leak_check);

#define ANNOUNCE_ALL SIZE_MAX     /* notices at any room size */

/* A hub as the tests use it: no history (so each stream is only what is
 * said after a join), 10 rooms, no archive. */
static struct hub *
hub_make(size_t notices_max, size_t history)
{
	struct hub_config cfg = { .notices_max = notices_max,
	    .history = history, .max_rooms = 10 };
	struct hub *h = hub_new(&cfg, NULL, 0);

	cr_assert_not_null(h);
	return h;
}

/* What a reader does with one MSG: the lines, then the hub. */
static enum hub_status
say(struct hub *h, struct hub_member *from, const char *text,
    struct hub_trace *trace)
{
	struct hub_line line;

	cr_assert(hub_line_make(h, from, text, &line));
	enum hub_status st = hub_say(h, from, &line, 1, trace);
	hub_line_free(&line);
	return st;
}

struct member {
	struct queue *q;
	struct hub_member *m;
	atomic_int kicked;
};

static void
kick(void *arg, enum hub_cut why)
{
	(void)why;
	struct member *mb = arg;
	atomic_fetch_add(&mb->kicked, 1);
}

/* The tests' lines are short: "MSG alice m0" is 12 bytes and a LF. */
#define SHORT_LINE (13 + QUEUE_LINE_COST)

/* Logs name in with a queue that holds cap short lines. */
static void
join(struct hub *h, struct member *mb, const char *name, size_t cap)
{
	struct queue_limits lim = { .hard = cap * SHORT_LINE };

	mb->q = queue_new(&lim);
	atomic_init(&mb->kicked, 0);
	cr_assert_eq(hub_join(h, name, mb->q, kick, mb, &mb->m), HUB_OK,
	    "join %s", name);
}

static void
leave(struct hub *h, struct member *mb)
{
	hub_leave(h, mb->m);
	queue_free(mb->q);
}

/* Pops every waiting line of mb into one string, lines joined by '|'. */
static char *
drain(struct member *mb)
{
	static char out[65536];
	size_t n = queue_len(mb->q), o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct msg *m;
		cr_assert_eq(queue_pop(mb->q, &m, 1), 1);
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%.*s",
		    i ? "|" : "", (int)msg_len(m) - 1, msg_data(m));
		msg_unref(m);
	}
	return out;
}

/* A hub with alice, bob and carol logged in and their queues drained. */
static struct hub *
trio(struct member *a, struct member *b, struct member *c)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);

	join(h, a, "alice", 16);
	join(h, b, "bob", 16);
	join(h, c, "carol", 16);
	drain(a), drain(b), drain(c);
	return h;
}

static void
trio_free(struct hub *h, struct member *a, struct member *b, struct member *c)
{
	leave(h, a), leave(h, b), leave(h, c);
	hub_free(h);
}

Test(hub, join_and_leave_are_announced_to_others)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, b;

	join(h, &a, "alice", 16);
	cr_assert_str_eq(drain(&a), "OK");
	join(h, &b, "bob", 16);
	cr_assert_str_eq(drain(&b), "OK");          /* not its own "joined" */
	cr_assert_str_eq(drain(&a), "INFO bob joined");
	cr_assert_eq(hub_count(h), 2);
	leave(h, &b);
	cr_assert_str_eq(drain(&a), "INFO bob disconnected");
	cr_assert_eq(hub_count(h), 1);
	leave(h, &a);
	hub_free(h);
}

Test(hub, notices_stop_above_notices_max_and_the_crossings_are_told)
{
	struct hub *h = hub_make(2, 0);
	struct member a, b, c, d;

	join(h, &a, "alice", 16);
	join(h, &b, "bob", 16);
	cr_assert_str_eq(drain(&a), "OK|INFO bob joined");
	join(h, &c, "carol", 16);                   /* 3 > 2: off */
	const char *off = "INFO more than 2 users online: join and leave "
	    "notices are off";
	char want[256];
	snprintf(want, sizeof(want), "OK|%s", off);
	cr_assert_str_eq(drain(&a), off);
	cr_assert_str_eq(drain(&b), want);
	cr_assert_str_eq(drain(&c), want);
	join(h, &d, "dave", 16);                    /* only dave is told */
	cr_assert_str_eq(drain(&d), want);
	cr_assert_str_eq(drain(&a), "");
	leave(h, &d);                               /* 4 -> 3: silent */
	cr_assert_str_eq(drain(&a), "");
	leave(h, &c);                               /* 3 -> 2: on again */
	const char *on = "INFO 2 users online: join and leave notices are on";
	cr_assert_str_eq(drain(&a), on);
	cr_assert_str_eq(drain(&b), on);
	leave(h, &b);
	cr_assert_str_eq(drain(&a), "INFO bob disconnected");
	leave(h, &a);
	hub_free(h);
}

Test(hub, names_are_unique_ignoring_case_and_freed_on_leave)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, b;
	struct queue_limits lim = { .hard = 4 * SHORT_LINE };
	struct queue *q = queue_new(&lim);
	struct hub_member *m;

	join(h, &a, "alice", 16);
	cr_assert_eq(hub_join(h, "ALICE", q, kick, NULL, &m), HUB_NAME_TAKEN);
	cr_assert_eq(queue_len(q), 0);              /* no OK for a refusal */
	leave(h, &a);
	join(h, &b, "Alice", 16);
	cr_assert_str_eq(drain(&b), "OK");
	leave(h, &b);
	queue_free(q);
	hub_free(h);
}

Test(hub, broadcast_does_not_echo)
{
	struct member a, b, c;
	struct hub *h = trio(&a, &b, &c);

	cr_assert_eq(say(h, a.m, "hi all", NULL), HUB_OK);
	cr_assert_str_eq(drain(&a), "");
	cr_assert_str_eq(drain(&b), "MSG alice hi all");
	cr_assert_str_eq(drain(&c), "MSG alice hi all");
	trio_free(h, &a, &b, &c);
}

Test(hub, dm_reaches_only_its_recipient)
{
	struct member a, b, c;
	struct hub *h = trio(&a, &b, &c);

	cr_assert_eq(hub_dm(h, a.m, "BOB", "psst", NULL), HUB_OK);
	cr_assert_eq(hub_dm(h, a.m, "zed", "psst", NULL), HUB_NO_SUCH_USER);
	cr_assert_str_eq(drain(&b), "DM alice psst");
	cr_assert_str_eq(drain(&a), "");
	cr_assert_str_eq(drain(&c), "");
	trio_free(h, &a, &b, &c);
}

Test(hub, who_is_sorted_ignoring_case)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, b, c;

	join(h, &c, "carol", 16);
	join(h, &a, "alice", 16);
	join(h, &b, "Bob", 16);
	struct msg *who = hub_who(h, a.m, NULL);
	cr_assert_str_eq(msg_data(who), "USERS alice Bob carol\n");
	msg_unref(who);
	leave(h, &a), leave(h, &b), leave(h, &c);
	who = hub_who(h, NULL, "#lobby");
	cr_assert_str_eq(msg_data(who), "USERS\n");
	msg_unref(who);
	hub_free(h);
}

Test(hub, full_queue_evicts_only_that_member)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, b, slow;

	join(h, &a, "alice", 64);
	join(h, &b, "bob", 64);
	join(h, &slow, "slow", 3);      /* OK plus two lines fit */
	drain(&a), drain(&b);
	for (int i = 0; i < 5; i++) {
		char t[16];
		snprintf(t, sizeof(t), "m%d", i);
		say(h, a.m, t, NULL);
	}
	cr_assert_eq(atomic_load(&slow.kicked), 1);
	/* The backlog was replaced by the error: no gap followed by more. */
	cr_assert_str_eq(drain(&slow), PROTO_ERR_SLOW);
	cr_assert_str_eq(drain(&b), "MSG alice m0|MSG alice m1|MSG alice m2|"
	    "INFO slow disconnected|MSG alice m3|MSG alice m4");
	cr_assert_str_eq(drain(&a), "INFO slow disconnected");
	cr_assert_eq(hub_count(h), 3);  /* logged in until its reader leaves */
	struct msg *who = hub_who(h, a.m, NULL);        /* but not in the room */
	cr_assert_str_eq(msg_data(who), "USERS alice bob\n");
	msg_unref(who);

	say(h, slow.m, "ghost", NULL); /* evicted: no voice */
	cr_assert_str_eq(drain(&b), "");
	leave(h, &slow);                    /* announced already: not again */
	cr_assert_str_eq(drain(&b), "");
	leave(h, &a), leave(h, &b);
	hub_free(h);
}

/* A batch goes in all or nothing per queue: a member with room for 2 of
 * 3 lines is evicted (it never holds a stream with a hole), and everyone
 * else gets all 3, in order, before the eviction notice. */
Test(hub, a_batch_that_does_not_fit_evicts_and_the_rest_get_it_all)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, b, c, tight;
	struct hub_line lines[3];

	join(h, &a, "alice", 64);
	join(h, &b, "bob", 64);
	join(h, &c, "carol", 64);
	join(h, &tight, "tight", 3);    /* its OK stays: room for 2 */
	drain(&a), drain(&b), drain(&c);
	for (int i = 0; i < 3; i++)
		cr_assert(hub_line_make(h, a.m, i == 0 ? "one" : i == 1 ?
		    "two" : "three", &lines[i]));
	hub_say(h, a.m, lines, 3, NULL);
	cr_assert_eq(atomic_load(&tight.kicked), 1);
	cr_assert_str_eq(drain(&tight), PROTO_ERR_SLOW);
	const char *want = "MSG alice one|MSG alice two|MSG alice three|"
	    "INFO tight disconnected";
	cr_assert_str_eq(drain(&b), want);
	cr_assert_str_eq(drain(&c), want);
	cr_assert_str_eq(drain(&a), "INFO tight disconnected");   /* no echo */
	for (int i = 0; i < 3; i++)
		hub_line_free(&lines[i]);
	leave(h, &tight), leave(h, &a), leave(h, &b), leave(h, &c);
	hub_free(h);
}

Test(hub, eviction_notice_can_evict_in_turn)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, s1, s2;

	join(h, &a, "alice", 64);
	drain(&a);
	join(h, &s1, "s1", 2);
	join(h, &s2, "s2", 3);
	drain(&s1);                     /* OK, INFO s2 joined */
	drain(&s2);                     /* OK */
	say(h, a.m, "x", NULL);     /* s1: 1/2, s2: 1/3 */
	say(h, a.m, "y", NULL);     /* s1: 2/2, s2: 2/3 */
	say(h, a.m, "z", NULL);     /* s1 full -> evicted; s2 3/3;
	                                   "s1 disconnected" fills s2 over */
	cr_assert_eq(atomic_load(&s1.kicked), 1);
	cr_assert_eq(atomic_load(&s2.kicked), 1);
	struct msg *who = hub_who(h, a.m, NULL);
	cr_assert_str_eq(msg_data(who), "USERS alice\n");
	msg_unref(who);
	cr_assert_str_eq(drain(&a), "INFO s1 joined|INFO s2 joined|"
	    "INFO s1 disconnected|INFO s2 disconnected");
	leave(h, &s1), leave(h, &s2), leave(h, &a);
	hub_free(h);
}

#define SENDERS 4
#define PER_SENDER 2000

struct sender {
	struct hub *h;
	struct member mb;
};

static void *
send_many(void *arg)
{
	struct sender *s = arg;

	for (int i = 0; i < PER_SENDER; i++) {
		char t[16];
		snprintf(t, sizeof(t), "%d", i);
		say(s->h, s->mb.m, t, NULL);
	}
	return NULL;
}

/* Drains a listener's queue until it has every broadcast; records them. */
struct listener {
	struct member mb;
	char (*seen)[48];
};

static void *
listen_all(void *arg)
{
	struct listener *l = arg;
	int n = 0;

	while (n < SENDERS * PER_SENDER) {
		struct msg *batch[64];
		size_t got = queue_pop(l->mb.q, batch, 64);
		for (size_t i = 0; i < got; i++) {
			if (strncmp(msg_data(batch[i]), "MSG ", 4) == 0)
				snprintf(l->seen[n++], 48, "%s", msg_data(batch[i]));
			msg_unref(batch[i]);
		}
	}
	return NULL;
}

Test(hub, concurrent_broadcasters_lose_nothing_and_agree_on_order,
    .timeout = 30)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct sender s[SENDERS];
	struct listener l[2];
	pthread_t ts[SENDERS], tl[2];

	for (int i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "l%d", i);
		l[i].seen = calloc(SENDERS * PER_SENDER, sizeof(*l[i].seen));
		join(h, &l[i].mb, name, SENDERS * PER_SENDER + 16);
		pthread_create(&tl[i], NULL, listen_all, &l[i]);
	}
	for (int i = 0; i < SENDERS; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		s[i].h = h;
		join(h, &s[i].mb, name, 1024 * 1024);
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_create(&ts[i], NULL, send_many, &s[i]);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(ts[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(tl[i], NULL);

	int next[SENDERS] = { 0 };
	for (int k = 0; k < SENDERS * PER_SENDER; k++) {
		int id, seq;
		cr_assert_str_eq(l[0].seen[k], l[1].seen[k], "order differs at %d",
		    k);
		cr_assert_eq(sscanf(l[0].seen[k], "MSG s%d %d", &id, &seq), 2);
		cr_assert_eq(seq, next[id]++, "sender %d out of order", id);
	}
	for (int i = 0; i < SENDERS; i++)
		cr_assert_eq(next[i], PER_SENDER);
	cr_assert_eq(atomic_load(&l[0].mb.kicked), 0);
	for (int i = 0; i < SENDERS; i++)
		leave(h, &s[i].mb);
	for (int i = 0; i < 2; i++) {
		leave(h, &l[i].mb);
		free(l[i].seen);
	}
	hub_free(h);
}

Test(hub, trace_records_depths_and_evictions)
{
	struct hub *h = hub_make(ANNOUNCE_ALL, 0);
	struct member a, b, slow;
	struct hub_trace t = { 0 };

	join(h, &a, "alice", 16);
	join(h, &b, "bob", 16);
	join(h, &slow, "slow", 1);      /* its OK fills it */
	drain(&a), drain(&b);
	cr_assert_eq(say(h, a.m, "x", &t), HUB_OK);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.to[0].name, "bob");
	cr_assert_eq(t.to[0].depth, 1);
	cr_assert_eq(t.to[0].evicted, 0);
	cr_assert_str_eq(t.to[1].name, "slow");
	cr_assert_eq(t.to[1].evicted, 1);
	leave(h, &a), leave(h, &b), leave(h, &slow);
	hub_free(h);
}
