#!/bin/sh
# bench/bus.sh [ROUNDS]: what one Redis takes of the cluster's own script,
# LUA_SAY (cluster_lua.c), with three subscribers on the bus as three
# nodes would be: redis-benchmark calls it with one line a call and with a
# batch of 32 (100-byte texts, 10 connections, 16 calls in flight each),
# and sends a plain PUBLISH of a one-line bus message for comparison. A
# fresh Redis (as make bench starts it) for each run; prints each run's
# calls/s and the median room lines/s of each. docs/CLUSTER.md ("How far it
# goes") quotes it.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-3}
OUT=bench/out
mkdir -p "$OUT" build
sh tests/need-pkg.sh redis-server redis-server
sh tests/need-pkg.sh redis-benchmark redis-tools
[ -x build/load ] || make build/load >/dev/null

# The script's text, from the source the nodes load it from.
cat >"$OUT/say-lua.c" <<'EOF'
#include <stdio.h>
#include "cluster_lua.h"
int main(void) { fputs(cluster_lua[LUA_SAY], stdout); return 0; }
EOF
cc -I. -o build/say-lua "$OUT/say-lua.c" cluster_lua.c

TEXT=$(printf '%0100d' 0 | tr 0 x)

# run WHAT: one redis-benchmark run on a fresh Redis with three
# subscribers; prints its calls/s. WHAT: say1, say32 or publish.
run() {
	redis_start "$OUT/bus-redis.log"
	rpid=$pid
	subs=
	for i in 1 2 3; do
		redis-cli -p "$port" SUBSCRIBE hubchat:bus >/dev/null &
		subs="$subs $!"
	done
	sha=$(redis-cli -p "$port" SCRIPT LOAD "$(build/say-lua)")
	n=1
	[ "$1" != say32 ] || n=32
	texts=
	i=0
	while [ $i -lt $n ]; do texts="$texts $TEXT"; i=$((i + 1)); done
	if [ "$1" = publish ]; then
		set -- PUBLISH hubchat:bus \
		    "M lobby 0ff1ce 1 2026-11-29T10:00:00Z alice $TEXT"
	else
		# shellcheck disable=SC2086
		set -- EVALSHA "$sha" 3 hubchat:seq:lobby hubchat:hist:lobby \
		    hubchat:epoch hubchat:bus lobby 2026-11-29T10:00:00Z alice \
		    50 $texts
	fi
	redis-benchmark -p "$port" -c 10 -n $((300000 / n)) -P 16 -q "$@" \
	    2>&1 | tr '\r' '\n' |
	    sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1
	# shellcheck disable=SC2086
	kill $subs "$rpid"
	wait 2>/dev/null || true
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

for what in say1 say32 publish; do
	runs=
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		runs="$runs $(run $what)"
		r=$((r + 1))
	done
	lines=1
	[ $what != say32 ] || lines=32
	m=$(echo "$runs" | tr ' ' '\n' | grep . | median)
	printf '%s: calls/s%s; median %s room lines/s\n' "$what" "$runs" \
	    "$(awk -v m="$m" -v l=$lines 'BEGIN { printf "%.0f", m * l }')"
done
