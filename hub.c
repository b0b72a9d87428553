/*
 * hub.c - members and rooms; see hub.h for the contract, room.c for what
 * happens inside one room.
 *
 * The hub keeps two sorted arrays under its lock: members by name ignoring
 * ASCII case (LOGIN's uniqueness check and DM's lookup are binary searches)
 * and rooms by key. Beside each room it counts the members assigned to it
 * (member->room: listed there, or evicted and not yet gone) and when it
 * was last used. A room is held while anyone is assigned to it; an empty
 * one is forgotten at once unless it has history to offer the next
 * joiner, and then kept until a new room needs its place (--max-rooms):
 * the least recently used empty room goes first. #lobby is never
 * forgotten. So the rooms held, and their history, are bounded: at most
 * max_rooms x history lines (docs/DESIGN.md gives the figure).
 *
 * A room that is not held but may be on disk is read back by the JOIN
 * that needs it, holding no lock (hub_load_room): the hub says HUB_LOAD
 * and the reader comes back.
 */
#include "hub_internal.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "archive.h"
#include "msg.h"
#include "queue.h"
#include "sync.h"

struct hub_room {
	struct room *room;
	size_t assigned;        /* members whose ->room this is */
	uint64_t used;          /* h->clock when last entered or left */
};

/* A slow consumer that has left, as /debug lists it (hub_debug). */
struct hub_gone {
	char name[PROTO_MAX_NAME + 1];
	char room[PROTO_MAX_ROOM + 2];
	int64_t at_ms;                  /* when it left; CLOCK_MONOTONIC */
	struct queue_usage held;        /* its queue when it refused a push */
};

/* excerpt: hub */
struct hub {
	pthread_mutex_t lock;           /* protects everything below but pol,
	                                   and every member's room pointer */
	struct hub_member **members;    /* sorted by strcasecmp of name; names
	                                   unique ignoring case */
	size_t count;
	size_t cap;
	struct hub_room *rooms;         /* sorted by key; rooms[..].room of
	                                   #lobby is lobby */
	size_t nrooms;
	size_t max_rooms;               /* const */
	struct room *lobby;
	uint64_t clock;                 /* ticks at each enter and leave */
	struct room_policy pol;         /* const but its atomics */
	hub_load_fn *load;              /* const: clustered only */
	void *load_arg;                 /* const */
	struct hub_gone gone[HUB_DEBUG_EVICTED]; /* the last slow consumers
	                                   to leave, for /debug: a ring ... */
	unsigned long long ngone;       /* ... of which the next is
	                                   gone[ngone % HUB_DEBUG_EVICTED] */
};
/* end excerpt */

/* ---- Making and freeing ----------------------------------------------- */

struct hub *
hub_new(const struct hub_config *cfg, struct msg *const *lobby, size_t n)
{
	struct hub *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->pol.notices_max = cfg->notices_max;
	h->pol.history = cfg->history;
	h->pol.archive = cfg->archive;
	h->pol.clustered = cfg->clustered;
	h->load = cfg->load;
	h->load_arg = cfg->load_arg;
	assert(!cfg->clustered || (cfg->load != NULL && cfg->archive == NULL));
	h->max_rooms = cfg->max_rooms > 0 ? cfg->max_rooms : 1;
	h->pol.slow_consumer = msg_printf(PROTO_ERR_SLOW);
	h->rooms = calloc(h->max_rooms, sizeof(*h->rooms));
	h->lobby = room_new("#lobby", &h->pol, lobby, n);
	if (h->pol.slow_consumer == NULL || h->rooms == NULL ||
	    h->lobby == NULL) {
		msg_unref(h->pol.slow_consumer);
		room_free(h->lobby);
		free(h->rooms);
		free(h);
		return NULL;
	}
	h->rooms[h->nrooms++] = (struct hub_room){ .room = h->lobby };
	sync_mutex_init(&h->lock);
	return h;
}

void
hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	assert(h->count == 0);
	for (size_t i = 0; i < h->nrooms; i++)
		room_free(h->rooms[i].room);
	msg_unref(h->pol.slow_consumer);
	pthread_mutex_destroy(&h->lock);
	free(h->rooms);
	free(h->members);
	free(h);
}

/* ---- The member table (hub lock held) ---------------------------------- */

/* Index of name in the member table, or where it would go; sets *found. */
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

/* Lists m at index i, making room; false when memory ran out. */
static bool
hub_list(struct hub *h, size_t i, struct hub_member *m)
{
	if (h->count == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 16;
		struct hub_member **grown = realloc(h->members,
		    cap * sizeof(*grown));
		if (grown == NULL)
			return false;
		h->members = grown;
		h->cap = cap;
	}
	memmove(&h->members[i + 1], &h->members[i],
	    (h->count - i) * sizeof(h->members[0]));
	h->members[i] = m;
	h->count++;
	return true;
}

static void
hub_unlist(struct hub *h, struct hub_member *m)
{
	bool found;
	size_t i = hub_find(h, m->name, &found);

	assert(found && h->members[i] == m);
	memmove(&h->members[i], &h->members[i + 1],
	    (h->count - i - 1) * sizeof(h->members[0]));
	h->count--;
}

/* ---- The room table (hub lock held) ------------------------------------- */

/* Index of key in the room table, or where it would go; sets *found. */
static size_t
hub_room_find(struct hub *h, const char *key, bool *found)
{
	size_t lo = 0, hi = h->nrooms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(room_key(h->rooms[mid].room), key);
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

static struct hub_room *
hub_room_of(struct hub *h, const struct room *r)
{
	bool found;
	size_t i = hub_room_find(h, room_key(r), &found);

	assert(found && h->rooms[i].room == r);
	return &h->rooms[i];
}

static void
hub_room_drop(struct hub *h, size_t i)
{
	assert(i < h->nrooms && h->rooms[i].assigned == 0 &&
	    h->rooms[i].room != h->lobby);
	room_free(h->rooms[i].room);
	memmove(&h->rooms[i], &h->rooms[i + 1],
	    (h->nrooms - i - 1) * sizeof(h->rooms[0]));
	h->nrooms--;
}

/* Forgets the least recently used empty room (not #lobby) to make room
 * for another; false when every room held has someone in it. */
static bool
hub_room_evict_lru(struct hub *h)
{
	size_t best = h->nrooms;

	for (size_t i = 0; i < h->nrooms; i++)
		if (h->rooms[i].assigned == 0 && h->rooms[i].room != h->lobby &&
		    (best == h->nrooms || h->rooms[i].used < h->rooms[best].used))
			best = i;
	if (best == h->nrooms)
		return false;
	hub_room_drop(h, best);
	return true;
}

/* Adds a room named name with history preload; NULL with *st set when
 * there is no room for it (HUB_TOO_MANY_ROOMS) or no memory. */
static struct room *
hub_room_add(struct hub *h, const char *name, struct msg *const *preload,
    size_t n, enum hub_status *st)
{
	char key[PROTO_MAX_ROOM + 1];
	bool found;

	if (h->nrooms == h->max_rooms && !hub_room_evict_lru(h)) {
		*st = HUB_TOO_MANY_ROOMS;
		return NULL;
	}
	struct room *r = room_new(name, &h->pol, preload, n);
	if (r == NULL) {
		*st = HUB_REFUSED;
		return NULL;
	}
	proto_room_key(name, key);
	size_t i = hub_room_find(h, key, &found);
	assert(!found);
	memmove(&h->rooms[i + 1], &h->rooms[i],
	    (h->nrooms - i) * sizeof(h->rooms[0]));
	h->rooms[i] = (struct hub_room){ .room = r, .used = ++h->clock };
	h->nrooms++;
	return r;
}

/* m is now in r (assigned, not yet listed). */
static void
hub_assign(struct hub *h, struct hub_member *m, struct room *r)
{
	struct hub_room *e = hub_room_of(h, r);

	e->assigned++;
	e->used = ++h->clock;
	m->room = r;
}

/* m is no longer in its room; an empty room without history is forgotten
 * (empty_kept: it has history, and waits for the next joiner). */
static void
hub_unassign(struct hub *h, struct hub_member *m, bool empty_kept)
{
	bool found;
	size_t i = hub_room_find(h, room_key(m->room), &found);

	assert(found && h->rooms[i].assigned > 0);
	h->rooms[i].used = ++h->clock;
	if (--h->rooms[i].assigned == 0 && !empty_kept &&
	    h->rooms[i].room != h->lobby)
		hub_room_drop(h, i);
	m->room = NULL;
}

/* Whether a room held here is still being read from the cluster. */
static bool
hub_room_loading(struct room *r)
{
	room_lock(r);
	bool loading = room_loading(r);
	room_unlock(r);
	return loading;
}

/* ---- Logging in and out -------------------------------------------------- */

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
	sync_lock(&h->lock);
	size_t i = hub_find(h, name, &taken);
	if (taken) {
		st = HUB_NAME_TAKEN;
	} else if (hub_list(h, i, m)) {
		hub_assign(h, m, h->lobby);
		room_lock(h->lobby);
		bool in = room_enter(h->lobby, m, &wakes);
		room_unlock(h->lobby);
		if (in) {
			st = HUB_OK;
		} else {
			hub_unassign(h, m, true);
			hub_unlist(h, m);
		}
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	if (st == HUB_OK)
		*member = m;
	else
		free(m);
	return st;
}

static int64_t hub_now_ms(void);

/* Keeps m, leaving after an eviction, in the ring /debug shows: only a
 * slow consumer, whose queue refused a push (not one cut off because its
 * name was lost). Hub lock held; takes m's queue lock. */
static void
hub_remember_gone(struct hub *h, struct hub_member *m)
{
	struct hub_gone *g = &h->gone[h->ngone % HUB_DEBUG_EVICTED];

	if (!queue_refusal(m->out, &g->held))
		return;
	snprintf(g->name, sizeof(g->name), "%s", m->name);
	snprintf(g->room, sizeof(g->room), "%s", room_name(m->room));
	g->at_ms = hub_now_ms();
	h->ngone++;
}

void
hub_leave(struct hub *h, struct hub_member *m)
{
	struct queue_wakes wakes = { 0 };
	struct room *r = m->room;

	sync_lock(&h->lock);
	hub_unlist(h, m);
	room_lock(r);
	bool evicted = m->evicted;
	room_exit(r, m, "disconnected", &wakes);
	bool kept = room_history_len(r) > 0;
	room_unlock(r);
	if (evicted)
		hub_remember_gone(h, m);
	hub_unassign(h, m, kept);
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	free(m);
}

/* ---- Rooms ----------------------------------------------------------------- */

/* JOIN of the room m is in: "OK" and the history again. */
static enum hub_status
hub_reenter(struct room *r, struct hub_member *m, struct queue_wakes *w)
{
	struct msg *ok = msg_printf("OK");
	enum hub_status st = HUB_REFUSED;

	room_lock(r);
	if (ok != NULL && room_history(r, m, 0, ok, NULL, w))
		st = HUB_OK;
	room_unlock(r);
	msg_unref(ok);
	return st;
}

/* Moves m from its room to r (both held, r != m's room). */
static enum hub_status
hub_move(struct hub *h, struct hub_member *m, struct room *r,
    struct queue_wakes *w)
{
	struct room *old = m->room;

	room_lock(old);
	bool gone = m->evicted;         /* cut off meanwhile: it goes nowhere */
	room_exit(old, m, "left", w);
	bool kept = room_history_len(old) > 0;
	room_unlock(old);
	if (gone)
		return HUB_REFUSED;
	hub_unassign(h, m, kept);
	hub_assign(h, m, r);
	room_lock(r);
	if (!room_enter(r, m, w))
		room_evict_unlisted(r, m);      /* no memory: cut off */
	room_unlock(r);
	return HUB_OK;
}

enum hub_status
hub_enter(struct hub *h, struct hub_member *m, const char *room)
{
	struct queue_wakes wakes = { 0 };
	char key[PROTO_MAX_ROOM + 1];
	enum hub_status st = HUB_OK;
	bool found;

	assert(proto_room_ok(room));
	proto_room_key(room, key);
	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	struct room *r = found ? h->rooms[i].room : NULL;
	if (r == m->room)
		st = hub_reenter(r, m, &wakes);
	else if (r == NULL && (h->pol.archive != NULL || h->pol.clustered))
		st = HUB_LOAD;
	else if (r != NULL && hub_room_loading(r))
		st = HUB_LOAD;
	else if (r == NULL)
		r = hub_room_add(h, room, NULL, 0, &st);
	if (r != NULL && r != m->room && st == HUB_OK)
		st = hub_move(h, m, r, &wakes);
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	return st;
}

/* hub_load_room, clustered, step one: the room named room is made if it
 * is not held, so that its lines from the bus are kept from now on; *had
 * is the number of the newest line it has (0 for a new one). */
static enum hub_status
hub_room_open(struct hub *h, const char *room, const char *key,
    unsigned long long *had)
{
	enum hub_status st = HUB_OK;
	bool found;

	*had = 0;
	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	if (!found) {
		hub_room_add(h, room, NULL, 0, &st);
	} else {
		room_lock(h->rooms[i].room);
		*had = room_last_seq(h->rooms[i].room);
		room_unlock(h->rooms[i].room);
	}
	sync_unlock(&h->lock);
	return st;
}

/* Step three: the lines read (and Redis's count, newest) merged into the
 * room, if it is still held (else forgotten meanwhile: JOIN comes back and
 * makes it again). Its members are given the lines they missed: those
 * numbered past the newest the room had (the bus was lost, or had a gap,
 * or Redis lost its data and numbers from 1 again). */
static enum hub_status
hub_room_merge(struct hub *h, const char *key, unsigned long long had,
    unsigned long long newest, const struct hub_hist *lines, size_t n)
{
	struct queue_wakes wakes = { 0 };
	enum hub_status st = HUB_OK;
	bool found;

	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	if (found) {
		struct room *r = h->rooms[i].room;
		room_lock(r);
		unsigned long long above = room_last_seq(r);
		/* Redis's numbers went back (it came back from an older
		 * snapshot): what this room had before asking is past what
		 * Redis counts now, gone there, and its numbers will be used
		 * again. Start from what Redis has. (Lines heard since asking
		 * may be numbered past newest; that is no sign of it.) */
		if (newest < had) {
			room_forget(r);
			above = ULLONG_MAX;     /* old lines: had already */
		}
		if (!room_merge(r, lines, n, newest))
			st = HUB_REFUSED;
		else
			room_missed(r, lines, n, above, &wakes);
		room_unlock(r);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	return st;
}

/* hub_load_room, clustered: make the room, read (no lock held), merge. */
static enum hub_status
hub_load_clustered(struct hub *h, const char *room)
{
	char key[PROTO_MAX_ROOM + 1];
	struct hub_hist *lines = NULL;
	unsigned long long newest = 0, had;

	proto_room_key(room, key);
	enum hub_status st = hub_room_open(h, room, key, &had);
	if (st != HUB_OK)
		return st;
	long n = h->load(h->load_arg, key, h->pol.history, &lines, &newest);
	if (n < 0)
		return HUB_UNAVAILABLE;
	st = hub_room_merge(h, key, had, newest, lines, (size_t)n);
	for (long j = 0; j < n; j++) {
		msg_unref(lines[j].line);
		msg_unref(lines[j].live);
	}
	free(lines);
	return st;
}

enum hub_status
hub_load_room(struct hub *h, const char *room)
{
	char key[PROTO_MAX_ROOM + 1];
	struct msg **lines = NULL;
	enum hub_status st = HUB_OK;
	bool found;

	if (h->pol.clustered)
		return hub_load_clustered(h, room);
	proto_room_key(room, key);
	size_t n = archive_load(h->pol.archive, key, h->pol.history, &lines);
	sync_lock(&h->lock);
	hub_room_find(h, key, &found);
	if (!found)                     /* else someone made it meanwhile */
		hub_room_add(h, room, lines, n, &st);
	sync_unlock(&h->lock);
	for (size_t i = 0; i < n; i++)
		msg_unref(lines[i]);
	free(lines);
	return st;
}

/* ---- Saying things ------------------------------------------------------- */

/* UTC now as "YYYY-MM-DDTHH:MM:SSZ", made once a second per thread. */
static const char *
hub_now_text(void)
{
	static __thread char text[32];
	static __thread time_t made;
	time_t now = time(NULL);
	struct tm tm;

	if (now != made) {
		gmtime_r(&now, &tm);
		strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
		made = now;
	}
	return text;
}

bool
hub_line_make(struct hub *h, const struct hub_member *from,
    const char *text, struct hub_line *out)
{
	const char *now = h->pol.history > 0 || h->pol.archive != NULL ?
	    hub_now_text() : NULL;

	*out = (struct hub_line){ 0 };
	out->live = msg_printf("MSG %s %s", from->name, text);
	if (h->pol.history > 0)
		out->hist = msg_printf("HIST %s %s %s", now, from->name, text);
	if (h->pol.archive != NULL)
		out->archive = msg_printf("%s %s %s %s", room_key(from->room),
		    now, from->name, text);
	if (out->live == NULL || (h->pol.history > 0 && out->hist == NULL) ||
	    (h->pol.archive != NULL && out->archive == NULL)) {
		hub_line_free(out);
		return false;
	}
	return true;
}

void
hub_line_free(struct hub_line *l)
{
	msg_unref(l->live);
	msg_unref(l->hist);
	msg_unref(l->archive);
	*l = (struct hub_line){ 0 };
}

/* excerpt: hub-say */
enum hub_status
hub_say(struct hub *h, struct hub_member *from, const struct hub_line *lines,
    size_t n, struct hub_trace *trace)
{
	struct queue_wakes wakes = { 0 };
	struct room *r = from->room;    /* only from's reader changes it */

	assert(from != NULL && r != NULL && (n == 0 || lines != NULL));
	room_lock(r);
	bool said = room_say(r, from, lines, n, &wakes, trace);
	room_unlock(r);
	queue_wake_all(&wakes);
	(void)h;
	return said ? HUB_OK : HUB_BUSY;
}
/* end excerpt */

/*
 * A DM holds the hub lock (to find the recipient, and to keep it in its
 * room) and the recipient's room lock (to push, and to evict if need be).
 * The sender's evicted flag belongs to another room's lock, which may not
 * be taken beside this one; an evicted sender's reader stops before its
 * next line anyway, so a DM racing its own eviction may still go out.
 */
enum hub_status
hub_dm(struct hub *h, struct hub_member *from, const char *to,
    const char *text, struct hub_trace *trace)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("DM %s %s", from->name, text);
	bool found;

	if (line == NULL)
		return HUB_REFUSED;
	sync_lock(&h->lock);
	size_t i = hub_find(h, to, &found);
	if (found) {
		struct hub_member *m = h->members[i];
		atomic_fetch_add_explicit(&h->pol.dms, 1, memory_order_relaxed);
		room_lock(m->room);
		room_push_to(m->room, m, line, &wakes, trace);
		room_unlock(m->room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
	return found ? HUB_OK : HUB_NO_SUCH_USER;
}

/* ---- Clustered: the bus -------------------------------------------------- */

/* The room held here whose key is key, or NULL. Hub lock held. */
static struct room *
hub_room_named(struct hub *h, const char *key)
{
	bool found;
	size_t i = hub_room_find(h, key, &found);

	return found ? h->rooms[i].room : NULL;
}

size_t
hub_bus_say(struct hub *h, const char *key, const struct hub_bus_line *lines,
    size_t n)
{
	struct queue_wakes wakes = { 0 };
	struct msg *live[HUB_BUS_BATCH], *hist[HUB_BUS_BATCH];
	bool made = true;
	size_t done = n;        /* dropped: not held here, or no memory */

	assert(n <= HUB_BUS_BATCH);
	for (size_t i = 0; i < n; i++) {
		live[i] = msg_printf("MSG %s %s", lines[i].from, lines[i].text);
		hist[i] = h->pol.history > 0 ? msg_printf("HIST %s %s %s",
		    lines[i].time, lines[i].from, lines[i].text) : NULL;
		made = made && live[i] != NULL && (hist[i] != NULL ||
		    h->pol.history == 0);
	}
	if (made) {
		sync_lock(&h->lock);
		struct room *r = hub_room_named(h, key);
		if (r != NULL) {
			room_lock(r);
			done = room_bus_say(r, lines, live, hist, n, &wakes);
			room_unlock(r);
		}
		sync_unlock(&h->lock);
	}
	queue_wake_all(&wakes);
	for (size_t i = 0; i < n; i++) {
		msg_unref(live[i]);
		msg_unref(hist[i]);
	}
	return done;
}

void
hub_bus_notice(struct hub *h, const char *key, const char *name,
    const char *how)
{
	struct queue_wakes wakes = { 0 };
	struct msg *notice = msg_printf("INFO %s %s", name, how);

	if (notice == NULL)
		return;
	sync_lock(&h->lock);
	struct room *r = hub_room_named(h, key);
	if (r != NULL) {
		room_lock(r);
		room_bus_notice(r, name, notice, &wakes);
		room_unlock(r);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(notice);
}

void
hub_bus_dm(struct hub *h, const char *to, const char *from, const char *text)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("DM %s %s", from, text);
	bool found;

	if (line == NULL)
		return;
	sync_lock(&h->lock);
	size_t i = hub_find(h, to, &found);
	if (found) {
		struct hub_member *m = h->members[i];
		atomic_fetch_add_explicit(&h->pol.dms, 1, memory_order_relaxed);
		room_lock(m->room);
		room_push_to(m->room, m, line, &wakes, NULL);
		room_unlock(m->room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
}

void
hub_tell_all(struct hub *h, const char *text)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("%s", text);

	if (line == NULL)
		return;
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->nrooms; i++) {
		room_lock(h->rooms[i].room);
		room_tell_all(h->rooms[i].room, line, &wakes);
		room_unlock(h->rooms[i].room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
}

size_t
hub_rooms_held(struct hub *h, char (**out)[PROTO_MAX_ROOM + 2])
{
	size_t n = 0;

	sync_lock(&h->lock);
	*out = h->nrooms > 0 ? malloc(h->nrooms * sizeof(**out)) : NULL;
	for (size_t i = 0; *out != NULL && i < h->nrooms; i++)
		snprintf((*out)[n++], sizeof(**out), "%s",
		    room_name(h->rooms[i].room));
	sync_unlock(&h->lock);
	return n;
}

void
hub_forget_history(struct hub *h)
{
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->nrooms; i++) {
		room_lock(h->rooms[i].room);
		room_forget(h->rooms[i].room);
		room_unlock(h->rooms[i].room);
	}
	sync_unlock(&h->lock);
}

void
hub_drop(struct hub *h, const char *name, const char *text)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("%s", text);
	bool found;

	if (line == NULL)
		return;
	sync_lock(&h->lock);
	size_t i = hub_find(h, name, &found);
	if (found) {
		struct hub_member *m = h->members[i];
		room_lock(m->room);
		room_cut(m->room, m, line, &wakes);
		room_unlock(m->room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
}

size_t
hub_roster(struct hub *h, struct hub_roster **out)
{
	sync_lock(&h->lock);
	size_t n = h->count;
	*out = n > 0 ? malloc(n * sizeof(**out)) : NULL;
	for (size_t i = 0; *out != NULL && i < n; i++) {
		snprintf((*out)[i].name, sizeof((*out)[i].name), "%s",
		    h->members[i]->name);
		snprintf((*out)[i].room, sizeof((*out)[i].room), "%s",
		    room_name(h->members[i]->room));
	}
	sync_unlock(&h->lock);
	return *out != NULL ? n : 0;
}

/* ---- Asking about things ------------------------------------------------- */

struct msg *
hub_who(struct hub *h, struct hub_member *m, const char *room)
{
	char key[PROTO_MAX_ROOM + 1];
	struct msg *line;
	bool found;

	if (room == NULL) {             /* m's own: only its reader moves it */
		room_lock(m->room);
		line = room_who(m->room);
		room_unlock(m->room);
		return line;
	}
	proto_room_key(room, key);
	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	if (found) {
		room_lock(h->rooms[i].room);
		line = room_who(h->rooms[i].room);
		room_unlock(h->rooms[i].room);
	} else {
		line = msg_printf("USERS");
	}
	sync_unlock(&h->lock);
	return line;
}

struct msg *
hub_rooms(struct hub *h)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct msg *line = NULL;

	if (f == NULL)
		return NULL;
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->nrooms; i++) {
		struct room *r = h->rooms[i].room;
		room_lock(r);
		size_t count = room_count(r);
		room_unlock(r);
		if (count > 0 || r == h->lobby)
			fprintf(f, " %s %zu", room_name(r), count);
	}
	sync_unlock(&h->lock);
	if (fclose(f) == 0)
		line = msg_printf("ROOMS%s", text);
	free(text);
	return line;
}

enum hub_status
hub_history(struct hub *h, struct hub_member *m, size_t n, size_t *bytes)
{
	struct queue_wakes wakes = { 0 };
	struct msg *ok = msg_printf("OK");
	bool done = false;

	(void)h;
	*bytes = 0;
	if (ok != NULL) {
		room_lock(m->room);
		*bytes = room_history_bytes(m->room, n);
		done = room_history(m->room, m, n, NULL, ok, &wakes);
		room_unlock(m->room);
	}
	queue_wake_all(&wakes);
	msg_unref(ok);
	return done ? HUB_OK : HUB_REFUSED;
}

const char *
hub_member_name(const struct hub_member *m)
{
	return m->name;
}

const char *
hub_member_room(const struct hub_member *m)
{
	return room_name(m->room);
}

void
hub_close(struct hub *h)
{
	atomic_store(&h->pol.closing, true);
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
	out->members = h->count;
	out->rooms = h->nrooms;
	sync_unlock(&h->lock);
	out->messages = atomic_load(&h->pol.messages);
	out->dms = atomic_load(&h->pol.dms);
	out->deliveries = atomic_load(&h->pol.deliveries);
	out->evictions = atomic_load(&h->pol.evictions);
	out->refused = atomic_load(&h->pol.refused);
}

void
hub_stats_queues(struct hub *h, struct hub_stats *out)
{
	struct queue_usage u;

	out->queued_lines = out->queued_bytes = 0;
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->count; i++) {
		queue_usage(h->members[i]->out, &u);
		out->queued_lines += u.lines;
		out->queued_bytes += u.bytes;
	}
	sync_unlock(&h->lock);
}

/* ---- What GET /debug shows ---------------------------------------------- */

/*
 * The budget is packed into one 64-bit word so that publishing it is one
 * store and a reader never sees the tokens of one line with the time of
 * another: the high half is the time (ms, modulo 2^32: only differences
 * are used, and a budget is read within seconds of being stored), the low
 * half the tokens in thousandths, as a signed 32-bit number.
 */
#define HUB_MILLI_MAX 2000000000.0

void
hub_member_set_budget(struct hub_member *m, double tokens, int64_t at_ms)
{
	double milli = tokens * 1000.0;

	if (milli > HUB_MILLI_MAX)
		milli = HUB_MILLI_MAX;
	if (milli < -HUB_MILLI_MAX)
		milli = -HUB_MILLI_MAX;
	uint64_t word = (uint64_t)(uint32_t)at_ms << 32 |
	    (uint32_t)(int32_t)milli;
	atomic_store_explicit(&m->budget, word, memory_order_relaxed);
}

/* The budget in word as of now_ms, refilled at rate a second up to burst
 * as flood.c does. A member that has published none yet has a full one. */
static double
hub_budget_now(uint64_t word, int64_t now_ms, size_t burst, size_t rate)
{
	double tokens = (int32_t)(uint32_t)(word & 0xffffffffu) / 1000.0;
	uint32_t age = (uint32_t)now_ms - (uint32_t)(word >> 32);

	if (word == 0 || rate == 0)
		return word == 0 ? (double)burst : tokens;
	tokens += (double)age * (double)rate / 1000.0;
	return tokens > (double)burst ? (double)burst : tokens;
}

/* One member as /debug shows it, copied under the locks. */
struct hub_debug_row {
	char name[PROTO_MAX_NAME + 1];
	char room[PROTO_MAX_ROOM + 2];
	struct queue_usage q;
	uint64_t budget;
	bool evicted;
};

/* Hub lock held; takes m's room lock, then its queue's. */
static void
hub_debug_copy(const struct hub_member *m, struct hub_debug_row *row)
{
	snprintf(row->name, sizeof(row->name), "%s", m->name);
	snprintf(row->room, sizeof(row->room), "%s", room_name(m->room));
	room_lock(m->room);
	row->evicted = m->evicted;
	room_unlock(m->room);
	queue_usage(m->out, &row->q);
	row->budget = atomic_load_explicit(&m->budget, memory_order_relaxed);
}

/* s as a JSON string: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8) as they are. */
static void
hub_json_string(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

static void
hub_debug_members(FILE *out, const struct hub_debug_row *rows, size_t n,
    int64_t now, size_t burst, size_t rate)
{
	fputs("\"members\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ",\n{\"name\":" : "\n{\"name\":", out);
		hub_json_string(out, rows[i].name);
		fputs(",\"room\":", out);
		hub_json_string(out, rows[i].room);
		fprintf(out, ",\"lines\":%zu,\"bytes\":%zu,\"budget\":%.3f,"
		    "\"evicted\":%s}", rows[i].q.lines, rows[i].q.bytes,
		    hub_budget_now(rows[i].budget, now, burst, rate),
		    rows[i].evicted ? "true" : "false");
	}
	fputs("]", out);
}

static void
hub_debug_gone(FILE *out, const struct hub_gone *gone, size_t n, int64_t now)
{
	fputs("\"evicted\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ",\n{\"name\":" : "\n{\"name\":", out);
		hub_json_string(out, gone[i].name);
		fputs(",\"room\":", out);
		hub_json_string(out, gone[i].room);
		fprintf(out, ",\"age_ms\":%lld,\"bytes\":%zu,\"limit\":\"%s\"}",
		    (long long)(now - gone[i].at_ms), gone[i].held.bytes,
		    gone[i].held.limit == 's' ? "soft" : "hard");
	}
	fputs("]", out);
}

void
hub_debug(struct hub *h, FILE *out, size_t burst, size_t rate)
{
	struct hub_gone gone[HUB_DEBUG_EVICTED];
	size_t ngone = 0;

	sync_lock(&h->lock);
	size_t n = h->count;
	struct hub_debug_row *rows = n > 0 ? malloc(n * sizeof(*rows)) : NULL;
	for (size_t i = 0; rows != NULL && i < n; i++)
		hub_debug_copy(h->members[i], &rows[i]);
	for (unsigned long long k = h->ngone; k > 0 && ngone <
	    HUB_DEBUG_EVICTED; k--)                     /* newest first */
		gone[ngone++] = h->gone[(k - 1) % HUB_DEBUG_EVICTED];
	sync_unlock(&h->lock);

	int64_t now = hub_now_ms();
	hub_debug_members(out, rows, rows != NULL ? n : 0, now, burst, rate);
	fputs(",\n", out);
	hub_debug_gone(out, gone, ngone, now);
	free(rows);
}

static int64_t
hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
