/*
 * hub_ask.c - what the hub answers when asked (hub.h): WHO, ROOMS and
 * HISTORY, a member's name and room, and the counts for [STATS] and
 * /metrics; and hub_close, the flag that stops notices at shutdown. The
 * hub's layout is in hub_table.h.
 */
#include "hub_table.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "msg.h"
#include "queue.h"
#include "sync.h"

/* ---- Asking about things ------------------------------------------------- */

struct msg *
hub_who(struct hub *h, struct hub_member *m, const char *room)
{
	char key[PROTO_MAX_ROOM + 1];
	struct msg *line;
	bool found;

	if (room == NULL) {             /* m's own: only its reader moves it */
		room_lock(m->room);
		line = room_who(m->room);
		room_unlock(m->room);
		return line;
	}
	proto_room_key(room, key);
	sync_lock(&h->lock);
	size_t i = hub_room_find(h, key, &found);
	if (found) {
		room_lock(h->rooms[i].room);
		line = room_who(h->rooms[i].room);
		room_unlock(h->rooms[i].room);
	} else {
		line = msg_printf("USERS");
	}
	sync_unlock(&h->lock);
	return line;
}

struct msg *
hub_rooms(struct hub *h)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct msg *line = NULL;

	if (f == NULL)
		return NULL;
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->nrooms; i++) {
		struct room *r = h->rooms[i].room;
		room_lock(r);
		size_t count = room_count(r);
		room_unlock(r);
		if (count > 0 || r == h->lobby)
			fprintf(f, " %s %zu", room_name(r), count);
	}
	sync_unlock(&h->lock);
	if (fclose(f) == 0)
		line = msg_printf("ROOMS%s", text);
	free(text);
	return line;
}

enum hub_status
hub_history(struct hub *h, struct hub_member *m, size_t n, size_t *bytes)
{
	struct queue_wakes wakes = { 0 };
	struct msg *ok = msg_printf("OK");
	bool done = false;

	(void)h;
	*bytes = 0;
	if (ok != NULL) {
		room_lock(m->room);
		*bytes = room_history_bytes(m->room, n);
		done = room_history(m->room, m, n, NULL, ok, &wakes);
		room_unlock(m->room);
	}
	queue_wake_all(&wakes);
	msg_unref(ok);
	return done ? HUB_OK : HUB_REFUSED;
}

const char *
hub_member_name(const struct hub_member *m)
{
	return m->name;
}

const char *
hub_member_room(const struct hub_member *m)
{
	return room_name(m->room);
}

void
hub_close(struct hub *h)
{
	atomic_store(&h->pol.closing, true);
}

size_t
hub_count(struct hub *h)
{
	sync_lock(&h->lock);
	size_t n = h->count;
	sync_unlock(&h->lock);
	return n;
}

void
hub_stats(struct hub *h, struct hub_stats *out)
{
	sync_lock(&h->lock);
	out->members = h->count;
	out->rooms = h->nrooms;
	sync_unlock(&h->lock);
	out->messages = atomic_load(&h->pol.messages);
	out->dms = atomic_load(&h->pol.dms);
	out->deliveries = atomic_load(&h->pol.deliveries);
	out->evictions = atomic_load(&h->pol.evictions);
	out->refused = atomic_load(&h->pol.refused);
}

void
hub_stats_queues(struct hub *h, struct hub_stats *out)
{
	struct queue_usage u;

	out->queued_lines = out->queued_bytes = 0;
	sync_lock(&h->lock);
	for (size_t i = 0; i < h->count; i++) {
		queue_usage(h->members[i]->out, &u);
		out->queued_lines += u.lines;
		out->queued_bytes += u.bytes;
	}
	sync_unlock(&h->lock);
}
