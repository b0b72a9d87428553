/*
 * flood.c - a token bucket; see flood.h.
 */
#include "flood.h"

#include <assert.h>

void
flood_init(struct flood *f, size_t burst, size_t rate, int64_t now_ms)
{
	assert(burst >= 1);
	f->burst = (double)burst;
	f->tokens = f->burst;
	f->per_ms = (double)rate / 1000.0;
	f->at_ms = now_ms;
}

/* Adds the tokens earned since the last call, up to the bucket's size. */
static void
flood_refill(struct flood *f, int64_t now_ms)
{
	if (now_ms > f->at_ms) {
		f->tokens += (double)(now_ms - f->at_ms) * f->per_ms;
		if (f->tokens > f->burst)
			f->tokens = f->burst;
	}
	f->at_ms = now_ms;
}

int64_t
flood_wait_ms(struct flood *f, int64_t now_ms)
{
	if (f->per_ms == 0)
		return 0;
	flood_refill(f, now_ms);
	if (f->tokens >= 1.0)
		return 0;
	double need = (1.0 - f->tokens) / f->per_ms;    /* ms, rounded up */
	int64_t ms = (int64_t)need;
	return ms < need ? ms + 1 : ms;
}

void
flood_charge(struct flood *f, double cost)
{
	if (f->per_ms > 0)
		f->tokens -= cost;
}
