/*
 * addrlimit.h - how many connections each address has, against
 * --max-per-addr: one script on one address must not be able to take every
 * slot of the server.
 *
 * Addresses are net_addr_keys (an IPv4 address, or an IPv6 /64). The
 * accept loop takes a count when it accepts; the session's reader gives it
 * back when the session ends, before its socket is closed, so a client
 * that has seen the server close its connection always finds its count
 * already given back.
 *
 * Thread-safe: one mutex, held for a hash lookup, never across anything
 * that blocks. It is a leaf lock: nothing else is taken while it is held.
 * The table never allocates after addrlimit_new: it has a node for every
 * connection the server may hold.
 */
#ifndef HUBCHAT_ADDRLIMIT_H
#define HUBCHAT_ADDRLIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct addrlimit;
struct net_addr_key;

/* A table for up to max_conns connections at once, at most per_addr from
 * one address (0: no limit, and nothing is counted). NULL when memory
 * runs out. */
struct addrlimit *addrlimit_new(size_t max_conns, size_t per_addr);

/* Frees the table; every count must have been given back. */
void addrlimit_free(struct addrlimit *a);

/* Counts one more connection from k: true, or false (nothing counted) when
 * k has per_addr already. The caller must not hold more than max_conns
 * counts at once. */
bool addrlimit_take(struct addrlimit *a, const struct net_addr_key *k);

/* Gives back a count that addrlimit_take took for k. */
void addrlimit_give(struct addrlimit *a, const struct net_addr_key *k);

#endif
