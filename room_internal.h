/*
 * room_internal.h - what room.c and room_hist.c share, and nothing else
 * includes: a room's layout, and the steps of delivery and of the history
 * that each file takes from the other. The room's API, for hub.c, is in
 * hub_internal.h; to the rest of the server a room is opaque (hub.h).
 *
 * Every function here runs with the room's lock held (or, for room_keep,
 * on a room nobody else can see yet); its contract is in the comment
 * above its definition.
 */
#ifndef HUBCHAT_ROOM_INTERNAL_H
#define HUBCHAT_ROOM_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "hub_internal.h"

struct msg;
struct queue_wakes;

/* excerpt: room */
struct room {
	char name[PROTO_MAX_ROOM + 2];  /* "#Rust", as first created; const */
	char key[PROTO_MAX_ROOM + 1];   /* "rust"; const */
	struct room_policy *pol;        /* the hub's; rooms count into it */
	pthread_mutex_t lock;           /* protects everything below, and the
	                                   evicted flag of every member whose
	                                   room this is */
	struct hub_member **members;    /* sorted by strcasecmp of name */
	size_t count;
	size_t cap;
	struct msg **hist;              /* a ring of pol->history HIST lines */
	unsigned long long *hist_seq;   /* beside each, its sequence number in
	                                   the cluster (0 on one node) */
	size_t hist_head;               /* the oldest, when hist_len > 0 */
	size_t hist_len;
	unsigned long long last_seq;    /* clustered: the newest line's number;
	                                   a bus line at or below it is one
	                                   this room has already */
	bool loading;                   /* clustered: made, its history not yet
	                                   read from Redis (hub_load_room) */
	struct msg *who;                /* the USERS line while the list is
	                                   unchanged, or NULL */
};
/* end excerpt */

/* ---- Delivery and the list (room.c) ------------------------------------- */

/* Cuts m off as a slow consumer (counted in pol->evictions): its backlog
 * gives way to the slow-consumer line and its owner is kicked. m must not
 * be evicted already; it stays listed until room_settle. */
void room_evict(struct room *r, struct hub_member *m);
void room_push(struct room *r, struct hub_member *to, struct msg **msgs,
    size_t n, size_t cost, struct queue_wakes *w, struct hub_trace *trace);
void room_push_all(struct room *r, const struct hub_member *except,
    struct msg **msgs, size_t n, struct queue_wakes *w,
    struct hub_trace *trace);
size_t room_find(const struct room *r, const char *name, bool *found);
void room_settle(struct room *r, struct queue_wakes *w);

/* ---- The history (room_hist.c) ------------------------------------------ */

void room_keep(struct room *r, struct msg *hist, unsigned long long seq);
bool room_replay(struct room *r, struct hub_member *m, size_t n,
    struct queue_wakes *w);

#endif
