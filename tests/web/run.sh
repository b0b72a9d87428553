#!/usr/bin/env bash
# tests/web/run.sh - the web page's tests: an independent WebSocket client
# (the `ws` package) and a real browser (Debian's Chromium driven by
# puppeteer-core) on the chat page and on /debug (--debug-page), each
# against a server of its own on free loopback ports.
#
#   tests/web/run.sh                   every suite
#   tests/web/run.sh --screenshot FILE a conversation in the page, as a PNG
#
# Installs Debian's nodejs and npm, then the pinned npm packages
# (package-lock.json) into tests/web/node_modules, when they are missing,
# and Chromium with apt-get when it is missing and we are root. Without Chromium the browser suite
# is skipped, and says so. SERVER names the server binary (default
# ./server; `make test-web` builds it first). Exits non-zero on any failure.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export HUBCHAT_SERVER=${SERVER:-$root/server}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

shot=
if [ "${1:-}" = --screenshot ]; then
	shot=${2:?usage: run.sh --screenshot FILE}
	case $shot in /*) ;; *) shot=$PWD/$shot ;; esac
fi

say() { printf 'web: %s\n' "$*"; }

# apt_install PACKAGE...: Debian's packages, when missing and we may
# (root, apt-get); the package lists are fetched only if the first try
# fails.
apt_install() {
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing $* with apt-get"
		DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" \
		    >/dev/null 2>&1 ||
		    { apt-get update >/dev/null 2>&1 &&
		      DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" \
		      >/dev/null 2>&1; }
	fi
}

need_node() {
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		apt_install nodejs npm
	fi
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		say "FAIL: node and npm are needed (apt-get install -y nodejs npm)"
		exit 1
	fi
	local major
	major=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$major" -lt 18 ]; then
		say "FAIL: node $(node --version) is too old; puppeteer-core 24 needs 18+"
		exit 1
	fi
}

# npm ci from the lock file, once: node_modules is not in git.
need_packages() {
	if [ -f "$here/node_modules/ws/package.json" ] &&
	    [ -f "$here/node_modules/puppeteer-core/package.json" ]; then
		return
	fi
	say "installing the pinned npm packages into tests/web/node_modules"
	# The browser is Debian's: puppeteer-core downloads none.
	if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error); then
		say "FAIL: npm ci failed"
		exit 1
	fi
}

# Chromium from Debian, installed when missing and we may.
find_chromium() {
	[ -x "$CHROMIUM" ] && return 0
	apt_install chromium
	[ -x "$CHROMIUM" ]
}

if [ ! -x "$HUBCHAT_SERVER" ]; then
	say "FAIL: no server at $HUBCHAT_SERVER (run make first)"
	exit 1
fi
need_node
need_packages

HUBCHAT_WEB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hubchat-web.XXXXXX")
export HUBCHAT_WEB_TMP
trap 'rm -rf "$HUBCHAT_WEB_TMP"' EXIT

if [ -n "$shot" ]; then
	find_chromium || { say "FAIL: no chromium at $CHROMIUM"; exit 1; }
	(cd "$here" && timeout 120 node browser_test.js --screenshot "$shot")
	exit
fi

passed=0
failed=0
skipped=0

# Runs one suite (a node script), shows its lines, and adds its closing
# "NAME: N passed, M failed" to the totals; a suite that ends without
# one (a crash, a timeout) counts as one failure.
suite() {
	local out line p f
	out="$HUBCHAT_WEB_TMP/$1.out"
	(cd "$here" && timeout "$2" node "$1") 2>&1 | tee "$out"
	line=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
	if [ -z "$line" ]; then
		say "FAIL: $1 ended without a count (timeout after $2 s?)"
		failed=$((failed + 1))
		return
	fi
	p=${line#*: }; p=${p%% passed*}
	f=${line##*passed, }; f=${f%% failed}
	passed=$((passed + p))
	failed=$((failed + f))
}

say "node $(node --version), ws $(node -p "require('$here/node_modules/ws/package.json').version"), puppeteer-core $(node -p "require('$here/node_modules/puppeteer-core/package.json').version")"
suite ws_test.js 120

if find_chromium; then
	say "$("$CHROMIUM" --version 2>/dev/null)"
	suite browser_test.js 300
	suite debug_test.js 120
else
	say "SKIP browser suite: no chromium at $CHROMIUM, and it could not" \
	    "be installed (as root: apt-get install -y chromium)"
	skipped=1
fi

printf 'test-web: %d passed, %d failed, %d skipped\n' "$passed" "$failed" \
    "$skipped"
[ "$failed" -eq 0 ]
