#!/bin/sh
# Every include points down (docs/architecture.md, "Layers"). Prints each
# include that breaks the matrix below as `file:line: ... (rule)` and exits 1.
# Usage: scripts/check-layers.sh [SOURCE-ROOT]   (default: the current directory)
set -eu
root=${1:-.}
cd "$root"

# layer: the layers its files may include (its own first). A lab's own folder
# (labs/<id>-<slug>/) is private to that lab.
matrix='
base: base
shim: shim base
datasets: datasets shim base
store: store base
labs: labs datasets shim store base
grader: grader labs datasets shim store base
containers: containers datasets shim store base
doctor: doctor containers grader labs datasets shim store base
runner: runner doctor containers grader labs datasets shim store base
'

layers=$(printf '%s\n' "$matrix" | sed -n 's/^\([a-z]*\):.*/\1/p')
files=$(for l in $layers; do [ -d "$l" ] && find "$l" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \); done | sort)
[ -n "$files" ] || { echo "check-layers: no sources under $root" >&2; exit 2; }

# shellcheck disable=SC2086
awk -v matrix="$matrix" '
BEGIN {
    n = split(matrix, lines, "\n")
    for (i = 1; i <= n; i++) {
        if (lines[i] !~ /:/) continue
        split(lines[i], kv, ":")
        sub(/^ +/, "", kv[2])
        allowed[kv[1]] = kv[2]
    }
    bad = 0
}
# base/ stands on libc and jansson alone.
/^[ \t]*#[ \t]*include[ \t]*</ && FILENAME ~ /^base\// {
    sys = $0
    sub(/^[^<]*</, "", sys)
    sub(/>.*$/, "", sys)
    if (sys ~ /^(sqlite3|curl|archive|openssl|png|jpeglib|cairo|zlib|check|torch|c10|ATen)/) {
        printf "%s:%d: includes <%s>: base/ depends on libc and jansson only (rule: put library code in the layer that needs it)\n", FILENAME, FNR, sys
        bad++
    }
    next
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0
    sub(/^[^"]*"/, "", inc)
    sub(/".*$/, "", inc)
    if (inc !~ /\//) next                      # generated headers (build/gen)
    split(FILENAME, fp, "/")
    split(inc, ip, "/")
    from = fp[1]; to = ip[1]
    if (!(to in allowed)) {
        printf "%s:%d: includes \"%s\": %s is not a layer (rule: include by layer/file.h)\n", FILENAME, FNR, inc, to
        bad++
        next
    }
    if (index(" " allowed[from] " ", " " to " ") == 0) {
        printf "%s:%d: includes \"%s\": %s/ may not include %s/ (rule: %s/ may include only %s)\n", FILENAME, FNR, inc, from, to, from, allowed[from]
        bad++
        next
    }
    # labs/<id>-<slug>/ is private: only that lab includes it.
    if (to == "labs" && ip[2] ~ /^[0-9]/ && !(from == "labs" && fp[2] == ip[2])) {
        printf "%s:%d: includes \"%s\": a lab'\''s own folder is private (rule: reach a lab through labs/lab.h and its registry)\n", FILENAME, FNR, inc
        bad++
    }
}
END {
    if (bad) { printf "check-layers: %d include(s) break the layers\n", bad; exit 1 }
}' $files
