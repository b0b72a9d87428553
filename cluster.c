/*
 * cluster.c - see cluster.h: making, starting and stopping a cluster, and
 * the calls the sessions make. The command thread is in cluster_cmd.c,
 * the bus thread in cluster_bus.c; cluster_internal.h is what the three
 * share.
 */
#include "cluster_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "msg.h"
#include "resp.h"
#include "resp_conn.h"
#include "sync.h"

long long
cluster_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	sync_cond_init(&cl->bus_wake);
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
		resp_conn_close(cl->cmd);
		cl->cmd = NULL;
		atomic_store(&cl->up, false);
		return false;
	}
	if ((errno = pthread_create(&cl->bus_thread, NULL, bus_main, cl)) != 0) {
		snprintf(err, errsz, "no thread: %s", strerror(errno));
		sync_lock(&cl->lock);
		cl->stopping = true;    /* the command thread ends, closing
		                           the connection */
		pthread_cond_broadcast(&cl->work);
		sync_unlock(&cl->lock);
		sync_join(cl->cmd_thread);
		atomic_store(&cl->up, false);
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
	pthread_cond_broadcast(&cl->bus_wake);
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
	pthread_cond_destroy(&cl->bus_wake);
	pthread_cond_destroy(&cl->started);
	pthread_mutex_destroy(&cl->lock);
	free(cl);
}

/* ---- What sessions call ---------------------------------------------------------- */

void
cluster_name_key(const char *name, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%s%s", KEY_NAME, name);

	for (int i = (int)strlen(KEY_NAME); i < n && out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] |= 0x20;
}

/* Runs one script and waits: its integer reply in *value. */
enum cluster_status
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
long long
cluster_integer(const struct resp_reply *r)
{
	return r != NULL && resp_type(r) == RESP_INTEGER ? resp_integer(r) : -1;
}

/* Keeps a name given back while Redis could not be reached, for the next
 * lease renewal to give back there (and say it is gone). Past ORPHANS_MAX
 * the name's lease frees it instead, without the notice. */
static void
cluster_orphan(struct cluster *cl, const char *name, const char *key)
{
	sync_lock(&cl->lock);
	if (cl->norphans < ORPHANS_MAX) {
		struct cluster_orphan *o = &cl->orphans[cl->norphans++];
		snprintf(o->name, sizeof(o->name), "%s", name);
		snprintf(o->key, sizeof(o->key), "%s", key);
	}
	sync_unlock(&cl->lock);
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
	const char *argv[] = { key, users, KEY_NODES, cl->cfg.node, lease, name,
	    CHANNEL };
	bool sent = atomic_load(&cl->up);       /* else refused at once */
	enum cluster_status st = cluster_script(cl, LUA_CLAIM, 3, 7, argv,
	    &reply);
	long long v = cluster_integer(reply);
	resp_reply_free(reply);
	if (sent && (st == CLUSTER_DOWN || (st == CLUSTER_OK && v < 0)))
		cluster_orphan(cl, name, "lobby");     /* it may have been
		                                          claimed: give it back */
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
	proto_room_key(room, rkey);
	const char *argv[] = { key, users, cl->cfg.node, name, rkey, CHANNEL };
	if (r == NULL || !req_add(r, LUA_RELEASE, 2, 6, argv)) {
		req_free(r);    /* the lease frees the name instead */
		return;
	}
	if (req_submit(cl, r, true) == CLUSTER_DOWN)
		cluster_orphan(cl, name, rkey);     /* it may still be held */
	req_free(r);
}

void
cluster_moved(struct cluster *cl, const char *name, const char *from,
    const char *to)
{
	char users[sizeof(KEY_USERS) + sizeof(cl->cfg.node)];
	char old[PROTO_MAX_ROOM + 1], new[PROTO_MAX_ROOM + 1];
	struct bus_req *r = req_new(1);

	snprintf(users, sizeof(users), "%s%s", KEY_USERS, cl->cfg.node);
	proto_room_key(from, old);
	proto_room_key(to, new);
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
	const char *argv[8 + CLUSTER_SAY_MAX] = { seq, hist, KEY_EPOCH,
	    CHANNEL, rkey, when, from, keep };
	struct bus_req *r = req_new(1);
	enum cluster_status st = r == NULL ? CLUSTER_BUSY : CLUSTER_OK;

	assert(n >= 1 && n <= CLUSTER_SAY_MAX);
	for (size_t i = 0; i < n; i++)     /* else every node drops the batch */
		assert(cluster_text_ok(texts[i]));
	proto_room_key(room, rkey);
	snprintf(seq, sizeof(seq), "%s%s", KEY_SEQ, rkey);
	snprintf(hist, sizeof(hist), "%s%s", KEY_HIST, rkey);
	snprintf(keep, sizeof(keep), "%zu", cl->cfg.history);
	cluster_now_text(when);
	for (size_t i = 0; i < n; i++)
		argv[8 + i] = texts[i];
	if (st == CLUSTER_OK && !req_add(r, LUA_SAY, 3, 8 + (int)n, argv))
		st = CLUSTER_BUSY;
	if (st == CLUSTER_OK)
		st = req_submit(cl, r, true);
	if (st == CLUSTER_OK && cluster_integer(r->cmds[0].reply) < 0)
		st = CLUSTER_DOWN;              /* the script failed */
	if (st == CLUSTER_OK)
		atomic_fetch_add_explicit(&cl->published, n,
		    memory_order_relaxed);
	for (size_t i = 0; i < n; i++)
		status[i] = st;
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

void
cluster_stats(struct cluster *cl, struct cluster_stats *out)
{
	out->published = atomic_load(&cl->published);
	out->heard = atomic_load(&cl->heard);
	out->gaps = atomic_load(&cl->gaps);
	out->dropped = atomic_load(&cl->dropped);
	out->up = atomic_load(&cl->up);
}
