#!/usr/bin/env bash
# dustd end to end on loopback: three real daemons, each with a private non-IID slice of the
# bundled MNIST (4 of the 10 classes each, so alone none can exceed ~40% on the full test set),
# paired through the control socket. Checks that their accuracies rise together past what any
# could learn alone, that malformed control requests are answered and served on, and that a
# daemon killed with kill -9 comes back with its identity, trust and model and catches up.
#
# Usage: bash tests/integration/daemon_test.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: daemon_test.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DUSTD=$BUILD/daemon/dustd
BENCH=$BUILD/bench/dust-bench
PY=/usr/bin/python3
for bin in "$DUSTD" "$BENCH" "$PY"; do
  [[ -x $bin ]] || { echo "daemon_test: missing $bin" >&2; exit 1; }
done

T=$(mktemp -d /tmp/dust-daemon-test.XXXXXX)
PORT=$((41000 + $$ % 8000))
declare -a PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for i in 1 2 3; do [[ -f $T/n$i/log ]] && { echo "--- n$i log (tail)"; tail -20 "$T/n$i/log"; }; done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
log() { echo "[$(date +%H:%M:%S)] $*"; }

# ctl SOCK JSON -> prints the reply line; ctlr SOCK JSON EXPR -> prints a field of the result.
ctl() {
  "$PY" - "$1" "$2" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())
PYEOF
}
field() {  # field SOCK CMD PYTHON-EXPR-ON-r
  ctl "$1" "{\"cmd\":\"$2\"}" | "$PY" -c "import json,sys; j=json.load(sys.stdin); assert j['ok'], j; r=j['result']; print($3)"
}

log "splitting data/mnist-10k into 3 non-IID slices"
"$BENCH" split --data "$SRC/data/mnist-10k" --out "$T/split" --parts 3 --split classes:4 >/dev/null

# The learning rate falls from 0.2 to 0.02 over the model's first DECAY steps (10 a second at
# this send interval), so it has settled before the kill -9 below.
DECAY=150
start() {  # start I [EVAL_INTERVAL]
  local i=$1 eval_interval=${2:-1}
  "$DUSTD" --data-dir "$T/n$i/data" --state-dir "$T/n$i/state" --control-socket "$T/n$i/sock" \
    --port "$PORT" --broadcast 127.255.255.255 --display-name "node$i" --send-interval 0.1 \
    --eval-interval "$eval_interval" --checkpoint-interval 2 --rescan-interval 0 \
    --learning-rate-decay-steps "$DECAY" >>"$T/n$i/log" 2>&1 &
  PIDS[$i]=$!
  for _ in $(seq 100); do
    [[ -S $T/n$i/sock ]] && ctl "$T/n$i/sock" '{"cmd":"status"}' >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[$i]}" 2>/dev/null || fail "node$i exited at start"
    sleep 0.1
  done
  fail "node$i did not answer on its control socket"
}

for i in 1 2 3; do
  mkdir -p "$T/n$i/data"
  cp "$T/split/part-$i/"* "$T/n$i/data/"
  cp "$T/split/test/"* "$T/n$i/data/"  # t10k-*: the shared test set, never trained on
  start "$i"
done
log "3 daemons up on udp port $PORT"

# Malformed control traffic is answered and the daemon serves on.
r=$(ctl "$T/n1/sock" 'this is not json')
[[ $r == *'"parse_error"'* ]] || fail "malformed request: $r"
r=$(ctl "$T/n1/sock" '{"id":9,"cmd":"no.such.command"}')
[[ $r == *'"unknown_command"'* && $r == *'"id":9'* ]] || fail "unknown command: $r"
r=$(ctl "$T/n1/sock" '{"cmd":"trust.add","uri":"dust://v1/garbage"}')
[[ $r == *'"invalid_argument"'* ]] || fail "bad pairing URI: $r"

# Pair every daemon with the two others through the control socket.
for i in 1 2 3; do field "$T/n$i/sock" trust.show "r['pairing_uri']" >"$T/n$i/uri"; done
for i in 1 2 3; do
  for j in 1 2 3; do
    [[ $i == "$j" ]] && continue
    req=$("$PY" -c 'import json,sys; print(json.dumps({"cmd":"trust.add","uri":open(sys.argv[1]).read().strip()}))' "$T/n$j/uri")
    r=$(ctl "$T/n$i/sock" "$req")
    [[ $r == *'"ok":true'* ]] || fail "pairing node$i with node$j: $r"
  done
done
log "paired"

# Accuracy of node I's current model on the shared test set (the daemon's evaluate command).
acc() {
  ctl "$T/n$1/sock" "{\"cmd\":\"evaluate\",\"data_dir\":\"$T/split/test\"}" |
    "$PY" -c "import json,sys; j=json.load(sys.stdin); assert j['ok'], j; print(round(j['result']['accuracy'], 4))"
}
wait_all_above() {  # wait_all_above THRESHOLD SECONDS
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    local a1 a2 a3
    a1=$(acc 1); a2=$(acc 2); a3=$(acc 3)
    log "test accuracy: node1 $a1  node2 $a2  node3 $a3"
    if "$PY" -c "import sys; sys.exit(0 if min($a1,$a2,$a3) >= $1 else 1)"; then return 0; fi
    sleep 3
  done
  return 1
}
# Each daemon holds 4 classes: alone it stays below ~0.42 on the 10-class test set.
wait_all_above 0.65 120 || fail "accuracies did not rise together past 0.65"
for i in 1 2 3; do
  live=$(field "$T/n$i/sock" status "r['peers']['live']")
  [[ $live == 2 ]] || fail "node$i sees $live live peers, expected 2"
done

# kill -9 node 2 at an arbitrary moment, restart it from its state directory.
id_before=$(field "$T/n2/sock" status "r['node_id']")
sleep 2.5  # at least one checkpoint since pairing
ckpt_steps=$(field "$T/n2/sock" status "r['checkpoint']['steps']")
kill -9 "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null || true
log "node2 killed with -9 (last checkpoint at $ckpt_steps steps)"
sleep 1
# A long eval interval: the only holdout/test evaluation for a while is the one dustd runs at
# start, on the model exactly as restored, before any round.
start 2 60
for _ in $(seq 50); do
  [[ $(field "$T/n2/sock" status "r['model']['accuracy_at_ms'] is not None") == True ]] && break
  sleep 0.1
done
restored_acc=$(field "$T/n2/sock" status "r['model']['test_accuracy']")
id_after=$(field "$T/n2/sock" status "r['node_id']")
[[ $id_after == "$id_before" ]] || fail "node ID changed across restart: $id_before -> $id_after"
trusted=$(field "$T/n2/sock" trust.list "len(r['trusted'])")
[[ $trusted == 2 ]] || fail "trust store after restart holds $trusted peers, expected 2"
steps=$(field "$T/n2/sock" status "r['model']['steps']")
((steps >= ckpt_steps)) || fail "model went back: $steps steps < checkpoint $ckpt_steps"
# The schedule follows the checkpointed step count (a restart does not start it again), or the
# fleet's position when that is ahead: the rate is the schedule's at the position, which is at
# least the steps.
lr=$(field "$T/n2/sock" status "'%s %s %s' % (r['training']['learning_rate'], r['model']['steps'], r['training']['learning_rate_schedule']['position'])")
"$PY" -c "
import math, sys
lr, steps, position = (float(x) for x in '$lr'.split())
want = 0.02 if position >= $DECAY else 0.02 + 0.18 * 0.5 * (1 + math.cos(math.pi * position / $DECAY))
sys.exit(0 if abs(lr - want) < 1e-9 and lr < 0.2 and position >= steps else 1)" ||
  fail "restarted node2's learning rate/steps/position '$lr': not the schedule's value at its position"
# The checkpoint was taken after all passed 0.65; one slice alone stays below ~0.42.
"$PY" -c "import sys; sys.exit(0 if $restored_acc >= 0.55 else 1)" ||
  fail "restored model's test accuracy $restored_acc: not the checkpointed model?"
log "node2 back: same ID, 2 trusted, $steps steps, restored model's test accuracy $restored_acc, learning rate/steps/position $lr"
ls "$T/n2/state" | grep -q corrupt && fail "a state file was found corrupt after kill -9"
wait_all_above 0.65 60 || fail "node2 did not catch up"
# Announces carry schedule positions: the restarted node hears both peers' (every
# announce-interval, 10 s by default) and its position is at least the fleet's.
for _ in $(seq 50); do
  sched=$(field "$T/n2/sock" status "'%s %s %s' % tuple(r['training']['learning_rate_schedule'][k] for k in ('fleet_peers', 'fleet_position', 'position'))")
  [[ $sched == 2\ * ]] && break
  sleep 0.5
done
read -r fleet_peers fleet_position position <<<"$sched"
if [[ $fleet_peers != 2 || $fleet_position == None ]] || ((position < fleet_position || fleet_position == 0)); then
  fail "node2's schedule (fleet peers, fleet position, position): $sched"
fi
log "node2 heard the fleet's schedule position $fleet_position from $fleet_peers peers (its own: $position)"

# A bad file dropped into the data dir and SIGHUP: reported and skipped, the rest still used.
printf 'label,a,b,c\n12,not,a,sample\n' >"$T/n1/data/broken.csv"  # line 2 is bad
train_before=$(field "$T/n1/sock" status "r['training']['train_samples']")
kill -HUP "${PIDS[1]}"
sleep 2
skipped=$(field "$T/n1/sock" status "' '.join(f['path'] for f in r['data']['files_skipped'])")
[[ $skipped == *broken.csv* ]] || fail "SIGHUP rescan did not report broken.csv (skipped: $skipped)"
train_after=$(field "$T/n1/sock" status "r['training']['train_samples']")
state=$(field "$T/n1/sock" status "r['training']['state']")
[[ $train_after == "$train_before" && $state == running ]] ||
  fail "after SIGHUP: $train_after training samples (was $train_before), state $state"
log "SIGHUP: broken.csv reported and skipped, $train_after samples still used"

# Graceful stop: SIGTERM, exit 0, final checkpoint.
for i in 1 2 3; do kill -TERM "${PIDS[$i]}"; done
for i in 1 2 3; do
  wait "${PIDS[$i]}" || fail "node$i exited with status $? on SIGTERM"
  grep -q "SIGTERM: stopping" "$T/n$i/log" || fail "node$i did not log its graceful stop"
  [[ -S $T/n$i/sock ]] && fail "node$i left its control socket behind"
done
PIDS=()
log "PASS"
