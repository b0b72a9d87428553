/*
 * hub.c - members and rooms; see hub.h for the contract, room.c for what
 * happens inside one room.
 *
 * This file holds what a member does: logging in and out, JOIN, saying
 * things. The rest of the hub: its layout in hub_table.h, its two tables in
 * hub_table.c, what it answers when asked in hub_ask.c, the cluster's side
 * in hub_cluster.c, and what GET /debug shows in hub_debug.c.
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
#include "hub_table.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "archive.h"
#include "msg.h"
#include "queue.h"
#include "sync.h"

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

/* Whether a room held here is still being read from the cluster. */
static bool
hub_room_loading(struct room *r)
{
	room_lock(r);
	bool loading = room_loading(r);
	room_unlock(r);
	return loading;
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

enum hub_status
hub_load_room(struct hub *h, const char *room)
{
	char key[PROTO_MAX_ROOM + 1];
	struct msg **lines = NULL;
	enum hub_status st = HUB_OK;
	bool found;

	if (h->pol.clustered)
		return hub_load_clustered(h, room, false);
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
	out->live = msg_words((const char *[]){ "MSG", from->name, text }, 3);
	if (h->pol.history > 0)
		out->hist = msg_words((const char *[]){ "HIST", now, from->name,
		    text }, 4);
	if (h->pol.archive != NULL)
		out->archive = msg_words((const char *[]){ room_key(from->room),
		    now, from->name, text }, 4);
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
