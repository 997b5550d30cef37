#!/usr/bin/env bash
# Every command's error paths, driven with bad invocations (missing files,
# damaged and hostile archives, wrong run directories, mis-shaped weights,
# unknown labs, models, checks and values): each exits non-zero with a
# `lab: error:` line, and no message repeats one of its own clauses (the
# sign of a message composed from its own buffer) or prints `(null)`.
set -euo pipefail
. "$(dirname "$0")/lib.bash"
PY=/usr/bin/python3
export LAB_OFFLINE= HF_HUB_OFFLINE= TRANSFORMERS_OFFLINE= LAB_MIRROR= LAB_FETCH_RETRIES=0 LC_ALL=C.UTF-8
export HF_HOME="$TEST_TMP/hf"
cd "$TEST_TMP"

# Fixtures: directories, damaged archives, an archive that climbs out of
# its destination, a submission.json that is not JSON, a gradebook that is
# not a database, weights that do not fit LeNet-5, a symbolic link.
mkdir -p empty nonempty badsub evil/a other-run
touch nonempty/f
head -c 3000 /dev/urandom >junk.zip
cp junk.zip junk.tar.gz
head -c 100 junk.zip >truncated.tar.gz
printf 'x' >evil/a/f
tar czf climb.tar.gz -P --transform 's,^evil,../evil,' evil/a/f
echo '{not json' >badsub/submission.json
echo 'not a database' >notdb.sqlite
echo '{"lab": "2.2.3"}' >other-run/config.json
ln -s "$TEST_TMP/nonempty/f" link.json
$PY - <<'PY'
import json, struct
hdr = {"conv1.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
       "bogus.weight": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}}
h = json.dumps(hdr).encode()
open("misshaped.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"\0" * 20)
open("notweights.safetensors", "wb").write(b"\xff" * 64)
PY
ZERO64=0000000000000000000000000000000000000000000000000000000000000000
have_fmnist=0
[ -r /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] && have_fmnist=1

cases=$TEST_TMP/cases
: >"$cases"
n=0
# probe ARGS...: runs lab with ARGS, keeping the exit code and stderr.
probe() {
  n=$((n + 1))
  local rc=0
  timeout 60 "$LAB_BIN" "$@" >"$TEST_TMP/out.$n" 2>"$TEST_TMP/err.$n" </dev/null || rc=$?
  printf '%s\t%s\t%s\n' "$n" "$rc" "$*" >>"$cases"
}

# The CLI itself
probe nosuchcmd
probe help nosuch
probe version --x
probe list --frobnicate
probe info 2.2.9
probe info
# run: labs, models, values, run directories, weights
probe run
probe run 2.2.9 --quick
probe run 2.2.1 --model nosuch
probe run 2.2.1 --precision fp8
probe run 2.2.1 --set nokey=1
probe run 2.2.1 --set train.epochs=abc
probe run 2.2.1 --epochs -3
probe run 2.2.1 --resume "$TEST_TMP/missing-run"
probe run 2.2.1 --resume empty
probe run 2.2.1 --resume other-run
probe run 2.2.1 --out nonempty
if [ "$have_fmnist" = 1 ]; then
  probe run 2.2.1 --quick --model lenet5 --device cpu --epochs 0 --set weights="$TEST_TMP/misshaped.safetensors" --out r1
  probe run 2.2.1 --quick --model lenet5 --device cpu --epochs 0 --set weights="$TEST_TMP/notweights.safetensors" --out r2
  probe run 2.2.1 --quick --model lenet5 --device cpu --epochs 0 --set weights="$TEST_TMP/no.safetensors" --out r3
fi
# submit
probe submit
probe submit "$TEST_TMP/missing-run" --student alice
probe submit empty --student alice
probe submit other-run --student alice
probe submit empty --student ../x
# grade: missing, damaged, hostile, wrong shape of input, bad options
probe grade "$TEST_TMP/missing.tar.gz"
probe grade junk.zip
probe grade junk.tar.gz
probe grade truncated.tar.gz
probe grade climb.tar.gz
probe grade empty
probe grade badsub
probe grade empty --out link.json
probe grade empty --out "$TEST_TMP/no/such/dir/report.json"
probe grade badsub --format nope
probe grade badsub --check-timeout abc
probe grade --batch "$TEST_TMP/missing-dir" --lab 2.2.1
probe grade --batch empty
probe grade --batch empty --lab 2.2.9
probe grades frob
probe grades export --db "$TEST_TMP/missing.sqlite"
probe grades export --db notdb.sqlite
probe grades feedback --db notdb.sqlite --out fb
probe autograder frob 2.2.1
probe autograder gradescope 2.2.9
probe autograder gradescope 2.2.1 -o "$TEST_TMP/no/such/dir/ag.zip"
probe autograder gradescope 2.2.1 -o link.json
probe autograder prairielearn 2.2.1 -o nonempty
# fetch, datasets, explain, doctor, containers
probe fetch nosuch
probe fetch --url "file://$TEST_TMP/missing.bin" --sha256 00 -o got.bin
probe fetch --url "file://$TEST_TMP/missing.bin" --sha256 "$ZERO64" -o got.bin
LAB_OFFLINE=1 probe fetch cifar-10
probe datasets --frob
probe explain
probe explain TS-NOPE
probe doctor --check nosuch.check
probe ps --engine nosuch
probe image frob

LAB_TMP=$TEST_TMP $PY - "$cases" <<'PY'
import os, re, sys
tmp = os.environ["LAB_TMP"]
bad = []
count = 0
for line in open(sys.argv[1]):
    n, rc, args = line.rstrip("\n").split("\t", 2)
    count += 1
    err = open(f"{tmp}/err.{n}", errors="replace").read()
    out = open(f"{tmp}/out.{n}", errors="replace").read()
    where = f"lab {args} (exit {rc})"
    if rc == "0":
        bad.append(f"{where}: exited 0")
    if rc in ("124", "137"):
        bad.append(f"{where}: did not finish in 60 s")
    if "lab: error:" not in err:
        bad.append(f"{where}: no 'lab: error:' line in: {err[-400:]!r}")
    if "(null)" in err + out:
        bad.append(f"{where}: prints (null): {err!r}")
    # A clause is what lies between separators; one of three words or more
    # that comes twice is a message quoting itself.
    text = "\n".join(l for l in err.splitlines() if l.startswith(("lab: error:", "  fix:")))
    text = re.sub(r"^(lab: error:|  fix:)", "", text, flags=re.M)
    clauses = [c.strip(" .'`\"") for c in re.split(r": |; |, |\(|\)|\n", text)]
    seen = set()
    for c in clauses:
        if len(c.split()) < 3:
            continue
        if c in seen:
            bad.append(f"{where}: the clause {c!r} comes twice in: {text.strip()!r}")
            break
        seen.add(c)
# Nothing was written through the link (the atomic writer refuses it).
if open(f"{tmp}/nonempty/f").read() != "":
    bad.append("a write went through link.json into nonempty/f")
if count < 35:
    bad.append(f"only {count} bad invocations were driven")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"{count} error paths: each non-zero, none repeating itself, no (null)")
PY
