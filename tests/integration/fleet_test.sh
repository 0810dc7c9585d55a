#!/usr/bin/env bash
# Fleet certificates end to end on loopback (issue #16): three real daemons with no pairwise
# trust, all configured with one fleet ID and each given a certificate signed by the fleet key
# (one `fleet enroll` + one `fleet install` per device). Checks that they accept each other's
# updates and say "certificate" in status and peers; that a revocation list installed on ONE
# device makes every other device drop the revoked one's updates (counted `revoked`) within 3
# send intervals, measured; that bad fleet files are refused with the reason; and that a
# certified peer removed with `trust remove` stays out after a restart.
#
# Usage: bash tests/integration/fleet_test.sh BUILD_DIR
set -euo pipefail

BUILD=${1:?usage: fleet_test.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DUSTD=$BUILD/daemon/dustd
CTL=$BUILD/ctl/dustctl
PY=/usr/bin/python3
for bin in "$DUSTD" "$CTL" "$PY"; do
  [[ -x $bin ]] || { echo "fleet_test: missing $bin" >&2; exit 1; }
done
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"

T=$(mktemp -d /tmp/dust-fleet-test.XXXXXX)
PORT=$((41000 + ($$ + 4000) % 8000))
# Seconds; the revocation bound is 3 of them. Announces (which carry certificates and, every
# time, the newest revocation list) are 5 s apart, dustd's default: a new list must travel with
# the updates that follow its acceptance, not wait for an announce.
SEND_INTERVAL=1
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
log() { echo "[$(date +%H:%M:%S)] $*"; }

ctl() { "$CTL" --socket "$T/n$1/sock" "${@:2}"; }
# jget I COMMAND PYTHON-EXPR-ON-r: a field of `dustctl COMMAND --json` on node I.
jget() { ctl "$1" "$2" --json | "$PY" -c "import json,sys; r=json.load(sys.stdin); print($3)"; }

start() {  # start I
  local i=$1
  "$DUSTD" --data-dir "$SRC/data/mnist-10k" --state-dir "$T/n$i/state" \
    --control-socket "$T/n$i/sock" --port "$PORT" --broadcast 127.255.255.255 \
    --display-name "node$i" --send-interval "$SEND_INTERVAL" --announce-interval 5 \
    --eval-interval 30 --rescan-interval 0 --fleet "$FLEET_ID" >>"$T/n$i/log" 2>&1 &
  PIDS[i]=$!
  for _ in $(seq 100); do
    ctl "$i" status >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[i]}" 2>/dev/null || give_up "node$i exited at start"
    sleep 0.1
  done
  give_up "node$i did not answer on its control socket"
}

# The operator: a fleet key, refused a second time, mode 0600.
before=$failures
mkdir -p "$T/op"
FLEET_ID=$("$CTL" fleet init --out "$T/op/fleet.key" --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["fleet_id"])')
[[ $(stat -c %a "$T/op/fleet.key") == 600 ]] || fail "fleet key mode $(stat -c %a "$T/op/fleet.key")"
rc=0; out=$("$CTL" fleet init --out "$T/op/fleet.key" 2>&1) || rc=$?
[[ $rc == 1 && $out == *"refusing to overwrite"* ]] || fail "fleet init over a key: exit $rc, $out"
pass_if "$before" "fleet init: key 0600, fleet ID $FLEET_ID, no overwrite"

for i in 1 2 3; do mkdir -p "$T/n$i"; start "$i"; done
log "3 daemons up on udp port $PORT, no pairwise trust"

# One enroll and one install per device, the device given by its pairing URI.
before=$failures
for i in 1 2 3; do
  uri=$(jget "$i" "trust show" "r['pairing_uri']")
  "$CTL" fleet enroll --fleet-key "$T/op/fleet.key" "$uri" --expires 30 \
    --endpoint "127.0.0.1:$PORT" --out "$T/op/n$i.cert" >/dev/null
  ctl "$i" fleet install "$T/op/n$i.cert" | grep -q "installed" || fail "install on node$i"
done
# A certificate is for one node only.
rc=0; out=$(ctl 1 fleet install "$T/op/n2.cert" 2>&1) || rc=$?
[[ $rc == 3 && $out == *"not this node"* ]] || fail "node2's certificate on node1: exit $rc, $out"

# Every node trusts the two others by certificate and merges their updates.
accepted() {  # accepted I J: updates node I accepted from node J
  jget "$1" peers "sum(p['updates_accepted'] for p in r['peers'] if p['display_name'] == 'node$2')"
}
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  ok=1
  for i in 1 2 3; do
    [[ $(jget "$i" status "r['peers']['certified']") == 2 ]] || ok=0
    for j in 1 2 3; do
      [[ $i == "$j" ]] && continue
      (($(accepted "$i" "$j") > 0)) || ok=0
    done
  done
  ((ok)) && break
  sleep 0.5
done
((ok)) || give_up "the enrolled daemons did not accept each other's updates within 30 s"
for i in 1 2 3; do
  kinds=$(jget "$i" peers "sorted(set(p['trust'] for p in r['peers']))")
  [[ $kinds == "['certificate']" ]] || fail "node$i peers say $kinds"
  [[ $(jget "$i" status "r['peers']['paired']") == 0 ]] || fail "node$i has paired peers"
done
ctl 1 peers | grep -c " certificate " | grep -qx 2 || fail "dustctl peers does not say certificate"
ctl 1 status | grep -q "2 by certificate" || fail "dustctl status does not count certified peers"
# The certificates' --endpoint went into each node's endpoint table, marked as such.
srcs=$(jget 1 peers "sorted(set(e['source'] for p in r['peers'] for e in p['endpoints']))")
[[ $srcs == *"'certificate'"* ]] || fail "node1 lists no endpoint from a certificate: $srcs"
pass_if "$before" "3 daemons enrolled by one fleet key accept each other's updates (trust: certificate; endpoints from the certificates)"

# Revoke node3 and install the list on node1 only; node2 hears it from node1.
node3=$(jget 3 status "r['node_id']")
"$CTL" fleet revoke --fleet-key "$T/op/fleet.key" "$node3" --out "$T/op/list1" >/dev/null
revoked_drops() { jget "$1" status "r['network']['drops'].get('revoked', 0)"; }
before1=$(revoked_drops 1); before2=$(revoked_drops 2)
t0=$(date +%s.%N)
ctl 1 fleet install "$T/op/list1" | grep -q "revocation list 1" || fail "list install on node1"
done_at=""
while true; do
  now=$(date +%s.%N)
  if (($(revoked_drops 1) > before1 && $(revoked_drops 2) > before2)); then done_at=$now; break; fi
  "$PY" -c "import sys; sys.exit($now - $t0 > 10)" || break
  sleep 0.1
done
[[ -n $done_at ]] || give_up "node3's updates were not counted revoked on both others within 10 s"
took=$("$PY" -c "print(round($done_at - $t0, 2))")
bound=$((3 * SEND_INTERVAL))
if "$PY" -c "import sys; sys.exit(not $took <= $bound)"; then
  pass "revocation installed on node1 took effect on node1 and node2 in ${took} s (bound ${bound} s)"
else
  fail "revocation took ${took} s, more than 3 send intervals (${bound} s)"
fi
# Nothing of node3's is merged any more; node1 and node2 still learn from each other.
before=$failures
a13=$(accepted 1 3); a23=$(accepted 2 3); a12=$(accepted 1 2)
sleep $((2 * SEND_INTERVAL))
[[ $(accepted 1 3) == "$a13" && $(accepted 2 3) == "$a23" ]] || fail "node3's updates still accepted"
(($(accepted 1 2) > a12)) || fail "node1 stopped accepting node2's updates"
for i in 1 2; do
  [[ $(jget "$i" status "r['fleet']['revocation_serials']['$FLEET_ID']") == 1 ]] || fail "node$i serial"
done
pass_if "$before" "after the revocation nothing of node3 is accepted; node1 and node2 go on"

# An older list or a forged one changes nothing; a file that is neither kind is refused.
before=$failures
"$CTL" fleet revoke --fleet-key "$T/op/fleet.key" "$node3" --out "$T/op/list2" >/dev/null
ctl 2 fleet install "$T/op/list2" | grep -q "revocation list 2" || fail "list 2 on node2"
rc=0; out=$(ctl 2 fleet install "$T/op/list1" 2>&1) || rc=$?
[[ $rc == 3 && $out == *"lower than"* ]] || fail "older list: exit $rc, $out"
# A tampered copy of the held list (one bit of its issue time flipped): not "already held".
"$PY" -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[50] ^= 1; open(sys.argv[2], "wb").write(b)' \
  "$T/op/list2" "$T/op/forged"
rc=0; out=$(ctl 2 fleet install "$T/op/forged" 2>&1) || rc=$?
[[ $rc == 3 && $out == *"bad signature"* ]] || fail "forged list: exit $rc, $out"
rc=0; out=$(ctl 2 fleet install "$T/op/fleet.key" 2>&1) || rc=$?
[[ $rc == 1 && $out == *"not a certificate or a revocation list"* ]] || fail "key as list: exit $rc, $out"
pass_if "$before" "a lower serial, a forged list and a file of another kind are refused and named"

# trust remove of a certified peer wins, and stays after a restart.
before=$failures
node1=$(jget 1 status "r['node_id']")
ctl 2 trust remove "$node1" >/dev/null || fail "trust remove of certified node1 on node2"
[[ $(jget 2 status "r['peers']['certified']") == 0 ]] || fail "node1 still certified on node2"
kill "${PIDS[2]}"; wait "${PIDS[2]}" 2>/dev/null || true
start 2
# node1's next announce (at most 5 s away) carries its certificate: refused as excluded.
for _ in $(seq 80); do
  [[ $(jget 2 status "r['fleet']['certificate_drops']['excluded'] > 0") == True ]] && break
  sleep 0.1
done
[[ $(jget 2 status "r['fleet']['certificate_drops']['excluded'] > 0") == True ]] ||
  fail "node1's certificate not counted excluded after restart"
[[ $(jget 2 status "r['peers']['certified']") == 0 ]] || fail "node1 trusted again after restart"
[[ $(jget 2 status "r['fleet']['revocation_serials']['$FLEET_ID']") == 2 ]] ||
  fail "node2 lost its revocation list over the restart"
pass_if "$before" "a removed certified peer stays out after a restart; the list is persisted"

finish fleet
