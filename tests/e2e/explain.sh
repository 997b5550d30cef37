#!/usr/bin/env bash
# lab explain: by id, by error text, from stdin, --list, unknown ids.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

out=$("$LAB_BIN" explain TS-DTYPE-MISMATCH)
expect_match "$out" '^TS-DTYPE-MISMATCH: '
expect_match "$out" '^## Fixes'
out=$("$LAB_BIN" explain 'Input type (torch.cuda.FloatTensor) and weight type (torch.cuda.HalfTensor) should be the same')
expect_match "$(printf '%s\n' "$out" | head -1)" '^TS-DTYPE-MISMATCH: '
out=$(printf 'Traceback...\nRuntimeError: expected scalar type Float but found BFloat16\n' | "$LAB_BIN" explain -)
expect_match "$(printf '%s\n' "$out" | head -1)" '^TS-DTYPE-MISMATCH: '
out=$("$LAB_BIN" explain --list)
expect_match "$out" '^TS-DTYPE-MISMATCH +Input and weights'
expect_exit 2 "$LAB_BIN" explain TS-DTYPE-MISMACH
expect_match "$LAST_ERR" 'did you mean TS-DTYPE-MISMATCH'
expect_exit 1 "$LAB_BIN" explain 'a message nobody ever wrote down'
expect_exit 2 "$LAB_BIN" explain
echo ok
