// goroutines.go - memory per parked goroutine: starts N goroutines that
// each block on a channel (like a chat writer waiting for its next line)
// and prints the growth of the process's RSS divided by N.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func rssKiB() int {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return -1
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	runtime.GC()
	before := rssKiB()
	block := make(chan string)
	ready := make(chan bool)
	for i := 0; i < n; i++ {
		go func() {
			ready <- true
			<-block
		}()
		<-ready
	}
	after := rssKiB()
	fmt.Printf("goroutines=%d rss_before=%dKiB rss_after=%dKiB per_goroutine=%.1fKiB\n",
		n, before, after, float64(after-before)/float64(n))
}
