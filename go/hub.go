// hub.go - the chat room: who is logged in, and delivery into their
// outboxes. The twin of hub.c.
//
// A mutex-guarded map of members, as in the tutorials, with no
// broadcaster goroutine: whoever has something to say calls the hub from
// its own goroutine, and the hub pushes the line into every recipient's
// channel while holding its lock. A push never waits (select with
// default, in outbox.push), so the lock is never held across anything
// that blocks. Because every delivery happens under the one lock, all
// recipients see broadcasts and notices in one global order.
//
// A recipient whose outbox refuses a push is a slow consumer: it is
// evicted on the spot (kicked, taken off the map, its leaving announced).
// An announcement may evict someone else in turn, so settle loops until
// nobody is marked.

package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

type member struct {
	name    string  // as logged in; fixed
	out     *outbox // the owner's; pushed to while listed
	kick    func()  // wakes the owner when evicted; must not block
	evicted bool    // protected by the hub's lock
}

type hubStats struct {
	members    int
	messages   uint64 // broadcast lines, each counted once
	dms        uint64
	deliveries uint64 // lines pushed into members' outboxes
	evictions  uint64
}

// excerpt: hub

type hub struct {
	mu         sync.Mutex         // protects everything below, and members' evicted flags
	members    map[string]*member // by name in lower case: names are unique ignoring case
	who        *chunk             // the USERS line while the map is unchanged, or nil
	gone       []*member          // evicted, not yet taken off the map (settle)
	noticesMax int                // join and leave notices up to this room size
	closing    bool               // the server is stopping: no more notices
	stats      hubStats
}

// end excerpt

func newHub(noticesMax int) *hub {
	return &hub{members: make(map[string]*member), noticesMax: noticesMax}
}

func key(name string) string { return strings.ToLower(name) } // names are ASCII

var okLine = newChunk([]byte("OK\n"), 1)

// join logs name in: "OK" into out, then the member is listed and the
// others are told. It returns nil and a reason ("taken", or "refused" when
// out took no "OK") on failure.
func (h *hub) join(name string, out *outbox, kick func()) (*member, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, taken := h.members[key(name)]; taken {
		return nil, "taken"
	}
	m := &member{name: name, out: out, kick: kick}
	if out.push(okLine) != pushOK {
		return nil, "refused"
	}
	h.members[key(name)] = m
	h.who = nil
	h.announceJoin(m)
	h.settle()
	return m, ""
}

// leave takes m off the map and tells the others, unless it was evicted
// (then it is off already, and was announced).
func (h *hub) leave(m *member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.evicted {
		return
	}
	delete(h.members, key(m.name))
	h.who = nil
	h.announceLeave(m.name)
	h.settle()
}

// excerpt: hub-push

// push delivers a chunk to one member; an outbox that refuses it means a
// slow consumer, evicted at once. Lock held.
func (h *hub) push(to *member, c *chunk) {
	if to.evicted {
		return
	}
	switch to.out.push(c) {
	case pushFull:
		to.evicted = true
		h.stats.evictions++
		h.gone = append(h.gone, to)
		to.kick()
	case pushOK:
		h.stats.deliveries += uint64(c.lines)
	}
}

// end excerpt

// pushAll delivers a chunk to every member but except (nil: everyone).
// Lock held.
func (h *hub) pushAll(except *member, c *chunk) {
	for _, m := range h.members {
		if m != except {
			h.push(m, c)
		}
	}
}

// settle takes every evicted member off the map and announces it; an
// announcement can evict others, so it goes on until none is left. Lock
// held.
func (h *hub) settle() {
	for len(h.gone) > 0 {
		m := h.gone[0]
		h.gone = h.gone[1:]
		delete(h.members, key(m.name))
		h.who = nil
		h.announceLeave(m.name)
	}
	h.gone = nil
}

// announceJoin tells the others m has joined, while the room has at most
// noticesMax members; past that line only m is told there are no
// notices, except on the join that crosses it, which tells everyone.
// hub.c says why. Lock held.
func (h *hub) announceJoin(m *member) {
	if h.closing {
		return
	}
	quiet := len(h.members) > h.noticesMax
	text := "INFO " + m.name + " joined\n"
	if quiet {
		text = fmt.Sprintf("INFO more than %d users online: join and leave notices are off\n", h.noticesMax)
	}
	notice := newChunk([]byte(text), 1)
	if !quiet || len(h.members) == h.noticesMax+1 {
		h.pushAll(m, notice)
	}
	if quiet {
		h.push(m, notice)
	}
}

// announceLeave tells everyone that name, just taken off the map, has
// gone. Lock held.
func (h *hub) announceLeave(name string) {
	if h.closing {
		return
	}
	switch n := len(h.members); {
	case n+1 <= h.noticesMax:
		h.pushAll(nil, newChunk([]byte("INFO "+name+" disconnected\n"), 1))
	case n == h.noticesMax:
		h.pushAll(nil, newChunk([]byte(fmt.Sprintf("INFO %d users online: join and leave notices are on\n", n)), 1))
	}
}

// broadcast delivers n "MSG <from> <text>" lines, as one chunk, to
// everyone but from, in one critical section.
func (h *hub) broadcast(from *member, lines []byte, n int) {
	c := newChunk(lines, n)
	h.mu.Lock()
	defer h.mu.Unlock()
	if from.evicted { // an evicted member has no voice
		return
	}
	h.stats.messages += uint64(n)
	h.pushAll(from, c)
	h.settle()
}

// dm delivers "DM <from> <text>" to the member named to, ignoring case;
// false when nobody of that name is logged in. A DM to oneself is
// delivered.
func (h *hub) dm(from *member, to, text string) bool {
	line := newChunk([]byte("DM "+from.name+" "+text+"\n"), 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	m, found := h.members[key(to)]
	if found && !from.evicted {
		h.stats.dms++
		h.push(m, line)
		h.settle()
	}
	return found
}

// whoLine returns "USERS <name> ..." sorted ignoring case. One line is
// shared by every asker until the map changes: a USERS line is as long
// as the room, and each asker's outbox counts it in full.
func (h *hub) whoLine() *chunk {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.who == nil {
		names := make([]string, 0, len(h.members))
		for _, m := range h.members {
			names = append(names, m.name)
		}
		sort.Slice(names, func(i, j int) bool { return key(names[i]) < key(names[j]) })
		h.who = newChunk([]byte("USERS "+strings.Join(names, " ")+"\n"), 1)
		if len(names) == 0 {
			h.who = newChunk([]byte("USERS\n"), 1)
		}
	}
	return h.who
}

// close: the server is stopping, so nobody is told of leaves any more and
// each client's last line is the farewell, not a storm of notices.
func (h *hub) close() {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
}

func (h *hub) snapshot() hubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.members = len(h.members)
	return s
}
