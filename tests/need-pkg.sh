#!/bin/sh
# need-pkg.sh PATH PACKAGE: makes sure PATH (a file, or a command on PATH)
# is there, installing Debian's PACKAGE with apt-get when it is missing and
# we can (as root, or with sudo that needs no password); else says exactly
# what to run, and fails.
path=$1 pkg=$2
if [ -e "$path" ] || command -v "$path" >/dev/null 2>&1; then
	exit 0
fi
echo "$path is missing: installing $pkg with apt-get..."
if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO=sudo
else
	echo "Cannot install as this user. Run:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y $pkg" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "No apt-get here: install $pkg with your package manager." >&2
	exit 1
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null ||
	{ echo "apt-get failed. Run: sudo apt-get install -y $pkg" >&2; exit 1; }
echo "$pkg installed."
