#!/bin/sh
# make churn CHURN_SESSIONS=N [CHURN_CONCURRENCY=C]: starts a server on a
# free loopback port, with history on disk in build/churn-run/data and the
# web listener on another (a third of the sessions are WebSockets), runs
# build/churn against it (see tests/churn.c), and
# stops the server with SIGTERM, which must exit 0. With VALGRIND=1 the
# server runs under valgrind memcheck, which must report no error and no
# byte definitely or indirectly lost.
set -eu
cd "$(dirname "$0")/.."
N=${1:-3000}
C=${2:-16}
OUT=build/churn-run     # its logs; the tool itself is build/churn
mkdir -p "$OUT"
log="$OUT/server.log"

if [ "${VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null 2>&1 ||
		{ echo "churn: valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
	wrap="valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
	      --errors-for-leak-kinds=definite,indirect --error-exitcode=99
	      --log-file=$OUT/valgrind.log"
	rss=--no-rss    # valgrind's own memory is in the RSS
else
	wrap=""
	rss=""
fi
: >"$log"        # truncated here, not by the background redirect: an
                # earlier run's LISTEN line must not be read as this one's
# shellcheck disable=SC2086
# Every session comes from one address: no per-address limit here. History
# goes to disk, so the archive's thread and files are churned too.
rm -rf "$OUT/data"
$wrap ./server -p 0 -q --max-clients 4096 --max-per-addr 0 \
	--data-dir "$OUT/data" --web 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 200); do
	grep -q "\[LISTEN\]" "$log" 2>/dev/null && break
	sleep 0.05
done
port=$(sed -n 's/.*\[LISTEN\].* port=\([0-9]*\).*/\1/p' "$log")
web=$(sed -n 's/.*\[LISTEN\].* web-port=\([0-9]*\).*/\1/p' "$log")
[ -n "$port" ] && [ -n "$web" ] ||
	{ echo "churn: the server did not start"; cat "$log"; exit 1; }

status=0
build/churn -p "$port" -w "$web" -P "$pid" -n "$N" -c "$C" $rss || status=1
kill -TERM "$pid"
wait "$pid" || { echo "churn: the server exited $? after SIGTERM"; status=1; }
trap - EXIT
if [ "${VALGRIND:-0}" = 1 ]; then
	if [ -s "$OUT/valgrind.log" ]; then
		echo "churn: valgrind reported:"; cat "$OUT/valgrind.log"; status=1
	else
		echo "churn: valgrind: no errors, nothing definitely or indirectly lost"
	fi
fi
exit $status
