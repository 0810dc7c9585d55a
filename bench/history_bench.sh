#!/usr/bin/env bash
# What the history and the dashboard cost, for docs/benchmarks.md ("History and dashboard"):
#   1. resident memory of a real dustd holding a full day of history with 50 trusted peers,
#      against the same daemon (same data, same 50 peers trusted) with no history;
#   2. the dashboard's load time on loopback (GET /, full HTTP exchange, 10 minutes and
#      24 hours shown), and the page's size.
# The day of history is written by `dust-bench history-fill` (the daemon's own History class,
# a sample every 5 s for 24 h); each daemon runs paused so training does not move its memory.
# Usage: bash bench/history_bench.sh BUILD_DIR [PEERS] [LOADS]
set -euo pipefail
BUILD=$(cd "${1:?usage: history_bench.sh BUILD_DIR [PEERS] [LOADS]}" && pwd)
PEERS=${2:-50}
LOADS=${3:-50}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DUSTD=$BUILD/daemon/dustd
CTL=$BUILD/ctl/dustctl
BENCH=$BUILD/bench/dust-bench
PY=/usr/bin/python3
T=$(mktemp -d /tmp/dust-history-bench.XXXXXX)
declare -a PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

"$BENCH" history-fill --out "$T/history" --keys "$T/keys" --peers "$PEERS" --hours 24 | tail -1 |
  tee "$T/fill.json"

# Two TCP ports for the dashboards and two UDP ports for gossip (unused: no broadcast), free now.
read -r HTTP_A HTTP_B UDP_A UDP_B < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(2)] + [socket.socket(type=socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
start() {  # start NAME HTTP_PORT UDP_PORT: a paused daemon with the PEERS keys trusted
  local name=$1 http=$2 udp=$3
  "$DUSTD" --data-dir "$SRC/data/mnist-10k" --state-dir "$T/$name/state" \
    --control-socket "$T/$name/sock" --port "$udp" --bind-address 127.0.0.1 --broadcast none \
    --rescan-interval 0 \
    --metrics-listen "127.0.0.1:$http" --log-level warn >>"$T/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do
    "$CTL" --socket "$T/$name/sock" pause >/dev/null 2>&1 && break
    sleep 0.1
  done
  while read -r peer id; do
    "$CTL" --socket "$T/$name/sock" trust add --yes --name "$peer" "$id" >/dev/null
  done <"$T/keys"
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

mkdir -p "$T/empty/state" "$T/full/state"
cp "$T/history" "$T/full/state/history"
start empty "$HTTP_A" "$UDP_A"
PID_A=${PIDS[-1]}
start full "$HTTP_B" "$UDP_B"
PID_B=${PIDS[-1]}
sleep 5  # both sampled and settled
echo "RSS without history: $(rss_kb "$PID_A") kB; with a day of history and $PEERS peers: $(rss_kb "$PID_B") kB"
a=0 b=0
for _ in 1 2 3 4 5; do
  a=$((a + $(rss_kb "$PID_A")))
  b=$((b + $(rss_kb "$PID_B")))
  sleep 1
done
echo "mean of 5 readings a second apart: without $((a / 5)) kB, with $((b / 5)) kB, growth $(((b - a) / 5)) kB"

"$CTL" --socket "$T/full/sock" --json history --since 86400 --no-peers |
  "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("full daemon: %d node samples in the last 24 h (%s)" % (len(d["node"]["t_ms"]), d["resolution"]))'
"$PY" - "$HTTP_B" "$LOADS" <<'PYEOF'
import http.client, statistics, sys, time
port, loads = int(sys.argv[1]), int(sys.argv[2])
for path in ("/?range=600", "/?range=86400", "/"):
    times, size = [], 0
    for _ in range(loads):
        t0 = time.perf_counter()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        c.close()
        assert r.status == 200 and b"<svg" in body
        size = len(body)
    times.sort()
    print(f"GET {path}: {size} bytes, median {statistics.median(times):.2f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.2f} ms, max {times[-1]:.2f} ms over {loads} loads")
PYEOF
