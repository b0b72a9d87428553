/*
 * cluster_lua.h - the scripts a node runs in Redis (cluster.h has the key
 * layout). Each runs whole, with nothing between its commands, which is
 * what makes a room line's number, its place in the history and its place
 * on the bus one and the same, and a name's claim race-free.
 *
 * Every bus message is one of:
 *   M <room key> <epoch> <seq> <time> <from> <text>   room lines
 *   N <room key> <name> <how>                 joined, left, disconnected
 *   D <to> <from> <text>                      a DM
 * An M message is one sender's batch: its texts, 1 to CLUSTER_SAY_MAX of
 * them, joined by '\n' (which no text holds), numbered seq, seq + 1, ...
 */
#ifndef HUBCHAT_CLUSTER_LUA_H
#define HUBCHAT_CLUSTER_LUA_H

enum cluster_script {
	/* KEYS seq, hist, epoch; ARGV channel, room key, time, from, keep,
	 * then the texts of one sender's batch. Numbers the lines, keeps the
	 * newest `keep`, publishes the batch as one M message with Redis's
	 * epoch (made anew if it is gone, FLUSHALL, or is not an epoch); the
	 * last seq. A few commands a batch, whatever its length. */
	LUA_SAY,
	/* KEYS name, users, nodes; ARGV node, lease ms, name, channel. 1
	 * when the name was free and is now this node's (until the node's
	 * lease ends), else 0. */
	LUA_CLAIM,
	/* KEYS name, users; ARGV node, name, room key, channel. */
	LUA_RELEASE,
	/* KEYS users; ARGV name, new room, old key, new key, channel. */
	LUA_MOVE,
	/* KEYS name of `to`; ARGV channel, to, from, text. 1 when someone
	 * holds the name, else 0. */
	LUA_DM,
	/* KEYS nodes; ARGV users prefix, room key. The names in the room on
	 * every node whose lease holds. */
	LUA_WHO,
	/* KEYS nodes; ARGV users prefix. [room, count, ...] likewise. */
	LUA_ROOMS,
	/* KEYS nodes; ARGV node, lease ms, channel, users prefix, name
	 * prefix, k, then k name, room-key pairs of names left while Redis
	 * was away (given back, and announced gone if they were this
	 * node's), then name, room pairs: this node's lease renewed, its
	 * users written again, each name held or re-claimed; nodes whose
	 * lease ran out are forgotten and their users announced gone, unless
	 * this node's own lease had run out too (a stall: they may be alive).
	 * The names held by someone else now (lost while Redis was away). */
	LUA_REFRESH,
	LUA_SCRIPTS
};

extern const char *const cluster_lua[LUA_SCRIPTS];

#endif
