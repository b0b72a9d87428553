/*
 * hub_internal.h - what the hub (hub.c and the files hub_table.h lists)
 * and the room (room.c, room_hist.c) share, and nothing else includes: a
 * member's layout, the policy every room follows, and the room's API.
 * To the rest of the server members and rooms are opaque (hub.h).
 *
 * Locks, as hub.h states them: the hub lock, then a room's lock, then a
 * queue's. Each function below says which it needs held.
 */
#ifndef HUBCHAT_HUB_INTERNAL_H
#define HUBCHAT_HUB_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "hub.h"

struct archive;
struct queue_wakes;

struct hub_member {
	char name[PROTO_MAX_NAME + 1];  /* fixed at login */
	struct queue *out;              /* the owner's; pushed to while listed
	                                   in a room */
	hub_kick_fn *kick;
	void *kick_arg;
	struct room *room;              /* the room it is in: changed only
	                                   under the hub lock, by its own
	                                   reader's LOGIN or JOIN, so that
	                                   reader reads it without a lock */
	bool evicted;                   /* protected by room->lock; once true,
	                                   it is off room's list for good */
	atomic_ullong budget;           /* its flood budget for /debug: see
	                                   hub_member_set_budget. Stored by
	                                   its own reader alone, read by any
	                                   thread; relaxed, no lock */
};

/* Index of name in members[0..n), sorted by strcasecmp of name, or where
 * it would go; sets *found. The hub's table and each room's list are
 * searched with it (hub_table.c). The caller holds the list's lock. */
size_t hub_member_search(struct hub_member *const *members, size_t n,
    const char *name, bool *found);

/* What every room follows and counts into; the hub's, shared by its
 * rooms. Counters are atomic: rooms count under their own locks. */
struct room_policy {
	size_t notices_max;             /* const: join/leave notices up to
	                                   this room size */
	size_t history;                 /* const: messages kept per room */
	struct archive *archive;        /* const; NULL: memory only */
	bool clustered;                 /* const: lines and notices come from
	                                   the cluster's bus (hub.h) */
	struct msg *slow_consumer;      /* const: an evicted member's last
	                                   line */
	atomic_bool closing;            /* the server is stopping: no notices */
	atomic_ullong messages;         /* hub_stats's counters */
	atomic_ullong dms;
	atomic_ullong deliveries;
	atomic_ullong evictions;
	atomic_ullong refused;          /* lines the archive had no room for */
};

/* ---- A room (room.c; its history and what is said, room_hist.c) --------- */

/* A room named name ("#Rust": shown as given), empty, whose history starts
 * with the n HIST lines of preload (oldest first; references taken; the
 * newest pol->history are kept). NULL when memory runs out. No lock. */
struct room *room_new(const char *name, struct room_policy *pol,
    struct msg *const *preload, size_t n);

/* Frees a room nobody is in or assigned to. Hub lock held. */
void room_free(struct room *r);

void room_lock(struct room *r);
void room_unlock(struct room *r);

/* The name as shown, and the key: lowercase without '#', for the room
 * table and the history file. Const for the room's life. */
const char *room_name(const struct room *r);
const char *room_key(const struct room *r);

/* Members listed now. Room lock held. */
size_t room_count(const struct room *r);

/* Messages kept in its history now. Room lock held. */
size_t room_history_len(const struct room *r);

/* Bytes of the last n messages kept (0: all). Room lock held. */
size_t room_history_bytes(const struct room *r, size_t n);

/* Clustered: made (or forgotten by room_forget) but its history not yet
 * read from Redis. Room lock held. */
bool room_loading(const struct room *r);

/* Clustered: the number of the newest line the room has. Room lock
 * held. */
unsigned long long room_last_seq(const struct room *r);

/* Adds m (assigned to r by the caller, not listed, not evicted) after
 * pushing it "OK" and then the room's whole history, and tells the others
 * "INFO <name> joined" (up to notices_max). So m's stream is the history
 * up to now, then every later line: the snapshot and the subscription are
 * one critical section. true: done, or m's queue took the OK but not the
 * history, and m was evicted (a slow consumer). false: nothing was pushed
 * and m is not listed (memory ran out, or m's queue took no OK). Room
 * lock held. */
bool room_enter(struct room *r, struct hub_member *m, struct queue_wakes *w);

/* Evicts m, assigned to r but not listed in it (a JOIN that could not
 * complete): its queue is aborted and its owner kicked. Room lock held. */
void room_evict_unlisted(struct room *r, struct hub_member *m);

/* Takes m off the list and tells the others "INFO <name> <how>" (left,
 * disconnected), up to notices_max; nothing for an evicted member, which
 * was announced when it was cut off. Room lock held. */
void room_exit(struct room *r, struct hub_member *m, const char *how,
    struct queue_wakes *w);

/* Delivers n lines said by from (a member of r) to everyone else in r, in
 * order, and keeps them in the history; with an archive, hands it their
 * archive lines first. false (nothing delivered, nothing kept) when the
 * archive has no room for them. An evicted member has no voice: true,
 * and nothing happens. Room lock held. */
bool room_say(struct room *r, struct hub_member *from,
    const struct hub_line *lines, size_t n, struct queue_wakes *w,
    struct hub_trace *trace);

/* Pushes one line to m, a member of r, evicting m when its queue is over
 * its limit. Room lock held. */
void room_push_to(struct room *r, struct hub_member *m, struct msg *line,
    struct queue_wakes *w, struct hub_trace *trace);

/* Pushes m, a member of r, first (when not NULL), the last n lines of
 * history (0: all kept), then last (when not NULL). false when its queue
 * cannot take them: m is then evicted. Room lock held. */
bool room_history(struct room *r, struct hub_member *m, size_t n,
    struct msg *first, struct msg *last, struct queue_wakes *w);

/* ---- Clustered rooms: what the bus brings (hub_bus_*) ---- */

/* Lines[0..n) of the room (n <= HUB_BUS_BATCH): each kept as hist[i] and
 * pushed as live[i] to every member but its sender, each member's share
 * as one batch. A line whose seq is not above the newest the room has is
 * one it has already (read back, or heard twice): skipped. Once the room
 * is read back (not loading), lines come numbered one after another; the
 * first that does not is a gap, and stops it. Returns how many lines it
 * went through: n, or the index of the gap. Room lock held. */
size_t room_bus_say(struct room *r, const struct hub_bus_line *lines,
    struct msg *const *live, struct msg *const *hist, size_t n,
    struct queue_wakes *w);

/* A join or leave notice about name, to every member but name, while the
 * room has at most notices_max members. Room lock held. */
void room_bus_notice(struct room *r, const char *name, struct msg *notice,
    struct queue_wakes *w);

/* Cuts m, a member of r, off with last as its final line (as an eviction
 * does, without counting one): its name was lost (HUB_CUT_NAME_LOST).
 * Room lock held. */
void room_cut(struct room *r, struct hub_member *m, struct msg *last,
    struct queue_wakes *w);

/* Pushes line to every member. Room lock held. */
void room_tell_all(struct room *r, struct msg *line, struct queue_wakes *w);

/* Makes the history the union of what it has and in[0..n) (oldest first,
 * by seq), each seq once, the newest pol->history kept; the newest number
 * the room has becomes at least newest (Redis's count when in was read);
 * no longer loading. The caller keeps its references to in's lines. false
 * when memory ran out (nothing changed). Room lock held. */
bool room_merge(struct room *r, const struct hub_hist *in, size_t n,
    unsigned long long newest);

/* Pushes each of in[0..n) numbered above `above` (its live line) to every
 * member but its sender: what they missed, in order. Room lock held. */
void room_missed(struct room *r, const struct hub_hist *in, size_t n,
    unsigned long long above, struct queue_wakes *w);

/* Forgets the history and its numbering (Redis lost its data: its
 * numbers start again) and marks the room loading. Room lock held. */
void room_forget(struct room *r);

/* The USERS line of the room: shared until the list changes; one
 * reference for the caller; NULL when memory runs out. Room lock held. */
struct msg *room_who(struct room *r);

#endif
