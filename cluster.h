/*
 * cluster.h - several hubchat nodes as one chat, over Redis (--redis).
 *
 * Each node keeps its own hub, sessions and queues; Redis joins them:
 *   names    hubchat:name:<name, lowercase> = <node>, held with a lease
 *            (SET NX PX) that the node renews every lease/3, so a name is
 *            unique across the cluster, ignoring case, and free again at
 *            once on a leave, or within the lease when its node dies;
 *   who      hubchat:users:<node>, a hash of name -> room, and
 *            hubchat:nodes, a sorted set of nodes by the end of their
 *            lease: WHO and ROOMS read the nodes whose lease holds;
 *   history  hubchat:hist:<room key>, a list of the room's last lines
 *            "<seq> <time> <from> <text>", numbered by hubchat:seq:<key>;
 *   the bus  the channel hubchat:bus: every room line, DM and notice.
 * A room line is numbered, kept and published by one script, so Redis's
 * one order is the history's order and every subscriber's order.
 *
 * Threads, beside the sessions':
 *   the command thread  (cluster_cmd.c) owns the command connection. Readers hand it
 *                       requests through a bounded queue (the C twin of a
 *                       buffered channel) and wait for their replies;
 *                       it sends what is queued as one pipeline and reads
 *                       the replies back in order. It renews the lease.
 *   the bus thread      (cluster_bus.c) owns the subscription. It
 *                       reads the bus, checks every line, and delivers
 *                       through the hub (hub_bus_*), which never blocks;
 *                       so a slow client is evicted as on one node and
 *                       never slows the bus. It asks a quiet bus PING.
 * A node never delivers a room line straight into its own queues: it
 * publishes, and delivers what the bus brings, like every other node. So
 * every receiver on every node sees a room's lines in one order.
 *
 * When Redis cannot be reached, every call fails at once with
 * CLUSTER_DOWN (the client hears ERR cluster-unavailable) and nothing is
 * lost in silence; local clients stay connected. The threads reconnect
 * with backoff; the command thread then renews the lease of every name
 * held here (re-claiming them if Redis came back empty) and gives back
 * the names left meanwhile, and the bus thread subscribes again and reads
 * back every room held here, giving its members the lines they missed (as
 * far as the history reaches) and telling every local client that some
 * may be missing. A room line numbered past the next one (a gap, or a
 * forged line) makes its room be read back the same way.
 *
 * Ownership: cluster_new's caller frees it with cluster_free after
 * cluster_stop, once no session is left. Locks: the cluster's own lock
 * (the request queue) is taken with no hub, room or queue lock held, and
 * nothing else is taken under it.
 */
#ifndef HUBCHAT_CLUSTER_H
#define HUBCHAT_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include "hub.h"

struct cluster;
struct msg;

struct cluster_config {
	char host[256];         /* --redis HOST:PORT */
	char port[16];
	char node[64];          /* --node-id */
	int lease_ms;           /* --name-lease, in ms */
	size_t history;         /* --history: lines kept per room */
};

enum cluster_status {
	CLUSTER_OK,
	CLUSTER_TAKEN,          /* LOGIN: the name is held, on some node */
	CLUSTER_NO_SUCH_USER,   /* DM: nobody of that name anywhere */
	CLUSTER_DOWN,           /* Redis cannot be reached now */
	CLUSTER_BUSY,           /* the request queue stayed full */
};

/* A cluster, not yet connected; NULL when memory runs out. */
struct cluster *cluster_new(const struct cluster_config *cfg);

/* hub_config's load for the cluster's rooms (hub.h: hub_load_fn); arg is
 * the cluster. */
long cluster_load(void *arg, const char *key, size_t max,
    struct hub_hist **out, unsigned long long *newest);

/* Connects, registers the node, starts both threads and waits until the
 * bus is subscribed and #lobby read back. false, with a reason in err,
 * when Redis cannot be reached or refuses. */
bool cluster_start(struct cluster *cl, struct hub *hub, char *err,
    size_t errsz);

/* Stops both threads (failing what waits with CLUSTER_DOWN) and closes
 * the connections. The names held here are left to their leases. */
void cluster_stop(struct cluster *cl);
void cluster_free(struct cluster *cl);

/* LOGIN: claims name for this node, before hub_join. */
enum cluster_status cluster_claim(struct cluster *cl, const char *name);

/* After hub_leave (or a hub_join that failed after a claim): gives the
 * name back and tells the room it is gone. Waits for Redis, so the name
 * is free on every node when this returns (before the leaver hears "INFO
 * bye"); when Redis did not answer, the next lease renewal gives it back
 * (or, failing that, the lease ends). */
void cluster_release(struct cluster *cl, const char *name, const char *room);

/* After a JOIN that moved name from room from to room to. Queued. */
void cluster_moved(struct cluster *cl, const char *name, const char *from,
    const char *to);

/* Room lines texts[0..n) (1 <= n <= 64, each a text a client may send)
 * said by from in room: numbered, kept and published in order, as one bus
 * message, by one script. Waits for Redis; status[i] is each line's fate,
 * all the same: published, or not (Redis does not undo a script that fails
 * half-way, so numbers it took before failing are a gap every node reads
 * the room back for). */
void cluster_say(struct cluster *cl, const char *room, const char *from,
    char *const *texts, size_t n, enum cluster_status *status);

/* DM: delivered by the bus to whichever node holds to. */
enum cluster_status cluster_dm(struct cluster *cl, const char *from,
    const char *to, const char *text);

/* "USERS <name> ..." of room across the cluster, sorted ignoring case;
 * "ROOMS <#room> <count> ...", #lobby always. NULL with *st set when
 * Redis cannot be reached (or memory ran out: CLUSTER_BUSY). */
struct msg *cluster_who(struct cluster *cl, const char *room,
    enum cluster_status *st);
struct msg *cluster_rooms(struct cluster *cl, enum cluster_status *st);

/* Counters for [STATS] and /metrics. */
struct cluster_stats {
	unsigned long long published;   /* room lines published */
	unsigned long long heard;       /* bus messages read */
	unsigned long long gaps;        /* times the bus was lost */
	unsigned long long dropped;     /* dropped from the bus: messages
	                                   not hubchat's or of another epoch,
	                                   and room lines out of sequence even
	                                   after reading the room back */
	bool up;                        /* Redis reachable now */
};
void cluster_stats(struct cluster *cl, struct cluster_stats *out);

#endif
