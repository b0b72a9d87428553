# bench/lib.sh: what the benchmark scripts share (run.sh, ab.sh and bus.sh
# source it, from the top of the tree, with build/load built).

# wait_port PORT NAME PID: waits until something listens on PORT, 5 s at
# most; exits 1, naming NAME, when nothing does or PID has exited.
wait_port() {
	i=0
	until build/load --probe "$1"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "bench: $2 did not start" >&2; exit 1; }
		sleep 0.05
	done
	kill -0 "$3" || { echo "bench: $2 exited" >&2; exit 1; }
}

# redis_start LOG [ARGS...]: Redis as the benchmark runs it, as the README
# says: a free port (never 6379), loopback only, no persistence, one I/O
# thread, its files beside LOG, ARGS added. Sets port and pid.
redis_start() {
	log=$1
	shift
	port=$(build/load --free-port)
	"${REDIS:-redis-server}" --port "$port" --bind 127.0.0.1 --save '' \
		--appendonly no --io-threads 1 --protected-mode no \
		--dir "$(dirname "$log")" "$@" >"$log" 2>&1 &
	pid=$!
	wait_port "$port" Redis "$pid"
}
