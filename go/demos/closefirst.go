package demos

import (
	"sync"
	"time"
)

// Widen is how long DisconnectCloseFirst waits between its two steps, so
// that a test hits the window every time, as the C patch's usleep does. In
// real life the window is nanoseconds wide, and it opens under load.
var Widen = 200 * time.Millisecond

// Demo 3, the Go shape of demos/close-first.patch: ending a client in the
// wrong order. In C, closing the socket before leaving the hub sends one
// client's lines to the next client that gets the same fd number. Go hides
// fd numbers, but the same mistake with the client's channel panics the
// whole server: a send on a closed channel, or a second close, is a
// run-time panic, and an unrecovered panic in any goroutine ends the
// process, every client with it.

// ChannelHub is the tutorials' hub whose Broadcast evicts slow clients by
// closing their channel (as EvictingHub does), and whose clients close
// their own channel when they disconnect.
type ChannelHub struct {
	mu      sync.Mutex
	clients map[*Client]bool
}

func NewChannelHub() *ChannelHub { return &ChannelHub{clients: map[*Client]bool{}} }

func (h *ChannelHub) Join(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = true
}

func (h *ChannelHub) Broadcast(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.send <- line:
		default:
			delete(h.clients, c)
			close(c.send)
		}
	}
}

func (h *ChannelHub) leave(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}

// DisconnectCloseFirst is BROKEN: it closes the channel, then leaves. A
// broadcast in between sends on the closed channel.
func (h *ChannelHub) DisconnectCloseFirst(c *Client) {
	close(c.send) // BROKEN: still listed
	time.Sleep(Widen)
	h.leave(c)
}

// DisconnectAfterEviction is BROKEN too, though in the right order: the
// hub may have evicted c already, and closed its channel then; closing it
// again panics.
func (h *ChannelHub) DisconnectAfterEviction(c *Client) {
	h.leave(c)
	close(c.send) // BROKEN: the hub may have closed it
}

// Disconnect is the fix, as in the Go twin: leave first, then close, and
// only the client's own reader ever closes its channel (the hub never
// does; an eviction closes a separate channel, once, with sync.Once).
// Here the hub tells whether it still listed c: if not, an eviction has
// closed the channel already.
func (h *ChannelHub) Disconnect(c *Client) {
	h.mu.Lock()
	listed := h.clients[c]
	delete(h.clients, c)
	h.mu.Unlock()
	if listed {
		close(c.send)
	}
}
