/*
 * cluster_bus.c - the cluster's bus thread (see cluster.h and
 * cluster_internal.h).
 *
 * It owns the subscription to the channel hubchat:bus. It reads what the
 * bus brings and delivers it through the hub (hub_bus_*), which never
 * blocks: a burst of one room's lines is handed over as one run. It checks
 * everything it reads, since anyone who can reach Redis can publish:
 * a message that is not ours, not well formed, of an epoch that is not
 * Redis's, or numbered out of sequence is dropped and counted (dropped).
 *
 * Three things can go wrong, and each is mended by reading back:
 *   the bus is lost      (Redis restarts, the network fails, or a
 *                        half-open connection says nothing: a quiet bus is
 *                        asked PING, and one that stays silent is lost):
 *                        subscribe again, then read every room held here
 *                        back from Redis, and tell every local client;
 *   Redis lost its data  (FLUSHALL, or restarted empty; its epoch, a word
 *                        kept in Redis, changed): read every room back,
 *                        and each whose numbers went back starts again
 *                        from what Redis holds (hub_read_back);
 *   a room has a gap     (a line numbered past the next one: lines were
 *                        missed): read that room back once, and drop a
 *                        line still out of sequence after it.
 */
#include "cluster_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hub.h"
#include "log.h"
#include "resp.h"
#include "resp_conn.h"
#include "sync.h"

/* ---- Reading back ------------------------------------------------------------------ */

/* Asks Redis for hubchat:epoch after `set` (SET with its options); the
 * value into out, "" when it is not a string. false when Redis did not
 * answer. */
static bool
bus_epoch_ask(struct cluster *cl, const char *const set[], int nset,
    char out[EPOCH_LEN])
{
	struct bus_req *r = req_new(2);
	const char *get[] = { "GET", KEY_EPOCH };
	bool ok = false;

	if (r != NULL && req_add(r, -1, 0, nset, set) &&
	    req_add(r, -1, 0, 2, get) && req_submit(cl, r, true) == CLUSTER_OK) {
		const struct resp_reply *v = r->cmds[1].reply;
		snprintf(out, EPOCH_LEN, "%.*s", EPOCH_LEN - 1,
		    resp_type(v) == RESP_BULK ? resp_str(v, NULL) : "");
		ok = true;
	}
	req_free(r);
	return ok;
}

/* Redis's epoch: a random word, set when there is none (by a node, or by
 * LUA_SAY), so a Redis that lost its data is told apart from one that
 * kept it. One that is not an epoch (someone wrote it) is replaced. false
 * when Redis did not answer. */
static bool
bus_epoch(struct cluster *cl, char out[EPOCH_LEN])
{
	unsigned char raw[8];
	char mine[2 * sizeof(raw) + 1];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		memcpy(raw, &(long long){ cluster_now_ms() }, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(mine + 2 * i, 3, "%02x", raw[i]);
	const char *set_nx[] = { "SET", KEY_EPOCH, mine, "NX" };
	const char *set[] = { "SET", KEY_EPOCH, mine };
	if (!bus_epoch_ask(cl, set_nx, 4, out))
		return false;
	if (cluster_epoch_ok(out))
		return true;
	log_event(LOG_CLUSTER, "%s in Redis is not an epoch; it is made anew",
	    KEY_EPOCH);
	return bus_epoch_ask(cl, set, 3, out) && cluster_epoch_ok(out);
}

/* Takes epoch as Redis's and reads every room held here back from Redis,
 * which gives their members what they missed (hub_read_back). If the
 * epoch is not the one known here, Redis lost its data: a room whose
 * numbers went back starts again from what Redis holds. false when Redis
 * did not answer. */
static bool
bus_adopt(struct cluster *cl, const char *epoch)
{
	char (*rooms)[PROTO_MAX_ROOM + 2] = NULL;
	bool lost = cl->epoch[0] != '\0' && strcmp(epoch, cl->epoch) != 0;
	bool ok = true;

	if (lost)
		log_event(LOG_CLUSTER, "Redis's epoch changed (it lost its data, "
		    "or someone changed %s): every room is read back, and one "
		    "whose numbers went back starts again from what Redis holds",
		    KEY_EPOCH);
	snprintf(cl->epoch, sizeof(cl->epoch), "%s", epoch);
	size_t n = hub_rooms_held(cl->hub, &rooms);
	for (size_t i = 0; ok && i < n; i++)
		ok = hub_read_back(cl->hub, rooms[i], lost) != HUB_UNAVAILABLE;
	free(rooms);
	return ok;
}

/* Catches up with Redis after subscribing: bus_adopt of its epoch. */
static bool
bus_catch_up(struct cluster *cl)
{
	char epoch[EPOCH_LEN];

	return bus_epoch(cl, epoch) && bus_adopt(cl, epoch);
}

/* ---- Delivering --------------------------------------------------------------- */

/* What the bus thread has read but not yet delivered: a run of room lines
 * of one room, and the replies their text lives in. */
struct bus_run {
	char key[PROTO_MAX_ROOM + 1];
	struct hub_bus_line lines[HUB_BUS_BATCH];
	size_t n;
	struct resp_reply *held[HUB_BUS_BATCH];
	size_t nheld;
	long long said_gap, said_drop, said_bad;  /* when each was last
	                                   logged, ms */
};

/* Whether to log now: at most once a second, so a flood of bad lines is
 * not a flood of log lines. */
static bool
bus_may_say(long long *said)
{
	long long now = cluster_now_ms();

	if (now - *said < 1000)
		return false;
	*said = now;
	return true;
}

/* A room line out of sequence even after its room was read back: not a
 * line Redis numbered for this room (a forged or stale publish). Dropped
 * and counted. */
static void
bus_drop(struct cluster *cl, struct bus_run *run, const struct hub_bus_line *l)
{
	unsigned long long n = atomic_fetch_add(&cl->dropped, 1) + 1;

	if (bus_may_say(&run->said_drop))
		log_event(LOG_CLUSTER, "room=#%s dropped a bus line numbered "
		    "%llu: out of sequence after reading the room back "
		    "(dropped so far: %llu)", run->key, l->seq, n);
}

/* A message on the bus that is not a hubchat line (malformed), or a room
 * line of an epoch that is not Redis's: dropped and counted. */
static void
bus_reject(struct cluster *cl, struct bus_run *run, const char *why)
{
	unsigned long long n = atomic_fetch_add(&cl->dropped, 1) + 1;

	if (bus_may_say(&run->said_bad))
		log_event(LOG_CLUSTER, "dropped a bus message: %s (dropped so "
		    "far: %llu)", why, n);
}

/* Delivers the run: one hub call (one critical section, a wake-up per
 * member) unless a gap stops it. Then the room is read back once and the
 * rest offered again; a line that still does not fit is dropped, and with
 * it the lines after it numbered past it, which cannot fit either (so a
 * forged batch numbered far ahead costs one more hub call, not one a
 * line). */
static void
bus_flush(struct cluster *cl, struct bus_run *run)
{
	char room[PROTO_MAX_ROOM + 2];
	bool reloaded = false;

	for (size_t done = 0; done < run->n;) {
		done += hub_bus_say(cl->hub, run->key, run->lines + done,
		    run->n - done);
		if (done == run->n)
			break;
		if (!reloaded) {
			if (bus_may_say(&run->said_gap))
				log_event(LOG_CLUSTER, "room=#%s: a bus line "
				    "numbered %llu came before the one after "
				    "the last here; the room is read back",
				    run->key, run->lines[done].seq);
			snprintf(room, sizeof(room), "#%s", run->key);
			hub_read_back(cl->hub, room, false);
			reloaded = true;
		} else {
			unsigned long long gap = run->lines[done].seq;
			while (done < run->n && run->lines[done].seq >= gap)
				bus_drop(cl, run, &run->lines[done++]);
		}
	}
	for (size_t i = 0; i < run->nheld; i++)
		resp_reply_free(run->held[i]);
	run->n = run->nheld = 0;
}

/* A room line of an epoch not the one known here: Redis's epoch is asked
 * again. The same as known: the line is not Redis's (forged or stale),
 * and is dropped without reading anything back, so a flood of them costs
 * a round trip each, not a read-back of every room. Another: Redis lost
 * its data, and everything is read back (bus_adopt); the line is then
 * taken if it is of the new epoch. false when Redis did not answer. */
static bool
bus_other_epoch(struct cluster *cl, struct bus_run *run, struct cluster_event *e)
{
	char now[EPOCH_LEN];

	if (!bus_epoch(cl, now))
		return false;
	if (strcmp(now, cl->epoch) != 0 && !bus_adopt(cl, now))
		return false;
	if (strcmp(e->epoch, cl->epoch) != 0) {
		bus_reject(cl, run, "a room line of an epoch that is not Redis's");
		e->kind = 0;
	}
	return true;
}

/* An M message's lines fit in one run. */
_Static_assert(CLUSTER_SAY_MAX <= HUB_BUS_BATCH, "a batch is one run");

/* Takes one reply off the bus: an M message's lines join the run (which is
 * first delivered when it is of another room, or has no room for them:
 * HUB_BUS_BATCH lines, and as many replies); a notice or a DM is
 * delivered at once, after the run before it, so the bus's order holds.
 * false when Redis stopped answering while a room was read back. (A run
 * per room, for rooms busy at once, was tried: workload R on three nodes
 * went from 974,000 to 988,000 deliveries/s, Redis being the limit, so it
 * was not kept.) */
static bool
bus_take(struct cluster *cl, struct resp_reply *r, struct bus_run *run)
{
	struct resp_message m;
	struct cluster_event e = { 0 };

	if (resp_message(r, &m) && m.channel_len == strlen(CHANNEL) &&
	    memcmp(m.channel, CHANNEL, m.channel_len) == 0) {
		atomic_fetch_add_explicit(&cl->heard, 1, memory_order_relaxed);
		cluster_parse((char *)m.payload, m.payload_len, &e);
		if (e.kind == 0)
			bus_reject(cl, run, "not a hubchat line");
	}
	if (e.kind == 'M' && strcmp(e.epoch, cl->epoch) != 0) {
		bus_flush(cl, run);
		if (!bus_other_epoch(cl, run, &e)) {
			resp_reply_free(r);
			return false;
		}
	}
	if (e.kind == 'M') {
		if (run->n + e.nlines > HUB_BUS_BATCH || (run->n > 0 &&
		    strcmp(run->key, e.key) != 0))
			bus_flush(cl, run);
		snprintf(run->key, sizeof(run->key), "%s", e.key);
		assert(run->n + e.nlines <= HUB_BUS_BATCH &&
		    run->nheld < HUB_BUS_BATCH);
		memcpy(run->lines + run->n, e.lines, e.nlines * sizeof(*e.lines));
		run->n += e.nlines;
		run->held[run->nheld++] = r;
		return true;
	}
	bus_flush(cl, run);
	if (e.kind == 'N')
		hub_bus_notice(cl->hub, e.key, e.name, e.text);
	else if (e.kind == 'D')
		hub_bus_dm(cl->hub, e.name, e.other, e.text);
	resp_reply_free(r);
	return true;
}

/* ---- The subscription ---------------------------------------------------------- */

/* Waits ms, or until the cluster stops; true when it stops. */
static bool
bus_pause(struct cluster *cl, int ms)
{
	long long until = cluster_now_ms() + ms;

	sync_lock(&cl->lock);
	while (!cl->stopping && sync_cond_wait_until(&cl->bus_wake, &cl->lock,
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

/* Drops the subscription (the bus thread's own). */
static void
bus_close(struct cluster *cl, struct resp_conn *c)
{
	sync_lock(&cl->lock);
	cl->sub = NULL;
	sync_unlock(&cl->lock);
	resp_conn_close(c);
}

/* Subscribes and catches up; NULL, with why in err, when either fails. */
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

/* Asks a quiet bus PING (a subscribed connection answers "pong"), so a
 * half-open connection is found out. false when it cannot be sent. */
static bool
bus_ping(struct resp_conn *c)
{
	const char *argv[] = { "PING" };

	return resp_conn_send(c, IO_MS, 1, argv, NULL) == 0;
}

/*
 * Reads the bus until it fails, stays silent for BUS_DEAD_MS, or the
 * cluster stops; why it ended in err. It blocks for one message, then
 * takes what else has come without waiting, so a burst is delivered in
 * runs (bus_take), not line by line. After BUS_QUIET_MS with nothing, it
 * asks PING.
 */
static void
bus_listen(struct cluster *cl, struct resp_conn *c, char *err, size_t errsz)
{
	static struct bus_run run;      /* the bus thread's alone (one
	                                   cluster in a process) */
	long long heard = cluster_now_ms();
	bool asked = false, ok = true;
	struct resp_reply *r;

	*err = '\0';
	while (ok) {
		if ((r = resp_conn_read(c, BUS_QUIET_MS)) != NULL) {
			asked = false;
			do
				ok = bus_take(cl, r, &run);
			while (ok && run.n < HUB_BUS_BATCH &&
			    (r = resp_conn_read(c, 0)) != NULL);
			bus_flush(cl, &run);
			heard = cluster_now_ms();       /* after the work: a long
			                                   read-back is not silence */
		}
		if (!ok)
			snprintf(err, errsz, "Redis did not answer while the "
			    "rooms were read back");
		else if (resp_conn_failure(c) != RESP_FAIL_NONE &&
		    resp_conn_failure(c) != RESP_FAIL_TIMEOUT)
			ok = false;
		else if (cluster_now_ms() - heard >= BUS_DEAD_MS) {
			snprintf(err, errsz, "Redis said nothing for %d ms, not "
			    "even to PING", BUS_DEAD_MS);
			ok = false;
		} else if (!asked && cluster_now_ms() - heard >= BUS_QUIET_MS)
			ok = asked = bus_ping(c);
	}
	if (*err == '\0')
		snprintf(err, errsz, "%s", resp_conn_error(c));
}

/* ---- The thread --------------------------------------------------------------- */

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

void *
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
