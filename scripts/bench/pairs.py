#!/usr/bin/env python3
"""Interleaved A/B comparison for the benchmarks (docs/perf.md, "How we measure").

This machine is noisy, so two programs are never timed in two separate
blocks: A and B run alternately (A B A B ...), and the figure quoted is the
median of the per-pair ratios A/B, which cancels load that drifts slower than
one pair.

  pairs.py [--pairs N] [--label TEXT] [--unit UNIT] --a 'CMD' --b 'CMD'

Each CMD is run by bash and must print its measurement (a number, e.g.
images/s or ms/step) as the first field of its last line of stdout. The ratio
is A/B of those numbers as they are: for a throughput a ratio above 1 means A
is faster, for a time it means A is slower; the caller's label says which.
Prints every pair and one summary line:
  LABEL: A median X UNIT, B median Y UNIT, median A/B over N pairs R.RRx
"""
import argparse
import statistics
import subprocess
import sys


def measure(cmd):
    out = subprocess.run(["bash", "-c", cmd], stdout=subprocess.PIPE, check=False, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    if out.returncode != 0 or not lines:
        sys.exit(f"pairs.py: '{cmd}' failed (exit {out.returncode}); run it alone to see why")
    try:
        return float(lines[-1].split()[0])
    except ValueError:
        sys.exit(f"pairs.py: '{cmd}' printed '{lines[-1]}', not a number first on its last line")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--label", default="A/B")
    ap.add_argument("--unit", default="")
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    args = ap.parse_args()
    if args.pairs < 5:
        sys.exit("pairs.py: at least 5 pairs (a median of fewer says little on a noisy machine)")
    a, b = [], []
    for i in range(args.pairs):
        a.append(measure(args.a))
        b.append(measure(args.b))
        print(f"  pair {i + 1}: A {a[-1]:.4g} B {b[-1]:.4g} ratio {a[-1] / b[-1]:.3f}", file=sys.stderr)
    ratio = statistics.median(x / y for x, y in zip(a, b))
    print(f"{args.label}: A median {statistics.median(a):.4g} {args.unit}, B median {statistics.median(b):.4g} "
          f"{args.unit}, median A/B over {args.pairs} pairs {ratio:.2f}x")


if __name__ == "__main__":
    main()
