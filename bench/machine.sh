#!/bin/sh
# bench/machine.sh: the machine the benchmark runs on, as one JSON line
# (label "machine") that bench/run.sh puts first in the raw results, so that
# bench/report.sh describes the machine the runs were made on, wherever the
# report is written. Fields: date, cpu, memory, kernel, cc, and ngircd,
# redis and go (their versions; "" when not installed).
set -eu

# Text for a JSON string: no quotes, backslashes or commas (report.sh's
# reader stops at a comma).
clean() { tr -d '"\\,' | tr -s ' '; }

cpu=$(grep -c ^processor /proc/cpuinfo)
model=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)
vm=
if grep -q hypervisor /proc/cpuinfo; then vm=' (virtual machine)'; fi
ngircd=$(/usr/sbin/ngircd --version 2>/dev/null | head -1 | cut -d- -f1 || true)
redis=$(redis-server --version 2>/dev/null |
	sed 's/.* v=\([^ ]*\).*/Redis \1/' || true)
golang=$(go version 2>/dev/null | sed 's/^go version go\([^ ]*\).*/Go \1/' || true)
printf '{"label":"machine","date":"%s","cpu":"%s","memory":"%s",' \
	"$(date -u +%Y-%m-%d)" "$(echo "$cpu x $model$vm" | clean)" \
	"$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
printf '"kernel":"%s","cc":"%s","ngircd":"%s","redis":"%s","go":"%s"}\n' \
	"$(uname -r | clean)" "$(cc --version | head -1 | clean)" \
	"$(echo "$ngircd" | clean)" "$(echo "$redis" | clean)" \
	"$(echo "$golang" | clean)"
