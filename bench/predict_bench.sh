#!/usr/bin/env bash
# Measures predict over a real dustd's control socket for docs/benchmarks.md ("Predict over the
# control socket"): dust-bench predict (one-row round trips on one connection and with a
# connection each, then batched rows/s) against a daemon training the default 784-32-10 model
# on DATA_DIR, then against the same daemon paused.
# Usage: bash bench/predict_bench.sh BUILD_DIR [DATA_DIR]
set -euo pipefail
BUILD=$(cd "${1:?usage: predict_bench.sh BUILD_DIR [DATA_DIR]}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${2:-$SRC/data/mnist-10k}" && pwd)
T=$(mktemp -d /tmp/dust-predict-bench.XXXXXX)
PORT=$((43000 + $$ % 8000))
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

"$BUILD/daemon/dustd" --data-dir "$DATA" --state-dir "$T/state" --control-socket "$T/sock" \
  --port "$PORT" --bind-address 127.0.0.1 --broadcast none --log-level warn >"$T/log" 2>&1 &
PID=$!
for _ in $(seq 100); do [[ -S $T/sock ]] && break; sleep 0.1; done
sleep 2
echo "dustd pid $PID on $DATA; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
echo "== training"
"$BUILD/bench/dust-bench" predict --control "$T/sock" --data "$DATA"
"$BUILD/ctl/dustctl" --socket "$T/sock" pause >/dev/null
echo "== paused"
"$BUILD/bench/dust-bench" predict --control "$T/sock" --data "$DATA"
# What a row costs the daemon, whatever else the machine's cores are doing: its CPU time
# (utime + stime, in clock ticks) over batched requests alone.
echo "== paused, batched only, the daemon's CPU time"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
t0=$(cpu_ticks)
"$BUILD/bench/dust-bench" predict --control "$T/sock" --data "$DATA" --count 0 --batches 600
t1=$(cpu_ticks)
awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v rows=$((600 * 256)) 'BEGIN {
  s = t / hz; printf "daemon CPU %.2f s for %d rows: %.1f us a row, %.0f rows per CPU-second\n",
  s, rows, s / rows * 1e6, rows / s }'
