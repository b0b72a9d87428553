// outbox.go - one client's outgoing lines: a buffered channel, bounded in
// bytes. The twin of queue.c.
//
// The tutorials give each client a `chan []byte` of a few hundred
// messages. hubchat bounds what a client may hold in bytes, not lines (a
// burst of tiny lines from someone else must not fill a healthy reader's
// queue in a moment), with a hard and a soft limit; each line costs its
// length plus lineCost. A channel alone cannot express that:
//
//   - Its bound is a count of elements, fixed by make() and allocated up
//     front: Go channels never grow. A channel big enough for the hard
//     limit's worth of the smallest line ("OK", 35 bytes counted) would
//     allocate 30,000 slots per client at the default 1M, and 30 million
//     at --queue-hard 1G.
//   - It cannot say how many bytes it holds, nor how long it has held too
//     many.
//   - It cannot throw its backlog away and leave one last line in its
//     place (queue_abort's "ERR slow-consumer").
//
// So the channel carries chunks by pointer (one or more whole lines: a
// reader hands the hub all the broadcasts of one read as one chunk, as
// the C reader does), and two atomic counters beside it keep the byte
// bound: a push reserves its cost first and is refused over the hard
// limit, or over the soft one for longer than softFor; the writer gives
// the cost back as it takes each chunk. The channel's own bound, its
// slots, is a second and coarser one that only a client thousands of
// chunks behind can reach; it too counts as a slow consumer
// ("limit=slots:N"). The slots are allocated and zeroed when the client
// connects, so every session pays for them, idle or not: slotsFor keeps
// them few, and a slot is a pointer, 8 bytes. The eviction's last line is
// written by the writer when it sees its client kicked (session.go), not
// queued.
//
// Who sends and who closes: the hub (holding its lock) and the client's
// own reader send; only the writer receives. Only the reader closes the
// channel, once, after it has left the hub, so nobody can send on a
// closed channel: the hub pushes only to members it lists.

package main

import (
	"sync"
	"sync/atomic"
	"time"
)

const lineCost = 32 // bytes counted per line beside its own: queue.h's QUEUE_LINE_COST

type pushResult int

const (
	pushOK     pushResult = iota
	pushFull              // over a limit: the consumer is too slow
	pushClosed            // the writer has stopped: nothing more is sent
)

// epoch makes monotonic nanosecond stamps that fit an atomic.Int64.
var epoch = time.Now()

func monoNow() int64 { return int64(time.Since(epoch)) + 1 } // never 0

// chunk is one or more whole lines, shared read-only by every outbox it
// is pushed to, as the C shares a reference-counted msg.
type chunk struct {
	data  []byte
	lines int
	cost  int64 // what it counts against an outbox's limits
}

func newChunk(data []byte, lines int) *chunk {
	return &chunk{data: data, lines: lines, cost: int64(len(data) + lines*lineCost)}
}

// excerpt: outbox

type outbox struct {
	ch        chan *chunk  // oldest first
	hard      int64        // bytes (with lineCost a line): never more
	soft      int64        // bytes; 0 = no soft limit ...
	softFor   int64        // ... that may be exceeded for this long (ns)
	bytes     atomic.Int64 // the cost of what ch holds
	lines     atomic.Int64 // the lines in it
	softSince atomic.Int64 // monoNow when bytes went above soft; 0 = not above
	dead      atomic.Bool  // the writer has stopped: pushes are dropped

	mu      sync.Mutex // protects refusal
	refusal *usage     // what it held at its first refusal, and why
}

// end excerpt

// usage is what an outbox held, for the log line of an eviction.
type usage struct {
	lines, bytes int64
	limit        string // "hard:N", "soft:N for S s" or "slots:N"
}

// slotsFor sizes the channel for a hard limit: a slot per KiB of it, at
// least 4,096 (a burst of a thousand DMs or replies, each its own chunk,
// fits in any case) and at most 65,536: 32 KiB to 512 KiB a client.
func slotsFor(hard int64) int {
	n := hard / 1024
	if n < 4096 {
		n = 4096
	}
	if n > 65536 {
		n = 65536
	}
	return int(n)
}

func newOutbox(hard, soft int64, softSec int) *outbox {
	return &outbox{ch: make(chan *chunk, slotsFor(hard)), hard: hard,
		soft: soft, softFor: int64(softSec) * int64(time.Second)}
}

// excerpt: outbox-push

// push queues c without ever waiting: pushOK, pushFull when a limit
// refuses it (the caller evicts), or pushClosed.
func (o *outbox) push(c *chunk) pushResult {
	if o.dead.Load() {
		return pushClosed
	}
	if limit := o.reserve(c.cost); limit != "" {
		o.refuse(limit)
		return pushFull
	}
	o.lines.Add(int64(c.lines))
	select {
	case o.ch <- c:
		return pushOK
	default: // the channel's own bound, in chunks
		o.lines.Add(-int64(c.lines))
		o.bytes.Add(-c.cost)
		o.refuse("slots")
		return pushFull
	}
}

// end excerpt

// excerpt: outbox-reserve

// reserve adds c to the bytes held, unless that passes the hard limit or
// stays above the soft one too long: then it names the limit. The first
// push above soft starts the soft clock.
func (o *outbox) reserve(c int64) string {
	for {
		held := o.bytes.Load()
		after := held + c
		if after > o.hard {
			return "hard"
		}
		if o.soft > 0 && after > o.soft {
			now := monoNow()
			since := o.softSince.Load()
			if since == 0 {
				o.softSince.CompareAndSwap(0, now)
			} else if now-since > o.softFor {
				return "soft"
			}
		}
		if o.bytes.CompareAndSwap(held, after) {
			return ""
		}
	}
}

// end excerpt

// taken gives back a chunk's cost once the writer has received it; below
// the soft limit again, the soft clock stops.
func (o *outbox) taken(c *chunk) {
	o.lines.Add(-int64(c.lines))
	if o.bytes.Add(-c.cost) <= o.soft || o.soft == 0 {
		o.softSince.Store(0)
	}
}

func (o *outbox) refuse(limit string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.refusal != nil {
		return
	}
	u := &usage{lines: o.lines.Load(), bytes: o.bytes.Load()}
	switch limit {
	case "hard":
		u.limit = "hard:" + itoa(o.hard)
	case "soft":
		u.limit = "soft:" + itoa(o.soft) + " for " + itoa(o.softFor/int64(time.Second)) + " s"
	default:
		u.limit = "slots:" + itoa(int64(cap(o.ch)))
	}
	o.refusal = u
}

// refused returns what the outbox held when it first refused a push, or
// nil when it never has.
func (o *outbox) refused() *usage {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.refusal
}

// close ends the channel: the writer sends what is left and stops (its
// range loop ends). Only the owning reader calls it, once, after leaving
// the hub.
func (o *outbox) close() { close(o.ch) }
