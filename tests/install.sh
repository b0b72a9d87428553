#!/bin/sh
# make test-install: `make install` into a scratch DESTDIR with PREFIX=/usr,
# then the installed programs answer --version/--help, the man pages render
# without warnings, and `make uninstall` leaves no file behind.
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
make -s uninstall DESTDIR="$root" PREFIX=/usr
left=$(find "$root" -type f)
[ -z "$left" ] || { echo "test-install: left behind: $left"; exit 1; }
echo "test-install: OK: installed, ran, rendered the man pages, uninstalled"
