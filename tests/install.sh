#!/bin/sh
# make test-install: `make install` into a scratch DESTDIR with PREFIX=/usr,
# then the installed programs answer --version/--help, the man pages render
# without warnings, rooms' history survives a restart of the installed
# server, and `make uninstall` leaves no file behind.
set -eu
cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

make -s install DESTDIR="$root" PREFIX=/usr
for f in bin/hubchat-server bin/hubchat bin/hubchat-peer \
	share/man/man1/hubchat-server.1 share/man/man1/hubchat.1 \
	share/man/man1/hubchat-peer.1; do
	[ -f "$root/usr/$f" ] || { echo "test-install: $f missing"; exit 1; }
done
# Installed programs name themselves as installed.
"$root/usr/bin/hubchat-server" --version | grep -q "^hubchat server "
"$root/usr/bin/hubchat-server" --help | grep -q "^usage: hubchat-server "
"$root/usr/bin/hubchat" --help | grep -q "^usage: hubchat "
"$root/usr/bin/hubchat-peer" -h | grep -q "^usage: hubchat-peer "
if command -v man >/dev/null 2>&1; then
	for m in "$root"/usr/share/man/man1/*.1; do
		warnings=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
		[ -z "$warnings" ] || { echo "test-install: $m: $warnings"; exit 1; }
		MANWIDTH=80 man -l "$m" | grep -q "^NAME"
	done
fi
# Rooms' history outlives the server: say something, stop, start again.
data="$root/data"
log="$root/server.log"
start_server() {
	"$root/usr/bin/hubchat-server" -p 0 --data-dir "$data" 2>>"$log" &
	server=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/.*\[LISTEN\].* port=\([0-9]*\).*/\1/p' "$log" |
			tail -1)
		[ -n "$port" ] && [ "$(grep -c '\[LISTEN\]' "$log")" -ge "$1" ] &&
			return 0
		sleep 0.05
	done
	echo "test-install: the installed server did not start"; exit 1
}
start_server 1
printf 'kept on disk\n' | "$root/usr/bin/hubchat" -p "$port" -u writer >/dev/null
kill -TERM $server; wait $server
start_server 2
printf '/history\n' | "$root/usr/bin/hubchat" -p "$port" -u reader |
	grep -q "(history) writer: kept on disk" ||
	{ echo "test-install: no history after a restart"; cat "$log"; exit 1; }
kill -TERM $server; wait $server
rm -rf "$data" "$log"
make -s uninstall DESTDIR="$root" PREFIX=/usr
left=$(find "$root" -type f)
[ -z "$left" ] || { echo "test-install: left behind: $left"; exit 1; }
echo "test-install: OK: installed, ran, rendered the man pages, uninstalled"
