#!/bin/sh
# make fuzz FUZZ_SECONDS=N: builds each libFuzzer target with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for N seconds, starting
# from the seed corpus in tests/fuzz/corpus/<target>. A crash, a sanitizer
# report or a broken property (the targets abort) fails the run; libFuzzer
# leaves the input that did it as build/fuzz/crash-* to reproduce with
#   build/fuzz/<target> build/fuzz/crash-...
set -eu
cd "$(dirname "$0")/../.."
SECONDS_EACH=${1:-60}
FUZZ_CC=${FUZZ_CC:-clang}
OUT=build/fuzz

if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
	echo "fuzz: $FUZZ_CC is missing. Install it: apt-get install -y clang" >&2
	exit 1
fi
mkdir -p "$OUT"
rm -f "$OUT"/crash-* "$OUT"/leak-* "$OUT"/timeout-*   # an earlier run's
for t in framer parse text resp; do
	case $t in
	resp) src="resp.c resp_encode.c" ;;
	*) src=proto.c ;;
	esac
	echo "== fuzz_$t for ${SECONDS_EACH}s"
	# shellcheck disable=SC2086
	$FUZZ_CC -std=c11 -D_GNU_SOURCE -g -O1 -I. \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		"tests/fuzz/fuzz_$t.c" $src -o "$OUT/fuzz_$t"
	rm -rf "$OUT/corpus-$t"
	cp -r "tests/fuzz/corpus/$t" "$OUT/corpus-$t"
	"$OUT/fuzz_$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
		-artifact_prefix="$OUT/" "$OUT/corpus-$t" 2>"$OUT/fuzz_$t.log" ||
		{ tail -40 "$OUT/fuzz_$t.log"; echo "fuzz: fuzz_$t FAILED"; exit 1; }
	grep -E "stat::number_of_executed_units|stat::peak_rss" "$OUT/fuzz_$t.log"
done
echo "fuzz: no crashes"
