#!/bin/sh
# bench/report.sh [RESULTS.jsonl [OUT.md]]: medians of make bench's runs,
# ratios hubchat/ngIRCd, hubchat/Redis and hubchat/Go twin, server CPU per
# delivery, the
# issue's targets, and the machine, into OUT.md (bench/RESULTS.md);
# throughput and p99 latency against client count into results.png beside
# it (gnuplot). Every run's raw JSON line stays in the input. A server with
# no runs in the input shows "-".
set -eu
cd "$(dirname "$0")/.."
RAW=${1:-bench/results.jsonl}
MD=${2:-bench/RESULTS.md}
PNG=$(dirname "$MD")/results.png
DAT=bench/out/plot.dat
mkdir -p bench/out

# medians FIELD LABEL SERVER: the median of FIELD over the matching runs
# that have it, then every run's value, e.g. "3215460 (2608578 3215460
# 3643308)". Runs written before the load tool reported CPU per delivery
# have it worked out from server_cpu_s (then in 10 ms clock ticks).
medians() {
	awk -v f="$1" -v l="$2" -v s="$3" '
	function get(k,   m) {
		if (!match($0, "\"" k "\":\"?[^,}\"]*")) return ""
		m = substr($0, RSTART, RLENGTH)
		sub("\"" k "\":\"?", "", m)
		return m
	}
	function value(k,   x) {
		x = get(k)
		if (x == "" && k == "server_cpu_us_per_delivery" &&
		    get("delivered") > 0 && get("server_cpu_s") != "")
			x = get("server_cpu_s") * 1e6 / get("delivered")
		return x
	}
	get("label") == l && get("server") == s && (x = value(f)) != "" {
		v[n++] = x + 0
	}
	END {
		if (n == 0) { print "-"; exit }
		for (i = 1; i < n; i++)          # insertion sort: a handful
			for (j = i; j > 0 && v[j-1] > v[j]; j--) {
				t = v[j]; v[j] = v[j-1]; v[j-1] = t
			}
		med = n % 2 ? v[int(n/2)] : (v[n/2-1] + v[n/2]) / 2
		all = ""
		for (i = 0; i < n; i++) all = all (i ? "; " : "") fmt(v[i])
		print fmt(med) " (" all ")"
	}
	# 3129617 -> 3,129,617; 28.1 stays; 0.169 -> 0.17
	function fmt(x,   s, out) {
		if (x < 10 && x != int(x)) return sprintf("%.2f", x)
		if (x < 100 && x != int(x)) return sprintf("%.1f", x)
		s = sprintf("%d", x + 0.5); out = ""
		while (length(s) > 3) {
			out = "," substr(s, length(s) - 2) out
			s = substr(s, 1, length(s) - 3)
		}
		return s out
	}
	' "$RAW"
}

# The median alone, for display.
show() { medians "$@" | cut -d' ' -f1; }

# The median alone, without thousands separators (for arithmetic).
med() { medians "$@" | cut -d' ' -f1 | tr -d ,; }

# The sum of FIELD over every run of LABEL on SERVER.
total() {
	awk -v f="$1" -v l="$2" -v s="$3" '
	index($0, "\"label\":\"" l "\"") && index($0, "\"server\":\"" s "\"") {
		if (match($0, "\"" f "\":[0-9.]*"))
			t += substr($0, RSTART + length(f) + 3, RLENGTH - length(f) - 3)
	} END { printf "%d", t }' "$RAW"
}

# Every server the benchmark knows, in the tables' order: go is hubchat's
# Go twin (go/README.md).
ALL="hubchat ngircd redis go"
# hubchat's feature variants (run.sh: ws, disk, cluster): the same server
# over WebSocket, with --data-dir, and as three nodes over Redis.
VARIANTS="hubchat-ws hubchat-disk hubchat-cluster"

# The load tool's busiest thread, as a share of the run, on each server.
busy() {
	for s in $ALL; do
		awk -v b="$(med tool_busy "$1" $s)" 'BEGIN {
			printf "%s", b == "-" ? "-" : sprintf("%d %%", b * 100 + 0.5) }'
		[ $s = go ] || printf ', '
	done
}

# FIELD's median for workload $2 on each server, "h, i, r, g".
each() {
	echo "$(show "$1" "$2" hubchat), $(show "$1" "$2" ngircd), $(show "$1" "$2" redis), $(show "$1" "$2" go)"
}

# The servers with runs in RAW, and each one's name for people.
servers=$(for s in $ALL; do
	grep -q "\"server\":\"$s\"" "$RAW" && echo $s; done | tr '\n' ' ')
name() { case $1 in ngircd) echo ngIRCd ;; redis) echo Redis ;;
	go) echo "the Go twin" ;; *) echo "$1" ;; esac; }
listed=
for s in $servers; do listed="${listed:+$listed, }$(name "$s")"; done
listed=$(echo "$listed" | sed 's/\(.*\), /\1 and /')   # "a, b and c"

# The machine the runs were made on (bench/machine.sh's line, which run.sh
# writes first), and how they were made (its "run" line). Raw results from
# before those lines describe neither: the machine is then this one, and
# the report says so.
machine=$(grep '"label":"machine"' "$RAW" | head -1 || true)
here=
if [ -z "$machine" ]; then
	machine=$(sh bench/machine.sh)
	here=" (the one this report was written on: the raw runs do not say)"
fi
run=$(grep '"label":"run"' "$RAW" | head -1 || true)

# fact LINE FIELD [DEFAULT]: FIELD of the JSON line, or DEFAULT.
fact() {
	v=$(echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^,}\"]*\).*/\1/p")
	echo "${v:-${3:-}}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
	if (b != "-" && b + 0 > 0 && a != "-") printf "%.2f", a / b; else printf "-" }'; }

yes_no() { awk -v c="$1" 'BEGIN { print (c ? "**met**" : "**not met**") }'; }

rounds=$(grep -c '"label":"A","server":"hubchat"' "$RAW" || true)
e_hub=$(med clients E hubchat)
e_irc=$(med clients E ngircd)
e_redis=$(med clients E redis)
a_h=$(med per_second A hubchat) a_i=$(med per_second A ngircd)
b_h=$(med per_second B hubchat) b_i=$(med per_second B ngircd)
c_h=$(med per_second C hubchat) c_i=$(med per_second C ngircd)
a_r=$(med per_second A redis) b_r=$(med per_second B redis)
c_r=$(med per_second C redis)
a_g=$(med per_second A go) b_g=$(med per_second B go) c_g=$(med per_second C go)
d_p99=$(med p99_us D hubchat)
e_rss=$(med rss_per_client_kib E hubchat)
f_h=$(med per_second F hubchat) f_i=$(med per_second F ngircd)
bad=0
for w in A B C D E R; do
	for s in $ALL $VARIANTS; do
		bad=$((bad + $(total lost $w $s) + $(total dup $w $s) +
		    $(total reorder $w $s)))
	done
done
f_left=$(awk '/"label":"F","server":"hubchat"/ {
	match($0, /"threads_before":[0-9]*/); b = substr($0, RSTART + 17, RLENGTH - 17)
	match($0, /"threads_after":[0-9]*/); a = substr($0, RSTART + 16, RLENGTH - 16)
	match($0, /"rss_before_kib":[0-9]*/); rb = substr($0, RSTART + 17, RLENGTH - 17)
	match($0, /"rss_after_kib":[0-9]*/); ra = substr($0, RSTART + 16, RLENGTH - 16)
	if (a != b || ra - rb > 2048) n++ } END { print n + 0 }' "$RAW")

# "; ngIRCd 26.1; Redis 7.0.15": the peers that have runs here.
versions() {
	case " $servers " in *" ngircd "*) echo "; $(fact "$machine" ngircd)" ;; esac |
		tr -d '\n'
	case " $servers " in *" redis "*) echo "; $(fact "$machine" redis)" ;; esac |
		tr -d '\n'
	case " $servers " in *" go "*) echo "; the Go twin built with $(fact "$machine" go)" ;; esac |
		tr -d '\n'
}

# Says so when a server has no runs here (runs from before it joined the
# benchmark, or BENCH_SERVERS without it).
absent() {
	for s in $ALL; do
		case " $servers " in
		*" $s "*) ;;
		*) echo
		   echo "$(name "$s") has no runs in these raw results: its cells show -." ;;
		esac
	done
}

{
echo "# Benchmark results"
echo
echo "Written by \`make bench\` ([bench/run.sh](run.sh), [bench/report.sh](report.sh))"
echo "on $(fact "$machine" date). $rounds rounds; in each, every workload ran against"
echo "$listed, rotating which went first, each run on a freshly"
echo "started server. A cell shows the median, then every run in brackets. Raw runs:"
echo "[results.jsonl](results.jsonl), one JSON line each. What the workloads are and how"
echo "to read this: [bench/README.md](README.md)."
absent
echo
echo "## Machine$here"
echo
echo "- CPU: $(fact "$machine" cpu)"
echo "- Memory: $(fact "$machine" memory); kernel $(fact "$machine" kernel)"
echo "- A thread wake-up (\`bench/wake\`): $(med any_cpu_us wake "") µs when it crosses to the other CPU, $(med one_cpu_us wake "") µs on one CPU"
echo "- hubchat built with $(fact "$machine" cc)$(versions)"
echo "- Load generator: \`bench/load\` with $(fact "$run" threads "${BENCH_THREADS:-2}") threads, on the same machine"
echo
echo "## Throughput (deliveries per second; 100-byte messages, window 100)"
echo
echo "| workload | hubchat | ngIRCd | Redis | Go twin | hubchat/ngIRCd | hubchat/Redis | hubchat/Go twin | server CPU s (hubchat, ngIRCd, Redis, Go) | load tool busiest thread (hubchat, ngIRCd, Redis, Go) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
echo "| A: 100 clients, 10 x 2000 | $(medians per_second A hubchat) | $(medians per_second A ngircd) | $(medians per_second A redis) | $(medians per_second A go) | $(ratio "$a_h" "$a_i") | $(ratio "$a_h" "$a_r") | $(ratio "$a_h" "$a_g") | $(each server_cpu_s A) | $(busy A) |"
echo "| B: 1000 clients, 10 x 200 | $(medians per_second B hubchat) | $(medians per_second B ngircd) | $(medians per_second B redis) | $(medians per_second B go) | $(ratio "$b_h" "$b_i") | $(ratio "$b_h" "$b_r") | $(ratio "$b_h" "$b_g") | $(each server_cpu_s B) | $(busy B) |"
echo "| C: 10 clients, 10 x 20000 | $(medians per_second C hubchat) | $(medians per_second C ngircd) | $(medians per_second C redis) | $(medians per_second C go) | $(ratio "$c_h" "$c_i") | $(ratio "$c_h" "$c_r") | $(ratio "$c_h" "$c_g") | $(each server_cpu_s C) | $(busy C) |"
echo
echo "Lost, duplicated or reordered deliveries over every run of A to E and R, every server and variant: $bad."
echo "Redis also sends each sender its own messages; the load tool counts those apart,"
echo "never as deliveries, so on every server a message makes clients - 1 deliveries."
echo
echo "## What the features cost (hubchat's variants, same runs)"
echo
echo "The same server over WebSocket (\`--web\`, the load tool speaking RFC 6455),"
echo "with its history on disk (\`--data-dir\`, \`--fsync second\`), and as a cluster of"
echo "three nodes over one Redis (clients spread over the three, every line through"
echo "Redis's bus), against plain hubchat. R is A's 100 clients in 10 rooms of 10."
echo
echo "| run | hubchat | over WebSocket | with history on disk | 3-node cluster |"
echo "|---|---|---|---|---|"
echo "| A deliveries/s | $(medians per_second A hubchat) | $(medians per_second A hubchat-ws) | $(medians per_second A hubchat-disk) | $(medians per_second A hubchat-cluster) |"
echo "| A, share of hubchat's | 1.00 | $(ratio "$(med per_second A hubchat-ws)" "$a_h") | $(ratio "$(med per_second A hubchat-disk)" "$a_h") | $(ratio "$(med per_second A hubchat-cluster)" "$a_h") |"
echo "| A server CPU µs per delivery | $(show server_cpu_us_per_delivery A hubchat) | $(show server_cpu_us_per_delivery A hubchat-ws) | $(show server_cpu_us_per_delivery A hubchat-disk) | - (three processes) |"
echo "| D p50 / p99 µs | $(show p50_us D hubchat) / $(show p99_us D hubchat) | $(show p50_us D hubchat-ws) / $(show p99_us D hubchat-ws) | $(show p50_us D hubchat-disk) / $(show p99_us D hubchat-disk) | $(show p50_us D hubchat-cluster) / $(show p99_us D hubchat-cluster) |"
echo "| R deliveries/s | $(medians per_second R hubchat) | $(medians per_second R hubchat-ws) | - | $(medians per_second R hubchat-cluster) |"
echo
ws_cost=$(awk -v w="$(med server_cpu_us_per_delivery A hubchat-ws)" \
	-v t="$(med server_cpu_us_per_delivery A hubchat)" 'BEGIN {
	if (w == "-" || t == "-") print "-"; else printf "%.3f", w - t }')
echo "WebSocket framing costs $ws_cost µs of server CPU per delivery in A (its CPU per"
echo "delivery less plain hubchat's). The archive wrote $(show archived A hubchat-disk) lines in A"
echo "(median), $(awk -v n="$(med archived A hubchat-disk)" -v s="$(med seconds A hubchat-disk)" 'BEGIN {
	if (n == "-" || s == "-" || s + 0 == 0) print "-"; else printf "%d", n / s }') lines a second while the run lasted; the"
echo "cluster's figures include Redis's work on the same two cores."
echo
echo "## Server CPU per delivery (µs)"
echo
echo "The server's CPU time (user and system, all its threads) from the moment all"
echo "clients are logged in to the last delivery, divided by the deliveries; for F,"
echo "by the sessions. How it is measured: [bench/README.md](README.md#cpu-per-delivery)."
echo
echo "| workload | hubchat | ngIRCd | Redis | Go twin |"
echo "|---|---|---|---|---|"
for w in A B C D E; do
	echo "| $w | $(medians server_cpu_us_per_delivery $w hubchat) | $(medians server_cpu_us_per_delivery $w ngircd) | $(medians server_cpu_us_per_delivery $w redis) | $(medians server_cpu_us_per_delivery $w go) |"
done
echo "| F, per session | $(medians server_cpu_us_per_session F hubchat) | $(medians server_cpu_us_per_session F ngircd) | $(medians server_cpu_us_per_session F redis) | $(medians server_cpu_us_per_session F go) |"
if grep '"delivered"' "$RAW" | grep -vq '"server_cpu_us_per_delivery"'; then
	echo
	echo "Some runs here predate the load tool's reading of the server's CPU clock: their"
	echo "figures come from /proc's CPU time in 10 ms ticks, so a run that cost a server"
	echo "a few ticks (E) is measured only roughly, and F has no CPU time."
fi
echo
echo "## Latency (µs from send to receipt, every delivery)"
echo
echo "| workload | server | p50 | p90 | p99 | p99.9 | max |"
echo "|---|---|---|---|---|---|---|"
for w in D A B C E; do
	for s in $servers; do
		echo "| $w | $s | $(show p50_us $w "$s") | $(show p90_us $w "$s") | $(show p99_us $w "$s") | $(show p999_us $w "$s") | $(show max_us $w "$s") |"
	done
done
echo
echo "D is 100 clients, 10 senders, 2000 messages per second in all, evenly spaced;"
echo "A to C are flat out, so their latencies are mostly time spent queued behind the"
echo "window of 100 messages per sender, not a server's delay."
echo
echo "## Memory (E: clients logged in, then one broadcast to all)"
echo
echo "| server | clients | RSS per client (KiB) | login (s) | server threads (OS) | goroutines |"
echo "|---|---|---|---|---|---|"
echo "| hubchat | $e_hub | $(medians rss_per_client_kib E hubchat) | $(show login_s E hubchat) | $(show threads E hubchat) | - |"
echo "| ngIRCd | $e_irc | $(medians rss_per_client_kib E ngircd) | $(show login_s E ngircd) | $(show threads E ngircd) | - |"
echo "| Redis | $e_redis | $(medians rss_per_client_kib E redis) | $(show login_s E redis) | $(show threads E redis) | - |"
echo "| Go twin | $(med clients E go) | $(medians rss_per_client_kib E go) | $(show login_s E go) | $(show threads E go) | $(show goroutines E go) |"
echo
echo "hubchat runs two threads per client; the Go twin two goroutines per client on"
echo "a few OS threads (the runtime's, from /proc; its goroutines from the [STATS] line"
echo "it logs on SIGUSR1 once all clients are logged in)."
echo
echo "## Churn (F: 16 clients at a time connect, log in, quit, for 10 s)"
echo
echo "After the run the tool waits (up to 10 s) for the server's thread count to"
echo "return to what it was. RSS is allowed 2 MiB of growth, as in \`make churn\`:"
echo "glibc keeps freed memory in its per-thread arenas rather than returning it."
echo "The Go runtime keeps the OS threads it has made, so for the Go twin the tool"
echo "waits for its descriptors alone."
echo
echo "| server | sessions/s | failed | threads before -> after | RSS before -> after (KiB) |"
echo "|---|---|---|---|---|"
for s in $servers; do
	echo "| $s | $(medians per_second F "$s") | $(total failed F "$s") | $(show threads_before F "$s") -> $(show threads_after F "$s") | $(show rss_before_kib F "$s") -> $(show rss_after_kib F "$s") |"
done
echo
echo "## Targets"
echo
echo "| target | measured | |"
echo "|---|---|---|"
echo "| A: >= 2x ngIRCd, no loss/dup/reorder | $(ratio "$a_h" "$a_i")x, $bad bad | $(yes_no "$(awk -v a="$a_h" -v b="$a_i" -v x="$bad" 'BEGIN { print (a >= 2 * b && x == 0) }')") |"
echo "| B: >= ngIRCd | $(ratio "$b_h" "$b_i")x | $(yes_no "$(awk -v a="$b_h" -v b="$b_i" 'BEGIN { print (a >= b) }')") |"
echo "| D: p99 <= 1 ms | $d_p99 µs | $(yes_no "$(awk -v p="$d_p99" 'BEGIN { print (p <= 1000) }')") |"
echo "| E: 10,000 held, <= 32 KiB each | $e_hub held, $e_rss KiB | $(yes_no "$(awk -v n="$e_hub" -v r="$e_rss" 'BEGIN { print (n >= 10000 && r <= 32) }')") |"
echo "| F: >= 5000 sessions/s, back to baseline (threads equal, RSS within 2 MiB) | $f_h/s, $f_left runs not back | $(yes_no "$(awk -v f="$f_h" -v l="$f_left" 'BEGIN { print (f >= 5000 && l == 0) }')") |"
at_least() { awk -v a="$1" -v b="$2" -v k="$3" 'BEGIN {
	print (a != "-" && b != "-" && a + 0 >= k * b) }'; }
echo "| A, B, C: >= 1.5x Redis pub/sub (issue 18) | A $(ratio "$a_h" "$a_r")x, B $(ratio "$b_h" "$b_r")x, C $(ratio "$c_h" "$c_r")x | $(yes_no "$(( $(at_least "$a_h" "$a_r" 1.5) * $(at_least "$b_h" "$b_r" 1.5) * $(at_least "$c_h" "$c_r" 1.5) ))") |"
echo "| D: p50 at or below Redis's (issue 18's aim) | $(show p50_us D hubchat) µs, Redis $(show p50_us D redis) µs | $(yes_no "$(at_least "$(med p50_us D redis)" "$(med p50_us D hubchat)" 1)") |"
echo "| WebSocket A >= 70 % of TCP A | $(ratio "$(med per_second A hubchat-ws)" "$a_h") | $(yes_no "$(at_least "$(med per_second A hubchat-ws)" "$a_h" 0.7)") |"
echo "| A with history on disk >= 90 % of A | $(ratio "$(med per_second A hubchat-disk)" "$a_h") | $(yes_no "$(at_least "$(med per_second A hubchat-disk)" "$a_h" 0.9)") |"
echo "| cluster A >= 50 % of one node's A | $(ratio "$(med per_second A hubchat-cluster)" "$a_h") | $(yes_no "$(at_least "$(med per_second A hubchat-cluster)" "$a_h" 0.5)") |"
echo "| cluster D p99 <= one node's + 2 ms | $(show p99_us D hubchat-cluster) µs vs $d_p99 µs | $(yes_no "$(at_least "$(awk -v d="$d_p99" 'BEGIN { print d + 2000 }')" "$(med p99_us D hubchat-cluster)" 1)") |"
echo
echo "D's p50 against hubchat before issue 18's changes, in alternating runs of the"
echo "two builds: [bench/README.md](README.md#what-each-change-bought)."
echo
echo "![throughput and p99 latency against clients]($(basename "$PNG"))"
} >"$MD"

# The plot: C, A and B are 10, 100 and 1000 clients; "-" where a server has
# no runs.
{
	echo "# clients hubchat_per_s ngircd_per_s hubchat_p99_ms ngircd_p99_ms redis_per_s redis_p99_ms go_per_s go_p99_ms"
	for w in C A B; do
		echo "$(med clients $w hubchat) $(med per_second $w hubchat) $(med per_second $w ngircd) $(med p99_us $w hubchat) $(med p99_us $w ngircd) $(med per_second $w redis) $(med p99_us $w redis) $(med per_second $w go) $(med p99_us $w go)"
	done
} >"$DAT"
# Redis's and the Go twin's lines only where they have runs (gnuplot warns
# of a column that is all "-").
peer_speed='' peer_p99=''
case " $servers " in *" redis "*)
	peer_speed=", \"$DAT\" using 1:(\$6/1e6) with linespoints title \"Redis\""
	peer_p99=", \"$DAT\" using 1:(\$7/1e3) with linespoints title \"Redis\"" ;;
esac
case " $servers " in *" go "*)
	peer_speed="$peer_speed, \"$DAT\" using 1:(\$8/1e6) with linespoints title \"Go twin\""
	peer_p99="$peer_p99, \"$DAT\" using 1:(\$9/1e3) with linespoints title \"Go twin\"" ;;
esac
gnuplot <<EOF
set terminal png size 900,420
set output "$PNG"
set datafile missing "-"
set multiplot layout 1,2 title "$listed, 10 senders flat out (median of runs)"
set logscale x
set xlabel "clients"
set key top left
set ylabel "deliveries per second (millions)"
set yrange [0:*]
plot "$DAT" using 1:(\$2/1e6) with linespoints title "hubchat", \
     "$DAT" using 1:(\$3/1e6) with linespoints title "ngIRCd" $peer_speed
set ylabel "p99 latency (ms)"
plot "$DAT" using 1:(\$4/1e3) with linespoints title "hubchat", \
     "$DAT" using 1:(\$5/1e3) with linespoints title "ngIRCd" $peer_p99
unset multiplot
EOF
echo "bench: wrote $MD and $PNG"
