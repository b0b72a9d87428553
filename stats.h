/*
 * stats.h - the server's counters, and the [STATS] line an operator asks
 * for with SIGUSR1 or gets every --stats seconds.
 *
 * The hub counts what it delivers under its own lock (hub_stats); what
 * happens outside the hub (connections refused, lines rejected, sessions
 * timed out) is counted here, by whichever thread sees it, with relaxed
 * atomic adds: a count may be read a moment late, never torn or lost.
 */
#ifndef HUBCHAT_STATS_H
#define HUBCHAT_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

struct archive;
struct cluster_stats;
struct hub_stats;

struct stats {
	atomic_ulong accepted;          /* connections that became sessions */
	atomic_ulong refused_full;      /* ERR server-full (--max-clients) */
	atomic_ulong refused_addr;      /* ERR too-many-connections */
	atomic_ulong refused_busy;      /* ERR server-busy: fds, threads,
	                                   memory */
	atomic_ulong rejected;          /* lines refused: bad text, too long,
	                                   bad or taken name */
	atomic_ulong idle_timeouts;
	atomic_ulong login_timeouts;
};

/* What the last [STATS] line saw, for the rates in the next one. */
struct stats_prev {
	int64_t at_ms;                  /* 0 before the first line */
	unsigned long long messages;
	unsigned long long deliveries;
	unsigned long long archived;
};

/* Adds one to a counter, from any thread. */
static inline void
stats_count(atomic_ulong *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* Logs one [STATS] line: clients connected and logged in, rooms,
 * messages and deliveries since start and per second since *prev (or
 * since start), evictions, refusals, rejected lines, timeouts; with an
 * archive (archive not NULL), the lines written (and per second), failed
 * and refused; in a cluster (cluster not NULL), whether Redis is
 * reachable, the lines published and heard on the bus, the times it was
 * lost and the lines dropped from it; then the server's RSS and threads.
 * docs/OPERATIONS.md lists the fields. Updates *prev. now_ms and
 * started_ms are CLOCK_MONOTONIC. */
void stats_log(const struct stats *s, const struct hub_stats *hub,
    struct archive *archive, const struct cluster_stats *cluster,
    unsigned long clients, int64_t started_ms, int64_t now_ms,
    struct stats_prev *prev);

/* Writes the counters in Prometheus's text format (version 0.0.4), for
 * GET /metrics: clients connected and logged in, rooms, messages, DMs and
 * deliveries, evictions, refusals and rejected lines by reason, timeouts,
 * what the queues hold, the archive's lines (archive not NULL), the
 * cluster's (cluster not NULL), RSS and threads. */
void stats_metrics(FILE *out, const struct stats *s,
    const struct hub_stats *hub, struct archive *archive,
    const struct cluster_stats *cluster, unsigned long clients);

/* The server's resident memory in KiB and its threads, from
 * /proc/self/status; -1 each when it cannot be read. */
void stats_self(long *rss_kib, long *threads);

#endif
