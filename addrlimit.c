/*
 * addrlimit.c - connections per address; see addrlimit.h.
 *
 * A hash table with chaining. Its nodes are allocated once, one per
 * connection the server may hold, and kept on a free list, so taking a
 * count never allocates and never fails for want of memory. A node exists
 * while its address has at least one connection.
 */
#include "addrlimit.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "sync.h"

struct addrlimit_node {
	struct net_addr_key key;
	size_t count;                   /* > 0 while on a chain */
	struct addrlimit_node *next;    /* the chain, or the free list */
};

struct addrlimit {
	pthread_mutex_t lock;           /* protects buckets, free and the
	                                   nodes' fields */
	size_t per_addr;                /* const; 0 = not counted */
	size_t nbuckets;                /* const, a power of two */
	struct addrlimit_node **buckets;
	struct addrlimit_node *free;
	struct addrlimit_node *nodes;   /* the allocation behind them all */
};

struct addrlimit *
addrlimit_new(size_t max_conns, size_t per_addr)
{
	struct addrlimit *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->per_addr = per_addr;
	a->nbuckets = 16;
	while (a->nbuckets < max_conns)
		a->nbuckets *= 2;
	a->buckets = calloc(a->nbuckets, sizeof(*a->buckets));
	a->nodes = calloc(max_conns, sizeof(*a->nodes));
	if (a->buckets == NULL || a->nodes == NULL) {
		addrlimit_free(a);
		return NULL;
	}
	for (size_t i = 0; i < max_conns; i++) {
		a->nodes[i].next = a->free;
		a->free = &a->nodes[i];
	}
	sync_mutex_init(&a->lock);
	return a;
}

void
addrlimit_free(struct addrlimit *a)
{
	if (a == NULL)
		return;
	if (a->buckets != NULL && a->nodes != NULL)
		pthread_mutex_destroy(&a->lock);
	free(a->buckets);
	free(a->nodes);
	free(a);
}

/* FNV-1a of the key: addresses are not chosen to collide with each other
 * (and a chain is as long as the addresses in it, at most max_conns). */
static size_t
addrlimit_bucket(const struct addrlimit *a, const struct net_addr_key *k)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < sizeof(k->b); i++)
		h = (h ^ k->b[i]) * 1099511628211ULL;
	return (size_t)(h & (a->nbuckets - 1));
}

/* The link that points at k's node, or at the chain's end. Lock held. */
static struct addrlimit_node **
addrlimit_find(struct addrlimit *a, const struct net_addr_key *k)
{
	struct addrlimit_node **p = &a->buckets[addrlimit_bucket(a, k)];

	while (*p != NULL && memcmp(&(*p)->key, k, sizeof(*k)) != 0)
		p = &(*p)->next;
	return p;
}

bool
addrlimit_take(struct addrlimit *a, const struct net_addr_key *k)
{
	bool ok = true;

	if (a->per_addr == 0)
		return true;
	sync_lock(&a->lock);
	struct addrlimit_node **p = addrlimit_find(a, k);
	if (*p != NULL && (*p)->count >= a->per_addr) {
		ok = false;
	} else if (*p != NULL) {
		(*p)->count++;
	} else {
		struct addrlimit_node *n = a->free;
		assert(n != NULL);      /* at most max_conns counts at once */
		a->free = n->next;
		*n = (struct addrlimit_node){ .key = *k, .count = 1 };
		*p = n;
	}
	sync_unlock(&a->lock);
	return ok;
}

void
addrlimit_give(struct addrlimit *a, const struct net_addr_key *k)
{
	if (a->per_addr == 0)
		return;
	sync_lock(&a->lock);
	struct addrlimit_node **p = addrlimit_find(a, k);
	struct addrlimit_node *n = *p;
	assert(n != NULL && n->count > 0);
	if (--n->count == 0) {
		*p = n->next;
		n->next = a->free;
		a->free = n;
	}
	sync_unlock(&a->lock);
}
