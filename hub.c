/*
 * hub.c - the member list and delivery; see hub.h for the contract.
 *
 * Members live in an array sorted by name ignoring ASCII case, so LOGIN's
 * uniqueness check and DM's lookup are binary searches and WHO lists the
 * array in order. Joins and leaves move pointers with memmove, which is
 * cheap next to the thread start-up that comes with every client.
 *
 * Eviction happens in two steps inside one critical section: a failed push
 * only marks the member (so a loop over the array is never disturbed), and
 * hub_settle then takes each marked member off the list and announces it.
 * An announcement can fill another queue and mark another member, so
 * hub_settle loops until nothing is marked; each round removes one member,
 * so it ends. Outside the lock no marked member is ever on the list.
 */
#include "hub.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg.h"
#include "proto.h"
#include "queue.h"
#include "sync.h"

struct hub_member {
	char name[PROTO_MAX_NAME + 1];  /* fixed at join */
	struct queue *out;              /* the owner's; pushed to while listed */
	hub_kick_fn *kick;
	void *kick_arg;
	bool evicted;                   /* protected by the hub lock */
};

/* excerpt: hub */
struct hub {
	pthread_mutex_t lock;           /* protects everything below and each
	                                   member's evicted flag */
	struct hub_member **members;    /* sorted by strcasecmp of name; names
	                                   unique ignoring case */
	size_t count;
	size_t cap;
	struct msg *slow_consumer;      /* evicted members' last line; const */
	size_t notices_max;             /* const; see hub_announce_join */
	struct queue_wakes *wakes;      /* the lock holder's; see hub_lock */
	struct msg *who;                /* the USERS line while the list is
	                                   unchanged, or NULL: see hub_who */
	struct hub_stats stats;         /* counted under the lock; members is
	                                   filled in by hub_stats */
	bool closing;                   /* the server is stopping: no more
	                                   join or leave notices */
};
/* end excerpt */

struct hub *
hub_new(size_t notices_max)
{
	struct hub *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->notices_max = notices_max;
	h->slow_consumer = msg_printf(PROTO_ERR_SLOW);
	if (h->slow_consumer == NULL) {
		free(h);
		return NULL;
	}
	sync_mutex_init(&h->lock);
	return h;
}

void
hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	msg_unref(h->slow_consumer);
	msg_unref(h->who);
	pthread_mutex_destroy(&h->lock);
	free(h->members);
	free(h);
}

/*
 * The lock is held for the pushes only. Each push that wakes a writer
 * leaves that wake-up in *w, and hub_unlock delivers them all once the lock
 * is released. Holding it across 100 wake-ups (system calls, often trips to
 * the other CPU) kept the other readers waiting and halved throughput; see
 * bench/README.md. The lines are in the queues before the lock is
 * released, so the global order is the same.
 */
static void
hub_lock(struct hub *h, struct queue_wakes *w)
{
	sync_lock(&h->lock);
	h->wakes = w;
}

static void
hub_unlock(struct hub *h)
{
	struct queue_wakes *w = h->wakes;

	h->wakes = NULL;
	sync_unlock(&h->lock);
	queue_wake_all(w);
}

/* Index of name in the array, or where it would go; sets *found. Lock held. */
static size_t
hub_find(struct hub *h, const char *name, bool *found)
{
	size_t lo = 0, hi = h->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(h->members[mid]->name, name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* excerpt: hub-evict */
/* Marks m evicted: its backlog is replaced by the final error line and its
 * owner is woken. Lock held. */
static void
hub_evict(struct hub *h, struct hub_member *m)
{
	assert(!m->evicted);
	m->evicted = true;
	h->stats.evictions++;
	queue_abort(m->out, h->slow_consumer);
	m->kick(m->kick_arg);
}
/* end excerpt */

/* Records one push for --trace. Lock held; no I/O. */
static void
hub_trace_push(struct hub_trace *t, const struct hub_member *to, bool full)
{
	if (t->n == HUB_TRACE_MAX) {
		t->more++;
		return;
	}
	snprintf(t->to[t->n].name, sizeof(t->to[t->n].name), "%s", to->name);
	t->to[t->n].depth = full ? 0 : queue_len(to->out);
	t->to[t->n++].evicted = full;
}

/* excerpt: hub-push */
/* Pushes n msgs, costing cost (queue_cost), to one member; without room
 * for all, it is evicted. trace may be NULL. Lock held. */
static void
hub_push(struct hub *h, struct hub_member *to, struct msg **msgs, size_t n,
    size_t cost, struct hub_trace *trace)
{
	if (to->evicted)
		return;
	bool full = queue_push_batch(to->out, msgs, n, cost, h->wakes) ==
	    QUEUE_FULL;
	if (full)
		hub_evict(h, to);
	else
		h->stats.deliveries += n;
	if (trace != NULL)
		hub_trace_push(trace, to, full);
}
/* end excerpt */

/* Pushes n msgs to every member but except (which may be NULL). Lock
 * held. */
static void
hub_push_all(struct hub *h, const struct hub_member *except,
    struct msg **msgs, size_t n, struct hub_trace *trace)
{
	size_t cost = queue_cost(msgs, n);      /* once, not per member */

	for (size_t i = 0; i < h->count; i++)
		if (h->members[i] != except)
			hub_push(h, h->members[i], msgs, n, cost, trace);
}

/* Pushes one notice (NULL: memory ran out, and the notice is lost for
 * all) to every member but except. Lock held. */
static void
hub_push_notice(struct hub *h, const struct hub_member *except,
    struct msg *msg)
{
	if (msg != NULL)
		hub_push_all(h, except, &msg, 1, NULL);
}

/* The member list changed: the shared USERS line no longer holds. Lock
 * held. */
static void
hub_changed(struct hub *h)
{
	msg_unref(h->who);
	h->who = NULL;
}

static void
hub_remove_at(struct hub *h, size_t i)
{
	assert(i < h->count);
	hub_changed(h);
	memmove(&h->members[i], &h->members[i + 1],
	    (h->count - i - 1) * sizeof(h->members[0]));
	h->count--;
}

/*
 * Join and leave notices. Each goes to every member, so a room filling up
 * one login at a time costs about N^2/2 deliveries, and as many writer
 * wake-ups: 50 million for 10,000 users, which a human could not read
 * anyway. So notices go out only while the room has at most notices_max
 * members, counting the one joining or leaving, and crossing that line is
 * announced once each way. A storm of notices alone then never fills a
 * default queue.
 */

/* Announces m, just listed, to the others. Past the line, m alone is told
 * that it will hear no notices, except on the join that crosses the line,
 * which tells everyone. Lock held. */
static void
hub_announce_join(struct hub *h, struct hub_member *m)
{
	if (h->closing)
		return;
	bool quiet = h->count > h->notices_max;
	struct msg *notice = quiet ? msg_printf("INFO more than %zu users "
	    "online: join and leave notices are off", h->notices_max) :
	    msg_printf("INFO %s joined", m->name);

	if (notice == NULL)
		return;
	if (!quiet || h->count == h->notices_max + 1)
		hub_push_all(h, m, &notice, 1, NULL);
	if (quiet)
		hub_push(h, m, &notice, 1, queue_cost(&notice, 1), NULL);
	msg_unref(notice);
}

/* Tells every member that name, just taken off the list, has left. Lock
 * held. */
static void
hub_announce_leave(struct hub *h, const char *name)
{
	struct msg *notice = NULL;

	if (h->closing)
		return;
	if (h->count + 1 <= h->notices_max)
		notice = msg_printf("INFO %s disconnected", name);
	else if (h->count == h->notices_max)
		notice = msg_printf("INFO %zu users online: join and leave "
		    "notices are on", h->count);
	hub_push_notice(h, NULL, notice);
	msg_unref(notice);
}

/* Takes every evicted member off the list, announcing each. Lock held. */
static void
hub_settle(struct hub *h)
{
	size_t i = 0;

	while (i < h->count) {
		if (!h->members[i]->evicted) {
			i++;
			continue;
		}
		struct hub_member *gone = h->members[i];
		hub_remove_at(h, i);
		hub_announce_leave(h, gone->name);
		i = 0;          /* the announcement may have evicted others */
	}
}

/* Makes room for one more member. Lock held. */
static bool
hub_reserve(struct hub *h)
{
	if (h->count < h->cap)
		return true;
	size_t cap = h->cap ? 2 * h->cap : 16;
	struct hub_member **grown = realloc(h->members, cap * sizeof(*grown));
	if (grown == NULL)
		return false;
	h->members = grown;
	h->cap = cap;
	return true;
}

static struct hub_member *
hub_member_new(const char *name, struct queue *out, hub_kick_fn *kick,
    void *kick_arg)
{
	struct hub_member *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->out = out;
	m->kick = kick;
	m->kick_arg = kick_arg;
	return m;
}

/* Lists m at index i after pushing "OK" to it, and announces it. Lock held,
 * room reserved. */
static enum hub_status
hub_insert(struct hub *h, size_t i, struct hub_member *m)
{
	struct msg *ok = msg_printf("OK");
	enum hub_status st = HUB_REFUSED;

	assert(h->count < h->cap && i <= h->count);
	if (ok != NULL && queue_push_many(m->out, &ok, 1, h->wakes) == QUEUE_OK) {
		memmove(&h->members[i + 1], &h->members[i],
		    (h->count - i) * sizeof(h->members[0]));
		h->members[i] = m;
		h->count++;
		hub_changed(h);
		hub_announce_join(h, m);
		hub_settle(h);
		st = HUB_OK;
	}
	msg_unref(ok);
	return st;
}

enum hub_status
hub_join(struct hub *h, const char *name, struct queue *out,
    hub_kick_fn *kick, void *kick_arg, struct hub_member **member)
{
	struct queue_wakes wakes = { 0 };
	struct hub_member *m = hub_member_new(name, out, kick, kick_arg);
	enum hub_status st = HUB_REFUSED;
	bool taken;

	assert(proto_name_ok(name) && out != NULL && kick != NULL);
	if (m == NULL)
		return HUB_REFUSED;
	hub_lock(h, &wakes);
	size_t i = hub_find(h, name, &taken);
	if (taken)
		st = HUB_NAME_TAKEN;
	else if (hub_reserve(h))
		st = hub_insert(h, i, m);
	hub_unlock(h);

	if (st == HUB_OK)
		*member = m;
	else
		free(m);
	return st;
}

void
hub_leave(struct hub *h, struct hub_member *m)
{
	struct queue_wakes wakes = { 0 };
	bool found;

	hub_lock(h, &wakes);
	if (!m->evicted) {             /* an evicted member is off the list */
		size_t i = hub_find(h, m->name, &found);
		assert(found && h->members[i] == m);
		hub_remove_at(h, i);
		hub_announce_leave(h, m->name);
		hub_settle(h);
	}
	hub_unlock(h);
	free(m);
}

struct msg *
hub_msg_line(const struct hub_member *from, const char *text)
{
	return msg_printf("MSG %s %s", from->name, text);
}

void
hub_broadcast_lines(struct hub *h, struct hub_member *from,
    struct msg **lines, size_t n, struct hub_trace *trace)
{
	struct queue_wakes wakes = { 0 };

	assert(from != NULL && (n == 0 || lines != NULL));
	hub_lock(h, &wakes);
	if (!from->evicted) {           /* an evicted member has no voice */
		h->stats.messages += n;
		hub_push_all(h, from, lines, n, trace);
		hub_settle(h);
	}
	hub_unlock(h);
}

enum hub_status
hub_broadcast(struct hub *h, struct hub_member *from, const char *text,
    struct hub_trace *trace)
{
	struct msg *line = hub_msg_line(from, text);

	if (line == NULL)
		return HUB_REFUSED;
	hub_broadcast_lines(h, from, &line, 1, trace);
	msg_unref(line);
	return HUB_OK;
}

enum hub_status
hub_dm(struct hub *h, struct hub_member *from, const char *to,
    const char *text, struct hub_trace *trace)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("DM %s %s", from->name, text);
	bool found;

	if (line == NULL)
		return HUB_REFUSED;
	hub_lock(h, &wakes);
	size_t i = hub_find(h, to, &found);
	if (found && !from->evicted) {
		h->stats.dms++;
		hub_push(h, h->members[i], &line, 1, queue_cost(&line, 1),
		    trace);
		hub_settle(h);
	}
	hub_unlock(h);
	msg_unref(line);
	return found ? HUB_OK : HUB_NO_SUCH_USER;
}

/* The USERS line for the list as it is. Lock held; NULL when memory runs
 * out. */
static struct msg *
hub_who_line(struct hub *h)
{
	char *names = malloc(h->count * (PROTO_MAX_NAME + 1) + 1);
	struct msg *line = NULL;

	if (names == NULL)
		return NULL;
	char *p = names;
	for (size_t i = 0; i < h->count; i++)
		p += sprintf(p, " %s", h->members[i]->name);
	*p = '\0';
	line = msg_printf("USERS%s", names);
	free(names);
	return line;
}

/*
 * A USERS line is as long as the room: 33 bytes a member. Every WHO used to
 * make its own copy, so a few clients asking again and again without
 * reading pinned hundreds of megabytes. Now one line is shared by every
 * reply until the list changes; each queue still counts its full size
 * against its limit (queue.h), and the asker's flood budget pays for it in
 * proportion (cmd.c).
 */
struct msg *
hub_who(struct hub *h)
{
	struct msg *line;

	sync_lock(&h->lock);
	if (h->who == NULL)
		h->who = hub_who_line(h);
	line = h->who != NULL ? msg_ref(h->who) : NULL;
	sync_unlock(&h->lock);
	return line;
}

const char *
hub_member_name(const struct hub_member *m)
{
	return m->name;
}

size_t
hub_count(struct hub *h)
{
	sync_lock(&h->lock);
	size_t n = h->count;
	sync_unlock(&h->lock);
	return n;
}

void
hub_stats(struct hub *h, struct hub_stats *out)
{
	sync_lock(&h->lock);
	*out = h->stats;
	out->members = h->count;
	sync_unlock(&h->lock);
}

void
hub_close(struct hub *h)
{
	sync_lock(&h->lock);
	h->closing = true;
	sync_unlock(&h->lock);
}
