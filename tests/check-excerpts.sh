#!/bin/sh
# tests/check-excerpts.sh [--update] [DOC]: the code shown in a document
# (docs/GO-VS-C.md) is the code in the tree.
#
# In the document, an excerpt is a comment naming a source file and an
# excerpt name, followed at once by a fenced block:
#
#   <!-- excerpt: go/hub.go hub-push -->
#   ```go
#   ...
#   ```
#
# In the source, the excerpt is every line between a marker line holding
# "excerpt: NAME" (// excerpt: NAME in Go, /* excerpt: NAME */ in C) and
# the next line holding "end excerpt", without the blank lines at either
# end. The check fails when a block differs from its source, when a
# marker is missing or not ended, and when a marker in the sources is
# shown nowhere (a marker left behind). make test runs it; --update
# rewrites the document's blocks from the sources instead.
set -eu
cd "$(dirname "$0")/.."
update=0
if [ "${1:-}" = --update ]; then
	update=1
	shift
fi
DOC=${1:-docs/GO-VS-C.md}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

awk -v update="$update" -v out="$tmp" '
# The lines of excerpt name in path, "\n"-joined; sets err on failure.
function region(path, name,   line, on, text, n, i, lines, first, last) {
	on = 0; n = 0
	while ((getline line < path) > 0) {
		if (!on && line ~ ("excerpt: " name "( |\\*|$)") &&
		    line !~ /end excerpt/) {
			on = 1
			continue
		}
		if (on && line ~ /end excerpt/) {
			on = 2
			break
		}
		if (on == 1)
			lines[++n] = line
	}
	close(path)
	if (on == 0) { err = "no marker \"excerpt: " name "\" in " path; return "" }
	if (on == 1) { err = "excerpt " name " in " path " has no end"; return "" }
	for (first = 1; first <= n && lines[first] == ""; first++) ;
	for (last = n; last >= first && lines[last] == ""; last--) ;
	text = ""
	for (i = first; i <= last; i++)
		text = text lines[i] "\n"
	return text
}
function emit(s) { if (update) printf "%s", s > out }
BEGIN { bad = 0; shown = 0 }
{
	if ($0 ~ /^<!-- excerpt: [^ ]+ [^ ]+ -->$/) {
		path = $3; name = $4
		emit($0 "\n")
		if ((getline fence) <= 0 || fence !~ /^```/) {
			printf "%s:%d: excerpt %s %s: no code block after it\n",
			    FILENAME, NR, path, name
			bad++
			next
		}
		emit(fence "\n")
		block = ""
		while ((getline line) > 0 && line != "```")
			block = block line "\n"
		err = ""
		want = region(path, name)
		used[path " " name] = 1
		shown++
		if (err != "") {
			printf "%s:%d: %s\n", FILENAME, NR, err
			bad++
			emit(block "```\n")
		} else if (update) {
			emit(want "```\n")
		} else if (block != want) {
			printf "%s:%d: the excerpt %s in %s differs from the source; ", FILENAME, NR, name, path
			printf "run sh tests/check-excerpts.sh --update and read the diff\n"
			bad++
		}
		next
	}
	emit($0 "\n")
}
END {
	# Every marker in the sources is shown somewhere.
	cmd = "grep -n \"excerpt: \" go/*.go *.c *.h 2>/dev/null | grep -v \"end excerpt\""
	while ((cmd | getline line) > 0) {
		split(line, f, ":")
		n = split(line, w, "excerpt: ")
		split(w[2], nm, /[ *]/)
		if (!((f[1] " " nm[1]) in used)) {
			printf "%s:%s: marker \"excerpt: %s\" is shown nowhere in the document\n", f[1], f[2], nm[1]
			bad++
		}
	}
	close(cmd)
	if (bad > 0) {
		printf "check-excerpts: %d problem(s) in %s\n", bad, FILENAME
		exit 1
	}
	printf "check-excerpts: %d excerpts in %s match the sources\n", shown, FILENAME
}
' "$DOC"
if [ "$update" = 1 ]; then
	cp "$tmp" "$DOC"
fi
