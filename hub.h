/*
 * hub.h - the chat room: who is logged in, and delivery into their queues.
 *
 * The hub is a mutex-guarded list of members, each a name and the queue of
 * lines waiting for that client's writer. Whoever has something to say calls
 * the hub from its own thread (a client's reader, usually); the hub formats
 * the line once and pushes it straight into each recipient's queue. There is
 * no global channel and no broadcaster thread.
 *
 * The hub never blocks while holding its lock: a push never waits, and a
 * recipient whose queue is full is a slow consumer. It is evicted on the
 * spot: taken off the list, its queue aborted with a final
 * "ERR slow-consumer" line, its owner kicked, and its departure announced to
 * the others. Nobody else is delayed and nobody is silently skipped.
 *
 * Ordering: every delivery happens with the hub lock held, so all queues
 * receive broadcasts and notices in one global order; a reader hands its
 * lines to the hub in the order it read them (a batch of broadcasts from
 * one read goes in one call), so each sender's lines keep their order.
 *
 * Lock order: hub lock, then a queue's lock (the hub pushes while holding
 * its own lock). Nothing takes a queue lock and then the hub lock. The
 * writers' wake-ups are not made under the hub lock: each call lists them
 * while pushing and delivers them after releasing it (hub.c, hub_lock).
 * The kick callback runs with the hub lock held; it must not block or call
 * the hub.
 *
 * Ownership: hub_new's caller frees the hub with hub_free once every member
 * has left. hub_join returns a member owned by the caller until it passes it
 * to hub_leave, exactly once, also after an eviction. The member's queue
 * stays the caller's; the hub only pushes into it while the member is on
 * the list. The hub does no socket I/O and knows nothing of sockets.
 */
#ifndef HUBCHAT_HUB_H
#define HUBCHAT_HUB_H

#include <stddef.h>

#include "proto.h"      /* PROTO_MAX_NAME */

struct hub;
struct hub_member;
struct msg;
struct queue;

enum hub_status {
	HUB_OK,
	HUB_NAME_TAKEN,     /* LOGIN: the name is in use, ignoring ASCII case */
	HUB_NO_SUCH_USER,   /* DM: nobody of that name is logged in */
	HUB_REFUSED,        /* memory ran out, so nothing was delivered; or, for
	                       LOGIN, the joiner's own queue took no "OK" */
};

/* What one delivery did, for --trace: the hub fills it while holding its
 * lock (no I/O there), and the caller logs it afterwards. */
#define HUB_TRACE_MAX 16
struct hub_trace {
	size_t n;               /* recipients recorded in to[] */
	size_t more;            /* recipients past HUB_TRACE_MAX */
	struct {
		char name[PROTO_MAX_NAME + 1];
		size_t depth;   /* lines in its queue after the push */
		int evicted;    /* its queue was full: cut off */
	} to[HUB_TRACE_MAX];
};

/* Called, with the hub lock held, when the member is evicted. It should wake
 * the member's owner (the server shuts down the socket's read side) and must
 * return without blocking. */
typedef void hub_kick_fn(void *arg);

/* Returns an empty hub, or NULL when memory runs out. Join and leave
 * notices go out only while the room has at most notices_max members; see
 * hub_join and hub_leave. */
struct hub *hub_new(size_t notices_max);

/* Frees the hub. Every member must have left. */
void hub_free(struct hub *h);

/* Logs name in: pushes "OK" into out, then lists the member and tells every
 * other member "INFO <name> joined". In a room of more than notices_max
 * (with the newcomer), nobody is told, and the newcomer gets "INFO more
 * than <notices_max> users online: join and leave notices are off"; the
 * join that crosses the line sends that line to everyone instead. name
 * must satisfy proto_name_ok. On HUB_OK sets *member. Does not block. */
enum hub_status hub_join(struct hub *h, const char *name, struct queue *out,
    hub_kick_fn *kick, void *kick_arg, struct hub_member **member);

/* Takes the member off the list and tells the others
 * "INFO <name> disconnected" (an evicted member was already announced);
 * only while the room had at most notices_max members with it. The leave
 * that brings the room back to notices_max sends "INFO <notices_max> users
 * online: join and leave notices are on" instead. Frees m. Does not block. */
void hub_leave(struct hub *h, struct hub_member *m);

/* Delivers "MSG <from> <text>" to every member but from. HUB_REFUSED when
 * memory ran out and nobody got it. With trace not NULL (--trace), records
 * each recipient's queue depth and any eviction there; it must be zeroed. */
enum hub_status hub_broadcast(struct hub *h, struct hub_member *from,
    const char *text, struct hub_trace *trace);

/* The line "MSG <from> <text>", formatted for hub_broadcast_lines; owned
 * by the caller; NULL when memory runs out. Takes no lock. */
struct msg *hub_msg_line(const struct hub_member *from, const char *text);

/* Delivers n lines made by hub_msg_line, in order, to every member but
 * from, in one critical section: a burst from one client costs one lock
 * and at most one wake-up per recipient. A recipient without room for all
 * n is evicted. The caller keeps its references. trace as above. */
void hub_broadcast_lines(struct hub *h, struct hub_member *from,
    struct msg **lines, size_t n, struct hub_trace *trace);

/* Delivers "DM <from> <text>" to the member named to (ignoring ASCII case);
 * HUB_NO_SUCH_USER when there is none, HUB_REFUSED when memory ran out.
 * A DM to oneself is delivered. trace as for hub_broadcast. */
enum hub_status hub_dm(struct hub *h, struct hub_member *from, const char *to,
    const char *text, struct hub_trace *trace);

/* Returns the line "USERS <name> ..." with every member, sorted ignoring
 * ASCII case: one reference, owned by the caller, to a line shared by
 * every caller until the member list changes. NULL when memory runs out. */
struct msg *hub_who(struct hub *h);

/* The member's name, fixed at join. */
const char *hub_member_name(const struct hub_member *m);

/* The server is stopping: from now on nobody is told of joins and leaves,
 * so each client's last line is the server's farewell, not a storm of
 * "disconnected" notices as everyone leaves at once. */
void hub_close(struct hub *h);

/* How many members are listed now: a snapshot, for tests and logs. */
size_t hub_count(struct hub *h);

/* What the hub has done since it was made, for [STATS] and /metrics. */
struct hub_stats {
	size_t members;                 /* logged in now */
	unsigned long long messages;    /* broadcast lines, each counted once */
	unsigned long long dms;
	unsigned long long deliveries;  /* lines pushed into members' queues */
	unsigned long long evictions;   /* slow consumers cut off */
};

/* A snapshot of the counters. Takes the hub lock briefly. */
void hub_stats(struct hub *h, struct hub_stats *out);

#endif
