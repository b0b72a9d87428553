package demos

import "sync"

// Demo 4: a goroutine leak on disconnect. The C server's twin of it is a
// thread nobody joins (docs/GO-VS-C.md, "A goroutine leak"); the churn
// run (make churn) checks the thread count returns to 1.

// LeakyHub forgets, on disconnect, what ends the writer: it takes the
// client off the map but never closes its channel. The writer's range
// loop then waits for ever, and its goroutine, stack and connection stay
// behind for every client that ever left.
type LeakyHub struct {
	mu      sync.Mutex
	clients map[*Client]bool
}

func NewLeakyHub() *LeakyHub { return &LeakyHub{clients: map[*Client]bool{}} }

func (h *LeakyHub) Join(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = true
}

// Leave is BROKEN: the writer goroutine never ends.
func (h *LeakyHub) Leave(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c) // BROKEN: and close(c.send)?
}

// LeaveAndClose is the fix: the range loop ends once the channel is
// closed and drained.
func (h *LeakyHub) LeaveAndClose(c *Client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	close(c.send)
}
