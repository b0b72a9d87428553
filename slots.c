/*
 * slots.c - --max-clients and --max-per-addr, counted together. The
 * design, and which thread may call what, in slots.h.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "addrlimit.h"
#include "slots.h"

struct slots {
	size_t max;                 /* --max-clients; const */
	atomic_size_t in_use;       /* slots taken, not yet given back: only
	                               the accept loop adds, any reader
	                               subtracts; in_use <= max */
	struct addrlimit *per_addr; /* what --max-per-addr counts; likewise */
};

struct slots *
slots_new(size_t max_clients, size_t max_per_addr)
{
	struct slots *sl = calloc(1, sizeof(*sl));

	if (sl == NULL)
		return NULL;
	sl->max = max_clients;
	atomic_init(&sl->in_use, 0);
	sl->per_addr = addrlimit_new(max_clients, max_per_addr);
	if (sl->per_addr == NULL) {
		free(sl);
		return NULL;
	}
	return sl;
}

void
slots_free(struct slots *sl)
{
	if (sl == NULL)
		return;
	addrlimit_free(sl->per_addr);
	free(sl);
}

enum slots_verdict
slots_take(struct slots *sl, const struct net_addr_key *addr)
{
	if (atomic_load(&sl->in_use) >= sl->max)
		return SLOTS_FULL;
	if (!addrlimit_take(sl->per_addr, addr))
		return SLOTS_PER_ADDR;
	atomic_fetch_add(&sl->in_use, 1);
	return SLOTS_TAKEN;
}

void
slots_give(struct slots *sl, const struct net_addr_key *addr)
{
	addrlimit_give(sl->per_addr, addr);
	atomic_fetch_sub(&sl->in_use, 1);
}

size_t
slots_in_use(const struct slots *sl)
{
	return atomic_load(&sl->in_use);
}
