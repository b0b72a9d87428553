/*
 * server_report.c - what the server says about itself: the warnings and
 * the LISTEN line at start-up, the [STATS] line (on SIGUSR1 and every
 * --stats seconds), and, on the web listener, /metrics (--metrics) and
 * /debug.json (--debug-page). The counters themselves are stats.h's and
 * the hub's; the server's state is struct server (server_internal.h).
 */
#include <stdio.h>

#include "cluster.h"
#include "hub.h"
#include "log.h"
#include "net.h"
#include "rlimits.h"
#include "server_internal.h"
#include "slots.h"

#define CLIENT_HEARTBEAT 20    /* ./client's default --heartbeat, seconds */

/* Settings that will bite, said at start: the system's limits against
 * --max-clients, an idle timeout within the client's heartbeat. */
void
server_report_warnings(struct server *s)
{
	rlimits_check(s->cfg.max_clients);
	if (s->cfg.idle_timeout > 0 && s->cfg.idle_timeout <= CLIENT_HEARTBEAT)
		log_event(LOG_WARN, "--idle-timeout %d is not longer than the "
		    "client's heartbeat of %d s: quiet ./client users will be cut "
		    "off (give them --heartbeat, or raise --idle-timeout)",
		    s->cfg.idle_timeout, CLIENT_HEARTBEAT);
}

/* The LISTEN line: where, and every limit in force. */
void
server_report_listen(struct server *s)
{
	const struct config *c = &s->cfg;

	log_event(LOG_LISTEN, "addr=%s port=%d max-clients=%zu max-per-addr=%zu "
	    "queue-hard=%zu queue-soft=%zu queue-soft-sec=%d flood-burst=%zu "
	    "flood-rate=%zu notices-max=%zu idle-timeout=%d login-timeout=%d "
	    "history=%zu max-rooms=%zu data-dir=%s fsync=%s web-addr=%s "
	    "web-port=%d redis=%s",
	    c->addr, net_local_port(s->listen_fd), c->max_clients,
	    c->max_per_addr, c->queue_hard, c->queue_soft, c->queue_soft_sec,
	    c->flood_burst, c->flood_rate, c->notices_max, c->idle_timeout,
	    c->login_timeout, c->history, c->max_rooms,
	    c->data_dir[0] ? c->data_dir : "-", c->data_dir[0] ? c->fsync : "-",
	    s->web_fd >= 0 ? c->web_addr : "-",
	    s->web_fd >= 0 ? net_local_port(s->web_fd) : 0,
	    c->redis[0] ? c->redis : "-");
}

/* Milliseconds until the next periodic [STATS] line: 0 when it is due,
 * -1 when there are none (--stats 0). */
int
server_report_due(struct server *s)
{
	if (s->cfg.stats_sec <= 0)
		return -1;
	int64_t last = s->stats_prev.at_ms ? s->stats_prev.at_ms :
	    s->started_ms;
	int64_t left = last + s->cfg.stats_sec * 1000LL - server_now_ms();
	return left > 0 ? (int)left : 0;
}

/* The [STATS] line (stats.h). Accept loop only: it keeps what this line
 * saw in s->stats_prev, for the next one's rates. */
void
server_report_stats(struct server *s)
{
	struct hub_stats hub;
	struct cluster_stats cs;

	hub_stats(s->hub, &hub);
	if (s->cluster != NULL)
		cluster_stats(s->cluster, &cs);
	stats_log(&s->stats, &hub, s->archive, s->cluster != NULL ? &cs :
	    NULL, slots_in_use(s->slots), s->started_ms, server_now_ms(),
	    &s->stats_prev);
}

/* --metrics: web.h's metrics_fn, on a reader thread, holding no lock. */
void
server_report_metrics(void *arg, FILE *out)
{
	struct server *s = arg;
	struct hub_stats hub;
	struct cluster_stats cs;

	hub_stats(s->hub, &hub);
	hub_stats_queues(s->hub, &hub);
	if (s->cluster != NULL)
		cluster_stats(s->cluster, &cs);
	stats_metrics(out, &s->stats, &hub, s->archive, s->cluster != NULL ?
	    &cs : NULL, slots_in_use(s->slots));
}

/* --debug-page: web.h's debug_fn, /debug.json's object, on a reader
 * thread holding no lock: the limits, the server's threads (from /proc)
 * and sessions, the evictions so far, then each member (hub_debug). */
void
server_report_debug(void *arg, FILE *out)
{
	struct server *s = arg;
	const struct config *c = &s->cfg;
	struct hub_stats hub;
	long rss, threads;

	hub_stats(s->hub, &hub);
	stats_self(&rss, &threads);
	fprintf(out, "{\"queue_hard\":%zu,\"queue_soft\":%zu,"
	    "\"queue_soft_sec\":%d,\"flood_burst\":%zu,\"flood_rate\":%zu,\n"
	    "\"threads\":%ld,\"sessions\":%zu,\"evictions\":%llu,\n",
	    c->queue_hard, c->queue_soft, c->queue_soft_sec, c->flood_burst,
	    c->flood_rate, threads, slots_in_use(s->slots), hub.evictions);
	hub_debug(s->hub, out, c->flood_burst, c->flood_rate);
	fputs("}\n", out);
}
