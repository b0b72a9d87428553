#!/bin/sh
# Starts the server in the background, opens a client against it, and stops
# the server when the client exits. Arguments go to the client (-u NAME).
# The port is $CHAT_PORT, or 4000.
set -eu
cd "$(dirname "$0")/.."
make -s all
port=${CHAT_PORT:-4000}
log=$(mktemp)
./server -p "$port" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
	grep -q "\[LISTEN\]" "$log" && break
	kill -0 $server 2>/dev/null || { cat "$log"; exit 1; }
	sleep 0.05
done
echo "server on 127.0.0.1:$port (log: $log)"
./client -p "$port" "$@"
