/*
 * cluster.c - see cluster.h: the request queue and the command thread,
 * the bus thread, and the calls the sessions make.
 */
#include "cluster.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "cluster_lua.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "resp.h"
#include "resp_conn.h"
#include "sync.h"

#define CHANNEL      "hubchat:bus"
#define KEY_NAME     "hubchat:name:"     /* + name, lowercase */
#define KEY_USERS    "hubchat:users:"    /* + node */
#define KEY_NODES    "hubchat:nodes"
#define KEY_HIST     "hubchat:hist:"     /* + room key */
#define KEY_SEQ      "hubchat:seq:"      /* + room key */
#define KEY_EPOCH    "hubchat:epoch"

#define QUEUE_MAX    1024    /* requests waiting for the command thread */
#define WAIT_MS      2000    /* a reader waits this long for room in it */
#define IO_MS        2000    /* each round trip to Redis, at most */
#define BATCH        64      /* requests sent as one pipeline */
#define BACKOFF_MIN  100     /* ms before reconnecting; doubled each time */
#define BACKOFF_MAX  5000
#define START_MS     5000    /* cluster_start waits this long for the bus */
#define MAX_ROOMS_READ 4096  /* rooms read back after a gap, at most */

/* ---- Requests ------------------------------------------------------------- */

/* One command: a script (EVALSHA <sha> <nkeys> <args>) or, with script
 * -1, a plain command. Its strings live in store. */
struct bus_cmd {
	int script;
	int nkeys;
	int argc;
	const char **argv;
	char *store;
	struct resp_reply *reply;       /* set by the command thread */
};

/* What a reader hands the command thread. A waiting reader owns it and
 * frees it after done; a detached one is freed by the command thread. */
struct bus_req {
	struct bus_req *next;           /* in the queue */
	struct bus_cmd *cmds;
	size_t n;
	bool failed;                    /* no reply: Redis unreachable */
	bool done;                      /* protected by cluster->lock */
	bool detached;
	pthread_cond_t wake;            /* signalled when done */
};

struct cluster {
	struct cluster_config cfg;      /* const after cluster_new */
	struct hub *hub;                /* set by cluster_start */
	pthread_mutex_t lock;           /* protects the queue, the two
	                                   connection pointers, stopping and
	                                   the start handshake */
	pthread_cond_t work;            /* the queue grew, or stopping */
	pthread_cond_t space;           /* the queue shrank */
	pthread_cond_t started;         /* the bus thread's first subscribe */
	struct bus_req *head, *tail;
	size_t queued;
	bool stopping;
	int bus_state;                  /* 0 starting, 1 up, -1 failed */
	char bus_error[256];
	struct resp_conn *cmd;          /* the command thread's */
	struct resp_conn *sub;          /* the bus thread's */
	pthread_t cmd_thread, bus_thread;
	bool threads;                   /* both were started */
	char sha[LUA_SCRIPTS][41];      /* the command thread's */
	char epoch[40];                 /* the bus thread's */
	atomic_bool up;                 /* the command connection works */
	atomic_ullong published, heard, gaps;
};

static long long
cluster_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request with room for n commands; NULL when memory runs out. */
static struct bus_req *
req_new(size_t n)
{
	struct bus_req *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->cmds = calloc(n, sizeof(*r->cmds))) == NULL) {
		free(r);
		return NULL;
	}
	pthread_cond_init(&r->wake, NULL);
	return r;
}

static void
req_free(struct bus_req *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->cmds[i].argv);
		free(r->cmds[i].store);
		resp_reply_free(r->cmds[i].reply);
	}
	pthread_cond_destroy(&r->wake);
	free(r->cmds);
	free(r);
}

/* Appends a command with argc strings, copied; false when memory runs
 * out. */
static bool
req_add(struct bus_req *r, int script, int nkeys, int argc,
    const char *const *argv)
{
	struct bus_cmd *c = &r->cmds[r->n];
	size_t total = 0;

	for (int i = 0; i < argc; i++)
		total += strlen(argv[i]) + 1;
	c->argv = malloc((size_t)argc * sizeof(*c->argv));
	c->store = malloc(total > 0 ? total : 1);
	if (c->argv == NULL || c->store == NULL) {
		free(c->argv);
		free(c->store);
		*c = (struct bus_cmd){ 0 };
		return false;
	}
	char *p = c->store;
	for (int i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]) + 1;
		memcpy(p, argv[i], len);
		c->argv[i] = p;
		p += len;
	}
	c->script = script;
	c->nkeys = nkeys;
	c->argc = argc;
	r->n++;
	return true;
}

/* Marks r done, waking its reader or freeing it. Lock held. */
static void
req_done(struct bus_req *r, bool failed)
{
	r->failed = failed;
	r->done = true;
	if (r->detached)
		req_free(r);
	else
		pthread_cond_signal(&r->wake);
}

/*
 * Hands r to the command thread. With wait, blocks until it is done (the
 * command thread finishes every request within a few IO_MS, failing it if
 * need be, so this wait is bounded). Without, r is the command thread's.
 * CLUSTER_DOWN at once when Redis is unreachable; CLUSTER_BUSY when the
 * queue stayed full for WAIT_MS. Called holding no other lock.
 */
static enum cluster_status
req_submit(struct cluster *cl, struct bus_req *r, bool wait)
{
	long long deadline = cluster_now_ms() + WAIT_MS;
	enum cluster_status st = CLUSTER_OK;

	r->detached = !wait;
	if (!atomic_load(&cl->up)) {
		if (!wait)
			req_free(r);
		return CLUSTER_DOWN;
	}
	sync_lock(&cl->lock);
	while (!cl->stopping && cl->queued >= QUEUE_MAX &&
	    sync_cond_wait_until(&cl->space, &cl->lock, deadline))
		;
	if (cl->stopping || cl->queued >= QUEUE_MAX) {
		st = cl->stopping ? CLUSTER_DOWN : CLUSTER_BUSY;
	} else {
		r->next = NULL;
		if (cl->tail != NULL)
			cl->tail->next = r;
		else
			cl->head = r;
		cl->tail = r;
		cl->queued++;
		pthread_cond_signal(&cl->work);
		while (wait && !r->done)
			pthread_cond_wait(&r->wake, &cl->lock);
		if (wait && r->failed)
			st = CLUSTER_DOWN;
		r = NULL;       /* queued: the command thread's, or done */
	}
	sync_unlock(&cl->lock);
	if (r != NULL && !wait)
		req_free(r);
	return st;
}

/* ---- The command thread ---------------------------------------------------- */

/* Queues one command (resp_conn_queue), as EVALSHA when it is a script. */
static int
cmd_queue(struct cluster *cl, struct resp_conn *c, const struct bus_cmd *b)
{
	const char *argv[3 + 64];
	char nkeys[16];
	int argc = 0;

	if (b->script < 0)
		return resp_conn_queue(c, b->argc, b->argv, NULL);
	const char **all = b->argc + 3 <= 67 ? argv :
	    malloc((size_t)(b->argc + 3) * sizeof(*all));
	if (all == NULL)
		return -1;
	snprintf(nkeys, sizeof(nkeys), "%d", b->nkeys);
	all[argc++] = "EVALSHA";
	all[argc++] = cl->sha[b->script];
	all[argc++] = nkeys;
	for (int i = 0; i < b->argc; i++)
		all[argc++] = b->argv[i];
	int rc = resp_conn_queue(c, argc, all, NULL);
	if (all != argv)
		free(all);
	return rc;
}

/* Opens the command connection and loads the scripts; NULL with err. */
static struct resp_conn *
cmd_connect(struct cluster *cl, char *err, size_t errsz)
{
	struct resp_conn *c = resp_conn_open(cl->cfg.host, cl->cfg.port, IO_MS,
	    NULL, err, errsz);

	for (int i = 0; c != NULL && i < LUA_SCRIPTS; i++) {
		const char *argv[] = { "SCRIPT", "LOAD", cluster_lua[i] };
		struct resp_reply *r = resp_conn_command(c, IO_MS, 3, argv, NULL);
		size_t len = 0;
		const char *sha = r != NULL ? resp_str(r, &len) : NULL;
		if (r == NULL || resp_type(r) != RESP_BULK || len != 40) {
			snprintf(err, errsz, "Redis at %s:%s did not load a "
			    "script: %s", cl->cfg.host, cl->cfg.port, r == NULL ?
			    resp_conn_error(c) : sha != NULL ? sha : "?");
			resp_reply_free(r);
			resp_conn_close(c);
			return NULL;
		}
		memcpy(cl->sha[i], sha, 41);
		resp_reply_free(r);
	}
	return c;
}

/* Renews this node's lease (cluster_lua.h, LUA_REFRESH), and cuts off
 * the members whose names someone else took while Redis was away. false
 * when Redis did not answer. */
static bool
cmd_refresh(struct cluster *cl, struct resp_conn *c)
{
	struct hub_roster *who = NULL;
	size_t n = cl->hub != NULL ? hub_roster(cl->hub, &who) : 0;
	char lease[24];
	const char **argv = malloc((9 + 2 * n) * sizeof(*argv));
	int argc = 0;
	bool ok = false;

	if (argv == NULL) {
		free(who);
		return true;    /* no memory: try again at the next renewal */
	}
	snprintf(lease, sizeof(lease), "%d", cl->cfg.lease_ms);
	const char *fixed[] = { "EVALSHA", cl->sha[LUA_REFRESH], "1",
	    KEY_NODES, cl->cfg.node, lease, CHANNEL, KEY_USERS, KEY_NAME };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[argc++] = fixed[i];
	for (size_t i = 0; i < n; i++) {
		argv[argc++] = who[i].name;
		argv[argc++] = who[i].room;
	}
	struct resp_reply *r = resp_conn_command(c, IO_MS, argc, argv, NULL);
	if (r != NULL && resp_type(r) == RESP_ARRAY) {
		ok = true;
		for (size_t i = 0; i < resp_count(r); i++) {
			const char *lost = resp_str(resp_elem(r, i), NULL);
			if (lost == NULL || !proto_name_ok(lost))
				continue;
			log_event(LOG_CLUSTER, "name=%s was taken on another node "
			    "while Redis was away: its user here is cut off",
			    lost);
			hub_drop(cl->hub, lost, PROTO_ERR_NAME_LOST);
		}
	} else if (r != NULL) {
		log_event(LOG_CLUSTER, "the lease was refused: %s",
		    resp_str(r, NULL) != NULL ? resp_str(r, NULL) : "?");
		ok = true;      /* Redis answered: the connection is fine */
	}
	resp_reply_free(r);
	free(argv);
	free(who);
	return ok;
}

/* Sends every command of the batch as one pipeline (one write), then
 * reads every reply; false when the connection failed (the rest then fail
 * too). */
static bool
cmd_run(struct cluster *cl, struct resp_conn *c, struct bus_req *batch)
{
	for (struct bus_req *r = batch; r != NULL; r = r->next)
		for (size_t i = 0; i < r->n; i++)
			if (cmd_queue(cl, c, &r->cmds[i]) != 0)
				return false;
	if (resp_conn_flush(c, IO_MS) != 0)
		return false;
	for (struct bus_req *r = batch; r != NULL; r = r->next)
		for (size_t i = 0; i < r->n; i++)
			if ((r->cmds[i].reply = resp_conn_read(c, IO_MS)) == NULL)
				return false;
	return true;
}

/* Completes every request of batch: failed, or with its replies. */
static void
cmd_finish(struct cluster *cl, struct bus_req *batch, bool failed)
{
	sync_lock(&cl->lock);
	while (batch != NULL) {
		struct bus_req *next = batch->next;
		req_done(batch, failed);
		batch = next;
	}
	sync_unlock(&cl->lock);
}

/* Up to BATCH requests off the queue, waiting until there is one, the
 * lease is due (at due, ms) or the cluster stops. Once stopping, what is
 * queued still goes out (the releases of the names of the sessions that
 * ended last); *stop when nothing is left. */
static struct bus_req *
cmd_take(struct cluster *cl, long long due, bool *stop)
{
	struct bus_req *batch = NULL, **tail = &batch;

	sync_lock(&cl->lock);
	while (!cl->stopping && cl->head == NULL &&
	    sync_cond_wait_until(&cl->work, &cl->lock, due))
		;
	*stop = cl->stopping && cl->head == NULL;
	for (int i = 0; i < BATCH && cl->head != NULL; i++) {
		struct bus_req *r = cl->head;
		cl->head = r->next;
		cl->queued--;
		r->next = NULL;
		*tail = r;
		tail = &r->next;
	}
	if (cl->head == NULL)
		cl->tail = NULL;
	pthread_cond_broadcast(&cl->space);
	sync_unlock(&cl->lock);
	return batch;
}

/* Fails everything queued: the cluster is stopping. */
static void
cmd_fail_queue(struct cluster *cl)
{
	sync_lock(&cl->lock);
	while (cl->head != NULL) {
		struct bus_req *r = cl->head;
		cl->head = r->next;
		req_done(r, true);
	}
	cl->tail = NULL;
	cl->queued = 0;
	sync_unlock(&cl->lock);
}

/* The connection failed: say so once, drop it. */
static void
cmd_lost(struct cluster *cl, struct resp_conn **c)
{
	if (atomic_exchange(&cl->up, false))
		log_event(LOG_CLUSTER, "lost Redis at %s:%s: %s; messages and "
		    "logins are refused until it is back", cl->cfg.host,
		    cl->cfg.port, resp_conn_error(*c));
	sync_lock(&cl->lock);
	cl->cmd = NULL;
	sync_unlock(&cl->lock);
	resp_conn_close(*c);
	*c = NULL;
}

/* Tries to connect again; on success renews the lease at once. */
static void
cmd_reconnect(struct cluster *cl, struct resp_conn **c)
{
	char err[256];

	if ((*c = cmd_connect(cl, err, sizeof(err))) == NULL)
		return;
	sync_lock(&cl->lock);
	cl->cmd = *c;
	bool stop = cl->stopping;
	sync_unlock(&cl->lock);
	if (stop || !cmd_refresh(cl, *c)) {
		cmd_lost(cl, c);
		return;
	}
	atomic_store(&cl->up, true);
	log_event(LOG_CLUSTER, "Redis at %s:%s is back; the names held here "
	    "are held again", cl->cfg.host, cl->cfg.port);
}

/* The command thread: takes batches, keeps the connection and the lease,
 * and on stopping sends what is left, then ends. */
static void *
cmd_main(void *arg)
{
	struct cluster *cl = arg;
	struct resp_conn *c = cl->cmd;  /* cluster_start's, connected */
	long long renew = cluster_now_ms() + cl->cfg.lease_ms / 3;
	long long retry = 0;
	int backoff = BACKOFF_MIN;
	bool stop = false;

	pthread_setname_np(pthread_self(), "cluster-cmd");
	while (!stop) {
		long long due = c != NULL ? renew : retry;
		struct bus_req *batch = cmd_take(cl, due, &stop);
		long long now = cluster_now_ms();
		if (c == NULL && now >= retry && !stop) {
			cmd_reconnect(cl, &c);
			backoff = c != NULL ? BACKOFF_MIN :
			    backoff * 2 < BACKOFF_MAX ? backoff * 2 : BACKOFF_MAX;
			retry = now + backoff;
			renew = now + cl->cfg.lease_ms / 3;
		}
		if (c != NULL && now >= renew && !stop) {
			if (!cmd_refresh(cl, c))
				cmd_lost(cl, &c);
			renew = now + cl->cfg.lease_ms / 3;
		}
		bool ok = c != NULL && batch != NULL && cmd_run(cl, c, batch);
		if (c != NULL && batch != NULL && !ok)
			cmd_lost(cl, &c);
		cmd_finish(cl, batch, !ok);
	}
	cmd_fail_queue(cl);
	sync_lock(&cl->lock);
	cl->cmd = NULL;
	sync_unlock(&cl->lock);
	resp_conn_close(c);
	return NULL;
}

/* ---- The bus thread ------------------------------------------------------------ */

/* Splits the first word off *p (ending at a space); NULL when there is
 * none or nothing after it. */
static char *
bus_word(char **p)
{
	char *w = *p, *sp = strchr(w, ' ');

	if (sp == NULL || sp == w)
		return NULL;
	*sp = '\0';
	*p = sp + 1;
	return w;
}

static bool
bus_key_ok(const char *key)
{
	char room[PROTO_MAX_ROOM + 2];

	snprintf(room, sizeof(room), "#%s", key);
	return strlen(key) <= PROTO_MAX_ROOM && proto_room_ok(room);
}

/* One bus message, parsed in place (cluster_lua.h has the forms). */
struct bus_event {
	char kind;              /* 'M', 'N', 'D'; 0 when malformed */
	char *key, *name, *other, *text;
	struct hub_bus_line line;       /* 'M' */
};

/* Parses p (len bytes, NUL-terminated); anything malformed (not ours, or
 * not our version) has kind 0 and is dropped. */
static void
bus_parse(char *p, size_t len, struct bus_event *e)
{
	char *kind, *a, *b, *seq, *when;

	e->kind = 0;
	if (strlen(p) != len || (kind = bus_word(&p)) == NULL ||
	    strlen(kind) != 1 || !proto_text_ok(p, strlen(p)))
		return;
	if (*kind == 'M' && (a = bus_word(&p)) != NULL &&
	    (seq = bus_word(&p)) != NULL && (when = bus_word(&p)) != NULL &&
	    (b = bus_word(&p)) != NULL && bus_key_ok(a) && proto_name_ok(b)) {
		e->key = a;
		e->line = (struct hub_bus_line){ strtoull(seq, NULL, 10), when,
		    b, p };
	} else if (*kind == 'N' && (a = bus_word(&p)) != NULL &&
	    (b = bus_word(&p)) != NULL && bus_key_ok(a) && proto_name_ok(b) &&
	    (!strcmp(p, "joined") || !strcmp(p, "left") ||
	    !strcmp(p, "disconnected"))) {
		e->key = a;
		e->name = b;
		e->text = p;
	} else if (*kind == 'D' && (a = bus_word(&p)) != NULL &&
	    (b = bus_word(&p)) != NULL && proto_name_ok(a) && proto_name_ok(b)) {
		e->name = a;
		e->other = b;
		e->text = p;
	} else {
		return;
	}
	e->kind = *kind;
}

/* What the bus thread has read but not yet delivered: a run of room lines
 * of one room, and the replies their text lives in. */
struct bus_run {
	char key[PROTO_MAX_ROOM + 1];
	struct hub_bus_line lines[HUB_BUS_BATCH];
	size_t n;
	struct resp_reply *held[HUB_BUS_BATCH];
	size_t nheld;
};

/* Delivers the run (one hub call: one critical section, a wake-up per
 * member) and lets its replies go. */
static void
bus_flush(struct cluster *cl, struct bus_run *run)
{
	if (run->n > 0)
		hub_bus_say(cl->hub, run->key, run->lines, run->n);
	for (size_t i = 0; i < run->nheld; i++)
		resp_reply_free(run->held[i]);
	run->n = run->nheld = 0;
}

/* Takes one reply off the bus: a room line joins the run (which is first
 * delivered when it is of another room, or full); a notice or a DM is
 * delivered at once, after the run before it, so the bus's order holds. */
static void
bus_take(struct cluster *cl, struct resp_reply *r, struct bus_run *run)
{
	struct resp_message m;
	struct bus_event e = { 0 };

	if (resp_message(r, &m) && m.channel_len == strlen(CHANNEL) &&
	    memcmp(m.channel, CHANNEL, m.channel_len) == 0) {
		atomic_fetch_add_explicit(&cl->heard, 1, memory_order_relaxed);
		bus_parse((char *)m.payload, m.payload_len, &e);
	}
	if (e.kind == 'M') {
		if (run->n == HUB_BUS_BATCH || (run->n > 0 &&
		    strcmp(run->key, e.key) != 0))
			bus_flush(cl, run);
		snprintf(run->key, sizeof(run->key), "%s", e.key);
		run->lines[run->n++] = e.line;
		run->held[run->nheld++] = r;
		return;
	}
	bus_flush(cl, run);
	if (e.kind == 'N')
		hub_bus_notice(cl->hub, e.key, e.name, e.text);
	else if (e.kind == 'D')
		hub_bus_dm(cl->hub, e.name, e.other, e.text);
	resp_reply_free(r);
}

/* Waits ms, or until the cluster stops; true when it stops. */
static bool
bus_pause(struct cluster *cl, int ms)
{
	long long until = cluster_now_ms() + ms;

	sync_lock(&cl->lock);
	while (!cl->stopping && sync_cond_wait_until(&cl->work, &cl->lock,
	    until))
		;
	bool stop = cl->stopping;
	sync_unlock(&cl->lock);
	return stop;
}

/* Subscribes on a new connection; NULL with err. */
static struct resp_conn *
bus_subscribe(struct cluster *cl, char *err, size_t errsz)
{
	struct resp_conn *c = resp_conn_open(cl->cfg.host, cl->cfg.port, IO_MS,
	    NULL, err, errsz);
	const char *argv[] = { "SUBSCRIBE", CHANNEL };

	if (c == NULL)
		return NULL;
	struct resp_reply *r = resp_conn_command(c, IO_MS, 2, argv, NULL);
	if (r == NULL || resp_count(r) != 3 ||
	    !resp_str_eq(resp_elem(r, 0), "subscribe")) {
		snprintf(err, errsz, "SUBSCRIBE failed: %s", r == NULL ?
		    resp_conn_error(c) : "an unexpected reply");
		resp_reply_free(r);
		resp_conn_close(c);
		return NULL;
	}
	resp_reply_free(r);
	sync_lock(&cl->lock);
	bool stop = cl->stopping;
	if (!stop)
		cl->sub = c;
	sync_unlock(&cl->lock);
	if (stop) {
		resp_conn_close(c);
		snprintf(err, errsz, "stopping");
		return NULL;
	}
	return c;
}

/* Redis's epoch: a random word set once, so a Redis that lost its data
 * (restarted empty) is told apart from one that kept it. NULL when Redis
 * did not answer. */
static bool
bus_epoch(struct cluster *cl, char *out, size_t outsz)
{
	unsigned char raw[8];
	char mine[20];
	struct bus_req *r = req_new(2);
	bool ok = false;

	if (r == NULL)
		return false;
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		memcpy(raw, &(long long){ cluster_now_ms() }, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(mine + 2 * i, 3, "%02x", raw[i]);
	const char *set[] = { "SET", KEY_EPOCH, mine, "NX" };
	const char *get[] = { "GET", KEY_EPOCH };
	if (req_add(r, -1, 0, 4, set) && req_add(r, -1, 0, 2, get) &&
	    req_submit(cl, r, true) == CLUSTER_OK) {
		const char *e = resp_str(r->cmds[1].reply, NULL);
		if (e != NULL && resp_type(r->cmds[1].reply) == RESP_BULK) {
			snprintf(out, outsz, "%s", e);
			ok = true;
		}
	}
	req_free(r);
	return ok;
}

/* After subscribing: if Redis lost its data, forget every room's
 * history; then read every room held here back. false when Redis did
 * not answer. */
static bool
bus_catch_up(struct cluster *cl)
{
	char epoch[sizeof(cl->epoch)];
	static char rooms[MAX_ROOMS_READ][PROTO_MAX_ROOM + 2];  /* bus only */

	if (!bus_epoch(cl, epoch, sizeof(epoch)))
		return false;
	if (cl->epoch[0] != '\0' && strcmp(epoch, cl->epoch) != 0) {
		log_event(LOG_CLUSTER, "Redis came back without its data: every "
		    "room's history is read again from what it holds now");
		hub_forget_history(cl->hub);
	}
	snprintf(cl->epoch, sizeof(cl->epoch), "%s", epoch);
	size_t n = hub_rooms_held(cl->hub, rooms, MAX_ROOMS_READ);
	for (size_t i = 0; i < n; i++)
		if (hub_load_room(cl->hub, rooms[i]) == HUB_UNAVAILABLE)
			return false;
	return true;
}

/* cluster_start waits for the first subscription; tell it how it went. */
static void
bus_started(struct cluster *cl, int state, const char *why)
{
	sync_lock(&cl->lock);
	if (cl->bus_state == 0) {
		cl->bus_state = state;
		snprintf(cl->bus_error, sizeof(cl->bus_error), "%s", why);
		pthread_cond_broadcast(&cl->started);
	}
	sync_unlock(&cl->lock);
}

/* Reads the bus until it fails or the cluster stops; why it ended in
 * err. It blocks for one message, then takes what else has come without
 * waiting, so a burst is delivered in runs (bus_take), not line by line. */
static void
bus_listen(struct cluster *cl, struct resp_conn *c, char *err, size_t errsz)
{
	static struct bus_run run;      /* the bus thread's alone */
	struct resp_reply *r;

	while ((r = resp_conn_read(c, -1)) != NULL) {
		do
			bus_take(cl, r, &run);
		while (run.nheld < HUB_BUS_BATCH &&
		    (r = resp_conn_read(c, 0)) != NULL);
		bus_flush(cl, &run);
		if (resp_conn_failure(c) != RESP_FAIL_NONE &&
		    resp_conn_failure(c) != RESP_FAIL_TIMEOUT)
			break;
	}
	snprintf(err, errsz, "%s", resp_conn_error(c));
}

/* Drops the subscription (the bus thread's own). */
static void
bus_close(struct cluster *cl, struct resp_conn *c)
{
	sync_lock(&cl->lock);
	cl->sub = NULL;
	sync_unlock(&cl->lock);
	resp_conn_close(c);
}

static void bus_back(struct cluster *cl);
static void bus_lost(struct cluster *cl, const char *err);

/* Subscribes and catches up (bus_catch_up); NULL, with why in err, when
 * either fails. */
static struct resp_conn *
bus_connect(struct cluster *cl, char *err, size_t errsz)
{
	struct resp_conn *c = bus_subscribe(cl, err, errsz);

	if (c != NULL && !bus_catch_up(cl)) {
		snprintf(err, errsz, "Redis did not answer while the rooms were "
		    "read back");
		bus_close(cl, c);
		c = NULL;
	}
	return c;
}

/* The bus thread: subscribe and catch up, listen until the bus is lost,
 * tell everyone, and again, with backoff, until the cluster stops. */
static void *
bus_main(void *arg)
{
	struct cluster *cl = arg;
	int backoff = BACKOFF_MIN;
	bool first = true;
	char err[256];

	pthread_setname_np(pthread_self(), "cluster-bus");
	for (;;) {
		struct resp_conn *c = bus_connect(cl, err, sizeof(err));
		if (c == NULL) {
			if (first)
				bus_started(cl, -1, err);
			if (bus_pause(cl, backoff))
				break;
			backoff = backoff * 2 < BACKOFF_MAX ? backoff * 2 :
			    BACKOFF_MAX;
			continue;
		}
		backoff = BACKOFF_MIN;
		if (first)
			bus_started(cl, 1, "");
		else
			bus_back(cl);
		first = false;
		bus_listen(cl, c, err, sizeof(err));
		bus_close(cl, c);
		if (bus_pause(cl, 0))
			break;
		bus_lost(cl, err);
	}
	return NULL;
}

/* The bus is back after a gap: say so, and tell every client here. */
static void
bus_back(struct cluster *cl)
{
	log_event(LOG_CLUSTER, "the bus is back; every room held here was "
	    "read back");
	hub_tell_all(cl->hub, "INFO the cluster is back: some messages may be "
	    "missing");
}

/* The bus was lost (why in err): count it, say so, tell every client. */
static void
bus_lost(struct cluster *cl, const char *err)
{
	atomic_fetch_add(&cl->gaps, 1);
	log_event(LOG_CLUSTER, "lost the bus: %s; reconnecting", err);
	hub_tell_all(cl->hub, "INFO the cluster cannot be reached: some "
	    "messages may be missing until it is back");
}

/* ---- Making, starting and stopping ------------------------------------------ */

struct cluster *
cluster_new(const struct cluster_config *cfg)
{
	struct cluster *cl = calloc(1, sizeof(*cl));

	if (cl == NULL)
		return NULL;
	cl->cfg = *cfg;
	assert(cfg->lease_ms >= 300);
	sync_mutex_init(&cl->lock);
	sync_cond_init(&cl->work);
	sync_cond_init(&cl->space);
	sync_cond_init(&cl->started);
	return cl;
}

bool
cluster_start(struct cluster *cl, struct hub *hub, char *err, size_t errsz)
{
	cl->hub = hub;
	if ((cl->cmd = cmd_connect(cl, err, errsz)) == NULL)
		return false;
	if (!cmd_refresh(cl, cl->cmd)) {
		snprintf(err, errsz, "Redis at %s:%s did not answer: %s",
		    cl->cfg.host, cl->cfg.port, resp_conn_error(cl->cmd));
		resp_conn_close(cl->cmd);
		cl->cmd = NULL;
		return false;
	}
	atomic_store(&cl->up, true);
	if ((errno = pthread_create(&cl->cmd_thread, NULL, cmd_main, cl)) != 0) {
		snprintf(err, errsz, "no thread: %s", strerror(errno));
		return false;
	}
	if ((errno = pthread_create(&cl->bus_thread, NULL, bus_main, cl)) != 0) {
		snprintf(err, errsz, "no thread: %s", strerror(errno));
		cl->threads = true;     /* the command thread: stopped below */
		cluster_stop(cl);
		return false;
	}
	cl->threads = true;
	long long deadline = cluster_now_ms() + START_MS;
	sync_lock(&cl->lock);
	while (cl->bus_state == 0 &&
	    sync_cond_wait_until(&cl->started, &cl->lock, deadline))
		;
	int state = cl->bus_state;
	if (state != 1)
		snprintf(err, errsz, "the bus did not start: %s",
		    state == 0 ? "no answer in time" : cl->bus_error);
	sync_unlock(&cl->lock);
	return state == 1;
}

void
cluster_stop(struct cluster *cl)
{
	if (cl == NULL || !cl->threads)
		return;
	sync_lock(&cl->lock);
	cl->stopping = true;
	pthread_cond_broadcast(&cl->work);
	pthread_cond_broadcast(&cl->space);
	if (cl->sub != NULL)
		resp_conn_shutdown(cl->sub);
	sync_unlock(&cl->lock);
	sync_join(cl->bus_thread);
	sync_join(cl->cmd_thread);      /* after sending what is queued, each
	                                   round trip within IO_MS */
	cl->threads = false;
	atomic_store(&cl->up, false);
}

void
cluster_free(struct cluster *cl)
{
	if (cl == NULL)
		return;
	assert(!cl->threads);
	assert(cl->head == NULL);
	pthread_cond_destroy(&cl->work);
	pthread_cond_destroy(&cl->space);
	pthread_cond_destroy(&cl->started);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

/* ---- What sessions call ---------------------------------------------------------- */

/* key: the room's key (lowercase, no '#') of a room name as shown. */
static void
cluster_room_key(const char *room, char key[PROTO_MAX_ROOM + 1])
{
	size_t i = 0;

	for (; room[i + 1] != '\0' && i < PROTO_MAX_ROOM; i++)
		key[i] = (char)(room[i + 1] | ((room[i + 1] >= 'A' &&
		    room[i + 1] <= 'Z') ? 0x20 : 0));
	key[i] = '\0';
}

/* "<prefix><name, lowercase>" into out. */
static void
cluster_name_key(const char *name, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s%s", KEY_NAME, name);

	for (int i = (int)strlen(KEY_NAME); i < n && out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] |= 0x20;
}

/* Runs one script and waits: its integer reply in *value. */
static enum cluster_status
cluster_script(struct cluster *cl, int script, int nkeys, int argc,
    const char *const *argv, struct resp_reply **reply)
{
	struct bus_req *r = req_new(1);
	enum cluster_status st;

	*reply = NULL;
	if (r == NULL || !req_add(r, script, nkeys, argc, argv)) {
		req_free(r);
		return CLUSTER_BUSY;
	}
	if ((st = req_submit(cl, r, true)) == CLUSTER_OK) {
		*reply = r->cmds[0].reply;
		r->cmds[0].reply = NULL;
	}
	req_free(r);
	return st;
}

/* A script's integer reply, or -1 (an error reply, or none). */
static long long
cluster_integer(const struct resp_reply *r)
{
	return r != NULL && resp_type(r) == RESP_INTEGER ? resp_integer(r) : -1;
}

enum cluster_status
cluster_claim(struct cluster *cl, const char *name)
{
	char key[sizeof(KEY_NAME) + PROTO_MAX_NAME], users[sizeof(KEY_USERS) +
	    sizeof(cl->cfg.node)], lease[24];
	struct resp_reply *reply;

	cluster_name_key(name, key, sizeof(key));
	snprintf(users, sizeof(users), "%s%s", KEY_USERS, cl->cfg.node);
	snprintf(lease, sizeof(lease), "%d", cl->cfg.lease_ms);
	const char *argv[] = { key, users, cl->cfg.node, lease, name, CHANNEL };
	enum cluster_status st = cluster_script(cl, LUA_CLAIM, 2, 6, argv,
	    &reply);
	long long v = cluster_integer(reply);
	resp_reply_free(reply);
	if (st != CLUSTER_OK)
		return st;
	return v == 1 ? CLUSTER_OK : v == 0 ? CLUSTER_TAKEN : CLUSTER_DOWN;
}

void
cluster_release(struct cluster *cl, const char *name, const char *room)
{
	char key[sizeof(KEY_NAME) + PROTO_MAX_NAME], users[sizeof(KEY_USERS) +
	    sizeof(cl->cfg.node)], rkey[PROTO_MAX_ROOM + 1];
	struct bus_req *r = req_new(1);

	cluster_name_key(name, key, sizeof(key));
	snprintf(users, sizeof(users), "%s%s", KEY_USERS, cl->cfg.node);
	cluster_room_key(room, rkey);
	const char *argv[] = { key, users, cl->cfg.node, name, rkey, CHANNEL };
	if (r != NULL && req_add(r, LUA_RELEASE, 2, 6, argv))
		req_submit(cl, r, false);
	else
		req_free(r);    /* the lease frees the name instead */
}

void
cluster_moved(struct cluster *cl, const char *name, const char *from,
    const char *to)
{
	char users[sizeof(KEY_USERS) + sizeof(cl->cfg.node)];
	char old[PROTO_MAX_ROOM + 1], new[PROTO_MAX_ROOM + 1];
	struct bus_req *r = req_new(1);

	snprintf(users, sizeof(users), "%s%s", KEY_USERS, cl->cfg.node);
	cluster_room_key(from, old);
	cluster_room_key(to, new);
	const char *argv[] = { users, name, to, old, new, CHANNEL };
	if (r != NULL && req_add(r, LUA_MOVE, 1, 6, argv))
		req_submit(cl, r, false);
	else
		req_free(r);    /* the next renewal writes where name is */
}

/* UTC now as in HIST lines. */
static void
cluster_now_text(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
cluster_say(struct cluster *cl, const char *room, const char *from,
    char *const *texts, size_t n, enum cluster_status *status)
{
	char rkey[PROTO_MAX_ROOM + 1], seq[sizeof(KEY_SEQ) + PROTO_MAX_ROOM],
	    hist[sizeof(KEY_HIST) + PROTO_MAX_ROOM], keep[24], when[32];
	struct bus_req *r = req_new(n);
	enum cluster_status st = r == NULL ? CLUSTER_BUSY : CLUSTER_OK;

	cluster_room_key(room, rkey);
	snprintf(seq, sizeof(seq), "%s%s", KEY_SEQ, rkey);
	snprintf(hist, sizeof(hist), "%s%s", KEY_HIST, rkey);
	snprintf(keep, sizeof(keep), "%zu", cl->cfg.history);
	cluster_now_text(when);
	for (size_t i = 0; st == CLUSTER_OK && i < n; i++) {
		const char *argv[] = { seq, hist, CHANNEL, rkey, when, from,
		    texts[i], keep };
		if (!req_add(r, LUA_SAY, 2, 8, argv))
			st = CLUSTER_BUSY;
	}
	if (st == CLUSTER_OK)
		st = req_submit(cl, r, true);
	for (size_t i = 0; i < n; i++) {
		status[i] = st;
		if (st == CLUSTER_OK && cluster_integer(r->cmds[i].reply) < 0)
			status[i] = CLUSTER_DOWN;       /* the script failed */
		else if (st == CLUSTER_OK)
			atomic_fetch_add_explicit(&cl->published, 1,
			    memory_order_relaxed);
	}
	req_free(r);
}

enum cluster_status
cluster_dm(struct cluster *cl, const char *from, const char *to,
    const char *text)
{
	char key[sizeof(KEY_NAME) + PROTO_MAX_NAME];
	struct resp_reply *reply;

	cluster_name_key(to, key, sizeof(key));
	const char *argv[] = { key, CHANNEL, to, from, text };
	enum cluster_status st = cluster_script(cl, LUA_DM, 1, 5, argv,
	    &reply);
	long long v = cluster_integer(reply);
	resp_reply_free(reply);
	if (st != CLUSTER_OK)
		return st;
	return v == 1 ? CLUSTER_OK : v == 0 ? CLUSTER_NO_SUCH_USER :
	    CLUSTER_DOWN;
}

static int
cluster_cmp_names(const void *a, const void *b)
{
	return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

struct msg *
cluster_who(struct cluster *cl, const char *room, enum cluster_status *st)
{
	char rkey[PROTO_MAX_ROOM + 1], *text = NULL;
	struct resp_reply *reply;
	struct msg *line = NULL;
	size_t len = 0;

	cluster_room_key(room, rkey);
	const char *argv[] = { KEY_NODES, KEY_USERS, rkey };
	if ((*st = cluster_script(cl, LUA_WHO, 1, 3, argv, &reply)) !=
	    CLUSTER_OK)
		return NULL;
	size_t n = resp_count(reply);
	const char **names = malloc((n + 1) * sizeof(*names));
	FILE *f = names != NULL ? open_memstream(&text, &len) : NULL;
	if (f != NULL) {
		size_t k = 0;
		for (size_t i = 0; i < n; i++) {
			const char *s = resp_str(resp_elem(reply, i), NULL);
			if (s != NULL && proto_name_ok(s))
				names[k++] = s;
		}
		qsort(names, k, sizeof(*names), cluster_cmp_names);
		for (size_t i = 0; i < k; i++)
			fprintf(f, " %s", names[i]);
		if (fclose(f) == 0)
			line = msg_printf("USERS%s", text);
	}
	*st = line != NULL ? CLUSTER_OK : CLUSTER_BUSY;
	free(text);
	free(names);
	resp_reply_free(reply);
	return line;
}

/* For sorting ROOMS by key: (key, shown, count). */
struct cluster_room {
	char key[PROTO_MAX_ROOM + 1];
	const char *shown;
	long long count;
};

static int
cluster_cmp_rooms(const void *a, const void *b)
{
	return strcmp(((const struct cluster_room *)a)->key,
	    ((const struct cluster_room *)b)->key);
}

struct msg *
cluster_rooms(struct cluster *cl, enum cluster_status *st)
{
	const char *argv[] = { KEY_NODES, KEY_USERS };
	struct resp_reply *reply;
	struct msg *line = NULL;
	char *text = NULL;
	size_t len = 0;

	if ((*st = cluster_script(cl, LUA_ROOMS, 1, 2, argv, &reply)) !=
	    CLUSTER_OK)
		return NULL;
	size_t n = resp_count(reply) / 2, k = 0;
	struct cluster_room *rooms = malloc((n + 1) * sizeof(*rooms));
	FILE *f = rooms != NULL ? open_memstream(&text, &len) : NULL;
	if (f != NULL) {
		bool lobby = false;
		for (size_t i = 0; i < n; i++) {
			const char *s = resp_str(resp_elem(reply, 2 * i), NULL);
			long long c = cluster_integer(resp_elem(reply, 2 * i + 1));
			if (s == NULL || !proto_room_ok(s) || c < 1)
				continue;
			cluster_room_key(s, rooms[k].key);
			rooms[k].shown = s;
			rooms[k++].count = c;
			lobby = lobby || strcmp(rooms[k - 1].key, "lobby") == 0;
		}
		if (!lobby)
			rooms[k++] = (struct cluster_room){ "lobby", "#lobby", 0 };
		qsort(rooms, k, sizeof(*rooms), cluster_cmp_rooms);
		for (size_t i = 0; i < k; i++)
			fprintf(f, " %s %lld", rooms[i].shown, rooms[i].count);
		if (fclose(f) == 0)
			line = msg_printf("ROOMS%s", text);
	}
	*st = line != NULL ? CLUSTER_OK : CLUSTER_BUSY;
	free(text);
	free(rooms);
	resp_reply_free(reply);
	return line;
}

/* One history entry "<seq> <time> <from> <text>" as a HIST line; false
 * when it is not one. */
static bool
cluster_hist_entry(const char *s, struct hub_hist *out)
{
	char *end, when[32], from[PROTO_MAX_NAME + 1];
	int used = 0;

	out->seq = strtoull(s, &end, 10);
	if (end == s || *end != ' ' || sscanf(end + 1, "%31s %32s %n", when,
	    from, &used) != 2 || used == 0 || !proto_name_ok(from))
		return false;
	const char *text = end + 1 + used;
	if (!proto_text_ok(text, strlen(text)) || *text == '\0')
		return false;
	out->line = msg_printf("HIST %s %s %s", when, from, text);
	return out->line != NULL;
}

/* The entries of an LRANGE reply of history as HIST lines, into *out;
 * the count, or -1 when it is not a list or memory ran out. */
static long
cluster_hist_list(const struct resp_reply *list, struct hub_hist **out)
{
	long n = 0;

	if (list == NULL || resp_type(list) != RESP_ARRAY ||
	    (*out = malloc((resp_count(list) + 1) * sizeof(**out))) == NULL)
		return -1;
	for (size_t i = 0; i < resp_count(list); i++) {
		const char *s = resp_str(resp_elem(list, i), NULL);
		if (s != NULL && cluster_hist_entry(s, &(*out)[n]))
			n++;
	}
	return n;
}

long
cluster_load(void *arg, const char *key, size_t max, struct hub_hist **out,
    unsigned long long *newest)
{
	struct cluster *cl = arg;
	char hist[sizeof(KEY_HIST) + PROTO_MAX_ROOM], from[24],
	    seq[sizeof(KEY_SEQ) + PROTO_MAX_ROOM];
	struct bus_req *r = req_new(2);
	long n = -1;

	*out = NULL;
	*newest = 0;
	snprintf(hist, sizeof(hist), "%s%s", KEY_HIST, key);
	snprintf(seq, sizeof(seq), "%s%s", KEY_SEQ, key);
	snprintf(from, sizeof(from), "-%zu", max);
	/* The counter first: a line counted after it may be in the list as
	 * well (the merge keeps it once), but none in the list is numbered
	 * above it. */
	const char *get[] = { "GET", seq };
	const char *range[] = { "LRANGE", hist, from, "-1" };
	if (r != NULL && req_add(r, -1, 0, 2, get) &&
	    (max == 0 || req_add(r, -1, 0, 4, range)) &&
	    req_submit(cl, r, true) == CLUSTER_OK) {
		const struct resp_reply *count = r->cmds[0].reply;
		if (resp_type(count) == RESP_BULK)
			*newest = strtoull(resp_str(count, NULL), NULL, 10);
		n = max > 0 ? cluster_hist_list(r->cmds[1].reply, out) : 0;
	}
	req_free(r);
	return n;
}

void
cluster_stats(struct cluster *cl, struct cluster_stats *out)
{
	out->published = atomic_load(&cl->published);
	out->heard = atomic_load(&cl->heard);
	out->gaps = atomic_load(&cl->gaps);
	out->up = atomic_load(&cl->up);
}
