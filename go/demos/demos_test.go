package demos

// Each Test...Broken... passes when its broken variant misbehaves as
// README.md says; each Test...Fix... shows the fix does not. make
// demos-go runs them all.

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reader counts the lines a client receives, in a goroutine of its own.
type reader struct {
	lines   chan string
	reorder int // lines that came before a smaller number
}

func readAll(t *testing.T, r *bufio.Reader, end net.Conn) *reader {
	rd := &reader{lines: make(chan string, 100000)}
	t.Cleanup(func() { end.Close() })
	go func() {
		last := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				close(rd.lines)
				return
			}
			line = line[:len(line)-1]
			if n, err := strconv.Atoi(line); err == nil {
				if n < last {
					rd.reorder++
				}
				last = n
			}
			rd.lines <- line
		}
	}()
	return rd
}

// count waits up to d for n lines; it returns how many came.
func (rd *reader) count(n int, d time.Duration) int {
	deadline := time.After(d)
	for got := 0; got < n; got++ {
		select {
		case _, ok := <-rd.lines:
			if !ok {
				return got
			}
		case <-deadline:
			return got
		}
	}
	return n
}

// deaf is a client that never reads: its server end blocks on Write.
func deaf(t *testing.T, name string, buffer int) *Client {
	srv, _, end := Pipe()
	t.Cleanup(func() { end.Close() })
	return NewClient(name, srv, buffer)
}

func healthy(t *testing.T, name string, buffer int) (*Client, *reader) {
	srv, r, end := Pipe()
	return NewClient(name, srv, buffer), readAll(t, r, end)
}

// returnsWithin reports whether f returns within d.
func returnsWithin(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// ---- Demo 1: an unbuffered channel per client --------------------------

func TestBrokenUnbufferedChannelFreezesEveryone(t *testing.T) {
	hub := NewBlockingHub()
	alice, rd := healthy(t, "alice", 0)
	hub.Join(alice)
	hub.Join(deaf(t, "slow", 0))

	sent := returnsWithin(500*time.Millisecond, func() {
		for i := 0; i < 3; i++ {
			hub.Broadcast(strconv.Itoa(i))
		}
	})
	got := rd.count(3, 500*time.Millisecond)
	if sent || got == 3 {
		t.Fatalf("not frozen: broadcaster returned %v, alice got %d of 3", sent, got)
	}
	// Another client's line waits behind the lock too.
	if returnsWithin(200*time.Millisecond, func() { hub.Broadcast("x") }) {
		t.Fatal("a second broadcaster got through")
	}
	t.Logf("alice got %d of 3 lines; both broadcasters wait for ever on slow", got)
}

func TestFixEvictingHubCutsOffOnlyTheSlowOne(t *testing.T) {
	hub := NewEvictingHub()
	alice, rd := healthy(t, "alice", 16)
	hub.Join(alice)
	hub.Join(deaf(t, "slow", 2))
	if !returnsWithin(time.Second, func() {
		for i := 0; i < 10; i++ {
			hub.Broadcast(strconv.Itoa(i))
		}
	}) {
		t.Fatal("the broadcaster waited")
	}
	if got := rd.count(10, time.Second); got != 10 {
		t.Fatalf("alice got %d of 10", got)
	}
	if fmt.Sprint(hub.Evicted) != "[slow]" {
		t.Fatalf("evicted %v, want [slow]", hub.Evicted)
	}
}

// ---- Demo 2: a goroutine per line, an unbounded queue ------------------

const flood = 5000

func TestBrokenGoroutinePerLineGrowsWithoutBound(t *testing.T) {
	hub := NewSpawnHub()
	alice, rd := healthy(t, "alice", 0)
	hub.Join(alice)
	d := deaf(t, "deaf", 0)
	hub.Join(d)
	t.Cleanup(func() { drain(d) }) // lets the parked goroutines finish
	before := runtime.NumGoroutine()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	for i := 0; i < flood; i++ {
		hub.Broadcast(strconv.Itoa(i))
	}
	if got := rd.count(flood, 10*time.Second); got != flood {
		t.Fatalf("alice got %d of %d", got, flood)
	}
	grown := runtime.NumGoroutine() - before
	runtime.ReadMemStats(&m1)
	t.Logf("%d lines to a deaf client: %d goroutines parked, stacks %d KiB more; alice got %d lines out of order",
		flood, grown, (m1.StackInuse-m0.StackInuse)>>10, rd.reorder)
	if grown < flood-10 {
		t.Fatalf("only %d goroutines parked for %d lines", grown, flood)
	}
}

// drain takes what is sent on c's channel until nothing comes for 100 ms.
func drain(c *Client) {
	for {
		select {
		case <-c.send:
		case <-time.After(100 * time.Millisecond):
			return
		}
	}
}

func TestFixBoundedChannelStaysBounded(t *testing.T) {
	hub := NewEvictingHub()
	alice, rd := healthy(t, "alice", flood)
	hub.Join(alice)
	hub.Join(deaf(t, "deaf", 64))
	before := runtime.NumGoroutine()
	for i := 0; i < flood; i++ {
		hub.Broadcast(strconv.Itoa(i))
	}
	if got := rd.count(flood, 10*time.Second); got != flood || rd.reorder != 0 {
		t.Fatalf("alice got %d of %d, %d out of order", got, flood, rd.reorder)
	}
	if grown := runtime.NumGoroutine() - before; grown > 2 {
		t.Fatalf("%d more goroutines", grown)
	}
}

// ---- Demo 3: close before leave, and closing twice ---------------------

// panicOf runs f and returns what it panicked with, or "".
func panicOf(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestBrokenCloseFirstPanicsTheServer(t *testing.T) {
	hub := NewChannelHub()
	c, _ := healthy(t, "xavier", 4)
	hub.Join(c)
	go hub.DisconnectCloseFirst(c) // xavier leaves, the broken way ...
	time.Sleep(Widen / 4)
	got := panicOf(func() { hub.Broadcast("for xavier") }) // ... as zed speaks
	if got != "send on closed channel" {
		t.Fatalf("broadcast between close and leave: panic %q", got)
	}
	t.Logf("a broadcast between close and leave: panic %q; unrecovered, it ends the process", got)
}

func TestBrokenSecondClosePanicsTheServer(t *testing.T) {
	hub := NewChannelHub()
	slow := deaf(t, "slow", 1)
	hub.Join(slow)
	for i := 0; i < 3; i++ { // the writer takes one, the buffer one, then evicted
		hub.Broadcast(strconv.Itoa(i))
	}
	got := panicOf(func() { hub.DisconnectAfterEviction(slow) })
	if got != "close of closed channel" {
		t.Fatalf("disconnect after eviction: panic %q", got)
	}
}

func TestFixLeaveFirstAndOneCloser(t *testing.T) {
	hub := NewChannelHub()
	slow := deaf(t, "slow", 1)
	c, _ := healthy(t, "xavier", 4)
	hub.Join(slow)
	hub.Join(c)
	for i := 0; i < 3; i++ {
		hub.Broadcast(strconv.Itoa(i))
	}
	for _, who := range []*Client{slow, c} {
		if got := panicOf(func() { hub.Disconnect(who); hub.Broadcast("after") }); got != "" {
			t.Fatalf("%s: panic %q", who.Name, got)
		}
	}
}

// ---- Demo 4: a goroutine leak on disconnect ----------------------------

// writers counts the goroutines in (*Client).writer, waiting up to a
// second for the count to fall to n: other tests' goroutines come and go.
func writers(n int) int {
	count := 0
	for i := 0; i < 100; i++ {
		buf := make([]byte, 1<<22)
		buf = buf[:runtime.Stack(buf, true)]
		count = strings.Count(string(buf), "demos.(*Client).writer(")
		if count <= n {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return count
}

func churn(t *testing.T, leave func(*LeakyHub, *Client)) int {
	hub := NewLeakyHub()
	before := writers(0)
	for i := 0; i < 200; i++ {
		c := deaf(t, fmt.Sprint("c", i), 16)
		hub.Join(c)
		leave(hub, c)
	}
	return writers(before) - before
}

func TestBrokenForgottenCloseLeaksAWriterPerClient(t *testing.T) {
	if leaked := churn(t, (*LeakyHub).Leave); leaked < 200 {
		t.Fatalf("%d of 200 writers left behind", leaked)
	}
}

func TestFixCloseEndsEveryWriter(t *testing.T) {
	if leaked := churn(t, (*LeakyHub).LeaveAndClose); leaked != 0 {
		t.Fatalf("%d writers left behind", leaked)
	}
}

// ---- The C's demo 4: taking the history and joining in two steps ------

// gapless reports the first line a joiner got out of turn: it must see
// 0, 1, 2 ... with none missing and none twice, until want lines.
func gapless(m chan string, want int) (int, string) {
	for next := 0; next < want; next++ {
		select {
		case line := <-m:
			if line != strconv.Itoa(next) {
				return next, line
			}
		case <-time.After(time.Second):
			return next, "(nothing)"
		}
	}
	return want, ""
}

func TestBrokenSplitJoinMissesALine(t *testing.T) {
	room := NewHistoryRoom()
	for i := 0; i < 3; i++ {
		room.Say(strconv.Itoa(i))
	}
	room.Between = func() { room.Say("3") } // said between the two steps
	joiner := make(chan string, 100)
	room.JoinSplit(joiner)
	room.Say("4")
	at, got := gapless(joiner, 5)
	if got == "" {
		t.Fatal("the joiner got every line")
	}
	t.Logf("the joiner wanted line %d and got %s: the line said between the snapshot and the subscription is in neither", at, got)
}

func TestFixOneCriticalSectionMissesNothing(t *testing.T) {
	const lines, joiners = 2000, 50
	room := NewHistoryRoom()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < lines; i++ {
			room.Say(strconv.Itoa(i))
		}
	}()
	var chans []chan string
	for j := 0; j < joiners; j++ {
		m := make(chan string, lines)
		room.Join(m)
		chans = append(chans, m)
		runtime.Gosched()
	}
	<-done
	for j, m := range chans {
		if at, got := gapless(m, lines); got != "" {
			t.Fatalf("joiner %d wanted line %d and got %s", j, at, got)
		}
	}
}
