#!/bin/sh
# Measures memory per parked goroutine and per parked thread on this
# machine, N = 10,000 of each, three runs each. Needs go (Debian:
# golang-go) for the goroutine half.
set -eu
cd "$(dirname "$0")"
N=${1:-10000}
cc -O2 -pthread threads.c -o /tmp/hubchat-threads
for i in 1 2 3; do /tmp/hubchat-threads "$N" 64; done
/tmp/hubchat-threads 1000 0     # glibc's default stack (8 MiB): fewer
if command -v go >/dev/null 2>&1; then
	go build -o /tmp/hubchat-goroutines goroutines.go
	for i in 1 2 3; do /tmp/hubchat-goroutines "$N"; done
	go version
else
	echo "go is missing (apt-get install golang-go): goroutines not measured"
fi
