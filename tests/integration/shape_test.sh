#!/usr/bin/env bash
# dust-sim and dust-bench train take the model's shape from the data: on a tiny generated table
# (headerless CSV, label first, 5 features, 3 classes) both say "model 5-32-3" on stderr and
# learn (well above the 1/3 of chance), dust-sim with every --algorithm. And every tool refuses
# what it cannot do, with a message and a non-zero exit, printing no figures: a --layers that
# disagrees with the data, test data of another width or with a class the training data lacks,
# one class only, dust-sim options that do nothing with the chosen --algorithm, more shards than
# samples, dust-bench split of values IDX bytes cannot hold, and a --csv-label-column the header
# lacks (dust-sim finds a label column not first by that option, as dust-bench train does). dust-sim says when its split leaves nodes without data.
#
# Usage: tests/integration/shape_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: shape_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SIM=$BUILD/bench/dust-sim
BENCH=$BUILD/bench/dust-bench
PY=/usr/bin/python3
for b in "$SIM" "$BENCH"; do [ -x "$b" ] || { echo "shape_test: $b not built" >&2; exit 1; }; done
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"
# shellcheck source=tests/lib/tables.sh
source "$SRC/tests/lib/tables.sh"
TMP=$(mktemp -d /tmp/dust-shape-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# Test files are named *-test.csv, training files anything else without "test".
mkdir "$TMP/good" "$TMP/narrow" "$TMP/extra" "$TMP/one" "$TMP/raw"
table "$TMP/good/tiny-train.csv" 300 5 0,1,2 1
table "$TMP/good/tiny-test.csv" 150 5 0,1,2 2
cp "$TMP/good/tiny-train.csv" "$TMP/narrow/"
table "$TMP/narrow/tiny-test.csv" 50 4 0,1,2 3
cp "$TMP/good/tiny-train.csv" "$TMP/extra/"
table "$TMP/extra/tiny-test.csv" 50 5 0,1,2,3 4
table "$TMP/one/tiny-train.csv" 50 5 1 5
cp "$TMP/good/tiny-test.csv" "$TMP/one/"
table "$TMP/raw/tiny-train.csv" 300 5 0,1,2 1 10000
table "$TMP/raw/tiny-test.csv" 150 5 0,1,2 2 10000
# The same tables with a header and the label last, in a column named "kind".
mkdir "$TMP/named"
for f in tiny-train.csv tiny-test.csv; do
  awk -F, -v OFS=, 'NR == 1 { print "a,b,c,d,e,kind" } { l = $1; $1 = ""; print substr($0, 2), l }' \
    "$TMP/good/$f" >"$TMP/named/$f"
done

# learns NAME MIN_ACCURACY SHAPE_LINE CMD...: CMD exits 0, says SHAPE_LINE on stderr, and its
# last stdout line (JSON) reports an accuracy above MIN_ACCURACY (test_accuracy for dust-bench,
# mean_accuracy for dust-sim). Leaves the output in $TMP/NAME.{out,err}.
learns() {
  local name=$1 min=$2 shape=$3 rc=0 acc
  shift 3
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
  if [ "$rc" != 0 ]; then
    fail "$name: exit $rc: $(tail -n 3 "$TMP/$name.err")"
    return
  fi
  grep -qxF -- "$shape" "$TMP/$name.err" || fail "$name: stderr lacks the line '$shape'"
  acc=$(tail -n 1 "$TMP/$name.out" |
    "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d.get("test_accuracy", d.get("mean_accuracy")))')
  if "$PY" -c "import sys; sys.exit(0 if $acc > $min else 1)"; then
    pass "$name: accuracy $acc > $min"
  else
    fail "$name: accuracy $acc, not above $min"
  fi
}
# refuses RC TEXT CMD...: CMD exits with RC, says TEXT on stderr and prints nothing on stdout
# (no figures from a run that could not be made).
refuses() {
  local want=$1 text=$2 rc=0
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    fail "exit $rc, not $want: ${*#"$BUILD/"}: $(head -c 400 "$TMP/err")"
  elif [ -s "$TMP/out" ]; then
    fail "printed figures though it failed: ${*#"$BUILD/"}"
  elif ! grep -qF -- "$text" "$TMP/err"; then
    fail "stderr lacks '$text': ${*#"$BUILD/"}: $(head -c 400 "$TMP/err")"
  else
    pass "refused (exit $rc, '$text'): ${*#"$BUILD/"}"
  fi
}

# --- the shape from the data, and learning on it
SHAPE="model 5-32-3 (5 features and 3 classes from the data)"
learns train 0.8 "$SHAPE" "$BENCH" train --data "$TMP/good" --epochs 20
layers=$(tail -n 1 "$TMP/train.out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["layers"])')
[ "$layers" = "[5, 32, 3]" ] || fail "dust-bench train reports layers $layers, not [5, 32, 3]"
SIMARGS=(--data "$TMP/good" --nodes 3 --rounds 100 --eval-every 50 --eval-subset 0)
for alg in dust local centralized fedavg; do
  learns "sim-$alg" 0.8 "dust-sim: $SHAPE" "$SIM" "${SIMARGS[@]}" --algorithm "$alg"
done
learns train-layers 0.8 \
  "model 5-16-3 (--layers, which the data's 5 features and 3 classes agree with)" \
  "$BENCH" train --data "$TMP/good" --epochs 20 --layers 5,16,3
learns sim-label-column 0.8 "dust-sim: $SHAPE" "$SIM" --data "$TMP/named" "${SIMARGS[@]:2}" \
  --csv-label-column kind
learns sim-layers 0.8 \
  "dust-sim: model 5-16-8-3 (--layers, which the data's 5 features and 3 classes agree with)" \
  "$SIM" "${SIMARGS[@]}" --layers 5,16,8,3

# Training that diverges (features of 10^4 without the input scaling) still reports its figures,
# but says why they are poor; a run that learned does not. With the default scaling the same
# data learns: its features (spread about their size, not offset) are divided by their largest
# |x| (docs/engine.md, "Feature scaling").
DIVERGED="the training loss is not finite (training diverged)"
learns raw-scaled 0.8 "scaling: 0 standardised, 5 divided by their largest |x|, 0 as they are" \
  "$BENCH" train --data "$TMP/raw" --epochs 3
if "$BENCH" train --data "$TMP/raw" --epochs 3 --scaling none >"$TMP/out" 2>"$TMP/err"; then
  if grep -qF "$DIVERGED" "$TMP/err"; then
    pass "dust-bench train on 10^4-scale features: '$DIVERGED'"
  else
    fail "dust-bench train on 10^4-scale features: no divergence warning"
  fi
else
  fail "dust-bench train on 10^4-scale features failed: $(tail -n 2 "$TMP/err")"
fi
if grep -qF "$DIVERGED" "$TMP/train.err"; then fail "a run that learned was reported as diverged"; fi

# --- --layers against the data
FIT="give --layers 5,32,3 or leave --layers out"
refuses 1 "--layers 784,32,10 (784 features, 10 classes) does not fit the data in $TMP/good" \
  "$BENCH" train --data "$TMP/good" --layers 784,32,10
refuses 1 "$FIT" "$BENCH" train --data "$TMP/good" --layers 784,32,10
refuses 1 "give --layers 5,32,3" "$BENCH" train --data "$TMP/good" --layers 5,32,4
for alg in dust centralized fedavg local; do
  refuses 1 "$FIT" "$SIM" "${SIMARGS[@]}" --algorithm "$alg" --layers 784,32,10
done
refuses 2 "--layers must be comma-separated widths" "$BENCH" train --data "$TMP/good" --layers 5,x,3
refuses 1 "at least one hidden layer" "$SIM" "${SIMARGS[@]}" --layers 5,3
refuses 2 "--lr must be > 0" "$BENCH" train --data "$TMP/good" --lr 0
# split writes IDX bytes: a raw-scale table would come out clamped and rounded to garbage.
refuses 1 "split writes IDX bytes, which hold pixels in [0, 1]" "$BENCH" split --data "$TMP/raw" --out "$TMP/split"

# --- test data the training data's model cannot take
bench_train() { "$BENCH" train "$@"; }
for tool in bench_train "$SIM"; do
  refuses 1 "$TMP/narrow/tiny-test.csv" "$tool" --data "$TMP/narrow"
  refuses 1 "$TMP/narrow/tiny-train.csv" "$tool" --data "$TMP/narrow"
  refuses 1 "the test data in $TMP/extra ($TMP/extra/tiny-test.csv) has label 3, but the training data ($TMP/extra/tiny-train.csv) has labels up to 2 only" \
    "$tool" --data "$TMP/extra"
  refuses 1 "give --layers 5,32,4" "$tool" --data "$TMP/extra"
  refuses 1 "($TMP/one/tiny-train.csv) has only label 1" "$tool" --data "$TMP/one"
done
# ... unless --layers asks for the classes the test data has: then it is measured.
"$BENCH" train --data "$TMP/extra" --layers 5,32,4 --epochs 5 >"$TMP/out" 2>"$TMP/err" ||
  fail "dust-bench train --layers 5,32,4 on a test class the training data lacks: $(tail -n 2 "$TMP/err")"
"$SIM" --data "$TMP/extra" --nodes 3 --rounds 20 --layers 5,32,4 >"$TMP/out" 2>"$TMP/err" ||
  fail "dust-sim --layers 5,32,4 on a test class the training data lacks: $(tail -n 2 "$TMP/err")"

# --- dust-sim options that would do nothing, or nothing sensible
refuses 1 "--loss does nothing with --algorithm centralized" \
  "$SIM" "${SIMARGS[@]}" --algorithm centralized --loss 0.1
refuses 1 "--batches-per-round does nothing with --algorithm fedavg" \
  "$SIM" "${SIMARGS[@]}" --algorithm fedavg --batches-per-round 2
refuses 1 "--partition does nothing with --algorithm local" \
  "$SIM" "${SIMARGS[@]}" --algorithm local --partition 10:20
refuses 1 "--attack does nothing without --byzantine" "$SIM" "${SIMARGS[@]}" --attack noise
refuses 1 "rounds to no node at all" "$SIM" "${SIMARGS[@]}" --byzantine 0.1
refuses 1 "--coding 'int4': int8, int16 or fp16" "$SIM" "${SIMARGS[@]}" --coding int4
refuses 1 "--gossip 'push': hybrid or absolute" "$SIM" "${SIMARGS[@]}" --gossip push
refuses 1 "--algorithm 'sgd': dust, fedavg, local or centralized" "$SIM" "${SIMARGS[@]}" --algorithm sgd
refuses 1 "out of range" "$SIM" --data "$TMP/good" --rounds 0
refuses 1 "--split shards:2 with 200 nodes cuts the training data into 400 shards, but it has only 300 samples" \
  "$SIM" --data "$TMP/good" --nodes 200 --split shards:2 --rounds 1
refuses 1 'the header has no column named "nope"' "$SIM" --data "$TMP/named" "${SIMARGS[@]:2}" \
  --csv-label-column nope
# Without the option the first column is the label, which is a feature here.
refuses 1 'column 1: label "' "$SIM" --data "$TMP/named" "${SIMARGS[@]:2}"
# Nodes left without data still run (a fleet may have such nodes), but dust-sim says so.
if "$SIM" --data "$TMP/good" --nodes 310 --rounds 1 --threads 1 >"$TMP/out" 2>"$TMP/err" &&
  grep -qxF "dust-sim: 10 of 310 nodes hold no training data (--split iid of 300 samples)" "$TMP/err"; then
  pass "dust-sim says when nodes hold no training data"
else
  fail "dust-sim --nodes 310 on 300 samples: $(tail -n 2 "$TMP/err")"
fi
if grep -qF "hold no training data" "$TMP/sim-dust.err"; then
  fail "dust-sim said nodes hold no data when each had some"
fi
refuses 1 "out of range" "$SIM" "${SIMARGS[@]}" --delta-fraction 1.5

finish shape_test
