#!/usr/bin/env bash
# make fuzz-smoke (part of make test): builds every libFuzzer target with
# clang (ASan + UBSan), and runs each for a few seconds from its seeds
# (FUZZ_SEEDS writes them: the crafted cases of the target, the known
# crashers among them), so that every seed runs under the sanitizers on
# every test run and a regression fails the build.
#   FUZZ_SECONDS=N   seconds per target (default 5)
#   FUZZ_SEED=N      libFuzzer's seed (default 1: CI explores the same inputs
#                    each run; longer, random exploration is make fuzz's job)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-5}
cc=${FUZZ_CC:-clang}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "fuzz-smoke: skipped: no $cc (apt-get install clang)"
  exit 0
fi
make --no-print-directory FUZZ_CC="$cc" fuzz >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for bin in build-fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  name=$(basename "$bin")
  mkdir -p "$tmp/$name/corpus" "$tmp/$name/tmp"
  if TMPDIR="$tmp/$name/tmp" FUZZ_SEEDS="$tmp/$name/corpus" \
      "$bin" "$tmp/$name/corpus" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -artifact_prefix="$tmp/$name/" >"$tmp/$name.log" 2>&1; then
    echo "fuzz-smoke: $name: $(grep -E '^Done [0-9]+ runs' "$tmp/$name.log" | tail -1)"
  else
    echo "fuzz-smoke: $name FAILED:"
    grep -E 'ERROR|SUMMARY|Test unit written' "$tmp/$name.log" | head -5
    status=1
  fi
done
exit $status
