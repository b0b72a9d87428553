/*
 * server_open.c - start-up's parts: everything server_init (server.c)
 * opens or makes before the first session, in the order it does so: the
 * listening sockets, the web listener's settings, the server's own
 * descriptors, the hub with --data-dir's archive and --redis's cluster,
 * and what every session shares (struct session_env).
 *
 * Everything here runs on the main thread before any other thread
 * exists, and a failure exits 1 with one line (die.h): no client is
 * served yet. The server's state is struct server (server_internal.h).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "archive.h"
#include "cluster.h"
#include "die.h"
#include "hub.h"
#include "msg.h"
#include "net.h"
#include "refuse.h"
#include "server_internal.h"
#include "slots.h"
#include "sync.h"
#include "web.h"

/*
 * Thread stacks. glibc's default is 8 MiB of address space per thread; at
 * two threads per client, 10,000 clients would reserve 160 GiB. A reader's
 * deepest path is a log line (a 4 KiB buffer and vsnprintf) and a writer's
 * is a WRITER_BATCH of 256 msgs framed for a WebSocket (transport_ws.c:
 * headers and iovecs, about 14 KiB), both under 16 KiB, so 64 KiB leaves
 * a margin of four. Sanitizer builds, whose frames are
 * larger, raise it with -DTHREAD_STACK_KIB=...
 */
#ifndef THREAD_STACK_KIB
#define THREAD_STACK_KIB 64
#endif

static struct cluster *server_open_cluster(struct server *s);

/* A non-blocking listening socket on addr and port; exits 1 when there is
 * none. */
int
server_open_listen(const char *addr, const char *port)
{
	char err[256];
	int fd = net_listen(addr, port, err, sizeof(err));

	if (fd < 0)
		die("%s", err);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl:");
	return fd;
}

/* --web: the web listener and its settings (web.h). */
void
server_open_web(struct server *s)
{
	struct web_config wc = { .metrics = s->cfg.metrics,
	    .metrics_fn = server_report_metrics, .metrics_arg = s,
	    .debug = s->cfg.debug_page, .debug_fn = server_report_debug,
	    .debug_arg = s, .head_ms = WEB_HEAD_MS };

	for (size_t i = 0; i < s->cfg.n_web_origins; i++)
		wc.origins[wc.norigins++] = s->cfg.web_origins[i];
	if (s->cfg.login_timeout > 0 && s->cfg.login_timeout * 1000 < wc.head_ms)
		wc.head_ms = s->cfg.login_timeout * 1000;
	s->web_fd = server_open_listen(s->cfg.web_addr, s->cfg.web_port);
	wc.loopback = net_is_loopback(s->web_fd);
	if ((s->web = web_new(&wc)) == NULL)
		die("out of memory");
}

/* The descriptors of the server's own signalling: the stop pipe, the
 * "session finished" eventfd, and the spare descriptor for refusing a
 * connection when out of them (refuse.h). */
void
server_open_fds(struct server *s)
{
	int pipefd[2];

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		die("pipe:");
	s->stop_rd = pipefd[0];
	s->stop_wr = pipefd[1];
	if ((s->reap_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		die("eventfd:");
	if ((s->spare_fd = refuse_spare_open()) < 0)
		die("/dev/null:");
}

/* Opens --data-dir's archive, if any, and makes the hub, with #lobby's
 * history read back from the archive. Exits 1 when the directory cannot
 * be used. */
void
server_open_hub(struct server *s)
{
	static const char *const modes[] = { "no", "second", "always" };
	struct hub_config hc = { .notices_max = s->cfg.notices_max,
	    .history = s->cfg.history, .max_rooms = s->cfg.max_rooms };
	struct msg **lobby = NULL;
	char err[512];
	size_t n = 0;

	if (s->cfg.data_dir[0] != '\0') {
		enum archive_fsync mode = ARCHIVE_FSYNC_NO;
		for (size_t i = 0; i < 3; i++)
			if (strcmp(s->cfg.fsync, modes[i]) == 0)
				mode = (enum archive_fsync)i;
		s->archive = archive_open(s->cfg.data_dir, mode,
		    s->cfg.archive_queue, err, sizeof(err));
		if (s->archive == NULL)
			die("%s", err);
		n = archive_load(s->archive, "lobby", s->cfg.history, &lobby);
	}
	hc.archive = s->archive;
	if (s->cfg.redis[0] != '\0') {
		s->cluster = server_open_cluster(s);
		hc.clustered = true;
		hc.load = cluster_load;
		hc.load_arg = s->cluster;
	}
	s->hub = hub_new(&hc, lobby, n);
	for (size_t i = 0; i < n; i++)
		msg_unref(lobby[i]);
	free(lobby);
	if (s->cluster != NULL && s->hub != NULL &&
	    !cluster_start(s->cluster, s->hub, err, sizeof(err)))
		die("--redis %s: %s", s->cfg.redis, err);
}

/* --redis: the cluster's settings; --node-id is <hostname>:<port> unless
 * given. Not yet connected: server_open_hub starts it. */
static struct cluster *
server_open_cluster(struct server *s)
{
	struct cluster_config cc = { .lease_ms = s->cfg.name_lease * 1000,
	    .history = s->cfg.history };
	const char *colon = strrchr(s->cfg.redis, ':');
	char host[200] = "localhost";

	snprintf(cc.host, sizeof(cc.host), "%.*s", (int)(colon - s->cfg.redis),
	    s->cfg.redis);
	snprintf(cc.port, sizeof(cc.port), "%s", colon + 1);
	if (s->cfg.node_id[0] != '\0') {
		snprintf(cc.node, sizeof(cc.node), "%s", s->cfg.node_id);
	} else {
		gethostname(host, sizeof(host) - 1);
		snprintf(cc.node, sizeof(cc.node), "%.40s:%d", host,
		    net_local_port(s->listen_fd));
	}
	struct cluster *cl = cluster_new(&cc);
	if (cl == NULL)
		die("out of memory");
	return cl;
}

/* What every session shares: the welcome line, the slots it takes
 * (slots.h), the list for reaping, thread attributes, and the session_env
 * naming them all, with finished as its "session finished" callback. */
void
server_open_env(struct server *s, session_done_fn *finished)
{
	s->done = calloc(s->cfg.max_clients, sizeof(*s->done));
	s->slots = slots_new(s->cfg.max_clients, s->cfg.max_per_addr);
	s->welcome = msg_printf("INFO welcome to hubchat; log in with LOGIN "
	    "<name> (or just type your name); HELP lists the commands");
	if (s->hub == NULL || s->done == NULL || s->slots == NULL ||
	    s->welcome == NULL)
		die("out of memory");
	sync_mutex_init(&s->done_lock);
	sync_check(pthread_attr_init(&s->thread_attr), "pthread_attr_init");
	sync_check(pthread_attr_setstacksize(&s->thread_attr,
	    THREAD_STACK_KIB * 1024), "pthread_attr_setstacksize");
	s->env = (struct session_env){ .hub = s->hub, .cfg = &s->cfg,
	    .stop_fd = s->stop_rd, .stopping = &s->stopping,
	    .thread_attr = &s->thread_attr, .welcome = s->welcome,
	    .stats = &s->stats, .web = s->web, .cluster = s->cluster,
	    .finished = finished,
	    .finished_arg = s };
}
