#!/usr/bin/env bash
# What `lab grade` is given by mistake is said before anything is graded,
# with a fix: a path that is not there, a folder of submissions (use
# --batch), a bulk download that cannot be unpacked. No training: fast.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
cd "$TEST_TMP"

expect_exit 2 "$LAB_BIN" grade missing.tar.gz
expect_match "$LAST_ERR" 'missing.tar.gz does not exist'
expect_match "$LAST_ERR" 'fix: give the path of a submission archive'

mkdir -p class/bob
printf 'x' > class/alice-2.2.1.tar.gz
printf '{}' > class/bob/submission.json
expect_exit 2 "$LAB_BIN" grade class --lab 2.2.1
expect_match "$LAST_ERR" 'class is a folder of 2 submission\(s\), not one submission'
expect_match "$LAST_ERR" 'fix: grade them all: lab grade --batch class --lab 2.2.1'

printf 'PK but not a zip' > bulk.zip
expect_exit 3 "$LAB_BIN" grade --batch bulk.zip --lab 2.2.1 --db "$TEST_TMP/gb.sqlite"
expect_match "$LAST_ERR" 'the bulk download bulk.zip cannot be unpacked'
expect_match "$LAST_ERR" 'fix: download the submissions again'
echo ok
