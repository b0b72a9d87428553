/*
 * room_hist.c - a room's history, and what is said into it: the ring of
 * HIST lines (kept, replayed to a newcomer and for HISTORY), a member's
 * lines (room_say: archived, kept, delivered), and in a cluster what the
 * bus brings, numbered by Redis (room_bus_say, room_merge, room_missed,
 * room_forget). Only hub.c calls in (hub_internal.h), each function with
 * the locks its comment names held. The room's layout and the steps of
 * delivery this file uses are room.c's (room_internal.h), and so is the
 * way an eviction settles (room_settle).
 *
 * The history is a ring of the room's last messages as ready-made
 * "HIST <time> <from> <text>" lines: a newcomer's replay pushes
 * references to them, copying nothing.
 */
#include "room_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <strings.h>

#include "archive.h"
#include "msg.h"
#include "queue.h"

/* ---- The ring ----------------------------------------------------------- */

/* Appends one HIST line (taking a reference) numbered seq, dropping the
 * oldest when the ring is full. Lock held, or r private. */
void
room_keep(struct room *r, struct msg *hist, unsigned long long seq)
{
	size_t cap = r->pol->history;

	if (cap == 0 || hist == NULL)
		return;
	if (r->hist_len == cap) {
		msg_unref(r->hist[r->hist_head]);
		r->hist[r->hist_head] = msg_ref(hist);
		r->hist_seq[r->hist_head] = seq;
		r->hist_head = (r->hist_head + 1) % cap;
		return;
	}
	r->hist[(r->hist_head + r->hist_len) % cap] = msg_ref(hist);
	r->hist_seq[(r->hist_head + r->hist_len) % cap] = seq;
	r->hist_len++;
}

size_t
room_history_len(const struct room *r)
{
	return r->hist_len;
}

size_t
room_history_bytes(const struct room *r, size_t n)
{
	size_t bytes = 0;

	if (n == 0 || n > r->hist_len)
		n = r->hist_len;
	for (size_t i = r->hist_len - n; i < r->hist_len; i++)
		bytes += msg_len(r->hist[(r->hist_head + i) %
		    r->pol->history]);
	return bytes;
}

/* Pushes m the last n lines of history (n <= kept), 64 at a time; false
 * when its queue cannot take them. Lock held. */
bool
room_replay(struct room *r, struct hub_member *m, size_t n,
    struct queue_wakes *w)
{
	size_t cap = r->pol->history;
	struct msg *batch[64];

	if (n > r->hist_len)
		n = r->hist_len;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < 64 ? n - done : 64;
		for (size_t j = 0; j < k; j++)
			batch[j] = r->hist[(r->hist_head + r->hist_len - n +
			    done + j) % cap];
		if (queue_push_batch(m->out, batch, k, queue_cost(batch, k),
		    w) != QUEUE_OK)
			return false;
		done += k;
	}
	return true;
}

bool
room_history(struct room *r, struct hub_member *m, size_t n,
    struct msg *first, struct msg *last, struct queue_wakes *w)
{
	if (m->evicted)
		return false;
	if ((first == NULL || queue_push_batch(m->out, &first, 1,
	    queue_cost(&first, 1), w) == QUEUE_OK) &&
	    room_replay(r, m, n == 0 ? r->hist_len : n, w) &&
	    (last == NULL || queue_push_batch(m->out, &last, 1,
	    queue_cost(&last, 1), w) == QUEUE_OK))
		return true;
	room_evict(r, m);
	room_settle(r, w);
	return false;
}

/* ---- What members say --------------------------------------------------- */

/* excerpt: room-say */
bool
room_say(struct room *r, struct hub_member *from,
    const struct hub_line *lines, size_t n, struct queue_wakes *w,
    struct hub_trace *trace)
{
	struct msg *live[64];
	struct room_policy *pol = r->pol;

	assert(n <= 64);
	if (from != NULL && from->evicted)
		return true;            /* an evicted member has no voice */
	if (pol->archive != NULL && !archive_take(pol->archive, lines, n, w)) {
		atomic_fetch_add_explicit(&pol->refused, n, memory_order_relaxed);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		live[i] = lines[i].live;
		room_keep(r, lines[i].hist, 0);
	}
	atomic_fetch_add_explicit(&pol->messages, n, memory_order_relaxed);
	room_push_all(r, from, live, n, w, trace);
	room_settle(r, w);
	return true;
}
/* end excerpt */

/* ---- The cluster's bus (clustered only) --------------------------------- */

size_t
room_bus_say(struct room *r, const struct hub_bus_line *lines,
    struct msg *const *live, struct msg *const *hist, size_t n,
    struct queue_wakes *w)
{
	size_t taken[HUB_BUS_BATCH], k = 0, i;
	struct msg *share[HUB_BUS_BATCH];

	assert(n <= HUB_BUS_BATCH);
	for (i = 0; i < n; i++) {
		if (lines[i].seq <= r->last_seq)
			continue;       /* had it already: loaded, or twice */
		if (!r->loading && lines[i].seq != r->last_seq + 1)
			break;          /* a gap: lines were missed */
		r->last_seq = lines[i].seq;
		room_keep(r, hist[i], lines[i].seq);
		taken[k++] = i;
	}
	atomic_fetch_add_explicit(&r->pol->messages, k, memory_order_relaxed);
	for (size_t j = 0; k > 0 && j < r->count; j++) {
		struct hub_member *m = r->members[j];
		size_t cnt = 0;
		for (size_t t = 0; t < k; t++)
			if (strcasecmp(lines[taken[t]].from, m->name) != 0)
				share[cnt++] = live[taken[t]];
		if (cnt > 0)
			room_push(r, m, share, cnt, queue_cost(share, cnt), w,
			    NULL);
	}
	room_settle(r, w);
	return i;
}

void
room_bus_notice(struct room *r, const char *name, struct msg *notice,
    struct queue_wakes *w)
{
	bool found;

	if (atomic_load(&r->pol->closing) || r->count > r->pol->notices_max)
		return;
	size_t i = room_find(r, name, &found);
	room_push_all(r, found ? r->members[i] : NULL, &notice, 1, w, NULL);
	room_settle(r, w);
}

void
room_tell_all(struct room *r, struct msg *line, struct queue_wakes *w)
{
	room_push_all(r, NULL, &line, 1, w, NULL);
	room_settle(r, w);
}

/* The history as (seq, line) pairs, oldest first, into out (room for
 * hist_len); references not taken. Lock held. */
static size_t
room_hist_pairs(const struct room *r, struct hub_hist *out)
{
	size_t cap = r->pol->history;

	for (size_t i = 0; i < r->hist_len; i++) {
		size_t at = (r->hist_head + i) % cap;
		out[i] = (struct hub_hist){ .seq = r->hist_seq[at],
		    .line = r->hist[at] };
	}
	return r->hist_len;
}

/*
 * Both lists are in sequence order: Redis numbers a room's lines as it
 * publishes them, and the bus brings them in that order. So the union is
 * one merge, equal numbers kept once (Redis's copy: the one heard may be
 * forged), and the newest pol->history of it are the history. Redis's
 * own numbers go up to top, the larger of newest and its newest line
 * read; a line heard above top is one said since, and those come one
 * after another, so the first that does not (a forged line heard while
 * the room was loading, when no order is asked of the bus) ends the
 * history, and the room's newest number is the last that did.
 */
/* How many of all[0..k) (in sequence order) to keep: every line up to
 * *top, then those numbered one after another from *top + 1, which moves
 * *top on to the last of them. */
static size_t
room_merge_cut(const struct hub_hist *all, size_t k, unsigned long long *top)
{
	size_t end = 0;

	while (end < k && all[end].seq <= *top)
		end++;
	while (end < k && all[end].seq == *top + 1) {
		end++;
		(*top)++;
	}
	return end;
}

bool
room_merge(struct room *r, const struct hub_hist *in, size_t n,
    unsigned long long newest)
{
	size_t cap = r->pol->history, have = r->hist_len, k = 0;
	struct hub_hist *mine = malloc((have + 1) * sizeof(*mine));
	struct hub_hist *all = malloc((have + n + 1) * sizeof(*all));

	if (mine == NULL || all == NULL) {
		free(mine);
		free(all);
		return false;
	}
	room_hist_pairs(r, mine);
	for (size_t i = 0, j = 0; i < have || j < n;) {
		bool take_mine = j == n || (i < have && mine[i].seq < in[j].seq);
		const struct hub_hist *next = take_mine ? &mine[i++] : &in[j++];
		if (k > 0 && all[k - 1].seq == next->seq)
			continue;       /* the same line, loaded and heard */
		all[k++] = *next;
	}
	unsigned long long top = n > 0 && in[n - 1].seq > newest ?
	    in[n - 1].seq : newest;
	k = room_merge_cut(all, k, &top);
	size_t from = k > cap ? k - cap : 0;
	for (size_t i = from; i < k; i++)
		msg_ref(all[i].line);   /* before the ring lets go of any */
	for (size_t i = 0; i < have; i++)
		msg_unref(mine[i].line);
	r->hist_head = r->hist_len = 0;
	for (size_t i = from; i < k; i++) {
		room_keep(r, all[i].line, all[i].seq);
		msg_unref(all[i].line);
	}
	r->last_seq = top;      /* lines not kept (history off, or older than
	                           it) still count */
	r->loading = false;
	free(mine);
	free(all);
	return true;
}

void
room_missed(struct room *r, const struct hub_hist *in, size_t n,
    unsigned long long above, struct queue_wakes *w)
{
	bool found;

	for (size_t i = 0; i < n; i++) {
		if (in[i].seq <= above)
			continue;
		size_t at = room_find(r, in[i].from, &found);
		room_push_all(r, found ? r->members[at] : NULL,
		    (struct msg **)&in[i].live, 1, w, NULL);
	}
	room_settle(r, w);
}

void
room_forget(struct room *r)
{
	size_t cap = r->pol->history;

	for (size_t i = 0; i < r->hist_len; i++)
		msg_unref(r->hist[(r->hist_head + i) % cap]);
	r->hist_head = r->hist_len = 0;
	r->last_seq = 0;
	r->loading = true;
}
