// flood.go - a token bucket, the twin of flood.c: a client may send burst
// lines at once and rate lines a second after that. The reader that finds
// the bucket empty sleeps instead of reading, so the flooder's bytes stay
// in the kernel and TCP pushes back on it alone.
//
// Pure arithmetic on times the caller passes in. A bucket belongs to one
// goroutine (or is guarded by its owner's mutex, as in log.go).

package main

import "time"

type bucket struct {
	tokens float64 // may go below 0 after a costly reply
	burst  float64
	perMs  float64 // tokens added per millisecond; 0 = off
	at     time.Time
}

func newBucket(burst, rate int, now time.Time) *bucket {
	return &bucket{tokens: float64(burst), burst: float64(burst),
		perMs: float64(rate) / 1000, at: now}
}

// wait returns how long to wait before the next line may be handled: 0
// when it may be now. It takes no token.
func (b *bucket) wait(now time.Time) time.Duration {
	if b.perMs == 0 {
		return 0
	}
	if ms := float64(now.Sub(b.at).Milliseconds()); ms > 0 {
		b.tokens += ms * b.perMs
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
		b.at = b.at.Add(time.Duration(ms) * time.Millisecond)
	}
	if b.tokens >= 1 {
		return 0
	}
	need := (1 - b.tokens) / b.perMs // ms, rounded up
	ms := int64(need)
	if float64(ms) < need {
		ms++
	}
	return time.Duration(ms) * time.Millisecond
}

// charge takes cost tokens: 1 for a line, more for a costly reply.
func (b *bucket) charge(cost float64) {
	if b.perMs > 0 {
		b.tokens -= cost
	}
}
