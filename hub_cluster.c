/*
 * hub_cluster.c - the hub's side of the cluster (hub.h, "Clustered"): what
 * the bus thread delivers to the members here (hub_bus_*, hub_tell_all,
 * hub_drop) and what it asks of the hub (hub_rooms_held, hub_roster,
 * hub_read_back); and the clustered path of hub_load_room, which makes
 * the room, reads its history from the cluster holding no lock, and
 * merges it by number. The design is hub.h's and docs/CLUSTER.md's; the
 * hub's layout is in hub_table.h.
 */
#include "hub_table.h"

#include <assert.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "queue.h"
#include "sync.h"

/* ---- Clustered: the bus -------------------------------------------------- */

/* The room held here whose key is key, or NULL. Hub lock held. */
static struct room *
hub_room_named(struct hub *h, const char *key)
{
	bool found;
	size_t i = hub_room_find(h, key, &found);

	return found ? h->rooms[i].room : NULL;
}

size_t
hub_bus_say(struct hub *h, const char *key, const struct hub_bus_line *lines,
    size_t n)
{
	struct queue_wakes wakes = { 0 };
	struct msg *live[HUB_BUS_BATCH], *hist[HUB_BUS_BATCH];
	bool made = true;
	size_t done = n;        /* dropped: not held here, or no memory */

	assert(n <= HUB_BUS_BATCH);
	for (size_t i = 0; i < n; i++) {
		live[i] = msg_words((const char *[]){ "MSG", lines[i].from,
		    lines[i].text }, 3);
		hist[i] = h->pol.history > 0 ? msg_words((const char *[]){
		    "HIST", lines[i].time, lines[i].from, lines[i].text }, 4) :
		    NULL;
		made = made && live[i] != NULL && (hist[i] != NULL ||
		    h->pol.history == 0);
	}
	if (made) {
		sync_lock(&h->lock);
		struct room *r = hub_room_named(h, key);
		if (r != NULL) {
			room_lock(r);
			done = room_bus_say(r, lines, live, hist, n, &wakes);
			room_unlock(r);
		}
		sync_unlock(&h->lock);
	}
	queue_wake_all(&wakes);
	for (size_t i = 0; i < n; i++) {
		msg_unref(live[i]);
		msg_unref(hist[i]);
	}
	return done;
}

void
hub_bus_notice(struct hub *h, const char *key, const char *name,
    const char *how)
{
	struct queue_wakes wakes = { 0 };
	struct msg *notice = msg_printf("INFO %s %s", name, how);

	if (notice == NULL)
		return;
	sync_lock(&h->lock);
	struct room *r = hub_room_named(h, key);
	if (r != NULL) {
		room_lock(r);
		room_bus_notice(r, name, notice, &wakes);
		room_unlock(r);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(notice);
}

void
hub_bus_dm(struct hub *h, const char *to, const char *from, const char *text)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("DM %s %s", from, text);
	bool found;

	if (line == NULL)
		return;
	sync_lock(&h->lock);
	size_t i = hub_find(h, to, &found);
	if (found) {
		struct hub_member *m = h->members[i];
		atomic_fetch_add_explicit(&h->pol.dms, 1, memory_order_relaxed);
		room_lock(m->room);
		room_push_to(m->room, m, line, &wakes, NULL);
		room_unlock(m->room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
}

void
hub_tell_all(struct hub *h, const char *text)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("%s", text);

	if (line == NULL)
		return;
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->nrooms; i++) {
		room_lock(h->rooms[i].room);
		room_tell_all(h->rooms[i].room, line, &wakes);
		room_unlock(h->rooms[i].room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
}

size_t
hub_rooms_held(struct hub *h, char (**out)[PROTO_MAX_ROOM + 2])
{
	size_t n = 0;

	sync_lock(&h->lock);
	*out = h->nrooms > 0 ? malloc(h->nrooms * sizeof(**out)) : NULL;
	for (size_t i = 0; *out != NULL && i < h->nrooms; i++)
		snprintf((*out)[n++], sizeof(**out), "%s",
		    room_name(h->rooms[i].room));
	sync_unlock(&h->lock);
	return n;
}

void
hub_drop(struct hub *h, const char *name, const char *text)
{
	struct queue_wakes wakes = { 0 };
	struct msg *line = msg_printf("%s", text);
	bool found;

	if (line == NULL)
		return;
	sync_lock(&h->lock);
	size_t i = hub_find(h, name, &found);
	if (found) {
		struct hub_member *m = h->members[i];
		room_lock(m->room);
		room_cut(m->room, m, line, &wakes);
		room_unlock(m->room);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(line);
}

size_t
hub_roster(struct hub *h, struct hub_roster **out)
{
	sync_lock(&h->lock);
	size_t n = h->count;
	*out = n > 0 ? malloc(n * sizeof(**out)) : NULL;
	for (size_t i = 0; *out != NULL && i < n; i++) {
		snprintf((*out)[i].name, sizeof((*out)[i].name), "%s",
		    h->members[i]->name);
		snprintf((*out)[i].room, sizeof((*out)[i].room), "%s",
		    room_name(h->members[i]->room));
	}
	sync_unlock(&h->lock);
	return *out != NULL ? n : 0;
}

/* ---- Clustered: reading a room back (hub_load_room) -------------------- */

/* hub_load_room, clustered, step one: the room named room is made if it
 * is not held, so that its lines from the bus are kept from now on; *had
 * is the number of the newest line it has (0 for a new one). */
static enum hub_status
hub_room_open(struct hub *h, const char *room, const char *key,
    unsigned long long *had)
{
	enum hub_status st = HUB_OK;
	bool found;

	*had = 0;
	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	if (!found) {
		hub_room_add(h, room, NULL, 0, &st);
	} else {
		room_lock(h->rooms[i].room);
		*had = room_last_seq(h->rooms[i].room);
		room_unlock(h->rooms[i].room);
	}
	sync_unlock(&h->lock);
	return st;
}

/* Step three: the lines read (and Redis's count, newest) merged into the
 * room, if it is still held (else forgotten meanwhile: JOIN comes back and
 * makes it again). Its members are given the lines they missed: those
 * numbered past the newest the room had (the bus was lost, or had a gap,
 * or Redis lost its data and numbers from 1 again: data_lost). */
static enum hub_status
hub_room_merge(struct hub *h, const char *key, unsigned long long had,
    unsigned long long newest, const struct hub_hist *lines, size_t n,
    bool data_lost)
{
	struct queue_wakes wakes = { 0 };
	struct msg *lost = data_lost ? msg_printf("INFO the cluster lost its "
	    "history: some messages may be missing") : NULL;
	enum hub_status st = HUB_OK;
	bool found;

	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	if (found) {
		struct room *r = h->rooms[i].room;
		room_lock(r);
		unsigned long long above = room_last_seq(r);
		/* Redis's numbers went back: what this room had before
		 * asking is past what Redis counts now, gone there, and its
		 * numbers will be used again. Start from what Redis has.
		 * (Lines heard since asking may be numbered past newest;
		 * that is no sign of it.) Redis lost its data: its lines are
		 * all new since. It came back from an older snapshot: they
		 * are taken as lines had already, though those said after
		 * the snapshot and before this read-back are new; they are
		 * in the history, not given live (docs/CLUSTER.md). */
		if (newest < had) {
			room_forget(r);
			above = data_lost ? 0 : ULLONG_MAX;
			if (lost != NULL)
				room_tell_all(r, lost, &wakes);
		}
		if (!room_merge(r, lines, n, newest))
			st = HUB_REFUSED;
		else
			room_missed(r, lines, n, above, &wakes);
		room_unlock(r);
	}
	sync_unlock(&h->lock);
	queue_wake_all(&wakes);
	msg_unref(lost);
	return st;
}

/* hub_load_room and hub_read_back, clustered: make the room, read (no
 * lock held), merge. */
enum hub_status
hub_load_clustered(struct hub *h, const char *room, bool data_lost)
{
	char key[PROTO_MAX_ROOM + 1];
	struct hub_hist *lines = NULL;
	unsigned long long newest = 0, had;

	proto_room_key(room, key);
	enum hub_status st = hub_room_open(h, room, key, &had);
	if (st != HUB_OK)
		return st;
	long n = h->load(h->load_arg, key, h->pol.history, &lines, &newest);
	if (n < 0)
		return HUB_UNAVAILABLE;
	st = hub_room_merge(h, key, had, newest, lines, (size_t)n, data_lost);
	for (long j = 0; j < n; j++) {
		msg_unref(lines[j].line);
		msg_unref(lines[j].live);
	}
	free(lines);
	return st;
}

enum hub_status
hub_read_back(struct hub *h, const char *room, bool data_lost)
{
	assert(h->pol.clustered && proto_room_ok(room));
	return hub_load_clustered(h, room, data_lost);
}
