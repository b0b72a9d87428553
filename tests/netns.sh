#!/bin/sh
# make test-netns: a multi-host test on one machine. Three network
# namespaces (a server host and two client hosts) are joined by a bridge
# that lives in a fourth, so the machine's own network is never touched.
# The server listens on all addresses (-a ::); alice and bob run the real
# client from their own hosts. It checks login, broadcast, DM and leave
# notices across hosts. Needs root (skips with a message otherwise); the
# namespaces are removed on any exit, failure included.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
	echo "test-netns: SKIPPED: needs root and ip (iproute2) for network namespaces"
	exit 0
fi
P="hc$$"
OUT=build/netns
SUBNET=10.77.0          # inside our own namespaces only
rm -rf "$OUT"
mkdir -p "$OUT"

cleanup() {
	for pid in $(cat "$OUT"/*.pid 2>/dev/null); do
		kill "$pid" 2>/dev/null
	done
	for ns in srv a b br; do
		ip netns del "$P-$ns" 2>/dev/null
	done
	rm -f "$OUT"/*.in
}
trap cleanup EXIT INT TERM

fail() {
	echo "test-netns: FAILED: $*"
	for f in "$OUT"/*.out "$OUT"/server.log; do
		echo "--- $f"; cat "$f"
	done
	exit 1
}

# wait_for FILE TEXT: until FILE contains TEXT, for at most 5 s.
wait_for() {
	for _ in $(seq 100); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no \"$2\" in $1"
}

# host NAME NUMBER: a namespace with one veth into the bridge.
host() {
	ip netns add "$P-$1"
	ip link add eth0 netns "$P-$1" type veth peer name "p-$1" netns "$P-br"
	ip -n "$P-br" link set "p-$1" master br0 up
	ip -n "$P-$1" addr add "$SUBNET.$2/24" dev eth0
	ip -n "$P-$1" link set eth0 up
	ip -n "$P-$1" link set lo up
}

set -e
ip netns add "$P-br"
ip -n "$P-br" link add br0 type bridge
ip -n "$P-br" link set br0 up
host srv 1
host a 2
host b 3
set +e

ip netns exec "$P-srv" ./server -a :: -p 4000 2>"$OUT/server.log" &
echo $! > "$OUT/server.pid"
wait_for "$OUT/server.log" "[LISTEN] addr=:: port=4000"

# client NAME HOST FD: the client on that host, its stdin a fifo that this
# script keeps open on FD. The child closes the script's other fifo fds, or
# it would hold another client's stdin open and that one would never end.
client() {
	mkfifo "$OUT/$1.in"
	(exec 4>&- 5>&-; exec ip netns exec "$P-$2" ./client -H "$SUBNET.1" \
		-p 4000 -u "$1") <"$OUT/$1.in" >"$OUT/$1.out" 2>&1 &
	echo $! > "$OUT/$1.pid"
	eval "exec $3>\"\$OUT/$1.in\""
}
client alice a 4
wait_for "$OUT/alice.out" "logged in as alice"
client bob b 5
wait_for "$OUT/bob.out" "logged in as bob"
wait_for "$OUT/alice.out" "* bob joined"

echo "hello from host a" >&4
echo "/dm bob psst, from 10.77.0.2" >&4
wait_for "$OUT/bob.out" "alice: hello from host a"
wait_for "$OUT/bob.out" "[dm] alice: psst, from 10.77.0.2"
echo "hi alice, from host b" >&5
wait_for "$OUT/alice.out" "bob: hi alice, from host b"
grep -q "peer=$SUBNET.2:" "$OUT/server.log" || fail "alice did not come from host a"
grep -q "peer=$SUBNET.3:" "$OUT/server.log" || fail "bob did not come from host b"

exec 4>&-                       # alice's stdin ends: she quits
wait_for "$OUT/bob.out" "* alice disconnected"
wait "$(cat "$OUT/alice.pid")" || fail "alice's client exited non-zero"
exec 5>&-
wait "$(cat "$OUT/bob.pid")" || fail "bob's client exited non-zero"
kill -TERM "$(cat "$OUT/server.pid")"
wait "$(cat "$OUT/server.pid")" || fail "the server exited non-zero"
rm -f "$OUT"/*.pid
echo "test-netns: OK: login, broadcast, DM and leave notices across 3 hosts"
