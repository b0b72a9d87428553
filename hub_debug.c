/*
 * hub_debug.c - what GET /debug shows (--debug-page; hub.h): every
 * member's queue and flood budget, and the ring of the last slow consumers
 * to leave, which hub_leave fills through hub_remember_gone. Copies are
 * made under the locks, JSON written after. The hub's layout is in
 * hub_table.h.
 */
#include "hub_table.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "queue.h"
#include "sync.h"

/* ---- What GET /debug shows ---------------------------------------------- */

static int64_t
hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hub_remember_gone(struct hub *h, struct hub_member *m)
{
	struct hub_gone *g = &h->gone[h->ngone % HUB_DEBUG_EVICTED];

	if (!queue_refusal(m->out, &g->held))
		return;
	snprintf(g->name, sizeof(g->name), "%s", m->name);
	snprintf(g->room, sizeof(g->room), "%s", room_name(m->room));
	g->at_ms = hub_now_ms();
	h->ngone++;
}

/*
 * The budget is packed into one 64-bit word so that publishing it is one
 * store and a reader never sees the tokens of one line with the time of
 * another: the high half is the time (ms, modulo 2^32: only differences
 * are used, and a budget is read within seconds of being stored), the low
 * half the tokens in thousandths, as a signed 32-bit number.
 */
#define HUB_MILLI_MAX 2000000000.0

void
hub_member_set_budget(struct hub_member *m, double tokens, int64_t at_ms)
{
	double milli = tokens * 1000.0;

	if (milli > HUB_MILLI_MAX)
		milli = HUB_MILLI_MAX;
	if (milli < -HUB_MILLI_MAX)
		milli = -HUB_MILLI_MAX;
	uint64_t word = (uint64_t)(uint32_t)at_ms << 32 |
	    (uint32_t)(int32_t)milli;
	atomic_store_explicit(&m->budget, word, memory_order_relaxed);
}

/* The budget in word as of now_ms, refilled at rate a second up to burst
 * as flood.c does. A member that has published none yet has a full one. */
static double
hub_budget_now(uint64_t word, int64_t now_ms, size_t burst, size_t rate)
{
	double tokens = (int32_t)(uint32_t)(word & 0xffffffffu) / 1000.0;
	uint32_t age = (uint32_t)now_ms - (uint32_t)(word >> 32);

	if (word == 0 || rate == 0)
		return word == 0 ? (double)burst : tokens;
	tokens += (double)age * (double)rate / 1000.0;
	return tokens > (double)burst ? (double)burst : tokens;
}

/* One member as /debug shows it, copied under the locks. */
struct hub_debug_row {
	char name[PROTO_MAX_NAME + 1];
	char room[PROTO_MAX_ROOM + 2];
	struct queue_usage q;
	uint64_t budget;
	bool evicted;
};

/* Hub lock held; takes m's room lock, then its queue's. */
static void
hub_debug_copy(const struct hub_member *m, struct hub_debug_row *row)
{
	snprintf(row->name, sizeof(row->name), "%s", m->name);
	snprintf(row->room, sizeof(row->room), "%s", room_name(m->room));
	room_lock(m->room);
	row->evicted = m->evicted;
	room_unlock(m->room);
	queue_usage(m->out, &row->q);
	row->budget = atomic_load_explicit(&m->budget, memory_order_relaxed);
}

/* s as a JSON string: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8) as they are. */
static void
hub_json_string(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

static void
hub_debug_members(FILE *out, const struct hub_debug_row *rows, size_t n,
    int64_t now, size_t burst, size_t rate)
{
	fputs("\"members\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ",\n{\"name\":" : "\n{\"name\":", out);
		hub_json_string(out, rows[i].name);
		fputs(",\"room\":", out);
		hub_json_string(out, rows[i].room);
		fprintf(out, ",\"lines\":%zu,\"bytes\":%zu,\"budget\":%.3f,"
		    "\"evicted\":%s}", rows[i].q.lines, rows[i].q.bytes,
		    hub_budget_now(rows[i].budget, now, burst, rate),
		    rows[i].evicted ? "true" : "false");
	}
	fputs("]", out);
}

static void
hub_debug_gone(FILE *out, const struct hub_gone *gone, size_t n, int64_t now)
{
	fputs("\"evicted\":[", out);
	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ",\n{\"name\":" : "\n{\"name\":", out);
		hub_json_string(out, gone[i].name);
		fputs(",\"room\":", out);
		hub_json_string(out, gone[i].room);
		fprintf(out, ",\"age_ms\":%lld,\"bytes\":%zu,\"limit\":\"%s\"}",
		    (long long)(now - gone[i].at_ms), gone[i].held.bytes,
		    gone[i].held.limit == 's' ? "soft" : "hard");
	}
	fputs("]", out);
}

void
hub_debug(struct hub *h, FILE *out, size_t burst, size_t rate)
{
	struct hub_gone gone[HUB_DEBUG_EVICTED];
	size_t ngone = 0;

	sync_lock(&h->lock);
	size_t n = h->count;
	struct hub_debug_row *rows = n > 0 ? malloc(n * sizeof(*rows)) : NULL;
	for (size_t i = 0; rows != NULL && i < n; i++)
		hub_debug_copy(h->members[i], &rows[i]);
	for (unsigned long long k = h->ngone; k > 0 && ngone <
	    HUB_DEBUG_EVICTED; k--)                     /* newest first */
		gone[ngone++] = h->gone[(k - 1) % HUB_DEBUG_EVICTED];
	sync_unlock(&h->lock);

	int64_t now = hub_now_ms();
	hub_debug_members(out, rows, rows != NULL ? n : 0, now, burst, rate);
	fputs(",\n", out);
	hub_debug_gone(out, gone, ngone, now);
	free(rows);
}
