/*
 * stats.c - the [STATS] line; see stats.h.
 */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
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
    struct archive *archive, unsigned long clients,
    int64_t started_ms, int64_t now_ms, struct stats_prev *prev)
{
	int64_t since = prev->at_ms != 0 ? prev->at_ms : started_ms;
	unsigned long long written = 0, failed = 0;
	char disk[160] = "";
	long rss, threads;

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
	    "rejected-lines=%lu idle-timeouts=%lu login-timeouts=%lu%s "
	    "rss-kib=%ld threads=%ld", clients, hub->members, hub->rooms,
	    hub->messages,
	    stats_rate(hub->messages, prev->messages, now_ms - since),
	    hub->deliveries, stats_rate(hub->deliveries, prev->deliveries,
	    now_ms - since), hub->dms, hub->evictions,
	    stats_get(&s->refused_full), stats_get(&s->refused_addr),
	    stats_get(&s->refused_busy), stats_get(&s->rejected),
	    stats_get(&s->idle_timeouts), stats_get(&s->login_timeouts), disk,
	    rss, threads);
	*prev = (struct stats_prev){ .at_ms = now_ms,
	    .messages = hub->messages, .deliveries = hub->deliveries,
	    .archived = written };
}
