#!/bin/sh
# Makes sure Criterion (Debian's libcriterion-dev) is installed: installs it
# with apt-get when it is missing and we can, else says exactly what to run.
if [ -f /usr/include/criterion/criterion.h ]; then
	exit 0
fi
echo "Criterion is missing: installing libcriterion-dev with apt-get..."
if [ "$(id -u)" = 0 ]; then
	SUDO=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO=sudo
else
	echo "Cannot install as this user. Run:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y libcriterion-dev" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "No apt-get here. Install Criterion (https://github.com/Snaipe/Criterion)" >&2
	echo "with your package manager, e.g. libcriterion-dev on Debian/Ubuntu." >&2
	exit 1
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libcriterion-dev >/dev/null ||
	{ echo "apt-get failed. Run: sudo apt-get install -y libcriterion-dev" >&2; exit 1; }
echo "Criterion installed."
