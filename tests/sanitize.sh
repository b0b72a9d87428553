#!/bin/sh
# make sanitize: builds the server, the client, the peer and the test binary
# itself with AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
# included), then with ThreadSanitizer (make SAN=address, make SAN=thread),
# and runs the whole suite from each build against that build's programs.
# So the in-process tests of the queue and the hub are race-checked too,
# not only the programs. Sanitizers write their reports to files (a
# Criterion test does not fail on a child's report by itself); any report
# file fails the run, and is shown.
set -eu
cd "$(dirname "$0")/.."
make -s build/lined_demo    # the pty tests drive the plain build of it:
                            # a sanitizer's own crash handlers would stand
                            # in for the editor's terminal restore
REPORTS=build/sanitize-reports

rm -rf "$REPORTS"
mkdir -p "$REPORTS"
reports="$(pwd)/$REPORTS"

# suite KIND TESTS: builds the programs and the test binary TESTS with the
# KIND sanitizer, and runs it against those programs.
suite() {
	echo "== make SAN=$1"
	make -s SAN="$1" build/"$1"/server build/"$1"/client build/"$1"/peer \
		build/"$1"/"$2"
	echo "== build/$1/$2 against the $1 build of the programs"
	HUBCHAT_SANITIZED=1 \
	HUBCHAT_SERVER="build/$1/server" HUBCHAT_CLIENT="build/$1/client" \
	HUBCHAT_PEER="build/$1/peer" \
	"build/$1/$2" ${3:-}
}

ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0" \
UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1" \
	suite address run-tests --jobs=4
# Criterion cannot start under TSan (tests/lite/criterion/criterion.h):
# the in-process suites run from build/thread/unit-tests, and the whole
# Criterion suite (from the ASan build) drives the TSan-built programs.
TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1" \
	suite thread unit-tests
TSAN_OPTIONS="log_path=$reports/tsan:second_deadlock_stack=1" \
ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0" \
HUBCHAT_SANITIZED=1 HUBCHAT_SERVER=build/thread/server \
HUBCHAT_CLIENT=build/thread/client HUBCHAT_PEER=build/thread/peer \
	build/address/run-tests --jobs=4

if [ -n "$(ls "$REPORTS")" ]; then
	for f in "$REPORTS"/*; do
		echo "== sanitizer report $f"
		cat "$f"
	done
	echo "sanitize: FAILED: $(ls "$REPORTS" | wc -l) report(s)"
	exit 1
fi
echo "sanitize: no sanitizer reports"
