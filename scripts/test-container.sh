#!/bin/sh
# Tests the image for real with Podman: builds a Debian bookworm root file
# system with debootstrap (there is no registry to pull from), imports it
# under the base image's name, builds the image from the Dockerfile, runs a
# server container and a client container against it, and stops the server
# with SIGTERM, which must exit 0. The server uses --network host on
# 127.0.0.1, so its traffic stays on loopback. The imported base image is
# kept between runs (podman's store, and the debootstrap tree under
# $CACHE). Skips with a clear message when it cannot run here.
set -u
cd "$(dirname "$0")/.."
CACHE=${HUBCHAT_CACHE:-/var/cache/hubchat}
BASE=docker.io/library/debian:bookworm-slim
IMAGE=localhost/hubchat:test
PORT=${PORT:-45123}
RUN="podman --runtime runc --cgroup-manager cgroupfs"
LIMITS="--ulimit nofile=4096:4096 --ulimit nproc=4096:4096"

skip() { echo "test-container: SKIPPED: $*"; exit 0; }
fail() { echo "test-container: FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (to install podman and run debootstrap)"
need=""
for tool in podman runc debootstrap; do
	command -v $tool >/dev/null 2>&1 || need="$need $tool"
done
if [ -n "$need" ]; then
	command -v apt-get >/dev/null 2>&1 || skip "no apt-get to install$need"
	echo "installing:$need"
	apt-get update -qq >/dev/null 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 ||
		skip "cannot install$need"
fi

if ! podman image exists $BASE; then
	root="$CACHE/bookworm"
	if [ ! -x "$root/bin/sh" ]; then
		echo "debootstrap: a minimal bookworm in $root (a few minutes, once)"
		rm -rf "$root"
		mkdir -p "$CACHE"
		debootstrap --variant=minbase bookworm "$root" >"$CACHE/debootstrap.log" 2>&1 ||
			skip "debootstrap failed (see $CACHE/debootstrap.log)"
	fi
	tar -C "$root" -c . | podman import - localhost/debian-bookworm >/dev/null ||
		fail "podman import"
	podman tag localhost/debian-bookworm $BASE || fail "podman tag"
fi

echo "== podman build"
podman build --isolation chroot -t $IMAGE . >/tmp/hubchat-podman-build.log 2>&1 ||
	{ tail -20 /tmp/hubchat-podman-build.log; fail "podman build"; }

cleanup() {
	$RUN rm -f hubchat-test-server >/dev/null 2>&1
	$RUN volume rm -f hubchat-test-data >/dev/null 2>&1
}
trap cleanup EXIT INT TERM
cleanup

echo "== a server container on 127.0.0.1:$PORT"
$RUN run -d --name hubchat-test-server --network host $LIMITS \
	-v hubchat-test-data:/var/lib/hubchat $IMAGE \
	-a 127.0.0.1 -p $PORT >/dev/null || fail "podman run server"
for _ in $(seq 100); do
	$RUN logs hubchat-test-server 2>&1 | grep -q "\[LISTEN\]" && break
	sleep 0.1
done
$RUN logs hubchat-test-server 2>&1 | grep -q "\[LISTEN\] addr=127.0.0.1 port=$PORT" ||
	fail "the server container did not start: $($RUN logs hubchat-test-server 2>&1)"
[ "$($RUN exec hubchat-test-server id -un)" = hubchat ] ||
	fail "the server does not run as the non-root user hubchat"

echo "== a client container against it, and one from the host"
out=$(mktemp)
(printf 'hello from a container\n'; sleep 1) |
	./client -p $PORT -u hostbob >"$out" 2>&1 &
listener=$!
sleep 0.3
reply=$(printf 'hello from a container\n/who\n' |
	$RUN run --rm -i --network host $LIMITS --entrypoint hubchat $IMAGE \
	-H 127.0.0.1 -p $PORT -u boxalice 2>&1) || fail "client container: $reply"
echo "$reply" | grep -q "in #lobby: boxalice hostbob" || fail "no WHO reply: $reply"
wait $listener
grep -q "boxalice: hello from a container" "$out" || fail "host client: $(cat "$out")"
rm -f "$out"

echo "== SIGTERM"
$RUN stop -t 5 hubchat-test-server >/dev/null
status=$($RUN inspect -f '{{.State.ExitCode}}' hubchat-test-server)
[ "$status" = 0 ] || fail "the server container exited $status"
echo "== the history survives a restart, in the volume"
$RUN start hubchat-test-server >/dev/null || fail "podman start"
for _ in $(seq 100); do
	[ "$($RUN logs hubchat-test-server 2>&1 | grep -c "\[LISTEN\]")" -ge 2 ] && break
	sleep 0.1
done
reply=$(printf '/history\n' | ./client -p $PORT -u hostcarol 2>&1)
echo "$reply" | grep -q "(history) boxalice: hello from a container" ||
	fail "no history after the restart: $reply"
$RUN stop -t 5 hubchat-test-server >/dev/null
echo "test-container: OK: image built, server and client containers talked, clean stop, history kept"
