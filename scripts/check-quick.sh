#!/usr/bin/env bash
# make check-quick: every lab's full quick mode (`lab run <id> --quick` on
# the CPU), each against its time budget (5 minutes on 2 cores, the promise
# of quick mode) and its quick-mode targets (lab.json thresholds.quick),
# with a summary table. CI runs the shortened versions (tests/e2e/lab*.sh);
# this is the real thing, minutes per lab.
#   LAB=BUILD/lab scripts/check-quick.sh BUILD_DIR [LAB_ID ...]   (default: every lab with code)
#   CHECK_QUICK_ARGS="--set ..." adds options to every run (to try the script on less data).
set -uo pipefail
BUILD=${1:-build}; shift || true
export LAB="${LAB:-$BUILD/lab}"
LIMIT_S=${CHECK_QUICK_LIMIT_S:-300}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
labs=("$@")
if [ ${#labs[@]} -eq 0 ]; then # the labs with code: labs/<id>-<slug>/lab.c
  for f in "$(dirname "$0")"/../labs/*/lab.c; do
    d=$(basename "$(dirname "$f")"); labs+=("${d%%-*}")
  done
fi
status=0
rows=()
for id in "${labs[@]}"; do
  dir="$OUT/$id"
  t0=$(date +%s)
  # A wall-clock cap of twice the budget, so one slow lab does not hold the rest.
  # shellcheck disable=SC2086
  timeout $((2 * LIMIT_S)) "$LAB" run "$id" --quick --device cpu ${CHECK_QUICK_ARGS:-} --out "$dir" >"$OUT/$id.log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - t0 ))
  summary=$(/usr/bin/python3 - "$dir" "$id" "$secs" "$LIMIT_S" "$rc" <<'PYEOF'
import json, os, subprocess, sys
d, lab, secs, limit, rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
try:
    models = json.load(open(os.path.join(d, "metrics.json")))["models"]
except Exception:
    models = {}
info = json.loads(subprocess.run([os.environ["LAB"], "info", lab, "--json"], capture_output=True, text=True).stdout or "{}")
targets = ((info.get("thresholds") or {}).get("quick") or {}).get("test_accuracy") or {}
if not isinstance(targets, dict):
    targets = {m: targets for m in models}
ok_time = secs <= limit
bad = not ok_time or rc not in (0, 1) or not models
# detect labs (2.2.3) name their target map50 and report models.<m>.map50
map_target = ((info.get("thresholds") or {}).get("quick") or {}).get("map50")
# segment labs (2.2.4) name their target miou and report models.<m>.miou
miou_target = ((info.get("thresholds") or {}).get("quick") or {}).get("miou")
for m, v in models.items():
    acc = v.get("test_accuracy", 0)
    want = targets.get(m)
    if isinstance(map_target, (int, float)) and "map50" in v:
        acc, want = v["map50"], map_target
    if isinstance(miou_target, (int, float)) and "miou" in v:
        acc, want = v["miou"], miou_target
    # prompt labs (2.2.6) name a target per prompt kind and report models.<m>.miou_box / miou_point
    pt = (info.get("thresholds") or {}).get("quick") or {}
    if isinstance(pt.get("miou_box"), (int, float)) and "miou_box" in v and "miou_point" in v:
        for kind in ("miou_box", "miou_point"):
            ok = v[kind] >= pt[kind]
            bad |= not ok
            print(f"| {lab} | {m} {kind} | {100 * v[kind]:.2f}% | {100 * pt[kind]:.0f}% | "
                  f"{'ok' if ok else 'BELOW'} | {secs} s | {limit} s | {'ok' if ok_time else 'OVER'} |")
        continue
    hit = want is None or acc >= want
    bad |= not hit
    print(f"| {lab} | {m} | {100 * acc:.2f}% | {'-' if want is None else f'{100 * want:.0f}%'} | "
          f"{'ok' if hit else 'BELOW'} | {secs} s | {limit} s | {'ok' if ok_time else 'OVER'} |")
if not models:
    print(f"| {lab} | (none) | - | - | run failed (exit {rc}) | {secs} s | {limit} s | {'ok' if ok_time else 'OVER'} |")
sys.exit(1 if bad else 0)
PYEOF
)
  [ $? -eq 0 ] || status=1
  rows+=("$summary")
  echo "$id: ${secs} s"
  [ $status -eq 0 ] || tail -5 "$OUT/$id.log"
done
echo
echo "| lab | model | result (accuracy, mAP50, mIoU) | quick target | | time (whole lab) | budget | |"
echo "|---|---|---:|---:|---|---:|---:|---|"
printf '%s\n' "${rows[@]}"
exit $status
