#!/usr/bin/env bash
# Side by side, in one run: `dust-bench train` and `dust-bench ingest` of two builds (before and
# after a change), alternating which runs first in each pair so that a change in the machine's
# load hits both alike. Prints, per figure, the median of each side over the pairs, the median
# of the per-pair ratios after/before and their range; and checks that training gives the same
# test accuracy and loss for the same seed on both sides (a refactor must not change results).
#
# Usage: bench/compare_builds.sh BEFORE_BUILD AFTER_BUILD [PAIRS=7] [EPOCHS=50]
#   (fewer than about 50 epochs of mnist-10k are too short to time: 20 epochs gave ratios
#   from 0.79 to 1.07 for builds that execute the same instructions)
#   e.g. git worktree add /tmp/before HEAD~5 && cmake -S /tmp/before -B /tmp/before/build -G Ninja
#        && cmake --build /tmp/before/build --target dust-bench
#        && bench/compare_builds.sh /tmp/before/build build
# Rates are per CPU second of the benchmark's thread (samples_per_cpu_s, *_per_cpu_s), the
# figures that move least with other load on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
before=$1/bench/dust-bench
after=$2/bench/dust-bench
pairs=${3:-7}
epochs=${4:-50}
for b in "$before" "$after"; do [ -x "$b" ] || { echo "no $b: build dust-bench first" >&2; exit 2; }; done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {  # run SIDE PAIR
  local bin=$before
  [ "$1" = after ] && bin=$after
  "$bin" train --data data/mnist-10k --epochs "$epochs" --batch 32 --seed "$2" 2>/dev/null |
    tail -n 1 >>"$out/train.$1"
  "$bin" ingest 2>/dev/null | tail -n 1 >>"$out/ingest.$1"
}
for ((p = 1; p <= pairs; p++)); do
  if ((p % 2)); then run before "$p"; run after "$p"; else run after "$p"; run before "$p"; fi
  echo "pair $p/$pairs done" >&2
done

python3 - "$out" <<'EOF'
import json, statistics, sys
d = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(f"{d}/{name}") if l.strip()]
tb, ta = load("train.before"), load("train.after")
ib, ia = load("ingest.before"), load("ingest.after")
same = all((b["seed"], b["test_accuracy"], b["test_loss"]) == (a["seed"], a["test_accuracy"], a["test_loss"])
           for b, a in zip(tb, ta))
print(f"train: mnist-10k, {tb[0]['epochs']} epochs, batch 32, seeds 1..{len(tb)}; "
      f"ingest: dust-bench ingest defaults; {len(tb)} pairs")
print(f"{'figure':<28}{'before (median)':>18}{'after (median)':>18}{'after/before':>14}  range")
for name, rb, ra, key in [("train samples/cpu-s", tb, ta, "samples_per_cpu_s"),
                          ("ingest datagrams/cpu-s", ib, ia, "ingest_per_cpu_s"),
                          ("node datagrams/cpu-s", ib, ia, "node_per_cpu_s"),
                          ("verify/cpu-s (reference)", ib, ia, "verify_per_cpu_s")]:
    ratios = [a[key] / b[key] for b, a in zip(rb, ra)]
    print(f"{name:<28}{statistics.median(x[key] for x in rb):>18,.0f}"
          f"{statistics.median(x[key] for x in ra):>18,.0f}{statistics.median(ratios):>14.3f}"
          f"  {min(ratios):.3f}-{max(ratios):.3f}")
print("test accuracy and loss identical per seed:", "yes" if same else "NO")
for b, a in zip(tb, ta):
    print(f"  seed {b['seed']}: before {b['test_accuracy']:.4f} / {b['test_loss']:.6f}, "
          f"after {a['test_accuracy']:.4f} / {a['test_loss']:.6f}")
sys.exit(0 if same else 1)
EOF
