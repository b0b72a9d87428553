#!/bin/sh
# One-stop containers on Linux, with Docker or Podman, whichever is here:
#   scripts/container.sh server          build the image, run the server
#   scripts/container.sh client NAME     a client container for NAME
# Both join the network hubchat-net; the server is published on port 4000,
# its web page on 8000, and its history kept in the volume hubchat-data.
set -eu
cd "$(dirname "$0")/.."
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
	engine=docker
elif command -v podman >/dev/null 2>&1; then
	engine=podman
else
	echo "container.sh: neither a working docker nor podman here" >&2
	exit 1
fi
image=hubchat:latest
net=hubchat-net
$engine network inspect $net >/dev/null 2>&1 || $engine network create $net >/dev/null

case "${1:-}" in
server)
	$engine build -t $image .
	# History lives in the named volume hubchat-data, so it outlives
	# the container (--rm); the web page is on http://127.0.0.1:8000/.
	exec $engine run --rm --name hubchat-server --network $net \
		-p 4000:4000 -p 8000:8000 -v hubchat-data:/var/lib/hubchat $image
	;;
client)
	name=${2:?usage: container.sh client NAME}
	$engine image inspect $image >/dev/null 2>&1 || $engine build -t $image .
	# Container names must be unique: the name plus six random hex digits.
	suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	exec $engine run --rm -it --name "hubchat-$name-$suffix" --network $net \
		--entrypoint hubchat $image -H hubchat-server -p 4000 -u "$name"
	;;
*)
	echo "usage: container.sh server | client NAME" >&2
	exit 2
	;;
esac
