/*
 * hub_table.h - the hub's layout, and what the files that make up the hub
 * share: hub.c (logging in and out, JOIN, saying things), hub_table.c (the
 * member and room tables), hub_ask.c (WHO, ROOMS, HISTORY and the counts),
 * hub_cluster.c (what the bus brings, and reading a room back from the
 * cluster) and hub_debug.c (what GET /debug shows). hub.h has the design
 * and the contract, hub.c's top comment how the tables work. room.c does
 * not include this file: a room knows nothing of the hub that holds it
 * (hub_internal.h is what the two share).
 *
 * Locks, as hub.h states them: the hub lock, then a room's lock, then a
 * queue's. Each function below says which it needs held.
 */
#ifndef HUBCHAT_HUB_TABLE_H
#define HUBCHAT_HUB_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub_internal.h"
#include "queue.h"      /* struct queue_usage */

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

/* ---- The member table (hub_table.c; hub lock held) ---------------------- */

/* Index of name in the member table, or where it would go; sets *found. */
size_t hub_find(struct hub *h, const char *name, bool *found);

/* Lists m at index i, making room; false when memory ran out. */
bool hub_list(struct hub *h, size_t i, struct hub_member *m);

/* Takes m, which is listed, off the member table. */
void hub_unlist(struct hub *h, struct hub_member *m);

/* ---- The room table (hub_table.c; hub lock held) ------------------------ */

/* Index of key in the room table, or where it would go; sets *found. */
size_t hub_room_find(struct hub *h, const char *key, bool *found);

/* Adds a room named name with history preload; NULL with *st set when
 * there is no room for it (HUB_TOO_MANY_ROOMS) or no memory. */
struct room *hub_room_add(struct hub *h, const char *name,
    struct msg *const *preload, size_t n, enum hub_status *st);

/* m is now in r (assigned, not yet listed). */
void hub_assign(struct hub *h, struct hub_member *m, struct room *r);

/* m is no longer in its room; an empty room without history is forgotten
 * (empty_kept: it has history, and waits for the next joiner). */
void hub_unassign(struct hub *h, struct hub_member *m, bool empty_kept);

/* ---- Clustered: reading a room back (hub_cluster.c) --------------------- */

/* hub_load_room for a clustered hub (hub.h), and hub_read_back: makes the
 * room if need be, reads its history from the cluster holding no lock,
 * and merges it in. Blocks while reading: call it holding no lock. */
enum hub_status hub_load_clustered(struct hub *h, const char *room,
    bool data_lost);

/* ---- /debug's ring of slow consumers (hub_debug.c) ---------------------- */

/* Keeps m, leaving after an eviction, in the ring /debug shows: only a
 * slow consumer, whose queue refused a push (not one cut off because its
 * name was lost). Hub lock held; takes m's queue lock. */
void hub_remember_gone(struct hub *h, struct hub_member *m);

#endif
