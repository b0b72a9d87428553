/*
 * room.c - one room: its members, and delivery to them. Only hub.c calls
 * in (hub_internal.h), each function with the locks its comment names
 * held; room_hist.c (the history, and what is said into it) shares the
 * room's layout and a few steps of delivery (room_internal.h).
 *
 * Members live in an array sorted by name ignoring ASCII case, so WHO
 * lists it in order.
 *
 * Eviction happens in two steps inside one critical section: a failed push
 * only marks the member (so a loop over the array is never disturbed), and
 * room_settle then takes each marked member off the list and announces it.
 * An announcement can push another queue over its limit and mark another
 * member, so room_settle loops until nothing is marked; each round removes
 * one member, so it ends. Outside the lock no marked member is listed.
 */
#include "room_internal.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "queue.h"
#include "sync.h"

/* ---- Making and freeing ----------------------------------------------- */

struct room *
room_new(const char *name, struct room_policy *pol,
    struct msg *const *preload, size_t n)
{
	struct room *r = calloc(1, sizeof(*r));

	assert(proto_room_ok(name));
	if (r == NULL)
		return NULL;
	if (pol->history > 0 &&
	    ((r->hist = calloc(pol->history, sizeof(*r->hist))) == NULL ||
	    (r->hist_seq = calloc(pol->history, sizeof(*r->hist_seq))) ==
	    NULL)) {
		free(r->hist);
		free(r);
		return NULL;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	for (size_t i = 0; name[i + 1] != '\0'; i++)
		r->key[i] = (char)tolower((unsigned char)name[i + 1]);
	r->pol = pol;
	for (size_t i = 0; i < n; i++)
		room_keep(r, preload[i], 0);
	r->loading = pol->clustered;
	sync_mutex_init(&r->lock);
	return r;
}

void
room_free(struct room *r)
{
	if (r == NULL)
		return;
	assert(r->count == 0);
	for (size_t i = 0; i < r->hist_len; i++)
		msg_unref(r->hist[(r->hist_head + i) % r->pol->history]);
	msg_unref(r->who);
	pthread_mutex_destroy(&r->lock);
	free(r->hist);
	free(r->hist_seq);
	free(r->members);
	free(r);
}

void
room_lock(struct room *r)
{
	sync_lock(&r->lock);
}

void
room_unlock(struct room *r)
{
	sync_unlock(&r->lock);
}

const char *
room_name(const struct room *r)
{
	return r->name;
}

const char *
room_key(const struct room *r)
{
	return r->key;
}

size_t
room_count(const struct room *r)
{
	return r->count;
}

unsigned long long
room_last_seq(const struct room *r)
{
	return r->last_seq;
}

bool
room_loading(const struct room *r)
{
	return r->loading;
}

/* ---- Delivery ----------------------------------------------------------- */

/* Records one push for --trace. Lock held; no I/O. */
static void
room_trace_push(struct hub_trace *t, const struct hub_member *to, bool full)
{
	if (t->n == HUB_TRACE_MAX) {
		t->more++;
		return;
	}
	snprintf(t->to[t->n].name, sizeof(t->to[t->n].name), "%s", to->name);
	t->to[t->n].depth = full ? 0 : queue_len(to->out);
	t->to[t->n++].evicted = full;
}

/* excerpt: room-evict */
/* Cuts m off: its backlog is replaced by last, its final line, and its
 * owner is kicked (woken), told why. It stays listed until room_settle.
 * Lock held. */
static void
room_cut_off(struct room *r, struct hub_member *m, struct msg *last,
    enum hub_cut why)
{
	(void)r;
	assert(!m->evicted);
	m->evicted = true;
	queue_abort(m->out, last);
	m->kick(m->kick_arg, why);
}

void
room_evict(struct room *r, struct hub_member *m)
{
	atomic_fetch_add_explicit(&r->pol->evictions, 1, memory_order_relaxed);
	room_cut_off(r, m, r->pol->slow_consumer, HUB_CUT_SLOW);
}
/* end excerpt */

static void room_pushed(struct room *r, struct hub_member *to, size_t n,
    bool full, struct hub_trace *trace);

/* excerpt: room-push */
/* Pushes n msgs, costing cost (queue_cost), to one member; without room
 * for all, it is evicted. Lock held. */
void
room_push(struct room *r, struct hub_member *to, struct msg **msgs,
    size_t n, size_t cost, struct queue_wakes *w, struct hub_trace *trace)
{
	if (to->evicted)
		return;
	bool full = queue_push_batch(to->out, msgs, n, cost, w) == QUEUE_FULL;
	room_pushed(r, to, n, full, trace);
}

/* What a push to to did: counted, or to evicted. Lock held. */
static void
room_pushed(struct room *r, struct hub_member *to, size_t n, bool full,
    struct hub_trace *trace)
{
	if (full)
		room_evict(r, to);
	else
		atomic_fetch_add_explicit(&r->pol->deliveries, n,
		    memory_order_relaxed);
	if (trace != NULL)
		room_trace_push(trace, to, full);
}
/* end excerpt */

/* Pushes n msgs to every member but except (which may be NULL). Lock
 * held. */
void
room_push_all(struct room *r, const struct hub_member *except,
    struct msg **msgs, size_t n, struct queue_wakes *w,
    struct hub_trace *trace)
{
	size_t cost = queue_cost(msgs, n);      /* once, not per member */
	unsigned refs = (unsigned)r->count, used = 0;

	/* Every queue's reference to each line, taken at once: each line
	 * is one cache line that every writer's unref touches too, so one
	 * atomic add here instead of one per member counts. */
	for (size_t i = 0; i < n; i++)
		msg_ref_n(msgs[i], refs);
	for (size_t i = 0; i < r->count; i++) {
		struct hub_member *m = r->members[i];
		if (m == except || m->evicted)
			continue;
		enum queue_status st = queue_push_owned(m->out, msgs, n, cost,
		    w);
		used += st == QUEUE_OK;
		room_pushed(r, m, n, st == QUEUE_FULL, trace);
	}
	for (size_t i = 0; i < n; i++)
		msg_unref_n(msgs[i], refs - used);      /* those not taken */
}

void
room_push_to(struct room *r, struct hub_member *m, struct msg *line,
    struct queue_wakes *w, struct hub_trace *trace)
{
	room_push(r, m, &line, 1, queue_cost(&line, 1), w, trace);
	room_settle(r, w);
}

/* ---- The list, and its notices ------------------------------------------ */

/* The list changed: the shared USERS line no longer holds. Lock held. */
static void
room_changed(struct room *r)
{
	msg_unref(r->who);
	r->who = NULL;
}

/* Index of name in the list, or where it would go; sets *found. Lock
 * held. */
size_t
room_find(const struct room *r, const char *name, bool *found)
{
	return hub_member_search(r->members, r->count, name, found);
}

static void
room_remove_at(struct room *r, size_t i)
{
	assert(i < r->count);
	room_changed(r);
	memmove(&r->members[i], &r->members[i + 1],
	    (r->count - i - 1) * sizeof(r->members[0]));
	r->count--;
}

/*
 * Join and leave notices. Each goes to everyone in the room, so a room
 * filling up one login at a time costs about N^2/2 deliveries, and as many
 * writer wake-ups: 50 million for 10,000 users, which a human could not
 * read anyway. So notices go out only while the room has at most
 * notices_max members, counting the one joining or leaving, and crossing
 * that line is announced once each way. A storm of notices alone then
 * never fills a default queue.
 */

/* Announces m, just listed, to the others. Past the line, m alone is told
 * that it will hear no notices, except on the join that crosses the line,
 * which tells everyone. Lock held. */
static void
room_announce_join(struct room *r, struct hub_member *m,
    struct queue_wakes *w)
{
	size_t max = r->pol->notices_max;

	if (atomic_load(&r->pol->closing) || r->pol->clustered)
		return;         /* clustered: the bus brings notices */
	bool quiet = r->count > max;
	struct msg *notice = quiet ? msg_printf("INFO more than %zu users "
	    "online: join and leave notices are off", max) :
	    msg_printf("INFO %s joined", m->name);

	if (notice == NULL)
		return;
	if (!quiet || r->count == max + 1)
		room_push_all(r, m, &notice, 1, w, NULL);
	if (quiet)
		room_push_to(r, m, notice, w, NULL);
	msg_unref(notice);
}

/* Tells everyone that name, just taken off the list, has gone (how: left,
 * disconnected). Lock held. */
static void
room_announce_exit(struct room *r, const char *name, const char *how,
    struct queue_wakes *w)
{
	size_t max = r->pol->notices_max;
	struct msg *notice = NULL;

	if (atomic_load(&r->pol->closing) || r->pol->clustered)
		return;         /* clustered: the bus brings notices */
	if (r->count + 1 <= max)
		notice = msg_printf("INFO %s %s", name, how);
	else if (r->count == max)
		notice = msg_printf("INFO %zu users online: join and leave "
		    "notices are on", r->count);
	if (notice != NULL)
		room_push_all(r, NULL, &notice, 1, w, NULL);
	msg_unref(notice);
}

/* Takes every evicted member off the list, announcing each. Lock held. */
void
room_settle(struct room *r, struct queue_wakes *w)
{
	size_t i = 0;

	while (i < r->count) {
		if (!r->members[i]->evicted) {
			i++;
			continue;
		}
		struct hub_member *gone = r->members[i];
		room_remove_at(r, i);
		room_announce_exit(r, gone->name, "disconnected", w);
		i = 0;          /* the announcement may have evicted others */
	}
}

/* Makes room for one more member. Lock held. */
static bool
room_reserve(struct room *r)
{
	if (r->count < r->cap)
		return true;
	size_t cap = r->cap ? 2 * r->cap : 8;
	struct hub_member **grown = realloc(r->members, cap * sizeof(*grown));
	if (grown == NULL)
		return false;
	r->members = grown;
	r->cap = cap;
	return true;
}

/* excerpt: room-enter */
bool
room_enter(struct room *r, struct hub_member *m, struct queue_wakes *w)
{
	struct msg *ok = msg_printf("OK");
	bool found;

	assert(!m->evicted && m->room == r);
	size_t i = room_find(r, m->name, &found);
	assert(!found);
	if (ok == NULL || !room_reserve(r) ||
	    queue_push_batch(m->out, &ok, 1, queue_cost(&ok, 1), w) != QUEUE_OK) {
		msg_unref(ok);
		return false;
	}
	msg_unref(ok);
	if (!room_replay(r, m, r->hist_len, w)) {
		room_evict(r, m);       /* cannot take the history: too slow */
		return true;
	}
	memmove(&r->members[i + 1], &r->members[i],
	    (r->count - i) * sizeof(r->members[0]));
	r->members[i] = m;
	r->count++;
	room_changed(r);
	room_announce_join(r, m, w);
	room_settle(r, w);
	return true;
}
/* end excerpt */

void
room_evict_unlisted(struct room *r, struct hub_member *m)
{
	if (!m->evicted)
		room_evict(r, m);
}

void
room_cut(struct room *r, struct hub_member *m, struct msg *last,
    struct queue_wakes *w)
{
	if (m->evicted)
		return;
	room_cut_off(r, m, last, HUB_CUT_NAME_LOST);
	room_settle(r, w);
}

void
room_exit(struct room *r, struct hub_member *m, const char *how,
    struct queue_wakes *w)
{
	bool found;

	if (m->evicted)         /* off the list, and announced, already */
		return;
	size_t i = room_find(r, m->name, &found);
	assert(found && r->members[i] == m);
	room_remove_at(r, i);
	room_announce_exit(r, m->name, how, w);
	room_settle(r, w);
}

/* ---- WHO ---------------------------------------------------------------- */

/*
 * A USERS line is as long as the room: 33 bytes a member. Every WHO used to
 * make its own copy, so a few clients asking again and again without
 * reading pinned hundreds of megabytes. Now one line is shared by every
 * reply until the list changes; each queue still counts its full size
 * against its limit (queue.h), and the asker's flood budget pays for it in
 * proportion (cmd.c).
 */
struct msg *
room_who(struct room *r)
{
	if (r->who == NULL) {
		char *names = malloc(r->count * (PROTO_MAX_NAME + 1) + 1);
		if (names == NULL)
			return NULL;
		char *p = names;
		*p = '\0';
		for (size_t i = 0; i < r->count; i++)
			p += sprintf(p, " %s", r->members[i]->name);
		r->who = msg_printf("USERS%s", names);
		free(names);
	}
	return r->who != NULL ? msg_ref(r->who) : NULL;
}
