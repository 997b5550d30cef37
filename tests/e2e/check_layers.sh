#!/usr/bin/env bash
# make check-layers: the tree passes, and a planted include that points up,
# one that points sideways, one into a lab's private folder and a library
# header in base/ each fail, naming the file, the line and the rule.
set -euo pipefail
. "$(dirname "$0")/lib.bash"

expect_exit 0 scripts/check-layers.sh
copy=$TEST_TMP/tree
mkdir -p "$copy"
git ls-files base shim datasets store labs grader containers doctor runner | tar -cf - -T - | tar -xf - -C "$copy"
expect_exit 0 scripts/check-layers.sh "$copy"

plant() { # FILE LINE -> the checker fails on exactly that file and line
  local file=$1 text=$2 n
  cp "$copy/$file" "$TEST_TMP/saved"
  printf '%s\n' "$text" >>"$copy/$file"
  n=$(wc -l <"$copy/$file")
  expect_exit 1 scripts/check-layers.sh "$copy"
  expect_match "$LAST_OUT" "^$file:$n: "
  expect_match "$LAST_OUT" 'rule: '
  expect_match "$LAST_OUT" '^check-layers: 1 include\(s\) break the layers$'
  cp "$TEST_TMP/saved" "$copy/$file"
}
plant base/error.c '#include "runner/cli.h"'
plant datasets/fetch.c '#include "labs/lab.h"'
plant labs/train.c '#include "grader/grade.h"'
plant containers/engine.c '#include "grader/kb.h"'
plant grader/grade.c '#include "labs/2.2.1-cnn-architectures/cnn_models.h"'
plant base/log.c '#include <sqlite3.h>'
expect_exit 0 scripts/check-layers.sh "$copy"
