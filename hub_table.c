/*
 * hub_table.c - the hub's two tables, sorted arrays under the hub lock:
 * its members by name ignoring ASCII case, and its rooms by key, each room
 * with the members assigned to it and when it was last used; and which
 * empty room is forgotten when. Each function's contract is in
 * hub_table.h; hub.c's top comment says how the tables work, hub.h the
 * design.
 */
#include "hub_table.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

/* ---- The member table (hub lock held) ---------------------------------- */

size_t
hub_member_search(struct hub_member *const *members, size_t n,
    const char *name, bool *found)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcasecmp(members[mid]->name, name);
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

size_t
hub_find(struct hub *h, const char *name, bool *found)
{
	return hub_member_search(h->members, h->count, name, found);
}

bool
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

void
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

size_t
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

struct room *
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

void
hub_assign(struct hub *h, struct hub_member *m, struct room *r)
{
	struct hub_room *e = hub_room_of(h, r);

	e->assigned++;
	e->used = ++h->clock;
	m->room = r;
}

void
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
