#!/bin/sh
# bench/report.sh [RESULTS.jsonl [OUT.md]]: medians of make bench's runs,
# ratios hubchat/ngIRCd, the issue's targets, and the machine, into OUT.md
# (bench/RESULTS.md); throughput and p99 latency against client count into
# results.png beside it (gnuplot). Every run's raw JSON line stays in the
# input.
set -eu
cd "$(dirname "$0")/.."
RAW=${1:-bench/results.jsonl}
MD=${2:-bench/RESULTS.md}
PNG=$(dirname "$MD")/results.png
DAT=bench/out/plot.dat
mkdir -p bench/out

# medians FIELD LABEL SERVER: the median of FIELD over the matching runs,
# then every run's value, e.g. "3215460 (2608578 3215460 3643308)".
medians() {
	awk -v f="$1" -v l="$2" -v s="$3" '
	function get(k,   m) {
		if (!match($0, "\"" k "\":\"?[^,}\"]*")) return ""
		m = substr($0, RSTART, RLENGTH)
		sub("\"" k "\":\"?", "", m)
		return m
	}
	get("label") == l && get("server") == s { v[n++] = get(f) + 0 }
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
	# 3129617 -> 3,129,617; 28.1 stays; 0.5 stays
	function fmt(x,   s, out) {
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

# The load tool's busiest thread, as a share of the run, on each server.
busy() {
	awk -v h="$(med tool_busy "$1" hubchat)" -v i="$(med tool_busy "$1" ngircd)" \
	    'BEGIN { printf "%d %%, %d %%", h * 100 + 0.5, i * 100 + 0.5 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {
	if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else printf "-" }'; }

yes_no() { awk -v c="$1" 'BEGIN { print (c ? "**met**" : "**not met**") }'; }

rounds=$(grep -c '"label":"A","server":"hubchat"' "$RAW" || true)
e_hub=$(med clients E hubchat)
e_irc=$(med clients E ngircd)
a_h=$(med per_second A hubchat) a_i=$(med per_second A ngircd)
b_h=$(med per_second B hubchat) b_i=$(med per_second B ngircd)
c_h=$(med per_second C hubchat) c_i=$(med per_second C ngircd)
d_p99=$(med p99_us D hubchat)
e_rss=$(med rss_per_client_kib E hubchat)
f_h=$(med per_second F hubchat) f_i=$(med per_second F ngircd)
bad=0
for w in A B C D E; do
	for s in hubchat ngircd; do
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

{
echo "# Benchmark results"
echo
echo "Written by \`make bench\` ([bench/run.sh](run.sh), [bench/report.sh](report.sh))"
echo "on $(date -u +%Y-%m-%d). $rounds rounds; in each, every workload ran against"
echo "hubchat and against ngIRCd, alternating which went first, each run on a freshly"
echo "started server. A cell shows the median, then every run in brackets. Raw runs:"
echo "[results.jsonl](results.jsonl), one JSON line each. What the workloads are and how"
echo "to read this: [bench/README.md](README.md)."
echo
echo "## Machine"
echo
echo "- CPU: $(grep -c ^processor /proc/cpuinfo) x $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)$(grep -q hypervisor /proc/cpuinfo && echo ', virtual machine')"
echo "- Memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo); kernel $(uname -r)"
echo "- A thread wake-up (\`bench/wake\`): $(med any_cpu_us wake "") µs when it crosses to the other CPU, $(med one_cpu_us wake "") µs on one CPU"
echo "- hubchat built with $(cc --version | head -1); $(/usr/sbin/ngircd --version 2>/dev/null | head -1 | cut -d- -f1)"
echo "- Load generator: \`bench/load\` with ${BENCH_THREADS:-2} threads, on the same machine"
echo
echo "## Throughput (deliveries per second; 100-byte messages, window 100)"
echo
echo "| workload | hubchat | ngIRCd | hubchat/ngIRCd | server CPU s (hubchat, ngIRCd) | load tool busiest thread (hubchat, ngIRCd) |"
echo "|---|---|---|---|---|---|"
echo "| A: 100 clients, 10 x 2000 | $(medians per_second A hubchat) | $(medians per_second A ngircd) | $(ratio "$a_h" "$a_i") | $(show server_cpu_s A hubchat), $(show server_cpu_s A ngircd) | $(busy A) |"
echo "| B: 1000 clients, 10 x 200 | $(medians per_second B hubchat) | $(medians per_second B ngircd) | $(ratio "$b_h" "$b_i") | $(show server_cpu_s B hubchat), $(show server_cpu_s B ngircd) | $(busy B) |"
echo "| C: 10 clients, 10 x 20000 | $(medians per_second C hubchat) | $(medians per_second C ngircd) | $(ratio "$c_h" "$c_i") | $(show server_cpu_s C hubchat), $(show server_cpu_s C ngircd) | $(busy C) |"
echo
echo "Lost, duplicated or reordered deliveries over every run of A to E, both servers: $bad."
echo
echo "## Latency (µs from send to receipt, every delivery)"
echo
echo "| workload | server | p50 | p90 | p99 | p99.9 | max |"
echo "|---|---|---|---|---|---|---|"
for w in D A B C E; do
	for s in hubchat ngircd; do
		echo "| $w | $s | $(show p50_us $w $s) | $(show p90_us $w $s) | $(show p99_us $w $s) | $(show p999_us $w $s) | $(show max_us $w $s) |"
	done
done
echo
echo "D is 100 clients, 10 senders, 2000 messages per second in all, evenly spaced;"
echo "A to C are flat out, so their latencies are mostly time spent queued behind the"
echo "window of 100 messages per sender, not a server's delay."
echo
echo "## Memory (E: clients logged in, then one broadcast to all)"
echo
echo "| server | clients | RSS per client (KiB) | login (s) | server threads |"
echo "|---|---|---|---|---|"
echo "| hubchat | $e_hub | $(medians rss_per_client_kib E hubchat) | $(show login_s E hubchat) | $(show threads E hubchat) |"
echo "| ngIRCd | $e_irc | $(medians rss_per_client_kib E ngircd) | $(show login_s E ngircd) | $(show threads E ngircd) |"
echo
echo "## Churn (F: 16 clients at a time connect, log in, quit, for 10 s)"
echo
echo "After the run the tool waits (up to 10 s) for the server's thread count to"
echo "return to what it was. RSS is allowed 2 MiB of growth, as in \`make churn\`:"
echo "glibc keeps freed memory in its per-thread arenas rather than returning it."
echo
echo "| server | sessions/s | failed | threads before -> after | RSS before -> after (KiB) |"
echo "|---|---|---|---|---|"
for s in hubchat ngircd; do
	echo "| $s | $(medians per_second F $s) | $(total failed F $s) | $(show threads_before F $s) -> $(show threads_after F $s) | $(show rss_before_kib F $s) -> $(show rss_after_kib F $s) |"
done
echo
echo "## The issue's targets"
echo
echo "| target | measured | |"
echo "|---|---|---|"
echo "| A: >= 2x ngIRCd, no loss/dup/reorder | $(ratio "$a_h" "$a_i")x, $bad bad | $(yes_no "$(awk -v a="$a_h" -v b="$a_i" -v x="$bad" 'BEGIN { print (a >= 2 * b && x == 0) }')") |"
echo "| B: >= ngIRCd | $(ratio "$b_h" "$b_i")x | $(yes_no "$(awk -v a="$b_h" -v b="$b_i" 'BEGIN { print (a >= b) }')") |"
echo "| D: p99 <= 1 ms | $d_p99 µs | $(yes_no "$(awk -v p="$d_p99" 'BEGIN { print (p <= 1000) }')") |"
echo "| E: 10,000 held, <= 32 KiB each | $e_hub held, $e_rss KiB | $(yes_no "$(awk -v n="$e_hub" -v r="$e_rss" 'BEGIN { print (n >= 10000 && r <= 32) }')") |"
echo "| F: >= 5000 sessions/s, back to baseline (threads equal, RSS within 2 MiB) | $f_h/s, $f_left runs not back | $(yes_no "$(awk -v f="$f_h" -v l="$f_left" 'BEGIN { print (f >= 5000 && l == 0) }')") |"
echo
echo "![throughput and p99 latency against clients]($(basename "$PNG"))"
} >"$MD"

# The plot: C, A and B are 10, 100 and 1000 clients.
{
	echo "# clients hubchat_per_s ngircd_per_s hubchat_p99_ms ngircd_p99_ms"
	for w in C A B; do
		echo "$(med clients $w hubchat) $(med per_second $w hubchat) $(med per_second $w ngircd) $(med p99_us $w hubchat) $(med p99_us $w ngircd)"
	done
} >"$DAT"
gnuplot <<EOF
set terminal png size 900,420
set output "$PNG"
set multiplot layout 1,2 title "hubchat vs ngIRCd, 10 senders flat out (median of runs)"
set logscale x
set xlabel "clients"
set key top left
set ylabel "deliveries per second (millions)"
set yrange [0:*]
plot "$DAT" using 1:(\$2/1e6) with linespoints title "hubchat", \
     "$DAT" using 1:(\$3/1e6) with linespoints title "ngIRCd"
set ylabel "p99 latency (ms)"
plot "$DAT" using 1:(\$4/1e3) with linespoints title "hubchat", \
     "$DAT" using 1:(\$5/1e3) with linespoints title "ngIRCd"
unset multiplot
EOF
echo "bench: wrote $MD and $PNG"
