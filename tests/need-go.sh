#!/bin/sh
# Makes sure Go (Debian's golang-go, 1.19 or later) is installed for the
# Go twin (go/README.md): installs it with apt-get when it is missing and
# we can, else says exactly what to run. Like need-criterion.sh.
if command -v go >/dev/null 2>&1; then
	exit 0
fi
echo "Go is missing: installing golang-go with apt-get..."
if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO=sudo
else
	echo "Cannot install as this user. Run:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y golang-go" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "No apt-get here. Install Go 1.19 or later (the golang-go package" >&2
	echo "on Debian and Ubuntu) with your package manager." >&2
	exit 1
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go >/dev/null ||
	{ echo "apt-get failed. Run: sudo apt-get install -y golang-go" >&2; exit 1; }
echo "Go installed: $(go version)"
