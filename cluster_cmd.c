/*
 * cluster_cmd.c - the cluster's requests and its command thread (see
 * cluster.h and cluster_internal.h).
 *
 * Readers hand requests to the command thread through a bounded queue and
 * wait for their replies. The command thread takes up to BATCH requests,
 * sends all their commands with one write, reads every reply, and wakes
 * each reader. It owns the command connection: it reconnects with backoff
 * when it fails, and renews the node's lease every lease/3.
 */
#include "cluster_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "log.h"
#include "resp.h"
#include "resp_conn.h"
#include "sync.h"

/* ---- Requests -------------------------------------------------------------- */

struct bus_req *
req_new(size_t n)
{
	struct bus_req *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->cmds = calloc(n, sizeof(*r->cmds))) == NULL) {
		free(r);
		return NULL;
	}
	r->cap = n;
	sync_cond_init(&r->wake);
	return r;
}

void
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

bool
req_add(struct bus_req *r, int script, int nkeys, int argc,
    const char *const *argv)
{
	struct bus_cmd *c = &r->cmds[r->n];
	size_t total = 0;

	assert(r->n < r->cap && argc > 0);
	for (int i = 0; i < argc; i++)
		total += strlen(argv[i]) + 1;
	c->argv = malloc((size_t)argc * sizeof(*c->argv));
	c->store = malloc(total);
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

bool
reply_failed(const struct resp_reply *r)
{
	return r == NULL || resp_type(r) == RESP_ERROR;
}

/* Marks r done, waking its reader; a detached one is handed back in
 * *freed for the caller to free once the lock is let go. Lock held. */
static void
req_done(struct bus_req *r, bool failed, struct bus_req **freed)
{
	r->failed = failed;
	r->done = true;
	if (r->detached) {
		r->next = *freed;
		*freed = r;
	} else {
		sync_signal(&r->wake);
	}
}

/* Frees a list of detached requests made by req_done. No lock held. */
static void
req_free_list(struct bus_req *r)
{
	while (r != NULL) {
		struct bus_req *next = r->next;
		req_free(r);
		r = next;
	}
}

enum cluster_status
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
		sync_signal(&cl->work);
		while (wait && !r->done)
			sync_wait(&r->wake, &cl->lock);
		if (wait && r->failed)
			st = CLUSTER_DOWN;
		r = NULL;       /* queued: the command thread's, or done */
	}
	sync_unlock(&cl->lock);
	if (r != NULL && !wait)
		req_free(r);
	return st;
}

/* ---- The connection ------------------------------------------------------------- */

/* Queues one command (resp_conn_queue), as EVALSHA when it is a script:
 * EVALSHA, the script's SHA1, the number of keys, then its own words. */
static int
cmd_queue(struct cluster *cl, struct resp_conn *c, const struct bus_cmd *b)
{
	const char *argv[3 + CLUSTER_MAX_ARGS];
	char nkeys[16];
	int argc = 0;

	if (b->script < 0)
		return resp_conn_queue(c, b->argc, b->argv, NULL);
	assert(b->argc <= CLUSTER_MAX_ARGS);
	snprintf(nkeys, sizeof(nkeys), "%d", b->nkeys);
	argv[argc++] = "EVALSHA";
	argv[argc++] = cl->sha[b->script];
	argv[argc++] = nkeys;
	for (int i = 0; i < b->argc; i++)
		argv[argc++] = b->argv[i];
	return resp_conn_queue(c, argc, argv, NULL);
}

struct resp_conn *
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

/* The names left while Redis was away, taken off the list: they go with
 * this renewal (a failed renewal loses them to their leases). */
static size_t
cmd_take_orphans(struct cluster *cl, struct cluster_orphan *out)
{
	sync_lock(&cl->lock);
	size_t n = cl->norphans;
	memcpy(out, cl->orphans, n * sizeof(*out));
	cl->norphans = 0;
	sync_unlock(&cl->lock);
	return n;
}

/* Cuts off the members whose names someone else took (LUA_REFRESH's
 * reply). */
static void
cmd_names_lost(struct cluster *cl, const struct resp_reply *r)
{
	for (size_t i = 0; i < resp_count(r); i++) {
		const char *lost = resp_str(resp_elem(r, i), NULL);
		if (lost == NULL || !proto_name_ok(lost))
			continue;
		log_event(LOG_CLUSTER, "name=%s was taken on another node "
		    "while this node could not reach Redis: its user here is "
		    "cut off", lost);
		hub_drop(cl->hub, lost, PROTO_ERR_NAME_LOST);
	}
}

bool
cmd_refresh(struct cluster *cl, struct resp_conn *c)
{
	struct cluster_orphan *orphans = cl->orphans_out;
	struct hub_roster *who = NULL;
	size_t n = cl->hub != NULL ? hub_roster(cl->hub, &who) : 0;
	size_t k = cmd_take_orphans(cl, orphans);
	const char **argv = malloc((10 + 2 * (n + k)) * sizeof(*argv));
	char lease[24], count[24];
	int argc = 0;

	if (argv == NULL) {
		free(who);
		return true;    /* no memory: try again at the next renewal */
	}
	snprintf(lease, sizeof(lease), "%d", cl->cfg.lease_ms);
	snprintf(count, sizeof(count), "%zu", k);
	const char *fixed[] = { "EVALSHA", cl->sha[LUA_REFRESH], "1",
	    KEY_NODES, cl->cfg.node, lease, CHANNEL, KEY_USERS, KEY_NAME,
	    count };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[argc++] = fixed[i];
	for (size_t i = 0; i < k; i++) {
		argv[argc++] = orphans[i].name;
		argv[argc++] = orphans[i].key;
	}
	for (size_t i = 0; i < n; i++) {
		argv[argc++] = who[i].name;
		argv[argc++] = who[i].room;
	}
	struct resp_reply *r = resp_conn_command(c, IO_MS, argc, argv, NULL);
	bool ok = r != NULL && resp_type(r) == RESP_ARRAY;
	if (ok)
		cmd_names_lost(cl, r);
	else if (r != NULL)             /* NOSCRIPT, or a script error */
		log_event(LOG_CLUSTER, "the lease was refused: %s",
		    resp_str(r, NULL) != NULL ? resp_str(r, NULL) : "?");
	resp_reply_free(r);
	free(argv);
	free(who);
	return ok;
}

/* Sends every command of the batch as one pipeline (one write), then
 * reads every reply. false when the connection failed (the rest then fail
 * too), or when Redis has lost the scripts (NOSCRIPT: after SCRIPT FLUSH,
 * or a failover to a Redis without them): the connection is then dropped
 * and made again, which loads them. */
static bool
cmd_run(struct cluster *cl, struct resp_conn *c, struct bus_req *batch)
{
	bool scripts = true;

	for (struct bus_req *r = batch; r != NULL; r = r->next)
		for (size_t i = 0; i < r->n; i++)
			if (cmd_queue(cl, c, &r->cmds[i]) != 0)
				return false;
	if (resp_conn_flush(c, IO_MS) != 0)
		return false;
	for (struct bus_req *r = batch; r != NULL; r = r->next) {
		for (size_t i = 0; i < r->n; i++) {
			struct resp_reply *rep = resp_conn_read(c, IO_MS);
			if ((r->cmds[i].reply = rep) == NULL)
				return false;
			const char *e = resp_str(rep, NULL);
			if (resp_type(rep) == RESP_ERROR && e != NULL &&
			    strncmp(e, "NOSCRIPT", 8) == 0)
				scripts = false;
		}
	}
	return scripts;
}

/* Completes every request of batch: failed, or with its replies. */
static void
cmd_finish(struct cluster *cl, struct bus_req *batch, bool failed)
{
	struct bus_req *freed = NULL;

	sync_lock(&cl->lock);
	while (batch != NULL) {
		struct bus_req *next = batch->next;
		req_done(batch, failed, &freed);
		batch = next;
	}
	sync_unlock(&cl->lock);
	req_free_list(freed);
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

/* The connection failed: say so once, drop it. */
static void
cmd_lost(struct cluster *cl, struct resp_conn **c)
{
	if (atomic_exchange(&cl->up, false))
		log_event(LOG_CLUSTER, "lost Redis at %s:%s: %s; messages and "
		    "logins are refused until it is back", cl->cfg.host,
		    cl->cfg.port, resp_conn_error(*c)[0] != '\0' ?
		    resp_conn_error(*c) : "it refused a script");
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
	if (!cmd_refresh(cl, *c)) {
		cmd_lost(cl, c);
		return;
	}
	atomic_store(&cl->up, true);
	log_event(LOG_CLUSTER, "Redis at %s:%s is back; the names held here "
	    "are held again", cl->cfg.host, cl->cfg.port);
}

/* One turn of the command thread's loop when there is no connection: what
 * was taken fails at once (nobody waits on a reconnect), then, when due,
 * a reconnect is tried. */
static void
cmd_down(struct cluster *cl, struct resp_conn **c, struct bus_req *batch,
    long long *retry, int *backoff)
{
	cmd_finish(cl, batch, true);
	if (cluster_now_ms() < *retry)
		return;
	cmd_reconnect(cl, c);
	*backoff = *c != NULL ? BACKOFF_MIN : *backoff * 2 < BACKOFF_MAX ?
	    *backoff * 2 : BACKOFF_MAX;
	*retry = cluster_now_ms() + *backoff;
}

/* The command thread: takes batches, keeps the connection and the lease,
 * and on stopping sends what is left, then ends. */
void *
cmd_main(void *arg)
{
	struct cluster *cl = arg;
	struct resp_conn *c = cl->cmd;  /* cluster_start's, connected */
	long long renew = cluster_now_ms() + cl->cfg.lease_ms / 3, retry = 0;
	int backoff = BACKOFF_MIN;
	bool stop = false;

	pthread_setname_np(pthread_self(), "cluster-cmd");
	while (!stop) {
		struct bus_req *batch = cmd_take(cl, c != NULL ? renew : retry,
		    &stop);
		if (c == NULL) {
			if (!stop)
				cmd_down(cl, &c, batch, &retry, &backoff);
			else
				cmd_finish(cl, batch, true);
			renew = cluster_now_ms() + cl->cfg.lease_ms / 3;
			continue;
		}
		if (cluster_now_ms() >= renew && !stop) {
			if (!cmd_refresh(cl, c))
				cmd_lost(cl, &c);
			renew = cluster_now_ms() + cl->cfg.lease_ms / 3;
		}
		bool ok = c != NULL && batch != NULL && cmd_run(cl, c, batch);
		if (c != NULL && batch != NULL && !ok)
			cmd_lost(cl, &c);
		cmd_finish(cl, batch, !ok);
	}
	resp_conn_close(c);
	return NULL;
}
