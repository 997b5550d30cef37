#!/usr/bin/env bash
# The CLI's contract: version, list, info, help, exit codes, suggestions.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

out=$("$LAB_BIN" --version)
expect_match "$out" '^lab [0-9]+\.[0-9]+\.[0-9]+'
expect_match "$out" 'libtorch [0-9]+\.[0-9]+'
expect_match "$out" '(cpu|cuda) build'
expect_match "$out" 'flags .*-Wall'

out=$("$LAB_BIN" list)
for id in 2.2.1 2.2.2 2.2.3 2.2.4 2.2.5 2.2.6; do expect_match "$out" "^$id "; done
[ "$(printf '%s\n' "$out" | grep -c '^2\.2\.')" -eq 6 ] || fail "lab list shows other than six labs"
"$LAB_BIN" list --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d)==6, d; assert d[0]["id"]=="2.2.1"'

out=$("$LAB_BIN" info 2.2.1)
expect_match "$out" 'CNN architecture study'
expect_match "$out" 'resnet18 +11,173,962 parameters'
expect_match "$out" 'lenet5 +62,006 parameters'

expect_exit 2 "$LAB_BIN" nosuchcmd
expect_match "$LAST_ERR" "'nosuchcmd' is not a lab command"
expect_exit 2 "$LAB_BIN" lsit
expect_match "$LAST_ERR" "did you mean 'lab list'"
expect_exit 2 "$LAB_BIN" info 2.2.9
expect_match "$LAST_ERR" "did you mean '2.2."
expect_exit 2 "$LAB_BIN" info
expect_exit 2 "$LAB_BIN" list --frobnicate
expect_match "$LAST_ERR" "lab list --help"

out=$("$LAB_BIN" help)
expect_match "$out" 'exit codes: 0 success'
out=$("$LAB_BIN" info --help)
expect_match "$out" '^usage: lab info'
[ "$out" = "$("$LAB_BIN" help info)" ] || fail "lab info --help differs from lab help info"

# A store that is not a database: exit 3, the path in the message, the file untouched.
mkdir -p "$LAB_HOME"
printf 'this is not sqlite, but it is precious\n%.0s' $(seq 200) > "$LAB_HOME/lab.db"
sum=$(sha256sum "$LAB_HOME/lab.db")
expect_exit 3 "$LAB_BIN" list
expect_match "$LAST_ERR" "$LAB_HOME/lab.db"
expect_match "$LAST_ERR" 'mv lab.db'
[ "$sum" = "$(sha256sum "$LAB_HOME/lab.db")" ] || fail "the damaged store was modified"

# An unwritable LAB_HOME: exit 3 naming LAB_HOME (as root, permissions do not bind; use a file).
touch "$TEST_TMP/afile"
LAB_HOME="$TEST_TMP/afile/home" expect_exit 3 "$LAB_BIN" list
expect_match "$LAST_ERR" 'LAB_HOME'
echo ok
