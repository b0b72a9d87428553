/*
 * stats.c - the [STATS] line; see stats.h.
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "cluster.h"
#include "hub.h"
#include "log.h"

void
stats_self(long *rss_kib, long *threads)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	*rss_kib = *threads = -1;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			*rss_kib = atol(line + 6);
		else if (strncmp(line, "Threads:", 8) == 0)
			*threads = atol(line + 8);
	}
	fclose(f);
}

/* Events a second between two counts taken ms apart. */
static unsigned long long
stats_rate(unsigned long long now, unsigned long long then, int64_t ms)
{
	return ms > 0 ? (now - then) * 1000 / (unsigned long long)ms : 0;
}

static unsigned long
stats_get(const atomic_ulong *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

void
stats_log(const struct stats *s, const struct hub_stats *hub,
    struct archive *archive, const struct cluster_stats *cluster,
    unsigned long clients, int64_t started_ms, int64_t now_ms,
    struct stats_prev *prev)
{
	int64_t since = prev->at_ms != 0 ? prev->at_ms : started_ms;
	unsigned long long written = 0, failed = 0;
	char disk[160] = "", bus[160] = "";
	long rss, threads;

	if (cluster != NULL)
		snprintf(bus, sizeof(bus), " redis=%s published=%llu heard=%llu "
		    "bus-gaps=%llu bus-dropped=%llu", cluster->up ? "up" : "down",
		    cluster->published, cluster->heard, cluster->gaps,
		    cluster->dropped);

	if (archive != NULL) {
		archive_counts(archive, &written, &failed);
		snprintf(disk, sizeof(disk), " archived=%llu archived/s=%llu "
		    "archive-failed=%llu archive-refused=%llu", written,
		    stats_rate(written, prev->archived, now_ms - since), failed,
		    hub->refused);
	}
	stats_self(&rss, &threads);
	log_event(LOG_STATS, "clients=%lu logged-in=%zu rooms=%zu "
	    "messages=%llu "
	    "messages/s=%llu deliveries=%llu deliveries/s=%llu dms=%llu "
	    "evictions=%llu refused-full=%lu refused-addr=%lu refused-busy=%lu "
	    "rejected-lines=%lu idle-timeouts=%lu login-timeouts=%lu%s%s "
	    "rss-kib=%ld threads=%ld", clients, hub->members, hub->rooms,
	    hub->messages,
	    stats_rate(hub->messages, prev->messages, now_ms - since),
	    hub->deliveries, stats_rate(hub->deliveries, prev->deliveries,
	    now_ms - since), hub->dms, hub->evictions,
	    stats_get(&s->refused_full), stats_get(&s->refused_addr),
	    stats_get(&s->refused_busy), stats_get(&s->rejected),
	    stats_get(&s->idle_timeouts), stats_get(&s->login_timeouts), disk,
	    bus, rss, threads);
	*prev = (struct stats_prev){ .at_ms = now_ms,
	    .messages = hub->messages, .deliveries = hub->deliveries,
	    .archived = written };
}

/* One metric: its help, its type, and a value (a name may carry labels:
 * help and type are written for the first of a family only). */
static void
stats_metric(FILE *out, const char *name, const char *type,
    const char *help, unsigned long long value)
{
	size_t family = strcspn(name, "{");

	if (help != NULL)
		fprintf(out, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)family,
		    name, help, (int)family, name, type);
	fprintf(out, "%s %llu\n", name, value);
}

/* The hub's and the sessions' counters, and what the queues hold. */
static void
stats_metrics_chat(FILE *out, const struct stats *s,
    const struct hub_stats *hub, unsigned long clients)
{
	stats_metric(out, "hubchat_clients", "gauge",
	    "Connections, logged in or not.", clients);
	stats_metric(out, "hubchat_logged_in", "gauge",
	    "Clients logged in.", hub->members);
	stats_metric(out, "hubchat_rooms", "gauge", "Rooms held.", hub->rooms);
	stats_metric(out, "hubchat_messages_total", "counter",
	    "Room messages said.", hub->messages);
	stats_metric(out, "hubchat_dms_total", "counter",
	    "Private messages sent.", hub->dms);
	stats_metric(out, "hubchat_deliveries_total", "counter",
	    "Lines pushed into clients' queues.", hub->deliveries);
	stats_metric(out, "hubchat_evictions_total", "counter",
	    "Slow consumers cut off.", hub->evictions);
	stats_metric(out, "hubchat_queued_lines", "gauge",
	    "Lines waiting in every client's queue.", hub->queued_lines);
	stats_metric(out, "hubchat_queued_bytes", "gauge",
	    "Bytes they count against the queue limits.", hub->queued_bytes);
	stats_metric(out, "hubchat_rejected_lines_total", "counter",
	    "Lines refused: bad text, too long, bad or taken names.",
	    stats_get(&s->rejected));
	stats_metric(out, "hubchat_timeouts_total{kind=\"idle\"}", "counter",
	    "Sessions closed by a timeout.", stats_get(&s->idle_timeouts));
	stats_metric(out, "hubchat_timeouts_total{kind=\"login\"}", NULL, NULL,
	    stats_get(&s->login_timeouts));
}

/* Refusals, one family with the reason as a label. */
static void
stats_metrics_refused(FILE *out, const struct stats *s,
    const struct hub_stats *hub)
{
	stats_metric(out, "hubchat_refused_total{reason=\"full\"}", "counter",
	    "Connections or messages refused, by reason.",
	    stats_get(&s->refused_full));
	stats_metric(out, "hubchat_refused_total{reason=\"per_addr\"}", NULL,
	    NULL, stats_get(&s->refused_addr));
	stats_metric(out, "hubchat_refused_total{reason=\"busy\"}", NULL, NULL,
	    stats_get(&s->refused_busy));
	stats_metric(out, "hubchat_refused_total{reason=\"archive_full\"}",
	    NULL, NULL, hub->refused);
}

/* --data-dir's lines, and --redis's bus, when they are in use. */
static void
stats_metrics_optional(FILE *out, struct archive *archive,
    const struct cluster_stats *cluster)
{
	unsigned long long written = 0, failed = 0;

	if (archive != NULL) {
		archive_counts(archive, &written, &failed);
		stats_metric(out, "hubchat_archived_lines_total", "counter",
		    "Lines written to --data-dir.", written);
		stats_metric(out, "hubchat_archive_failed_lines_total",
		    "counter", "Lines a write to --data-dir failed for.",
		    failed);
	}
	if (cluster != NULL) {
		stats_metric(out, "hubchat_redis_up", "gauge",
		    "1 while Redis can be reached (--redis).", cluster->up);
		stats_metric(out, "hubchat_bus_published_total", "counter",
		    "Room lines this node published.", cluster->published);
		stats_metric(out, "hubchat_bus_heard_total", "counter",
		    "Messages this node read from the bus (one a batch).",
		    cluster->heard);
		stats_metric(out, "hubchat_bus_gaps_total", "counter",
		    "Times this node lost the bus.", cluster->gaps);
		stats_metric(out, "hubchat_bus_dropped_total", "counter",
		    "Bus messages dropped (not hubchat's, another epoch) and "
		    "room lines out of sequence.",
		    cluster->dropped);
	}
}

void
stats_metrics(FILE *out, const struct stats *s, const struct hub_stats *hub,
    struct archive *archive, const struct cluster_stats *cluster,
    unsigned long clients)
{
	long rss, threads;

	stats_metrics_chat(out, s, hub, clients);
	stats_metrics_refused(out, s, hub);
	stats_metrics_optional(out, archive, cluster);
	stats_self(&rss, &threads);
	stats_metric(out, "hubchat_resident_memory_bytes", "gauge",
	    "The server's resident memory.", rss < 0 ? 0 :
	    (unsigned long long)rss * 1024);
	stats_metric(out, "hubchat_threads", "gauge", "The server's threads.",
	    threads < 0 ? 0 : (unsigned long long)threads);
}
