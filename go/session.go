// session.go - one client's life: the goroutine reading its connection,
// the goroutine writing it, and the end. The twin of session.c; the
// commands it runs are in cmd.go.
//
// The reader (serve) owns the session. When the client leaves, for
// whatever reason, it ends the session in an order that matters: leave
// the hub first (nothing can reach the outbox after that, and the others
// hear of it now), say goodbye, close the outbox's channel so the writer
// sends what is left and returns, and wait for the writer, forcing a
// stuck one with a write deadline after a grace period. Only then is the
// connection closed, so no line meant for this client can go anywhere
// else.

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	flushGrace   = time.Second // a leaving client's last lines get this long
	batchLines   = 64          // broadcasts read before one hub call: SESSION_BATCH
	writeBatch   = 64          // chunks per writev: WRITER_BATCH
	readBufBytes = 4096        // the C framer's buffer
)

type endReason int

const (
	endNone     endReason = iota // still going
	endQuit                      // QUIT or !exit
	endEOF                       // the client closed its side
	endError                     // a read or a write failed
	endIdle                      // no complete line within the idle timeout
	endSlow                      // its outbox refused a line: a slow consumer
	endShutdown                  // the server is stopping
	endLogin                     // not logged in within the login timeout
)

var endings = [...]struct{ log, farewell string }{
	endQuit:     {"quit", "INFO bye"},
	endEOF:      {"eof", ""},
	endError:    {"error", ""},
	endIdle:     {"idle-timeout", "INFO disconnected due to inactivity"},
	endSlow:     {"slow-consumer", ""}, // the writer says it (writeLoop)
	endShutdown: {"shutdown", "INFO server shutting down"},
	endLogin:    {"login-timeout", "INFO disconnected: no login in time"},
}

var (
	welcome  = newChunk([]byte("INFO welcome to hubchat; log in with LOGIN <name> (or just type your name); HELP lists the commands\n"), 1)
	slowLine = []byte(errSlow + "\n")
)

// session is one client. Fields marked "reader only" are touched by the
// reader goroutine alone; the rest say who writes them.
type session struct {
	srv  *server
	id   uint64
	conn *net.TCPConn // closed by the reader, last
	peer string       // "ip:port"
	addr string       // the per-address key (addrlimit.go)
	in   *bufio.Reader
	out  *outbox

	member     *member   // reader only; nil until logged in
	idleAt     time.Time // reader only
	loginAt    time.Time // reader only; zero = no login deadline
	flood      *bucket   // reader only
	batch      []byte    // reader only: broadcasts read, not yet delivered
	nbatch     int
	discarding bool  // reader only: inside a too-long line
	readErr    error // reader only

	kicked     chan struct{} // closed once when evicted (kickOnce)
	kickOnce   sync.Once
	failed     chan struct{} // closed by the writer when a write fails ...
	writeErr   error         // ... after setting this
	writerDone chan struct{} // closed when the writer returns
}

// excerpt: new-session

// newSession makes what one client costs beside its two goroutines: the
// read buffer and the outbox (its channel's slots are allocated now).
func newSession(srv *server, conn *net.TCPConn, id uint64, addr string) *session {
	cfg := srv.cfg
	now := time.Now()
	s := &session{srv: srv, id: id, conn: conn, addr: addr,
		peer:   conn.RemoteAddr().String(),
		in:     bufio.NewReaderSize(conn, readBufBytes),
		out:    newOutbox(cfg.queueHard, cfg.queueSoft, cfg.queueSoftSec),
		idleAt: now.Add(time.Duration(cfg.idleTimeout) * time.Second),
		flood:  newBucket(cfg.floodBurst, cfg.floodRate, now),
		kicked: make(chan struct{}), failed: make(chan struct{}),
		writerDone: make(chan struct{})}
	if cfg.loginTimeout > 0 {
		s.loginAt = now.Add(time.Duration(cfg.loginTimeout) * time.Second)
	}
	conn.SetNoDelay(true) // Go's default too: lines are batched by the writer
	if cfg.sndbuf > 0 {
		conn.SetWriteBuffer(cfg.sndbuf) // tests: force short writes
	}
	return s
}

// end excerpt

// excerpt: serve

// serve is the reader goroutine: it starts the writer, runs the loop, ends
// the session, tells the server, and closes the connection last.
func (s *session) serve(ctx context.Context) {
	go s.writeLoop()
	why := s.send(welcome)
	if why == endNone {
		why = s.readLoop(ctx)
	}
	s.flush()
	s.end(why)
	s.srv.finished(s) // the slot is free before the client sees the close
	s.closeGently()
}

// end excerpt

// readLoop reads and runs lines until the session must end; it returns
// why. Broadcasts are batched (cmd.go) and delivered before the reader
// could block: a burst costs one hub call, not one per line.
func (s *session) readLoop(ctx context.Context) endReason {
	for {
		if !s.lineBuffered() {
			s.flush()
			if why := s.armDeadline(ctx); why != endNone {
				return why
			}
		}
		line, ev, err := s.readLine()
		if err != nil {
			return s.readFailed(ctx, err)
		}
		if ev == lineSkipped {
			continue
		}
		now := time.Now()
		if why := s.mayRun(ctx, now); why != endNone {
			return why
		}
		s.idleAt = now.Add(time.Duration(s.srv.cfg.idleTimeout) * time.Second)
		s.flood.charge(1)
		var why endReason
		if ev == lineTooLong {
			why = s.tooLong()
		} else {
			why = s.handleLine(line)
		}
		if why != endNone {
			return why
		}
	}
}

type lineEvent int

const (
	lineOK      lineEvent = iota
	lineTooLong           // over maxLine: reply once, go on
	lineSkipped           // the tail of a too-long line, dropped
)

// readLine returns the next line without its CR LF, or that a line was too
// long: once, when it first is (its end, or 4 KiB of it, has arrived),
// after which its tail is dropped. bufio.Scanner cannot do this: it stops
// for good at a line over its buffer (ErrTooLong).
func (s *session) readLine() ([]byte, lineEvent, error) {
	line, err := s.in.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		first := !s.discarding
		s.discarding = true
		if first {
			return nil, lineTooLong, nil
		}
		return nil, lineSkipped, nil
	}
	if err != nil {
		return nil, lineOK, err // a partial line at EOF is dropped
	}
	if s.discarding {
		s.discarding = false
		return nil, lineSkipped, nil
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > maxLine {
		return nil, lineTooLong, nil
	}
	return line, lineOK, nil
}

// lineBuffered reports whether a whole line is already read, so that the
// next readLine cannot block.
func (s *session) lineBuffered() bool {
	b, _ := s.in.Peek(s.in.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// deadline is the reader's next deadline and what passing it means: the
// idle timeout or the login deadline, whichever comes first.
func (s *session) deadline() (time.Time, endReason) {
	at, why := time.Time{}, endNone
	if s.srv.cfg.idleTimeout > 0 {
		at, why = s.idleAt, endIdle
	}
	if s.member == nil && !s.loginAt.IsZero() && (why == endNone || s.loginAt.Before(at)) {
		at, why = s.loginAt, endLogin
	}
	return at, why
}

// excerpt: arm-deadline

// armDeadline sets the read deadline before the reader may block. The
// server, stopping, cancels ctx and then sets every reader's deadline to
// now (server.wakeReaders); checking ctx after setting ours means a
// reader never sleeps through that.
func (s *session) armDeadline(ctx context.Context) endReason {
	at, _ := s.deadline()
	s.conn.SetReadDeadline(at) // the zero time: no deadline
	select {
	case <-ctx.Done():
		return endShutdown
	default:
		return endNone
	}
}

// end excerpt

// readFailed says why a failed read ends the session.
func (s *session) readFailed(ctx context.Context, err error) endReason {
	if ctx.Err() != nil {
		return endShutdown
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if _, why := s.deadline(); why != endNone {
			return s.why(why)
		}
	}
	if err == io.EOF {
		return s.why(endEOF)
	}
	s.readErr = err
	return s.why(endError)
}

// excerpt: may-run
// mayRun says whether a line may run now: endNone, or why the session
// ends instead. Stopping, an eviction and the login deadline are checked
// between lines, not only while the reader waits, so a backlog of
// buffered lines cannot hold them up. A client over its flood budget is
// made to wait first (throttle).
func (s *session) mayRun(ctx context.Context, now time.Time) endReason {
	select {
	case <-ctx.Done():
		return endShutdown
	default:
	}
	if why := s.why(endNone); why != endNone {
		return why
	}
	if s.member == nil && !s.loginAt.IsZero() && !now.Before(s.loginAt) {
		return endLogin
	}
	if s.flood.wait(now) > 0 {
		s.flush() // what was read before goes out first
		return s.throttle(ctx)
	}
	return endNone
}

// end excerpt

// excerpt: throttle

// throttle waits until the flood budget allows the next line, reading
// nothing meanwhile: the client's bytes stay in the kernel and TCP pushes
// back on the flooder alone.
func (s *session) throttle(ctx context.Context) endReason {
	for {
		wait := s.flood.wait(time.Now())
		if wait <= 0 {
			return endNone
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return endShutdown
		case <-s.kicked:
			t.Stop()
			return endSlow
		case <-s.failed:
			t.Stop()
			return endError
		}
	}
}

// end excerpt

// why decides why the session ended, given what the reader saw: an
// eviction makes it a slow consumer and a failed write an error, whatever
// the reader saw after them.
func (s *session) why(seen endReason) endReason {
	select {
	case <-s.kicked:
		return endSlow
	default:
	}
	select {
	case <-s.failed:
		return endError
	default:
	}
	return seen
}

// send queues one of this client's own replies. A client whose own
// outbox refuses it does not read its replies: it is cut off.
func (s *session) send(c *chunk) endReason {
	switch s.out.push(c) {
	case pushOK:
		return endNone
	case pushFull:
		s.kickOnce.Do(func() { close(s.kicked) })
		return endSlow
	default:
		return s.why(endError)
	}
}

func (s *session) reply(line string) endReason {
	return s.send(newChunk([]byte(line+"\n"), 1))
}

// kick is the hub's way to cut this client off: called with the hub lock
// held, so it must not block. CloseRead is shutdown(SHUT_RD): the reader's
// Read returns at once.
func (s *session) kick() {
	s.kickOnce.Do(func() { close(s.kicked) })
	s.conn.CloseRead()
}

// excerpt: session-end

// end is the reader's last duty, in an order that matters: leave the hub,
// say goodbye, close the channel so the writer drains it and returns, and
// wait for the writer. Only then may the connection be closed.
func (s *session) end(why endReason) {
	why = s.why(why)
	s.logEnd(why)
	switch why {
	case endIdle:
		s.srv.count.idleTimeouts.Add(1)
	case endLogin:
		s.srv.count.loginTimeouts.Add(1)
	}
	if s.member != nil {
		s.srv.hub.leave(s.member)
		s.member = nil
	}
	if f := endings[why].farewell; f != "" {
		s.reply(f)
	}
	s.out.close()
	s.joinWriter()
}

// joinWriter waits up to flushGrace for the writer to send what is
// queued, then makes a write stuck on a client that does not read fail
// at once, and waits for the writer to return.
func (s *session) joinWriter() {
	t := time.NewTimer(flushGrace)
	defer t.Stop()
	select {
	case <-s.writerDone:
	case <-t.C:
		s.conn.SetWriteDeadline(time.Now())
		<-s.writerDone
	}
}

// end excerpt

func (s *session) logEnd(why endReason) {
	name, detail, errText := "-", "", ""
	if s.member != nil {
		name = s.member.name
	}
	if u := s.out.refused(); why == endSlow && u != nil {
		detail = fmt.Sprintf(" pending=%d lines/%d bytes limit=%s", u.lines, u.bytes, u.limit)
	}
	if why == endError {
		err := s.readErr
		if err == nil {
			err = s.writeErr // set before failed was closed
		}
		if err != nil {
			errText = " error=" + strerror(err)
		}
	}
	logf("DISCONNECT", "id=%d user=%s reason=%s%s%s", s.id, name, endings[why].log, detail, errText)
}

// closeGently closes after a FIN, first reading what the client already
// sent: closing with unread input makes the kernel send a reset, which can
// destroy the client's copy of our last lines before it reads them.
func (s *session) closeGently() {
	s.conn.CloseWrite()
	s.conn.SetReadDeadline(time.Time{})
	if raw, err := s.conn.SyscallConn(); err == nil {
		raw.Read(func(fd uintptr) bool {
			var sink [1024]byte
			for i := 0; i < 64; i++ {
				n, _, err := syscall.Recvfrom(int(fd), sink[:], syscall.MSG_DONTWAIT)
				if n <= 0 || err != nil {
					break
				}
			}
			return true // done: never wait here
		})
	}
	s.conn.Close()
}

// excerpt: write-loop

// writeLoop is the writer goroutine: it sends what the channel yields, up
// to writeBatch chunks in one writev, until the reader closes the channel
// (the `for range` ending) or the hub kicks this client. Kicked, it drops
// what is queued and sends the one last line a slow consumer gets.
func (s *session) writeLoop() {
	defer close(s.writerDone)
	var batch [writeBatch][]byte
	for {
		var bufs net.Buffers
		select {
		case <-s.kicked:
			s.conn.Write(slowLine)
			return
		case c, ok := <-s.out.ch:
			if !ok {
				return // closed and drained
			}
			s.out.taken(c)
			bufs = append(batch[:0], c.data)
		}
		closed := s.takeWaiting(&bufs)
		if s.isKicked() {
			s.conn.Write(slowLine)
			return
		}
		if _, err := bufs.WriteTo(s.conn); err != nil {
			s.writeFailed(err)
			return
		}
		batch = [writeBatch][]byte{} // let the chunks go
		if closed {
			return
		}
	}
}

// end excerpt

// takeWaiting adds to bufs whatever else is waiting, without blocking, up
// to writeBatch chunks; true when it found the channel closed.
func (s *session) takeWaiting(bufs *net.Buffers) bool {
	for len(*bufs) < writeBatch {
		select {
		case c, ok := <-s.out.ch:
			if !ok {
				return true
			}
			s.out.taken(c)
			*bufs = append(*bufs, c.data)
		default:
			return false
		}
	}
	return false
}

func (s *session) isKicked() bool {
	select {
	case <-s.kicked:
		return true
	default:
		return false
	}
}

// writeFailed: stop taking lines and wake the reader (its Read returns
// EOF), which ends the session. The connection stays open: the reader
// closes it after the writer has returned.
func (s *session) writeFailed(err error) {
	s.writeErr = err
	s.out.dead.Store(true)
	close(s.failed)
	s.conn.CloseRead()
}
