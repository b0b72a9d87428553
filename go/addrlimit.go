// addrlimit.go - how many connections each address has, against
// --max-per-addr: one script on one address must not take every slot.
// The twin of addrlimit.c, with a map where the C has a fixed hash table.

package main

import (
	"net"
	"sync"
)

type addrLimit struct {
	mu     sync.Mutex     // protects counts
	per    int            // 0 = no limit, and nothing is counted
	counts map[string]int // by addrKey; an entry exists while its count > 0
}

func newAddrLimit(per int) *addrLimit {
	return &addrLimit{per: per, counts: make(map[string]int)}
}

// addrKey is the address a connection counts against, and its name for
// the log: an IPv4 address (also when it came mapped into IPv6), or an
// IPv6 /64, which one host commonly has whole.
func addrKey(conn *net.TCPConn) (key, name string) {
	ip := conn.RemoteAddr().(*net.TCPAddr).IP
	if v4 := ip.To4(); v4 != nil {
		return string(v4), v4.String()
	}
	prefix := ip.Mask(net.CIDRMask(64, 128))
	return string(prefix[:8]), prefix.String() + "/64"
}

// take counts one more connection from key; false (nothing counted) when
// it has per already.
func (a *addrLimit) take(key string) bool {
	if a.per == 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts[key] >= a.per {
		return false
	}
	a.counts[key]++
	return true
}

// give gives back a count that take took.
func (a *addrLimit) give(key string) {
	if a.per == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts[key]--; a.counts[key] == 0 {
		delete(a.counts, key)
	}
}
