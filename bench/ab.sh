#!/bin/sh
# bench/ab.sh OLD_SERVER NEW_SERVER [ROUNDS [WORKLOADS]]: measures a change.
# Runs each workload (default "A B C D") against the two server binaries
# in turn, alternating which goes first each round, a fresh server every
# run, with make bench's flags for hubchat; prints the medians of
# deliveries/s, server CPU per delivery, p50 and p99 for each. The raw JSON
# lines go to bench/out/ab.jsonl. "What each change bought" in
# bench/README.md was measured this way. With AB_CLUSTER=1 each binary
# runs as make bench's cluster does: three nodes over a fresh Redis, the
# clients spread over them (no CPU figure: three processes and Redis).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
OLD=${1:?usage: bench/ab.sh OLD_SERVER NEW_SERVER [ROUNDS [WORKLOADS]]}
NEW=${2:?usage: bench/ab.sh OLD_SERVER NEW_SERVER [ROUNDS [WORKLOADS]]}
ROUNDS=${3:-5}
WORKLOADS=${4:-A B C D}
OUT=bench/out
RAW=$OUT/ab.jsonl
mkdir -p "$OUT"
: >"$RAW"

args() {
	case $1 in
	A) echo "-n 100 -s 10 -m 2000 -w 100" ;;
	B) echo "-n 1000 -s 10 -m 200 -w 100" ;;
	C) echo "-n 10 -s 10 -m 20000 -w 100" ;;
	D) echo "-n 100 -s 10 -m 1000 -r 2000" ;;
	R) echo "-n 100 -s 10 -m 2000 -w 100 -R 10" ;;
	*) echo "bench/ab.sh: no workload $1" >&2; exit 2 ;;
	esac
}

# start BINARY LOG [FLAGS...]: a server with make bench's flags; its pid
# is added to pids, its port to ports.
start() {
	bin=$1 log=$2
	shift 2
	: >"$log"
	"$bin" -p 0 -q --flood-rate 0 --max-per-addr 0 --queue-hard 4M \
	    --queue-soft 0 --max-clients 2000 "$@" 2>"$log" &
	pids="$pids $!"
	port=
	i=0
	while [ -z "$port" ] && [ $i -lt 200 ]; do
		port=$(sed -n 's/.*\[LISTEN\].* port=\([0-9]*\).*/\1/p' "$log")
		i=$((i + 1))
		[ -n "$port" ] || sleep 0.05
	done
	ports="${ports:+$ports,}$port"
}

# A Redis as make bench starts it, and three nodes of BINARY on it.
start_cluster() {
	redis_start "$OUT/ab-redis.log"
	pids="$pids $pid" rport=$port
	for n in a b c; do
		start "$1" "$OUT/ab-$n.log" --redis "127.0.0.1:$rport" --node-id "$n"
	done
}

# run BINARY NAME WORKLOAD: one run, its JSON line appended to RAW.
run() {
	pids= ports=
	if [ "${AB_CLUSTER:-0}" = 1 ]; then
		start_cluster "$1"
		pid=0
	else
		start "$1" "$OUT/ab.log"
		pid=$pids
	fi
	# shellcheck disable=SC2046
	build/load --proto hub -p "$ports" -t 2 -P "$pid" -l "$3" --name "$2" \
	    $(args "$3") | grep '^{' >>"$RAW" || echo "bench/ab.sh: $2 $3 failed" >&2
	for p in $pids; do
		kill "$p"
		wait "$p" 2>/dev/null || true
	done
}

r=1
while [ $r -le "$ROUNDS" ]; do
	for w in $WORKLOADS; do
		if [ $((r % 2)) = 1 ]; then
			run "$OLD" old "$w"; run "$NEW" new "$w"
		else
			run "$NEW" new "$w"; run "$OLD" old "$w"
		fi
	done
	r=$((r + 1))
done

# The median of FIELD over the runs of workload W on server S.
median() {
	grep "\"label\":\"$2\",\"server\":\"$3\"" "$RAW" |
	    sed -n "s/.*\"$1\":\([0-9.]*\).*/\1/p" | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for w in $WORKLOADS; do
	for s in old new; do
		cpu=-
		[ "${AB_CLUSTER:-0}" = 1 ] ||
		    cpu=$(median server_cpu_us_per_delivery "$w" $s)
		printf '%s %s: %s deliveries/s, %s us CPU/delivery, p50 %s us, p99 %s us\n' \
		    "$w" "$s" "$(median per_second "$w" $s)" "$cpu" \
		    "$(median p50_us "$w" $s)" "$(median p99_us "$w" $s)"
	done
done
