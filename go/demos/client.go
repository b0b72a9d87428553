// Package demos holds the Go shapes of the classic chat-server bugs that
// demos/*.patch plant in the C server: each file has a broken variant as
// the tutorials write it, next to the fix the Go twin (go/) uses, and
// demos_test.go shows each broken one misbehaving. The language prevents
// none of them. See README.md here.
package demos

import (
	"bufio"
	"net"
)

// Client is the tutorials' client: a channel of lines, and a writer
// goroutine draining it to the connection.
type Client struct {
	Name string
	send chan string
	conn net.Conn
}

// NewClient starts the writer goroutine for conn. buffer is the send
// channel's capacity: 0 makes it unbuffered.
func NewClient(name string, conn net.Conn, buffer int) *Client {
	c := &Client{Name: name, send: make(chan string, buffer), conn: conn}
	go c.writer()
	return c
}

// writer is the tutorials' writer: it ends when the channel is closed.
func (c *Client) writer() {
	for line := range c.send {
		if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
			return
		}
	}
}

// Pipe returns the server's end of an in-memory connection, and a reader
// of the client's end. net.Pipe is synchronous: a client that does not
// read blocks the server's Write, exactly as a full socket does.
func Pipe() (server net.Conn, client *bufio.Reader, clientEnd net.Conn) {
	s, c := net.Pipe()
	return s, bufio.NewReader(c), c
}
