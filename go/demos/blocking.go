package demos

import "sync"

// Demo 1, the Go shape of demos/locked-push.patch: the hub waits on one
// client while holding its lock.

// BlockingHub is the tutorials' hub with an unbuffered channel per client
// (NewClient(name, conn, 0)) and a plain send. A send on an unbuffered
// channel waits until the client's writer takes the line, and the writer
// of a client that stopped reading is stuck in Write: the broadcaster
// waits for ever, holding the lock, and every other broadcaster waits
// behind it. A buffered channel with a plain send only moves the freeze
// to the moment that client's buffer is full.
type BlockingHub struct {
	mu      sync.Mutex
	clients map[*Client]bool
}

func NewBlockingHub() *BlockingHub { return &BlockingHub{clients: map[*Client]bool{}} }

func (h *BlockingHub) Join(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = true
}

// Broadcast is BROKEN: it blocks on the slowest client.
func (h *BlockingHub) Broadcast(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		c.send <- line // BROKEN: waits while holding the lock
	}
}

// EvictingHub is the fix, as the Go twin's hub.push: a buffered channel
// and select with default. A full channel means a slow consumer, cut off
// on the spot; nobody else waits.
type EvictingHub struct {
	mu      sync.Mutex
	clients map[*Client]bool
	Evicted []string // names, in the order they were cut off
}

func NewEvictingHub() *EvictingHub { return &EvictingHub{clients: map[*Client]bool{}} }

func (h *EvictingHub) Join(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clients[c] = true
}

func (h *EvictingHub) Broadcast(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.send <- line:
		default: // full: a slow consumer
			delete(h.clients, c)
			close(c.send) // the hub is the one closer here (see closefirst.go)
			h.Evicted = append(h.Evicted, c.Name)
		}
	}
}
