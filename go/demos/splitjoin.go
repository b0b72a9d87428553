package demos

import "sync"

// The C's demo 4, split-join: a room with history, where a newcomer must
// get the history and then every later line, none missing and none twice.
// The Go twin has no rooms (go/README.md), but a Go port of them meets the
// same race, and the language does nothing to prevent it.

// HistoryRoom keeps every line said, for newcomers. Its members'
// channels are buffered well beyond what the tests send, so no send
// below waits (the twin's hub would evict instead: hub.go push).
type HistoryRoom struct {
	mu      sync.Mutex // protects history and members
	history []string
	members map[chan string]bool

	// Between runs in the broken join, between its two critical
	// sections: what the room says then is what the newcomer misses.
	Between func()
}

func NewHistoryRoom() *HistoryRoom {
	return &HistoryRoom{members: map[chan string]bool{}}
}

// Say keeps line in the history and delivers it to every member, in one
// critical section.
func (r *HistoryRoom) Say(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.history = append(r.history, line)
	for m := range r.members {
		select {
		case m <- line:
		default: // full: the twin would evict; these tests never fill it
		}
	}
}

// excerpt: go-join-split
// JoinSplit is BROKEN: it copies the history in one critical section and
// subscribes in another. A line said in between came after the copy and
// before the subscription, so the newcomer gets neither. (Subscribing
// first and copying after would repeat it instead.)
func (r *HistoryRoom) JoinSplit(m chan string) {
	r.mu.Lock()
	for _, line := range r.history {
		m <- line
	}
	r.mu.Unlock()
	if r.Between != nil {
		r.Between()
	}
	r.mu.Lock()
	r.members[m] = true // BROKEN: a second critical section
	r.mu.Unlock()
}

// end excerpt

// excerpt: go-join
// Join is the fix, the C's room_enter: the history goes into the
// newcomer's channel and the newcomer onto the list under one lock, so
// every line is either in the copy or delivered live. The replay goes
// into the same channel the live lines will, so the newcomer's writer
// sends them in that order; a replay written to the connection by the
// joining goroutine itself would race the writer instead.
func (r *HistoryRoom) Join(m chan string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, line := range r.history {
		m <- line
	}
	r.members[m] = true
}

// end excerpt
