#!/bin/sh
# make demos: for each broken variant in demos/*.patch, copies the sources
# and the Makefile to a scratch tree, applies the patch there, builds that
# tree's server with the same Makefile, and runs the test that exposes it.
# The test passes on the real server (it is part of make test) and must
# fail on the broken one; a demo whose test passes fails this run.
set -eu
cd "$(dirname "$0")/.."
OUT=build/demos

# demo name, then the test that exposes it
set -- \
	locked-push 'policy/slow_consumer_is_cut_off_and_others_get_everything' \
	close-first 'server/a_reused_fd_never_gets_another_clients_lines' \
	unbounded-queue 'policy/memory_stays_bounded_while_a_client_never_reads' \
	split-join 'rooms/a_joiner_sees_history_then_every_later_message_once'

status=0
while [ $# -gt 0 ]; do
	demo=$1 test=$2
	shift 2
	dir="$OUT/$demo"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp Makefile ./*.c ./*.h "$dir/"
	cp -R web "$dir/"       # the page built into the server
	patch -s -d "$dir" -p1 < "demos/$demo.patch"
	# The broken variants leave real helpers unused: no -Werror here.
	make -s -C "$dir" server CFLAGS="-std=c11 -O2 -g -Wall"
	echo "== demo $demo: $test, against the broken server"
	if HUBCHAT_SERVER="$dir/server" build/run-tests --filter "$test" \
		>"$dir/test.log" 2>&1; then
		echo "demo $demo: the test PASSED against the broken server"
		status=1
	else
		grep -A2 "Assertion Failed" "$dir/test.log" | grep -v "^\[----\]   $" |
			sed 's/^/    /' | head -4
		echo "demo $demo: broken, and the test shows it"
	fi
done
exit $status
