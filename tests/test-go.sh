#!/bin/sh
# make test-go: the Go twin (go/) held to the C server's tests.
#
#   1. gofmt and go vet: the Go sources are clean.
#   2. go test in go/: the Go twin's own tests, among them the check that
#      its error lines are proto.h's PROTO_ERR_* lines, byte for byte, and
#      its [STATS] line on SIGUSR1 (stats_test.go, against the binary).
#   3. The core integration suites (tests/test_server.c, test_policies.c,
#      test_faults.c, test_stress.c, test_abuse.c, test_manners.c), built
#      as build/core-tests, run against build/hubchat-go through
#      HUBCHAT_SERVER, the same way make sanitize runs them against other
#      builds: every test but the few below, which check what only the C
#      server has.
#
# Not run here: the client, peer, line editor and unit suites (they test
# other programs, or the C modules in-process); the rooms, history and web
# suites (test_rooms.c, test_history.c, test_web.c: rooms, history and the
# WebSocket listener are the C server's alone, and the twin answers their
# verbs as go/rooms_test.go checks); and the tests excluded below.
# go/README.md lists the differences these exclusions stand for.
set -eu
cd "$(dirname "$0")/.."
SERVER=${HUBCHAT_SERVER:-build/hubchat-go}
JOBS=${TEST_GO_JOBS:-6}

# suite/test, then why it does not run against the Go twin.
EXCLUDED='
server/threads_are_named
	the C names its threads rd/N and wr/N for top -H and gdb; goroutines have no OS name
policy/thread_creation_failure_refuses_cleanly_and_recovers
	RLIMIT_AS of 6 MiB runs the C out of thread stacks; the Go runtime cannot even start in it, and starting a goroutine cannot fail
policy/trace_shows_threads_queue_depths_and_evictions
	--trace logs the C threads and queue depths; the Go twin has no trace lines
policy/no_trace_lines_without_the_flag
	the same: without trace lines at all it would pass without testing anything
manners/sigusr1_and_stats_log_a_stats_line
	it asserts 5 threads in a plain build, the C main thread and two per client; the Go [STATS] line says its OS threads and goroutines=, and go/stats_test.go checks the rest of the line
'

filter=$(echo "$EXCLUDED" | grep -v '^	' | grep . | paste -sd'|' -)

echo "== gofmt and go vet (go/)"
bad=$(cd go && gofmt -l .)
if [ -n "$bad" ]; then
	echo "test-go: not gofmt'ed: $bad" >&2
	exit 1
fi
(cd go && GOPROXY=off go vet ./...)

echo "== go test (go/: the twin's unit tests)"
case $SERVER in /*) abs=$SERVER ;; *) abs=$(pwd)/$SERVER ;; esac
(cd go && HUBCHAT_SERVER=$abs GOPROXY=off go test -count=1 ./ 2>&1)

echo "== the core suites against $SERVER"
echo "   not run (C-only; see go/README.md): the rooms, history and web suites, and"
echo "$EXCLUDED" | grep . | sed 's/^	/        /; s/^\([^ ]\)/     \1/'
HUBCHAT_SERVER=$SERVER build/core-tests --jobs "$JOBS" --filter "!($filter)"
