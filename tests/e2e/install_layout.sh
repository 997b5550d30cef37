#!/usr/bin/env bash
# The installed layout (make install: bin/lab + lib/lab/liblabtorch.so):
# lab finds the shim from its own location, commands without tensors work
# without it, and a missing shim is a clear environment error (exit 3).
set -euo pipefail
. "$(dirname "$0")/lib.bash"
SO=$(dirname "$LAB_BIN")/liblabtorch.so
[ -r "$SO" ] || fail "$SO is missing next to $LAB_BIN: the build makes it"
P=$TEST_TMP/prefix
mkdir -p "$P/bin" "$P/lib/lab"
cp "$LAB_BIN" "$P/bin/lab"
cp "$SO" "$P/lib/lab/liblabtorch.so"
unset LAB_TORCHSHIM

expect_exit 0 "$P/bin/lab" --version
expect_match "$LAST_OUT" "^libtorch [0-9.]+ .* from $P/bin/../lib/lab/liblabtorch.so$"
# 128 images fall short of the course's target: exit 1 (a failed check) is a finished run.
rc=0; "$P/bin/lab" run 2.2.1 --quick --model lenet5 --set data.train_subset=128 --set data.eval_subset=64 \
  --precision fp32 --out "$TEST_TMP/run" >"$TEST_TMP/run.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || fail "the installed lab run exited $rc: $(tail -3 "$TEST_TMP/run.log")"
[ -s "$TEST_TMP/run/models/lenet5/model.safetensors" ] || fail "the installed lab did not train"

rm "$P/lib/lab/liblabtorch.so"
expect_exit 0 "$P/bin/lab" explain --list
expect_exit 0 "$P/bin/lab" --version
expect_match "$LAST_OUT" "^libtorch not loaded: .*liblabtorch.so is not next to $P/bin/lab"
expect_exit 3 "$P/bin/lab" run 2.2.1 --quick --model lenet5 --out "$TEST_TMP/run2"
expect_match "$LAST_ERR" 'make install'
expect_exit 1 "$P/bin/lab" doctor --check gpu.libtorch
expect_match "$LAST_OUT" 'TS-LIBTORCH-MISSING'
LAB_TORCHSHIM=$TEST_TMP/nowhere.so expect_exit 3 "$P/bin/lab" run 2.2.1 --quick --model lenet5 --out "$TEST_TMP/run3"
expect_match "$LAST_ERR" 'LAB_TORCHSHIM='
echo ok
