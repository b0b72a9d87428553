/*
 * slots.h - what the server counts before it starts a session: one slot
 * of --max-clients, and one of --max-per-addr for the client's address
 * (addrlimit.h), taken together and given back together.
 *
 * The accept loop takes both when it admits a connection; the session's
 * reader gives both back as its last act, before it closes its socket
 * (server_session_done), so a client that has seen its connection close is
 * never refused for its own old session.
 *
 * Threads: slots_take is the accept loop's alone; as nothing else adds to
 * the count, the count it checks can only fall before it adds one, and
 * --max-clients holds. slots_give and slots_in_use may run on any thread:
 * the count is atomic, and addrlimit has its own (leaf) lock.
 */
#ifndef HUBCHAT_SLOTS_H
#define HUBCHAT_SLOTS_H

#include <stddef.h>

struct net_addr_key;
struct slots;

enum slots_verdict {
	SLOTS_TAKEN,            /* both taken: start the session */
	SLOTS_FULL,             /* --max-clients reached; nothing taken */
	SLOTS_PER_ADDR,         /* --max-per-addr reached; nothing taken */
};

/* Slots for max_clients sessions, at most max_per_addr from one address
 * (0: no limit). NULL when memory runs out. */
struct slots *slots_new(size_t max_clients, size_t max_per_addr);

/* Frees them; every slot must have been given back. NULL is a no-op. */
void slots_free(struct slots *sl);

/* Takes a slot and addr's count, or neither. Accept loop only. */
enum slots_verdict slots_take(struct slots *sl, const struct net_addr_key *addr);

/* Gives back what slots_take took for addr. Any thread. */
void slots_give(struct slots *sl, const struct net_addr_key *addr);

/* Sessions started and not yet ended: what --max-clients counts. Any
 * thread; the count may be a moment old. */
size_t slots_in_use(const struct slots *sl);

#endif
