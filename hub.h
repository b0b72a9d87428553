/*
 * hub.h - who is logged in, the rooms they are in, and delivery into their
 * queues.
 *
 * Whoever has something to say calls the hub from its own thread (a
 * client's reader, usually); the hub pushes the line straight into each
 * recipient's queue. There is no global channel and no broadcaster thread.
 * Every logged-in member is in exactly one room: LOGIN puts it in #lobby,
 * JOIN moves it. A message goes to the sender's room, a DM to one member
 * anywhere, a join or leave notice to the room it concerns.
 *
 * The hub never blocks while holding a lock: a push never waits, and a
 * recipient whose queue is over its limit is a slow consumer, evicted on
 * the spot: taken off its room's list, its queue aborted with a final
 * "ERR slow-consumer" line, its owner kicked, and its departure announced
 * to the room. Nobody else is delayed and nobody is silently skipped.
 *
 * Locks, and the one order they are taken in:
 *   hub lock    the member table (names, for LOGIN and DM), the room
 *               table (#lobby, rooms with members, empty rooms kept for
 *               their history, least recently used first), and which room
 *               each member is in.
 *   room lock   one per room: its member list, its history, its USERS
 *               line, and its members' evicted flags.
 *   queue lock  one per client (queue.h).
 * Order: hub, then room, then queue; never two rooms at once (a JOIN
 * leaves the old room, releases it, then enters the new one). A message in
 * a room takes that room's lock alone, so two busy rooms use two cores.
 * Wake-ups of writers are listed while pushing and delivered after every
 * lock is released (struct queue_wakes). The kick callback runs with a
 * room lock (and maybe the hub lock) held; it must not block or call the
 * hub. The hub does no socket I/O and knows nothing of sockets; the only
 * file I/O near it is the archive's, on the archive's own thread.
 *
 * Ordering: every line of a room is pushed to all its members, and kept in
 * its history, under the room's lock, so all members receive the room's
 * lines in one order; a reader hands its lines to the hub in the order it
 * read them, so each sender's lines keep their order.
 *
 * The join guarantee: a member entering a room gets "OK", then the room's
 * history, then every later line of the room: no line is missing between
 * the two and none comes twice, however busy the room. What gives it: the
 * history is copied into the newcomer's queue and the newcomer is added to
 * the list in one critical section under the room lock (room_enter), and
 * every line is kept in the history and pushed to the list in another
 * (room_say). A line's critical section is either wholly before the join's
 * (so it is in the copied history) or wholly after (so the newcomer is on
 * the list). Taking the snapshot and subscribing in two critical sections
 * breaks this: see demos/README.md.
 *
 * Ownership: hub_new's caller frees the hub with hub_free once every member
 * has left. hub_join returns a member owned by the caller until it passes
 * it to hub_leave, exactly once, also after an eviction. The member's queue
 * stays the caller's; the hub only pushes into it while the member is
 * listed.
 */
#ifndef HUBCHAT_HUB_H
#define HUBCHAT_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"      /* PROTO_MAX_NAME */

struct archive;
struct hub;
struct hub_member;
struct msg;
struct queue;
struct room;

enum hub_status {
	HUB_OK,
	HUB_NAME_TAKEN,     /* LOGIN: the name is in use, ignoring ASCII case */
	HUB_NO_SUCH_USER,   /* DM: nobody of that name is logged in */
	HUB_REFUSED,        /* memory ran out, so nothing was delivered; or, for
	                       LOGIN and JOIN, the joiner's own queue took no
	                       "OK" */
	HUB_BUSY,           /* the archive could not keep up: nothing was
	                       delivered or kept */
	HUB_TOO_MANY_ROOMS, /* JOIN: --max-rooms rooms, all with members */
	HUB_LOAD,           /* JOIN: the room must be read from the archive
	                       or the cluster first (hub_load_room), then
	                       JOIN again */
	HUB_UNAVAILABLE,    /* clustered: Redis cannot be reached */
};

/* A line of a room's history and its number in the cluster (0 when not
 * clustered). */
struct hub_hist {
	unsigned long long seq;
	struct msg *line;       /* "HIST <time> <from> <text>" */
	struct msg *live;       /* "MSG <from> <text>", for the members who
	                           missed it while the bus was away */
	char from[PROTO_MAX_NAME + 1];
};

/* Clustered: reads the last max lines of the room whose key is key from
 * the cluster, oldest first, into *out (malloc'd; the caller drops each
 * line's reference and frees it), and the number the room's newest line
 * has there now into *newest. The count, or -1 when the cluster cannot be
 * reached. Blocks: called holding no lock. */
typedef long hub_load_fn(void *arg, const char *key, size_t max,
    struct hub_hist **out, unsigned long long *newest);

/* What one delivery did, for --trace: the hub fills it while holding its
 * locks (no I/O there), and the caller logs it afterwards. */
#define HUB_TRACE_MAX 16
struct hub_trace {
	size_t n;               /* recipients recorded in to[] */
	size_t more;            /* recipients past HUB_TRACE_MAX */
	struct {
		char name[PROTO_MAX_NAME + 1];
		size_t depth;   /* lines in its queue after the push */
		int evicted;    /* its queue was over its limit: cut off */
	} to[HUB_TRACE_MAX];
};

/* Why a member was cut off. */
enum hub_cut {
	HUB_CUT_SLOW,           /* its queue was over its limit (or could not
	                           take what it had to): a slow consumer */
	HUB_CUT_NAME_LOST,      /* clustered: its name was taken on another
	                           node while this one could not reach Redis */
};

/* Called, with a room lock held, when the member is cut off (why). It
 * should wake the member's owner (the server shuts down the socket's read
 * side) and must return without blocking. */
typedef void hub_kick_fn(void *arg, enum hub_cut why);

struct hub_config {
	size_t notices_max;     /* join/leave notices up to this room size */
	size_t history;         /* messages kept per room; 0 = none */
	size_t max_rooms;       /* rooms held in memory, #lobby included */
	struct archive *archive;  /* where messages are kept on disk, or
	                             NULL; the hub only pushes into it */
	/* Clustered (cluster.h): room lines, DMs and notices are not
	 * delivered by hub_say, hub_dm, hub_join, hub_enter and hub_leave,
	 * but by the bus thread through hub_bus_*, for every node; rooms
	 * are read from the cluster by load. */
	bool clustered;
	hub_load_fn *load;
	void *load_arg;
};

/* Returns a hub with #lobby in it, whose history starts with the n HIST
 * lines of lobby (oldest first; the caller keeps its references); NULL
 * when memory runs out. */
struct hub *hub_new(const struct hub_config *cfg, struct msg *const *lobby,
    size_t n);

/* Frees the hub and its rooms. Every member must have left. */
void hub_free(struct hub *h);

/* Logs name in and puts it in #lobby (room_enter: "OK", the lobby's
 * history, then live lines; the others hear "INFO <name> joined"). Past
 * notices_max members in the room nobody is told, and the newcomer gets
 * "INFO more than <notices_max> users online: join and leave notices are
 * off"; the join that crosses the line tells everyone. name must satisfy
 * proto_name_ok. On HUB_OK sets *member. Does not block. */
enum hub_status hub_join(struct hub *h, const char *name, struct queue *out,
    hub_kick_fn *kick, void *kick_arg, struct hub_member **member);

/* Takes the member out of its room and the member table; the room hears
 * "INFO <name> disconnected" (an evicted member was already announced).
 * The leave that brings the room back to notices_max sends "INFO
 * <notices_max> users online: join and leave notices are on" instead.
 * Frees m. Does not block. */
void hub_leave(struct hub *h, struct hub_member *m);

/* JOIN: moves m to the room named room (proto_room_ok), creating it if
 * need be: the old room hears "INFO <name> left", m gets "OK", the new
 * room's history and then its live lines, and the new room hears "INFO
 * <name> joined". Joining the room m is in gives "OK" and the history
 * again. HUB_LOAD when the room is on disk but not in memory: call
 * hub_load_room, holding no lock, then hub_enter again.
 * HUB_TOO_MANY_ROOMS when a new room is needed, --max-rooms are held and
 * every one has members (an empty one is forgotten to make room). Does
 * not block. */
enum hub_status hub_enter(struct hub *h, struct hub_member *m,
    const char *room);

/* For HUB_LOAD: reads the room's last messages from the archive (after it
 * has written everything handed to it so far) and makes the room, unless
 * someone made it meanwhile. Does file I/O and waits for the archive:
 * call it holding no lock. HUB_OK, HUB_TOO_MANY_ROOMS or HUB_REFUSED. */
enum hub_status hub_load_room(struct hub *h, const char *room);
/* Clustered, the room is made first (its lines from the bus are kept from
 * then on), then its history is read (load, no lock held) and merged by
 * number: so a line published while the history was being read is had
 * once, whichever way it came. Also HUB_UNAVAILABLE. Reading back a room
 * held here, after the bus was lost, is hub_read_back's. */

/* One message, made ready outside any lock by hub_line_make. */
struct hub_line {
	struct msg *live;       /* "MSG <from> <text>" */
	struct msg *hist;       /* "HIST <time> <from> <text>"; NULL when
	                           history is off */
	struct msg *archive;    /* "<room key> <time> <from> <text>" for the
	                           archive; NULL without one */
};

/* Makes the lines for text said now by from in its room; false when
 * memory runs out. Call on from's own reader (it reads from's room). */
bool hub_line_make(struct hub *h, const struct hub_member *from,
    const char *text, struct hub_line *out);

/* Drops the references hub_line_make made. */
void hub_line_free(struct hub_line *l);

/* Delivers n lines made by hub_line_make, in order, to everyone in from's
 * room but from, and keeps them in its history, in one critical section:
 * a burst from one client costs one lock and at most one wake-up per
 * recipient. A recipient without room for all n is evicted. HUB_BUSY when
 * the archive had no room for them: nobody got them. The caller keeps its
 * references. With trace not NULL (--trace), records each recipient's
 * queue depth and any eviction; it must be zeroed. */
enum hub_status hub_say(struct hub *h, struct hub_member *from,
    const struct hub_line *lines, size_t n, struct hub_trace *trace);

/* Delivers "DM <from> <text>" to the member named to (ignoring ASCII case),
 * in any room; HUB_NO_SUCH_USER when there is none, HUB_REFUSED when
 * memory ran out. A DM to oneself is delivered. DMs are never history.
 * trace as for hub_say. */
enum hub_status hub_dm(struct hub *h, struct hub_member *from, const char *to,
    const char *text, struct hub_trace *trace);

/* The line "USERS <name> ..." of the room named room (NULL: m's own room),
 * sorted ignoring ASCII case: one reference, owned by the caller, to a
 * line shared until the room's list changes. "USERS" alone for a room
 * nobody is in. NULL when memory runs out. */
struct msg *hub_who(struct hub *h, struct hub_member *m, const char *room);

/* The line "ROOMS <#room> <members> ...": every room with a member, and
 * #lobby always, sorted by key. Owned by the caller; NULL when memory runs
 * out. */
struct msg *hub_rooms(struct hub *h);

/* HISTORY [n]: pushes m the last n lines of its room's history (n == 0:
 * all that are kept), then "OK"; their bytes in *bytes. HUB_REFUSED when
 * its queue could not take them (it is then evicted). */
enum hub_status hub_history(struct hub *h, struct hub_member *m, size_t n,
    size_t *bytes);

/* The member's name, fixed at login, and its room's name as shown. Call
 * the second on m's own reader. */
const char *hub_member_name(const struct hub_member *m);
const char *hub_member_room(const struct hub_member *m);

/* ---- Clustered: what the bus thread calls (cluster.h) ----
 *
 * A room line, DM or notice that the cluster's bus brings is delivered to
 * the members here; the lines are made outside every lock. A line for a
 * room not held here is dropped: the cluster keeps it in the room's
 * history, read back by the JOIN that needs it. A room line whose number
 * the room has already (read back, or heard twice) is dropped too, so a
 * joiner gets each line once. None of these blocks. */

/* A room line from the bus: number seq in its room, said by from at time
 * (UTC, as in HIST lines). */
struct hub_bus_line {
	unsigned long long seq;
	const char *time;
	const char *from;
	const char *text;
};
#define HUB_BUS_BATCH 64

/* lines[0..n) (n <= HUB_BUS_BATCH) of the room whose key is key, in
 * order: each to every member of the room here but its sender, a burst in
 * one critical section and at most one wake-up per member, as hub_say.
 * Returns how many it went through: n, unless the room has a gap (a line
 * numbered past the one after the newest it has, once it was read back):
 * then the index of that line, which was not delivered. The caller reads
 * the room back (hub_load_room) and offers the rest again. */
size_t hub_bus_say(struct hub *h, const char *key,
    const struct hub_bus_line *lines, size_t n);

/* "INFO <name> <how>" (joined, left, disconnected) to the room's members
 * here but name. */
void hub_bus_notice(struct hub *h, const char *key, const char *name,
    const char *how);

/* "DM <from> <text>" to the member named to, if it is here. */
void hub_bus_dm(struct hub *h, const char *to, const char *from,
    const char *text);

/* line to every member here (the cluster went away, or came back). */
void hub_tell_all(struct hub *h, const char *line);

/* The names of every room held here, as a malloc'd array in *out (the
 * caller frees it); the count, or 0 with *out NULL when there is none or
 * no memory. For reading them back after the bus was lost. */
size_t hub_rooms_held(struct hub *h, char (**out)[PROTO_MAX_ROOM + 2]);

/* Reads the room named room back from the cluster, as hub_load_room does
 * (blocking: hold no lock), after the bus was lost or a room line came out
 * of sequence, giving its members the lines they missed. data_lost says
 * Redis lost its data since the room was last read (its epoch changed):
 * then a room whose numbers went back starts again from Redis's lines,
 * each one new, and its members are told the history was lost. Without
 * it, numbers that went back are an older snapshot of Redis: the room
 * starts again from Redis's lines, all of them old, given to no one. */
enum hub_status hub_read_back(struct hub *h, const char *room,
    bool data_lost);

/* Cuts off the member named name, if it is here, with line (a protocol
 * line) as its last: its name was lost to another node. */
void hub_drop(struct hub *h, const char *name, const char *line);

/* Who is logged in here, and where: for the cluster's lease on the names. */
struct hub_roster {
	char name[PROTO_MAX_NAME + 1];
	char room[PROTO_MAX_ROOM + 2];
};

/* A malloc'd list of every member here (*out; the caller frees it); the
 * count, or 0 with *out NULL when there is nobody or no memory. */
size_t hub_roster(struct hub *h, struct hub_roster **out);

/* The server is stopping: from now on nobody is told of joins and leaves,
 * so each client's last line is the server's farewell, not a storm of
 * "disconnected" notices as everyone leaves at once. */
void hub_close(struct hub *h);

/* How many members are logged in now: a snapshot, for tests and logs. */
size_t hub_count(struct hub *h);

/* What the hub has done since it was made, for [STATS] and /metrics. */
struct hub_stats {
	size_t members;                 /* logged in now */
	size_t rooms;                   /* held in memory now */
	unsigned long long messages;    /* room lines said, each counted once */
	unsigned long long dms;
	unsigned long long deliveries;  /* lines pushed into members' queues */
	unsigned long long evictions;   /* slow consumers cut off */
	unsigned long long refused;     /* lines refused: the archive was full */
	size_t queued_lines;            /* in every member's queue now: only */
	size_t queued_bytes;            /* hub_stats_queues fills these */
};

/* A snapshot of the counters. Takes the hub lock briefly. */
void hub_stats(struct hub *h, struct hub_stats *out);

/* Adds up what waits in every member's queue into out's queued_lines and
 * queued_bytes. Takes the hub lock and each queue's lock in turn: for
 * /metrics, not for a hot path. */
void hub_stats_queues(struct hub *h, struct hub_stats *out);

/* ---- What GET /debug shows (--debug-page) ---------------------------- */

/* Publishes m's flood budget, for hub_debug on another thread: tokens
 * left as of at_ms (CLOCK_MONOTONIC). One relaxed atomic store and no
 * lock, so the hot path pays nothing more: call it on m's own reader,
 * once after each line. */
void hub_member_set_budget(struct hub_member *m, double tokens,
    int64_t at_ms);

/* Writes two members of a JSON object (the caller writes the braces
 * around them and anything else):
 *   "members":[{"name","room","lines","bytes","budget","evicted"}, ...]
 *     everyone logged in, by name: what waits in its queue (bytes counted
 *     as --queue-hard counts them), its flood budget brought up to now at
 *     rate tokens a second up to burst (as its reader's bucket would be;
 *     rate 0: flood control is off), and whether it has been cut off but
 *     has not left yet;
 *   "evicted":[{"name","room","age_ms","bytes","limit"}, ...]
 *     the last HUB_DEBUG_EVICTED slow consumers to leave, newest first:
 *     how long ago, what their queue held when it refused a push, and
 *     which limit refused it ("hard" or "soft").
 * Copies under the hub lock, taking each member's room and queue lock in
 * turn (not for a hot path), and writes to out after releasing them all.
 * Names are escaped for JSON. */
#define HUB_DEBUG_EVICTED 8
void hub_debug(struct hub *h, FILE *out, size_t burst, size_t rate);

#endif
