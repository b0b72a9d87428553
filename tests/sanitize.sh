#!/bin/sh
# make sanitize: builds the server, the client and the peer with
# AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included),
# then with ThreadSanitizer, and runs the whole test suite against each set.
# Sanitizers write their reports to files (a Criterion test does not fail on
# a child's report by itself); any report file fails the run, and is shown.
set -eu
cd "$(dirname "$0")/.."

CC=${CC:-cc}
OUT=build/sanitize
FLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -pthread
       -Wall -Wextra -Werror -DTHREAD_STACK_KIB=512"
SERVER="server.c config.c rlimits.c msg.c queue.c hub.c proto.c net.c log.c writer.c"
CLIENT="client.c term.c proto.c net.c"
PEER="peer.c term.c msg.c queue.c proto.c net.c writer.c"

rm -rf "$OUT"
mkdir -p "$OUT/asan" "$OUT/tsan" "$OUT/reports"

build() {   # build KIND "SANITIZER FLAGS"
	echo "== building with $2"
	$CC $FLAGS $2 $SERVER -o "$OUT/$1/server"
	$CC $FLAGS $2 $CLIENT -o "$OUT/$1/client"
	$CC $FLAGS $2 $PEER -o "$OUT/$1/peer"
}

suite() {   # suite KIND: the whole suite against that build
	echo "== make test against the $1 build"
	HUBCHAT_SANITIZED=1 \
	HUBCHAT_SERVER="$OUT/$1/server" HUBCHAT_CLIENT="$OUT/$1/client" \
	HUBCHAT_PEER="$OUT/$1/peer" \
	tests/run-tests --jobs 4
}

build asan "-fsanitize=address,undefined -fno-sanitize-recover=all"
build tsan "-fsanitize=thread"

reports="$(pwd)/$OUT/reports"
ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0" \
UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1" \
	suite asan
TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1" \
	suite tsan

if [ -n "$(ls "$OUT/reports")" ]; then
	for f in "$OUT/reports"/*; do
		echo "== sanitizer report $f"
		cat "$f"
	done
	echo "sanitize: FAILED: $(ls "$OUT/reports" | wc -l) report(s)"
	exit 1
fi
echo "sanitize: no sanitizer reports"
