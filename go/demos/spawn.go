package demos

import "sync"

// Demo 2, the Go shape of demos/unbounded-queue.patch: "fixing" slow
// clients with a queue that never says no.

// SpawnHub never blocks the broadcaster, the way a common answer to demo
// 1 goes: one goroutine per line and client, each doing the blocking
// send. Nothing is ever refused, so a client that stopped reading pins a
// parked goroutine (its stack, and the line) for every line sent to it:
// an unbounded queue made of goroutines. The server's memory grows with
// everything sent to that client, and the goroutines, woken in no
// particular order, can deliver a healthy client's lines out of order too.
type SpawnHub struct {
	mu      sync.Mutex
	clients map[*Client]bool
}

func NewSpawnHub() *SpawnHub { return &SpawnHub{clients: map[*Client]bool{}} }

func (h *SpawnHub) Join(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = true
}

// Broadcast is BROKEN: it hides the wait in a goroutine nobody bounds.
func (h *SpawnHub) Broadcast(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		go func(c *Client) { c.send <- line }(c) // BROKEN: unbounded
	}
}
