#!/bin/sh
# make test-tls: the recipe in docs/OPERATIONS.md ("TLS in front"), run for
# real on loopback. stunnel4 terminates TLS in front of the server; people
# reach it with openssl s_client, or with ./client through a stunnel in
# client mode that checks the server's certificate. Each step must hold:
#   1. a client through stunnel's client mode and one through s_client
#      chat both ways;
#   2. the TLS port speaks no plain text: a plain connection gets no
#      welcome line;
#   3. a client that does not trust the certificate is refused;
#   4. the web page and its WebSocket work through the same kind of
#      stunnel (https and wss), checked with openssl s_client.
# Installs stunnel4 when missing (as root, with apt-get); skips otherwise.
set -u
cd "$(dirname "$0")/.."

skip() { echo "test-tls: SKIPPED: $*"; exit 0; }
fail() { echo "test-tls: FAILED: $*"; [ -f "$dir/server.log" ] &&
	sed 's/^/  server: /' "$dir/server.log" | tail -5; exit 1; }

if ! command -v stunnel4 >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 ||
		skip "stunnel4 and openssl are needed (apt-get install stunnel4 openssl)"
	echo "installing: stunnel4 openssl"
	apt-get update -qq >/dev/null 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stunnel4 openssl \
		>/dev/null 2>&1 || skip "cannot install stunnel4"
fi

dir=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

free_port() { build/load --free-port; }
# Waits until something listens on 127.0.0.1:$1.
wait_port() {
	for _ in $(seq 100); do
		build/load --probe "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "nothing listens on port $1"
}

# A certificate for 127.0.0.1, valid a day (a real one names your host).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	-keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
	fail "openssl could not make a certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-days 1 -subj "/CN=someone-else" -keyout "$dir/other-key.pem" \
	-out "$dir/other.pem" >/dev/null 2>&1

chat=$(free_port) web=$(free_port)
./server -p "$chat" --web "$web" -q 2>"$dir/server.log" &
pids="$pids $!"
wait_port "$chat"

# The server side: TLS on chat_tls and web_tls, plain text behind.
chat_tls=$(free_port) web_tls=$(free_port) plain=$(free_port)
cat >"$dir/server.conf" <<EOF
foreground = yes
pid =
[hubchat]
accept = 127.0.0.1:$chat_tls
connect = 127.0.0.1:$chat
cert = $dir/cert.pem
key = $dir/key.pem
[hubchat-web]
accept = 127.0.0.1:$web_tls
connect = 127.0.0.1:$web
cert = $dir/cert.pem
key = $dir/key.pem
EOF
# A person's side: plain text on $plain, TLS out, the certificate checked.
cat >"$dir/client.conf" <<EOF
foreground = yes
pid =
[hubchat]
client = yes
accept = 127.0.0.1:$plain
connect = 127.0.0.1:$chat_tls
verifyPeer = yes
CAfile = $dir/cert.pem
EOF
stunnel4 "$dir/server.conf" >"$dir/stunnel-server.log" 2>&1 &
pids="$pids $!"
stunnel4 "$dir/client.conf" >"$dir/stunnel-client.log" 2>&1 &
pids="$pids $!"
wait_port "$chat_tls"
wait_port "$plain"

echo "== 1. ./client through stunnel, and openssl s_client, chat both ways"
# Each side is fed through a FIFO, so each step waits for the one before.
wait_text() {   # wait_text FILE TEXT: until FILE holds TEXT (5 s at most)
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
mkfifo "$dir/to-bob" "$dir/to-alice"
timeout 20 openssl s_client -connect "127.0.0.1:$chat_tls" -quiet \
	-verify_return_error -CAfile "$dir/cert.pem" <"$dir/to-bob" \
	>"$dir/bob.out" 2>"$dir/bob.err" &
pids="$pids $!"
exec 3>"$dir/to-bob"
timeout 20 ./client -p "$plain" -u tlsalice <"$dir/to-alice" >"$dir/alice.out" 2>&1 &
pids="$pids $!"
exec 4>"$dir/to-alice"
printf 'LOGIN tlsbob\n' >&3
wait_text "$dir/server.log" "user=tlsbob" || fail "s_client did not log in"
wait_text "$dir/server.log" "user=tlsalice" || fail "the client did not log in"
printf 'hello over TLS\n' >&4
wait_text "$dir/bob.out" "^MSG tlsalice hello over TLS" ||
	fail "s_client did not hear tlsalice: $(cat "$dir/bob.out" "$dir/bob.err")"
printf 'MSG hi from s_client\n' >&3
wait_text "$dir/alice.out" "tlsbob: hi from s_client" ||
	fail "the client did not hear tlsbob: $(cat "$dir/alice.out")"
printf 'QUIT\n' >&3
exec 3>&- 4>&-

echo "== 2. the TLS port speaks no plain text"
plain_reply=$( (printf 'LOGIN sneaky\n'; sleep 0.5) |
	timeout 5 ./client -p "$chat_tls" -u sneaky 2>&1)
echo "$plain_reply" | grep -q "logged in as sneaky" &&
	fail "a plain client chatted on the TLS port"

echo "== 3. a client that does not trust the certificate is refused"
(printf 'LOGIN mallory\n'; sleep 0.5) |
	timeout 10 openssl s_client -connect "127.0.0.1:$chat_tls" -quiet \
	-verify_return_error -CAfile "$dir/other.pem" >/dev/null 2>&1 &&
	fail "s_client trusted a certificate it had no reason to"

echo "== 4. the page and a WebSocket over TLS (https, wss)"
page=$( (printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'; sleep 0.5) |
	timeout 10 openssl s_client -connect "127.0.0.1:$web_tls" -quiet \
	-verify_return_error -CAfile "$dir/cert.pem" 2>/dev/null)
echo "$page" | grep -q "^HTTP/1.1 200 " || fail "no page over https: $page"
upgrade=$( (printf 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n' "$web_tls"
	printf 'Upgrade: websocket\r\n'
	printf 'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
	printf 'Origin: https://127.0.0.1:%s\r\n' "$web_tls"
	printf 'Sec-WebSocket-Version: 13\r\n\r\n'; sleep 0.5) |
	timeout 10 openssl s_client -connect "127.0.0.1:$web_tls" -quiet \
	-verify_return_error -CAfile "$dir/cert.pem" 2>/dev/null)
echo "$upgrade" | grep -q "^HTTP/1.1 101 " || fail "no wss upgrade: $upgrade"

echo "test-tls: OK: stunnel in front; ./client and s_client chatted; no plain text on the TLS port; an untrusted certificate refused; https and wss"
