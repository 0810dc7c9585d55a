#!/usr/bin/env bash
# Measures a real dustd on loopback for docs/benchmarks.md ("Daemon"):
#   1. resident memory with 50 trusted peers sending (dust-bench peers);
#   2. CPU while paused;
#   3. control-socket latency (dust-bench ctl-latency) idle, then under a flood of malformed and
#      untrusted datagrams from a second process (dust-bench flood), with training going on,
#      and memory before/after the flood.
# Usage: bash bench/daemon_bench.sh BUILD_DIR [PEER_SECONDS] [FLOOD_SECONDS] [DATA_DIR]
# DATA_DIR (default data/mnist-10k) is the daemon's own training data; its size dominates RSS.
set -euo pipefail
BUILD=$(cd "${1:?usage: daemon_bench.sh BUILD_DIR}" && pwd)
PEER_SECONDS=${2:-60}
FLOOD_SECONDS=${3:-30}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "${4:-$SRC/data/mnist-10k}" && pwd)
DUSTD=$BUILD/daemon/dustd
BENCH=$BUILD/bench/dust-bench
T=$(mktemp -d /tmp/dust-daemon-bench.XXXXXX)
PORT=$((43000 + $$ % 8000))
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT

ctl() {
  /usr/bin/python3 - "$T/sock" "$1" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PYEOF
}
status() { ctl '{"cmd":"status"}' | /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin)['result']; print($1)"; }
rss_kb() { awk '/^VmRSS/ {print $2}' /proc/$PID/status; }
hwm_kb() { awk '/^VmHWM/ {print $2}' /proc/$PID/status; }
cpu_ticks() { awk '{print $14 + $15}' /proc/$PID/stat; }

mkdir -p "$T/data"
cp "$DATA/"* "$T/data/"
"$DUSTD" --data-dir "$T/data" --state-dir "$T/state" --control-socket "$T/sock" --port "$PORT" \
  --broadcast 127.0.0.1 --send-interval 0.5 --log-level warn >"$T/log" 2>&1 &
PID=$!
for _ in $(seq 100); do [[ -S $T/sock ]] && break; sleep 0.1; done
sleep 2
echo "dustd pid $PID, udp port $PORT; RSS at start $(rss_kb) kB"

echo "== 1. 50 trusted peers for ${PEER_SECONDS}s"
"$BENCH" peers --control "$T/sock" --port "$PORT" --count 50 --data "$SRC/data/mnist-10k" \
  --seconds "$PEER_SECONDS" --send-interval 0.5 &
PEERS=$!
sleep $((PEER_SECONDS / 2))
echo "mid-run: RSS $(rss_kb) kB, peers live $(status "r['peers']['live']"), trusted $(status "r['peers']['trusted']")"
wait $PEERS
echo "end: RSS $(rss_kb) kB, VmHWM (peak) $(hwm_kb) kB, updates accepted $(status "r['network']['updates_accepted']"), drops $(status "r['network']['drops']")"

echo "== 2. CPU while paused (30 s)"
ctl '{"cmd":"pause"}' >/dev/null
sleep 2
t0=$(cpu_ticks); s0=$(date +%s.%N)
sleep 30
t1=$(cpu_ticks); s1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
echo "paused: $((t1 - t0)) ticks of CPU in $(echo "$s1 - $s0" | bc) s = $(echo "scale=3; 100 * ($t1 - $t0) / $hz / ($s1 - $s0)" | bc)% of one core"
t0=$(cpu_ticks); s0=$(date +%s.%N)
ctl '{"cmd":"resume"}' >/dev/null
sleep 10
t1=$(cpu_ticks); s1=$(date +%s.%N)
echo "training (cpu-budget 0.5, send-interval 0.5): $(echo "scale=2; 100 * ($t1 - $t0) / $hz / ($s1 - $s0)" | bc)% of one core"

echo "== 3. control latency idle, then under flood (${FLOOD_SECONDS}s)"
"$BENCH" ctl-latency --control "$T/sock" --count 500 --gap-ms 5
rss_before=$(rss_kb); steps_before=$(status "r['model']['steps']")
drops_before=$(status "sum(r['network']['drops'].values())")
"$BENCH" flood --port "$PORT" --kind mixed --seconds "$FLOOD_SECONDS" &
FLOOD=$!
sleep 1
n=$(( (FLOOD_SECONDS - 3) * 1000 / 8 ))
"$BENCH" ctl-latency --control "$T/sock" --count "$n" --gap-ms 5
wait $FLOOD
sleep 1
steps_after=$(status "r['model']['steps']")
drops_after=$(status "sum(r['network']['drops'].values())")
echo "during flood: training steps $steps_before -> $steps_after, datagrams dropped $((drops_after - drops_before)), RSS $rss_before kB -> $(rss_kb) kB (peak $(hwm_kb) kB)"
status "r['network']['drops']"
