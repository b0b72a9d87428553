/*
 * cluster_ask.c - what a session asks of the cluster and gets back as
 * lines: WHO and ROOMS across every node, and a room's history read back
 * (cluster_load, the hub's load callback). Each is one request to the
 * command thread (cluster_cmd.c), waited for.
 */
#include "cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "msg.h"
#include "resp.h"

/* A script's reply that should be a list: CLUSTER_DOWN, and *reply
 * freed, when it is an error instead (NOSCRIPT, or the script failed). */
static enum cluster_status
cluster_list(struct resp_reply **reply)
{
	if (resp_type(*reply) == RESP_ARRAY)
		return CLUSTER_OK;
	resp_reply_free(*reply);
	*reply = NULL;
	return CLUSTER_DOWN;
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

	proto_room_key(room, rkey);
	const char *argv[] = { KEY_NODES, KEY_USERS, rkey };
	if ((*st = cluster_script(cl, LUA_WHO, 1, 3, argv, &reply)) !=
	    CLUSTER_OK || (*st = cluster_list(&reply)) != CLUSTER_OK)
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
	    CLUSTER_OK || (*st = cluster_list(&reply)) != CLUSTER_OK)
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
			proto_room_key(s, rooms[k].key);
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

/* The entries of an LRANGE reply of history (of the room key) as HIST
 * lines, into *out; the count, or -1 when memory ran out. An entry that is
 * not one is skipped; an error instead of a list (the key holds something
 * else: WRONGTYPE) is logged and read as no history, so one bad key costs
 * one room its history, not the bus. */
static long
cluster_hist_list(const struct resp_reply *list, const char *key,
    struct hub_hist **out)
{
	long n = 0;

	if (resp_type(list) != RESP_ARRAY) {
		log_event(LOG_CLUSTER, "room=#%s: its history in Redis cannot "
		    "be read (%s); it is read as empty", key,
		    resp_str(list, NULL) != NULL ? resp_str(list, NULL) : "?");
		return 0;
	}
	if ((*out = malloc((resp_count(list) + 1) * sizeof(**out))) == NULL)
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
		n = max > 0 ? cluster_hist_list(r->cmds[1].reply, key, out) : 0;
	}
	req_free(r);
	return n;
}

