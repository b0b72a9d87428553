// server.go - the hubchat server as a Go programmer writes it after the
// chat tutorials: start-up, the accept loop, and shutdown. The twin of
// server.c; go/README.md says where the two differ and why.
//
// The story, in the order this file tells it:
//
//	main         parses flags, listens, turns SIGINT, SIGTERM and SIGHUP
//	             into a context (signal.NotifyContext), and runs the accept
//	             loop until the context is done.
//	accept loop  takes a slot (--max-clients), accepts, takes a count of
//	             --max-per-addr, and starts a session: a goroutine reading
//	             the connection, which starts one writing it.
//	refusals     a connection the server cannot serve gets one line saying
//	             why and is closed; everyone else carries on.
//	shutdown     stops accepting, wakes every reader, and waits for all
//	             of them (sync.WaitGroup).

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	acceptBackoff   = 100 * time.Millisecond // pause after an accept failure
	fullWait        = 250 * time.Millisecond // how long a newcomer may wait for a slot
	clientHeartbeat = 20                     // ./client's default --heartbeat, seconds
	ownFDs          = 10                     // rlimits.c's OWN_FDS
)

type server struct {
	cfg     *config
	hub     *hub
	ln      *net.TCPListener
	slots   chan struct{} // a token per session, and one the accept loop holds ready
	perAddr *addrLimit
	count   counters
	started time.Time

	fullSince time.Time // accept loop only: full since; zero = not full
	nextID    uint64    // accept loop only
	spare     *os.File  // accept loop only: given up to refuse when out of fds

	wg       sync.WaitGroup        // one per session: the C's server.live
	mu       sync.Mutex            // protects sessions
	sessions map[*session]struct{} // to wake every reader at shutdown
}

// excerpt: main

func main() {
	cfg := parseFlags(os.Args[1:])
	logQuiet, logDM = cfg.quiet, cfg.logDM
	ctx, stop := signal.NotifyContext(context.Background(),
		syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	which := make(chan os.Signal, 1) // the same signals again, to log which
	signal.Notify(which, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	usr1 := notifyUSR1()

	s := newServer(cfg)
	statsDone := make(chan struct{})
	go s.statsLoop(usr1, statsDone)
	// The sessions' own context is done only once shutdown has closed the
	// hub, as the C sets its stopping flag after hub_close.
	sessions, stopSessions := context.WithCancel(context.Background())
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		s.acceptLoop(ctx, sessions)
	}()

	<-ctx.Done()
	s.shutdown(signalName(which), acceptDone, stopSessions)
	close(statsDone)
}

// end excerpt

func newServer(cfg *config) *server {
	ln, err := listen(cfg.addr, cfg.port)
	if err != nil {
		die(1, "%v", err)
	}
	s := &server{cfg: cfg, hub: newHub(cfg.noticesMax), ln: ln,
		slots:    make(chan struct{}, cfg.maxClients),
		perAddr:  newAddrLimit(cfg.maxPerAddr),
		started:  time.Now(),
		sessions: make(map[*session]struct{})}
	s.spare, _ = os.Open(os.DevNull)
	s.checkLimits()
	if cfg.idleTimeout > 0 && cfg.idleTimeout <= clientHeartbeat {
		logf("WARN", "--idle-timeout %d is not longer than the client's "+
			"heartbeat of %d s: quiet ./client users will be cut off (give "+
			"them --heartbeat, or raise --idle-timeout)", cfg.idleTimeout, clientHeartbeat)
	}
	if cfg.trace {
		logf("WARN", "--trace: the Go twin has no trace lines (go/README.md)")
	}
	// The LISTEN line ends start-up: scripts and tests take it to mean
	// "ready".
	logf("LISTEN", "addr=%s port=%d max-clients=%d max-per-addr=%d "+
		"queue-hard=%d queue-soft=%d queue-soft-sec=%d flood-burst=%d "+
		"flood-rate=%d notices-max=%d idle-timeout=%d login-timeout=%d",
		cfg.addr, ln.Addr().(*net.TCPAddr).Port, cfg.maxClients,
		cfg.maxPerAddr, cfg.queueHard, cfg.queueSoft, cfg.queueSoftSec,
		cfg.floodBurst, cfg.floodRate, cfg.noticesMax, cfg.idleTimeout,
		cfg.loginTimeout)
	return s
}

// listen opens the listening socket. Go listens on every IPv4 and IPv6
// address for "::" by itself, and sets SO_REUSEADDR as net.c does.
func listen(addr string, port int) (*net.TCPListener, error) {
	if net.ParseIP(addr) == nil {
		return nil, fmt.Errorf("bad address %s port %d: not a numeric address", addr, port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, fmt.Sprint(port)))
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s port %d: %s", addr, port, strerror(err))
	}
	return ln.(*net.TCPListener), nil
}

// checkLimits says at start when the descriptor limit leaves no room for
// --max-clients (the Go runtime has already raised the soft limit to the
// hard one, as server.c does by hand). Threads are no limit here: a
// goroutine is not a thread.
func (s *server) checkLimits() {
	var rl syscall.Rlimit
	want := uint64(s.cfg.maxClients)
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) != nil || rl.Cur >= want+ownFDs {
		return
	}
	room := int64(rl.Cur) - ownFDs
	if room < 0 {
		room = 0
	}
	logf("WARN", "ulimit -n is %d: room for about %d clients, not --max-clients=%d; raise it: ulimit -n %d",
		rl.Cur, room, want, want+ownFDs)
}

// signalName is strsignal's name for the signal that stopped us.
func signalName(which <-chan os.Signal) string {
	select {
	case sig := <-which:
		name := sig.String()
		return strings.ToUpper(name[:1]) + name[1:]
	case <-time.After(100 * time.Millisecond):
		return "?"
	}
}

// ---- The accept loop ----------------------------------------------------

// acceptLoop runs until the listener is closed. A full server leaves
// newcomers in the kernel's backlog for up to fullWait, for a session that
// is ending may free a slot (its reader gives it back before it closes
// its connection); after that, while full, each is refused. ctx is the
// signals'; sessions is what each session watches (main says why).
func (s *server) acceptLoop(ctx, sessions context.Context) {
	for {
		slot := s.takeSlot(ctx)
		conn, err := s.ln.AcceptTCP()
		if err != nil {
			if slot {
				<-s.slots
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.acceptFailed(err)
			continue
		}
		if !slot && !s.trySlot() {
			s.count.refusedFull.Add(1)
			logf("ERROR", "refused: server full (max-clients=%d) peer=%s",
				s.cfg.maxClients, conn.RemoteAddr())
			refuse(conn, errFull)
			continue
		}
		s.start(sessions, conn)
	}
}

// trySlot takes a slot if one is free now.
func (s *server) trySlot() bool {
	select {
	case s.slots <- struct{}{}:
		s.fullSince = time.Time{}
		return true
	default:
		return false
	}
}

// takeSlot takes a slot, waiting while the server has been full for less
// than fullWait; false when there is none (or the server is stopping).
func (s *server) takeSlot(ctx context.Context) bool {
	if s.trySlot() {
		return true
	}
	if s.fullSince.IsZero() {
		s.fullSince = time.Now()
	}
	wait := time.Until(s.fullSince.Add(fullWait))
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		s.fullSince = time.Time{}
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// excerpt: start

// start admits conn, holding a slot, against --max-per-addr and starts its
// session: a goroutine that reads it, counted by the WaitGroup.
func (s *server) start(ctx context.Context, conn *net.TCPConn) {
	key, name := addrKey(conn)
	if !s.perAddr.take(key) {
		<-s.slots
		s.count.refusedAddr.Add(1)
		logf("ERROR", "refused: %d connections from %s already (max-per-addr=%d)",
			s.cfg.maxPerAddr, name, s.cfg.maxPerAddr)
		refuse(conn, errPerAddr)
		return
	}
	s.nextID++
	sess := newSession(s, conn, s.nextID, key)
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	s.count.accepted.Add(1)
	logf("CONNECT", "id=%d peer=%s clients=%d", sess.id, sess.peer, s.live())
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sess.serve(ctx)
	}()
}

// end excerpt

// finished is a reader's last act before it closes its connection: it
// gives back the session's slot and its address's count, so a client that
// has seen its connection close is never refused for its own old session.
func (s *server) finished(sess *session) {
	s.perAddr.give(sess.addr)
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	<-s.slots
}

// acceptFailed logs an accept error and pauses the loop, so a lasting
// failure costs ten tries a second, not a spinning core. Out of
// descriptors, the spare one is given up for a moment so that the waiting
// connection can be accepted and told.
func (s *server) acceptFailed(err error) {
	var errno syscall.Errno
	if errors.As(err, &errno) && (errno == syscall.EMFILE || errno == syscall.ENFILE) {
		s.count.refusedBusy.Add(1)
		hint := "the system's open files are at fs.file-max"
		if errno == syscall.EMFILE {
			var rl syscall.Rlimit
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
			hint = fmt.Sprintf("ulimit -n is %d", rl.Cur)
		}
		logf("ERROR", "accept: %s; refusing a connection (clients=%d; %s)",
			strerror(err), s.live(), hint)
		if s.spare != nil {
			s.spare.Close()
			if conn, err := s.ln.AcceptTCP(); err == nil {
				refuse(conn, errBusy)
			}
			s.spare, _ = os.Open(os.DevNull)
		}
	} else {
		logf("ERROR", "accept: %s", strerror(err))
	}
	time.Sleep(acceptBackoff)
}

// refuse tells a connection we will not serve it why, and closes it. A
// new connection's send buffer is empty: the write does not wait.
func refuse(conn *net.TCPConn, line string) {
	conn.Write([]byte(line + "\n"))
	conn.Close()
}

func (s *server) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// ---- Shutdown -----------------------------------------------------------

// excerpt: shutdown

// shutdown stops accepting, turns join and leave notices off (each
// client's next line is the farewell, not a storm of others leaving),
// then tells the sessions (stopSessions) and wakes every reader, and waits
// for every session to end; each one's own ending is bounded
// (flushGrace).
func (s *server) shutdown(sig string, acceptDone <-chan struct{}, stopSessions context.CancelFunc) {
	logf("SHUTDOWN", "signal=%s clients=%d", sig, s.live())
	s.ln.Close()
	<-acceptDone
	s.hub.close()
	stopSessions()
	s.wakeReaders()
	s.wg.Wait()
	logf("SHUTDOWN", "done")
}

// wakeReaders makes every reader's blocked Read return now. Their context
// is already done, so each reader, seeing the error, ends its session.
func (s *server) wakeReaders() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		sess.conn.SetReadDeadline(time.Now())
	}
}

// end excerpt
