#!/bin/sh
# make fuzz FUZZ_SECONDS=N: runs each libFuzzer target (built by the
# Makefile with clang: -fsanitize=fuzzer,address,undefined) for N seconds,
# starting from the seed corpus in tests/fuzz/corpus/<target>. A crash, a
# sanitizer report or a broken property (the targets abort) fails the run;
# libFuzzer leaves the input that did it as build/fuzz/crash-* to
# reproduce with
#   build/fuzz/fuzz_<target> build/fuzz/crash-...
#   run.sh SECONDS TARGET...
set -eu
cd "$(dirname "$0")/../.."
SECONDS_EACH=$1
shift
OUT=build/fuzz

rm -f "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-*   # an earlier run's
for t in "$@"; do
	echo "== fuzz_$t for ${SECONDS_EACH}s"
	rm -rf "$OUT/corpus-$t"
	cp -r "tests/fuzz/corpus/$t" "$OUT/corpus-$t"
	"$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
		-artifact_prefix="$OUT/" "$OUT/corpus-$t" 2>"$OUT/fuzz_$t.log" ||
		{ tail -40 "$OUT/fuzz_$t.log"; echo "fuzz: fuzz_$t FAILED"; exit 1; }
	grep -E "stat::number_of_executed_units|stat::peak_rss" "$OUT/fuzz_$t.log"
done
echo "fuzz: no crashes"
