#!/usr/bin/env bash
# watch and the live model files with a real dustd on loopback: `dustctl watch --json` sees a
# checkpoint and a trust-added event; the Python client of docs/using-the-model.md runs and sees
# new model files; a watcher that never reads (and a burst of events) does not stop status from
# answering or the model from learning, and its dropped events are reported to it when it reads;
# the files in model-export-dir hold the daemon's model (content hash recomputed from the
# safetensors and JSON weights, the C header compiles) and change as it trains.
#
# Usage: bash tests/integration/watch_test.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: watch_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DUSTD=$BUILD/daemon/dustd
CTL=$BUILD/ctl/dustctl
PY=/usr/bin/python3
for bin in "$DUSTD" "$CTL" "$PY"; do [[ -x $bin ]] || { echo "watch_test: missing $bin" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/dust-watch-test.XXXXXX)
declare -a PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ $rc -ne 0 && -f $WORK/a.log ]] && { echo "--- dustd log (tail)"; tail -20 "$WORK/a.log"; }
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
jget() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1],{"d":d}))' "$1"; }

# Two UDP ports that are free right now (the kernel picks them).
read -r PA PB < <("$PY" -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
SOCK=$WORK/a.sock
MODEL=$WORK/model
CTLA=("$CTL" --socket "$SOCK" --timeout 3000)
"$DUSTD" --data-dir "$SRC/data/mnist-10k" --state-dir "$WORK/state" --control-socket "$SOCK" \
  --port "$PA" --bind-address 127.0.0.1 --broadcast none --send-interval 0.1 --eval-interval 1 \
  --checkpoint-interval 1 --rescan-interval 0 --model-export-dir "$MODEL" >>"$WORK/a.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
  "${CTLA[@]}" status >/dev/null 2>&1 && break
  kill -0 "${PIDS[0]}" 2>/dev/null || fail "dustd exited at start"
  sleep 0.1
done
for f in model.onnx model.h model.safetensors model.json; do
  [[ -s $MODEL/$f ]] || fail "no $MODEL/$f after start"
done
pass "model-export-dir holds all four files after start"

# --- dustctl watch --json: a checkpoint and a trust-added event ----------------------------
"${CTLA[@]}" --json watch --events checkpoint,trust >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH=$!
PIDS+=("$WATCH")
sleep 0.5
# A second daemon, only for a real pairing URI to trust.
"$DUSTD" --data-dir "$WORK" --state-dir "$WORK/peer" --control-socket "$WORK/b.sock" --port "$PB" \
  --bind-address 127.0.0.1 --broadcast none --rescan-interval 0 >>"$WORK/b.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do "$CTL" --socket "$WORK/b.sock" status >/dev/null 2>&1 && break; sleep 0.1; done
URI_B=$("$CTL" --socket "$WORK/b.sock" --json trust show | jget "d['pairing_uri']")
ID_B=$("$CTL" --socket "$WORK/b.sock" --json trust show | jget "d['node_id']")
"${CTLA[@]}" trust add --yes "$URI_B" >/dev/null
for _ in $(seq 50); do
  grep -q '"event":"checkpoint"' "$WORK/watch.out" && grep -q '"event":"trust"' "$WORK/watch.out" && break
  sleep 0.1
done
kill "$WATCH"
"$PY" - "$WORK/watch.out" "$ID_B" <<'PYEOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
kinds = {e["event"] for e in events}
assert kinds <= {"checkpoint", "trust"}, f"asked for checkpoint,trust only, got {kinds}"
cp = [e for e in events if e["event"] == "checkpoint"]
tr = [e for e in events if e["event"] == "trust"]
assert cp and cp[0]["steps"] > 0 and cp[0]["path"].endswith("checkpoint"), cp
assert tr and tr[0]["change"] == "added" and tr[0]["node_id"] == sys.argv[2], tr
seqs = [e["seq"] for e in events]
assert seqs == list(range(1, len(seqs) + 1)), f"seq must count from 1 without gaps: {seqs}"
PYEOF
pass "dustctl watch --json: checkpoint and trust added events, seq 1, 2, ... without gaps"

# --- the Python client of docs/using-the-model.md ------------------------------------------
"$PY" - "$SRC/docs/using-the-model.md" "$WORK/client.py" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## Watch"):text.index("## Live model files")]
open(sys.argv[2], "w").write(re.search(r"```python\n(.*?)```", section, re.S).group(1))
PYEOF
timeout 8 "$PY" "$WORK/client.py" "$SOCK" >"$WORK/client.out" 2>&1 || [[ $? -eq 124 ]] || { cat "$WORK/client.out"; fail "client failed"; }
grep -q "^model now:" "$WORK/client.out" || fail "docs client: no first reply"
grep -q "^model [0-9a-f]\{8\}: accuracy 0\." "$WORK/client.out" || { cat "$WORK/client.out"; fail "docs client: no model event"; }
grep -q "^new model files: .*model.onnx" "$WORK/client.out" || { cat "$WORK/client.out"; fail "docs client: no export event"; }
pass "the docs' Python watch client sees model changes and new model files"

# --- a watcher that never reads ------------------------------------------------------------
"$PY" - "$SOCK" "$WORK/stuck.out" "$WORK/stuck.go" <<'PYEOF' &
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"watch"}\n')
while not os.path.exists(sys.argv[3]):  # never reads until told to
    time.sleep(0.1)
# What the daemon had queued and buffered arrives at once; events keep coming after it (one
# a second or so), so read for a fixed 3 seconds.
data = b""
end = time.time() + 3
while time.time() < end:
    s.settimeout(max(0.01, end - time.time()))
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
open(sys.argv[2], "wb").write(data)
PYEOF
STUCK=$!
PIDS+=("$STUCK")
sleep 0.5
STEPS0=$("${CTLA[@]}" --json status | jget "d['model']['steps']")
# A burst of events (1000 trust changes, each saved with fsync) while the watcher does not read.
"$PY" - "$SOCK" "$URI_B" "$ID_B" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
f = s.makefile()
for i in range(500):
    for req in ({"cmd": "trust.remove", "node_id": sys.argv[3]}, {"cmd": "trust.add", "uri": sys.argv[2]}):
        s.sendall((json.dumps(req) + "\n").encode())
        r = json.loads(f.readline()); assert r["ok"], r
PYEOF
T0=$(date +%s%N)
"${CTLA[@]}" --json status >"$WORK/status.json" || fail "status did not answer with a stuck watcher"
T1=$(date +%s%N)
sleep 2
STEPS1=$("${CTLA[@]}" --json status | jget "d['model']['steps']")
DROPPED=$(jget "d['watch']['events_dropped']" <"$WORK/status.json")
[[ $DROPPED -gt 0 ]] || fail "the stuck watcher's queue never filled (dropped $DROPPED): the test proves nothing"
[[ $STEPS1 -gt $STEPS0 ]] || fail "training stalled with a stuck watcher: steps $STEPS0 -> $STEPS1"
echo "status answered in $(((T1 - T0) / 1000000)) ms; steps $STEPS0 -> $STEPS1; $DROPPED events dropped"
touch "$WORK/stuck.go"
wait "$STUCK"
"$PY" - "$WORK/stuck.out" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
reply, events = json.loads(lines[0]), [json.loads(l) for l in lines[1:]]
assert reply["ok"], reply
seqs = [e["seq"] for e in events if "seq" in e]
gaps = sum(b - a - 1 for a, b in zip(seqs, seqs[1:]))
told = sum(e.get("missed", 0) for e in events)
assert gaps > 0, "no events were dropped"
assert told >= gaps, f"missed counts {told} do not cover the seq gaps {gaps}"
print(f"stuck watcher: {len(events)} lines read, {gaps} events missing in seq, {told} reported missed")
PYEOF
pass "a watcher that never reads: status answers, training goes on, drops counted and reported"

# --- the live files hold the daemon's model and follow it ----------------------------------
H1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["content_hash"])' "$MODEL/model.json")
"${CTLA[@]}" pause >/dev/null
# A paused node still merges the progress it had not sent yet, round by round, so a later
# status may show a newer model: the checkpoint reply names the model it saved and exported.
# The files are rewritten at every checkpoint (here each second) while the model moves: check a
# copy taken right after the checkpoint that wrote them (again if the timer's came in between).
SNAP=$WORK/model-snapshot
for _ in $(seq 10); do
  HASH=$("${CTLA[@]}" --json checkpoint | jget "d['content_hash']")
  rm -rf "$SNAP" && cp -r "$MODEL" "$SNAP"
  [ "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metadata"]["content_hash"])' "$SNAP/model.json")" != "$HASH" ] || break
done
[[ $HASH != "$H1" ]] || fail "the model files did not change while the model trained"
"$PY" - "$SRC" "$SNAP" "$HASH" <<'PYEOF'
import json, sys
import numpy as np
src, d, want = sys.argv[1:4]
sys.path.insert(0, src + "/tests/integration")
import ctl_export_check as chk
raw = open(d + "/model.safetensors", "rb").read()
n = int.from_bytes(raw[:8], "little"); hdr = json.loads(raw[8:8 + n]); data = raw[8 + n:]
t = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], "<f4").reshape(v["shape"])
     for k, v in hdr.items() if k != "__metadata__"}
layers = [(t["layers.0.weight"], t["layers.0.bias"]), (t["layers.1.weight"], t["layers.1.bias"])]
assert chk.content_hash(layers) == want, "safetensors weights are not the daemon's model"
assert hdr["__metadata__"]["producer"].startswith("dustd "), hdr["__metadata__"]["producer"]
doc = json.load(open(d + "/model.json"))
jl = [(np.array(l["weight"], np.float32), np.array(l["bias"], np.float32)) for l in doc["layers"]]
assert chk.content_hash(jl) == want, "json weights are not the daemon's model"
try:
    import onnx
except ImportError:
    print("note: python3-onnx not installed; model.onnx checked by its metadata only")
    assert want.encode() in open(d + "/model.onnx", "rb").read()
else:
    m = onnx.load(d + "/model.onnx")
    onnx.checker.check_model(m, full_check=True)
    assert {p.key: p.value for p in m.metadata_props}["content_hash"] == want
PYEOF
printf '#include "model.h"\nint main(void) { static float x[DUST_MODEL_INPUTS]; return dust_model_predict(x, 0) < 0; }\n' >"$WORK/main.c"
cc -std=c99 -Wall -Wextra -pedantic -Werror -I"$SNAP" -o "$WORK/predict" "$WORK/main.c" -lm
grep -q "DUST_MODEL_CONTENT_HASH \"$HASH\"" "$SNAP/model.h" || fail "model.h is not the daemon's model"
[[ -z $(find "$MODEL" -name '*.tmp.*') ]] || fail "temporary files left in $MODEL"
pass "the live files are the daemon's current model (hash from the weights; model.h compiles) and changed with training"
