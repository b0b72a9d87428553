// stats.go - the server's counters and the [STATS] line an operator asks
// for with SIGUSR1 or gets every --stats seconds. The twin of stats.c;
// the line is the C's, and the Go twin adds goroutines= at its end.

package main

import (
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// counters are counted by whichever goroutine sees the event.
type counters struct {
	accepted, refusedFull, refusedAddr, refusedBusy atomic.Uint64
	rejected, idleTimeouts, loginTimeouts           atomic.Uint64
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// selfStatus reads this process's resident memory (KiB) and OS threads
// from /proc; -1 each when it cannot.
func selfStatus() (rssKiB, threads int) {
	rssKiB, threads = -1, -1
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			rssKiB, _ = strconv.Atoi(f[1])
		} else if len(f) >= 2 && f[0] == "Threads:" {
			threads, _ = strconv.Atoi(f[1])
		}
	}
	return
}

// statsLoop logs a [STATS] line on each SIGUSR1 and every --stats
// seconds, until done is closed. usr1 is registered by main before the
// LISTEN line, so a signal sent right after start is never lost.
func (s *server) statsLoop(usr1 <-chan os.Signal, done <-chan struct{}) {
	var tick <-chan time.Time
	if s.cfg.statsSec > 0 {
		t := time.NewTicker(time.Duration(s.cfg.statsSec) * time.Second)
		defer t.Stop()
		tick = t.C
	}
	var prevAt time.Time
	var prevMsgs, prevDeliveries uint64
	for {
		select {
		case <-usr1:
		case <-tick:
		case <-done:
			return
		}
		now := time.Now()
		since := prevAt
		if since.IsZero() {
			since = s.started
		}
		h := s.hub.snapshot()
		rate := func(n, then uint64) uint64 {
			if ms := uint64(now.Sub(since).Milliseconds()); ms > 0 {
				return (n - then) * 1000 / ms
			}
			return 0
		}
		rss, threads := selfStatus()
		c := &s.count
		// rooms=1: the twin's one room, #lobby, always held.
		logf("STATS", "clients=%d logged-in=%d rooms=1 messages=%d messages/s=%d "+
			"deliveries=%d deliveries/s=%d dms=%d evictions=%d "+
			"refused-full=%d refused-addr=%d refused-busy=%d "+
			"rejected-lines=%d idle-timeouts=%d login-timeouts=%d "+
			"rss-kib=%d threads=%d goroutines=%d",
			s.live(), h.members, h.messages, rate(h.messages, prevMsgs),
			h.deliveries, rate(h.deliveries, prevDeliveries), h.dms,
			h.evictions, c.refusedFull.Load(), c.refusedAddr.Load(),
			c.refusedBusy.Load(), c.rejected.Load(), c.idleTimeouts.Load(),
			c.loginTimeouts.Load(), rss, threads, runtime.NumGoroutine())
		prevAt, prevMsgs, prevDeliveries = now, h.messages, h.deliveries
	}
}

// notifyUSR1 starts listening for SIGUSR1 (whose default would kill us).
func notifyUSR1() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	return ch
}
