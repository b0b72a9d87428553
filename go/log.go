// log.go - one line per event on stderr, in log.c's format, e.g.
//
//	2026-11-23T04:44:36.123Z [LOGIN] id=3 user=alice
//
// Each line goes out with one write, so lines from different goroutines
// never interleave (os.File serialises writes to one descriptor).

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	logQuiet bool // -q: no [MSG] or [DM] lines; set before any goroutine starts
	logDM    bool // --log-dm: a private message's text in its [DM] line
)

func logf(tag, format string, args ...any) {
	var b strings.Builder
	b.WriteString(time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(" [")
	b.WriteString(tag)
	b.WriteString("] ")
	fmt.Fprintf(&b, format, args...)
	b.WriteByte('\n')
	os.Stderr.WriteString(b.String())
}

// logChat is logf for the per-message lines that -q silences.
func logChat(tag, format string, args ...any) {
	if !logQuiet {
		logf(tag, format, args...)
	}
}

// logLimited is logf for lines a client can cause at will (a refused name,
// a line of bad text): at most 20 at once and 5 a second across the whole
// server, as log_limited in log.c. The first line let through after some
// were dropped says how many.
var limited struct {
	sync.Mutex // protects the fields below
	budget     *bucket
	dropped    int
}

func logLimited(tag, format string, args ...any) {
	limited.Lock()
	now := time.Now()
	if limited.budget == nil {
		limited.budget = newBucket(20, 5, now)
	}
	ok := limited.budget.wait(now) == 0
	dropped := limited.dropped
	if ok {
		limited.budget.charge(1)
		limited.dropped = 0
	} else {
		limited.dropped++
	}
	limited.Unlock()
	if !ok {
		return
	}
	line := fmt.Sprintf(format, args...)
	if dropped > 0 {
		logf(tag, "%s (%d earlier lines like it were not logged)", line, dropped)
	} else {
		logf(tag, "%s", line)
	}
}

// quote is log.c's log_quote: s in double quotes with '"' and '\'
// escaped, and nothing else touched (Go's %q would escape more).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// strerror names an error the way the C server's strerror(3) does
// ("Connection reset by peer"), so both servers log the same words. Go's
// own text for an errno is the same sentence in lower case.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

// die prints "<program>: <message>" and exits, as die.c does.
func die(status int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", progName(), fmt.Sprintf(format, args...))
	os.Exit(status)
}

func progName() string {
	name := os.Args[0]
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return name
}
