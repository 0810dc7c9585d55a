#!/bin/bash
# dust-sim smoke test: a few nodes for a few rounds on the bundled MNIST subset. Checks the
# per-evaluation and summary JSON fields, that every datagram fits in 1,452 bytes, that the
# nodes learned something together, and that the same seed gives the same output (except the
# summary's wall-clock "seconds"). Usage: sim_test.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: sim_test.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIM="$BUILD/bench/dust-sim"
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

ARGS=(--data "$SRC/data/mnist-10k" --nodes 6 --split shards:2 --rounds 120 --eval-every 60
      --loss 0.2 --lr 0.2 --eval-subset 500 --target 0.5)
"$SIM" "${ARGS[@]}" --seed 7 --plot "$TMP/plot.svg" > "$TMP/a.jsonl"
"$SIM" "${ARGS[@]}" --seed 7 > "$TMP/b.jsonl"
"$SIM" "${ARGS[@]}" --seed 8 > "$TMP/c.jsonl"

$PY - "$TMP" <<'PYEOF'
import json, sys
tmp = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(f"{tmp}/{name}") if l.strip()]
a, b, c = load("a.jsonl"), load("b.jsonl"), load("c.jsonl")
assert len(a) == 3, f"expected 2 evaluations and a summary, got {len(a)} lines"
for e in a[:-1]:
    for k in ("round", "mean_accuracy", "min_accuracy", "max_accuracy", "honest_mean_accuracy",
              "bytes", "datagrams"):
        assert k in e, f"evaluation line lacks {k}: {e}"
s = a[-1]
for k in ("summary", "mean_accuracy", "min_accuracy", "honest_mean_accuracy", "max_datagram_bytes",
          "bytes_per_node", "rounds", "bytes_to_target", "drops", "seconds"):
    assert k in s, f"summary lacks {k}: {s}"
assert s["rounds"] == 120
assert 0 < s["max_datagram_bytes"] <= 1452, s["max_datagram_bytes"]
assert s["bytes_per_node"] > 0
assert s["mean_accuracy"] > 0.5, f"6 nodes with 2 classes each should learn together: {s['mean_accuracy']}"
assert s["min_accuracy"] <= s["mean_accuracy"] <= s["max_accuracy"]
strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
assert strip(a) == strip(b), "same seed, different output"
assert strip(a) != strip(c), "different seed, same output"
PYEOF
grep -q "<svg" "$TMP/plot.svg"

# DP-SGD on every node: the summary reports each node's epsilon, none passes the budget, the
# budget stops the nodes (q = 32 / 1333 and sigma 1.5 pass epsilon 0.75 after 60 of the 120
# steps: dustctl privacy epsilon --noise 1.5 --samples 1333 --steps 60 says 0.747, 120 steps
# 0.943), the run repeats.
DP=(--dp-noise 1.5 --dp-clip 1 --dp-budget 0.75)
"$SIM" "${ARGS[@]}" --seed 7 "${DP[@]}" > "$TMP/dp1.jsonl"
"$SIM" "${ARGS[@]}" --seed 7 "${DP[@]}" > "$TMP/dp2.jsonl"
if "$SIM" "${ARGS[@]}" --dp-noise 1.5 > /dev/null 2>&1; then
  echo "sim_test: --dp-noise without --dp-clip was accepted" >&2
  exit 1
fi
$PY - "$TMP" <<'PYEOF'
import json, sys
tmp = sys.argv[1]
load = lambda n: [json.loads(l) for l in open(f"{tmp}/{n}") if l.strip()]
a, b = load("dp1.jsonl"), load("dp2.jsonl")
strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
assert strip(a) == strip(b), "DP: same seed, different output"
dp = a[-1]["dp"]
assert len(dp["epsilon"]) == 6 and len(dp["steps"]) == 6, dp
assert all(0.74 < e <= 0.75 for e in dp["epsilon"]), dp
assert dp["nodes_exhausted"] == 6, dp
assert all(60 <= s < 120 for s in dp["steps"]), dp
assert dp["delta"] == 1e-5, dp
PYEOF
echo "sim_test: ok"
