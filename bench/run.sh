#!/bin/sh
# make bench: workloads A-F and R (bench/README.md) against hubchat,
# ngIRCd, Redis and hubchat's Go twin (go/), and hubchat with its features
# in the hot path: over WebSocket (ws), with history on disk (disk), and as
# a cluster of three nodes over Redis (cluster); rotating which goes first,
# BENCH_ROUNDS rounds; every run on a
# freshly started server. Raw results (one JSON line per run) go to
# bench/results.jsonl; bench/report.sh turns them into bench/RESULTS.md and
# bench/results.png.
#
# Settings (environment): BENCH_ROUNDS (3), BENCH_THREADS (load generator
# threads, 2), BENCH_SERVERS ("hub irc redis go ws disk cluster", or a
# subset),
# BENCH_E_CLIENTS (10000; Redis and the Go twin too), BENCH_E_IRC_CLIENTS (2000: ngIRCd sends every JOIN to
# every member, so its login time grows with the square of the clients; see
# README.md), BENCH_ONLY (a subset such as "A D"), BENCH_RESULTS
# (bench/RESULTS.md; results.png goes beside it), BENCH_APPEND (1: add
# these rounds to the raw results already there instead of starting
# afresh, so the medians are over every round: this machine's runs swing
# by a fifth, and more rounds steady them). Exits 1 when any run failed
# (lost, duplicated or reordered a delivery, timed out).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
E_HUB=${BENCH_E_CLIENTS:-10000}
E_IRC=${BENCH_E_IRC_CLIENTS:-2000}
ONLY=${BENCH_ONLY:-A B C D E F R}
SERVERS=${BENCH_SERVERS:-hub irc redis go ws disk cluster}
for s in ${SERVERS:?BENCH_SERVERS is empty}; do
	case $s in
	hub | irc | redis | go | ws | disk | cluster) ;;
	*) echo "bench: BENCH_SERVERS: $s is not hub, irc, redis, go, ws," \
	       "disk or cluster" >&2
	   exit 2 ;;
	esac
done
RESULTS=${BENCH_RESULTS:-bench/RESULTS.md}
OUT=bench/out
RAW=$(dirname "$RESULTS")/results.jsonl        # kept next to RESULTS.md
NGIRCD=/usr/sbin/ngircd
REDIS=/usr/bin/redis-server

# ---- What it needs ------------------------------------------------------

apt_install() {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "bench: installing $*"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" \
			>/dev/null || { apt-get update -q >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			"$@" >/dev/null; }
	else
		echo "bench: $* missing; run: sudo apt-get install $*" >&2
		exit 1
	fi
}
# Debian's redis-server starts a service on port 6379 where it can: the
# benchmark starts its own, so the one the package just started is stopped
# and kept from starting at boot. (Where policy-rc.d forbids services, as in
# containers, there is none.)
stop_packaged_redis() {
	if command -v systemctl >/dev/null &&
	    systemctl is-active --quiet redis-server 2>/dev/null; then
		systemctl stop redis-server
		systemctl disable --quiet redis-server
	elif [ -x /etc/init.d/redis-server ] &&
	    /etc/init.d/redis-server status >/dev/null 2>&1; then
		/etc/init.d/redis-server stop >/dev/null
		update-rc.d redis-server disable >/dev/null 2>&1 || true
	fi
}

uses() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
if uses irc && [ ! -x "$NGIRCD" ]; then apt_install ngircd; fi
if { uses redis || uses cluster; } && [ ! -x "$REDIS" ]; then
	apt_install redis-server
	stop_packaged_redis
fi
command -v gnuplot >/dev/null || apt_install gnuplot-nox
make -s server tools
if uses go; then make -s go; fi         # installs golang-go when missing

# Every client is a descriptor in the server and one in the load tool.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((E_HUB + 100)) ]; then
	E_HUB=$((nofile - 100))
	echo "bench: ulimit -n is $nofile: workload E scaled down to $E_HUB" \
		"clients (raise the hard limit, or run as root, for 10,000)"
fi

mkdir -p "$OUT" "$(dirname "$RESULTS")"
[ "${BENCH_APPEND:-0}" = 1 ] || : >"$RAW"

# ---- Servers ------------------------------------------------------------

pid=
port=

# Flood control and the per-address limit off: every load client is one
# address sending flat out, which is what they defend against. The byte
# limit is about 4,096 of the tool's lines; no soft limit.
HUB_FLAGS="-q --flood-rate 0 --max-per-addr 0 --queue-hard 4M --queue-soft 0"

# Waits for the [LISTEN] line in log $1 and prints its FIELD $2 (port,
# web-port).
listen_field() {
	i=0
	until v=$(sed -n "s/.*\[LISTEN\].* $2=\([0-9]*\).*/\1/p" "$1") &&
	    [ -n "$v" ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "bench: no [LISTEN] in $1" >&2; exit 1; }
		sleep 0.05
	done
	echo "$v"
}

# hubchat, or with $1 its Go twin, which takes the same flags; more flags
# after it (--web 0 for ws, --data-dir for disk). For ws, port is the web
# listener's.
start_hubchat() {
	bin=${1:-./server}
	[ $# -gt 0 ] && shift
	: >"$OUT/server.log"    # here, not by the background redirect: the
	                        # last run's LISTEN line must not be read
	# shellcheck disable=SC2086
	$bin -p 0 $HUB_FLAGS --max-clients $((E_HUB + 100)) "$@" \
		2>"$OUT/server.log" &
	pid=$!
	port=$(listen_field "$OUT/server.log" port)
	case " $* " in *" --web "*)
		port=$(listen_field "$OUT/server.log" web-port) ;;
	esac
}

# The cluster: a Redis (as start_redis starts it) and three nodes on it;
# port is their three ports, so the tool spreads the clients over them.
# stop_server stops them all.
start_cluster() {
	start_redis
	redis_pid=$pid redis_port=$port
	port= pid=
	for n in a b c; do
		: >"$OUT/node-$n.log"
		# shellcheck disable=SC2086
		./server -p 0 $HUB_FLAGS --max-clients $((E_HUB + 100)) \
			--redis "127.0.0.1:$redis_port" --node-id "$n" \
			2>"$OUT/node-$n.log" &
		pid="$pid $!"
		port="${port:+$port,}$(listen_field "$OUT/node-$n.log" port)"
	done
	pid="$pid $redis_pid"
}

start_ngircd() {
	port=$(build/load --free-port)
	sed "s/@PORT@/$port/" bench/ngircd.conf.in >"$OUT/ngircd.conf"
	"$NGIRCD" -n -f "$OUT/ngircd.conf" >"$OUT/ngircd.log" 2>&1 &
	pid=$!
	wait_port "$port" ngIRCd "$pid"
}

# Redis as a pub/sub server (bench/lib.sh), with room for E.
start_redis() {
	redis_start "$OUT/redis.log" --maxclients $((E_HUB + 100))
}

# Stops every process of the run ($pid may list several).
stop_server() {
	for p in $pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# ---- Workloads ----------------------------------------------------------

# The load tool's arguments for workload $1 on server $2 (hub, irc, redis,
# go).
workload_args() {
	case $1 in
	A) echo "-n 100 -s 10 -m 2000 -w 100" ;;
	B) echo "-n 1000 -s 10 -m 200 -w 100" ;;
	C) echo "-n 10 -s 10 -m 20000 -w 100" ;;
	D) echo "-n 100 -s 10 -m 1000 -r 2000" ;;        # 5 s at 2000/s
	E) if [ "$2" = irc ]; then n=$E_IRC; else n=$E_HUB; fi
	   echo "-n $n -s 1 -m 1" ;;
	F) echo "-n 16 -c 10" ;;
	R) echo "-n 100 -s 10 -m 2000 -w 100 -R 10" ;;  # A in ten rooms
	esac
}

# Whether server $2 runs workload $1: rooms (R) are hubchat's own; the
# feature variants run A, D and R, the ones whose cost they show.
runs() {
	case $2 in
	hub) return 0 ;;
	irc | redis | go) [ "$1" != R ] ;;
	ws | cluster) case $1 in A | D | R) return 0 ;; esac; return 1 ;;
	disk) case $1 in A | D) return 0 ;; esac; return 1 ;;
	esac
}

# The load tool's protocol and naming for server $1: the Go twin speaks
# hubchat's protocol; its runtime keeps the OS threads it has made, so
# the tool waits for its descriptors alone; and SIGUSR1 at full load has
# it log a [STATS] line with its goroutines.
load_args() {
	case $1 in
	go) echo "--proto hub --name go --keeps-threads --usr1" ;;
	ws) echo "--proto hub --ws" ;;
	disk) echo "--proto hub --name hubchat-disk" ;;
	cluster) echo "--proto hub --name hubchat-cluster" ;;
	*) echo "--proto $1" ;;
	esac
}

# goroutines=N from the Go twin's last [STATS] line, or archived=N (lines
# written to disk) from hubchat's with --data-dir, added to the run's JSON
# line (nothing for the other servers).
add_goroutines() {
	case $1 in go) f=goroutines ;; disk) f=archived ;; *) f= ;; esac
	g=
	[ -z "$f" ] || g=$(sed -n "s/.*\[STATS\].* $f=\([0-9]*\).*/\1/p" \
		"$OUT/server.log" | tail -1)
	if [ -n "$g" ]; then
		sed "s/}\$/,\"$f\":$g}/"
	else
		cat
	fi
}

# One run: workload $1 against server $2, its JSON line appended to RAW.
run_one() {
	runs "$1" "$2" || return 0
	case $2 in
	hub) start_hubchat ;;
	irc) start_ngircd ;;
	redis) start_redis ;;
	go) start_hubchat build/hubchat-go ;;
	ws) start_hubchat ./server --web 0 ;;
	disk) rm -rf "$OUT/data"
	      start_hubchat ./server --data-dir "$OUT/data" --fsync second ;;
	cluster) start_cluster ;;
	esac
	# The server's CPU is one process's: for a cluster, no -P.
	one_pid=$pid
	[ "$2" != cluster ] || one_pid=0
	# shellcheck disable=SC2046
	if build/load $(load_args "$2") -p "$port" -t "$THREADS" -P "$one_pid" \
		-l "$1" $(workload_args "$1" "$2") >"$OUT/run.txt" \
		2>"$OUT/run.err"; then
		:
	else
		echo "bench: run $1 on $2 failed" >&2
		cat "$OUT/run.err" >&2
		failed=$((failed + 1))
	fi
	if [ "$2" = disk ]; then        # what reached the disk by the end
		kill -USR1 "$pid"
		i=0
		until grep -q '\[STATS\]' "$OUT/server.log" || [ $i -ge 100 ]; do
			i=$((i + 1))
			sleep 0.05
		done
	fi
	stop_server
	grep -v '^{' "$OUT/run.txt" | sed 's/^/  /'
	grep '^{' "$OUT/run.txt" | add_goroutines "$2" >>"$RAW" || true
}

# The servers in round $1's order: the list turned by one place a round,
# so that each goes first in turn (with two, they alternate).
order_of() {
	# shellcheck disable=SC2086
	set -- "$(($1 - 1))" $SERVERS
	k=$(($1 % ($# - 1)))
	shift
	while [ "$k" -gt 0 ]; do
		first=$1
		shift
		set -- "$@" "$first"
		k=$((k - 1))
	done
	echo "$@"
}

failed=0
echo "bench: $ROUNDS rounds of [$ONLY] on [$SERVERS], load tool with" \
	"$THREADS threads"
sh bench/machine.sh >>"$RAW"
printf '{"label":"run","rounds":%d,"servers":"%s","threads":%d}\n' \
	"$ROUNDS" "$SERVERS" "$THREADS" >>"$RAW"
build/wake | tee "$OUT/wake.txt" | grep -v '^{'
grep '^{' "$OUT/wake.txt" >>"$RAW"
round=1
while [ "$round" -le "$ROUNDS" ]; do
	order=$(order_of "$round")
	echo "== round $round: $order"
	for w in $ONLY; do
		for s in $order; do
			run_one "$w" "$s"
		done
	done
	round=$((round + 1))
done
sh bench/report.sh "$RAW" "$RESULTS"
if [ "$failed" -gt 0 ]; then
	echo "bench: $failed runs failed" >&2
	exit 1
fi
