#!/usr/bin/env bash
# Reach beyond the broadcast domain, on loopback (docs/operations.md, "Across sites"): three
# daemons that broadcast nowhere; only C has an endpoint (`endpoint =`, in its pairing URI).
# A and B trust C by that URI, so they send to C; C learns their addresses from their verified
# datagrams (roaming) and answers there; C's peer exchange tells A where B is and B where A is,
# so A and B end up sending to each other without either being configured with the other's
# address. Also: the trust store keeps the URI's endpoint across a restart (version 2 file),
# dustctl peers shows every endpoint with its source, and the metrics count the exchanges.
#
# Usage: tests/integration/reach_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: reach_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DUSTD=$BUILD/daemon/dustd
CTL=$BUILD/ctl/dustctl
PY=/usr/bin/python3
for b in "$DUSTD" "$CTL"; do [ -x "$b" ] || { echo "reach_test: $b not built" >&2; exit 1; }; done
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"

WORK=$(mktemp -d /tmp/dust-reach-test.XXXXXX)
declare -A PID PORT
cleanup() {
  local rc=$? n
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do wait "${PID[$n]}" 2>/dev/null || true; done
  if [ $rc -ne 0 ] || [ "$failures" -ne 0 ]; then
    echo "--- reach_test failed; daemon logs:" >&2
    tail -n 25 "$WORK"/*.log >&2 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

jget() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1],{"d":d}); print("null" if v is None else json.dumps(v) if isinstance(v,(dict,list)) else v)' "$1"; }
ctl() { local n=$1; shift; "$CTL" --socket "$WORK/$n.sock" --timeout 3000 "$@"; }

# free_ports: three free UDP ports on loopback.
free_ports() {
  "$PY" -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}
read -r 'PORT[a]' 'PORT[b]' 'PORT[c]' < <(free_ports)

start() { # start NAME [dustd args...]: no broadcast, no peer =: unicast only to what it learns
  local n=$1
  shift
  mkdir -p "$WORK/$n/state"
  "$DUSTD" --data-dir "$SRC/data/mnist-10k" --state-dir "$WORK/$n/state" \
    --control-socket "$WORK/$n.sock" --port "${PORT[$n]}" --bind-address 127.0.0.1 \
    --broadcast none --display-name "node-$n" --send-interval 0.2 --announce-interval 1 \
    --peer-exchange-interval 0.5 --peer-exchange-ttl 20 --eval-interval 5 --log-level info \
    "$@" >>"$WORK/$n.log" 2>&1 &
  PID[$n]=$!
  for _ in $(seq 300); do
    ctl "$n" status >/dev/null 2>&1 && return 0
    kill -0 "${PID[$n]}" 2>/dev/null || give_up "dustd $n exited at start"
    sleep 0.1
  done
  give_up "dustd $n did not answer on $WORK/$n.sock"
}

start a
start b
start c --endpoint "127.0.0.1:${PORT[c]}"
declare -A ID URI
for n in a b c; do
  ID[$n]=$(ctl "$n" --json trust show | jget "d['node_id']")
  URI[$n]=$(ctl "$n" --json trust show | jget "d['pairing_uri']")
done
case "${URI[c]}" in
  *"&ep=127.0.0.1%3A${PORT[c]}") pass "C's pairing URI carries its endpoint" ;;
  *) fail "C's pairing URI lacks its endpoint: ${URI[c]}" ;;
esac
# Everyone trusts everyone, by URI; only C's URI says where to send.
for n in a b c; do
  for m in a b c; do [ "$n" = "$m" ] || ctl "$n" trust add --yes "${URI[$m]}" >/dev/null; done
done
[ "$(ctl a --json trust list | jget "[t['endpoints'] for t in d['trusted'] if t['node_id'] == '${ID[c]}'][0]")" = "[\"127.0.0.1:${PORT[c]}\"]" ] ||
  fail "A's trust store lacks C's endpoint"

# peer_has N M SOURCE: N's peers list shows an endpoint of M from SOURCE, and N sends to M.
peer_has() {
  ctl "$1" --json peers | jget "any(p['node_id'] == '${ID[$2]}' and p['unicast'] and any(e['source'] == '$3' and e['endpoint'] == '127.0.0.1:${PORT[$2]}' for e in p['endpoints']) for p in d['peers'])" |
    grep -qx True
}
# updates_from N M: updates N accepted from M.
updates_from() {
  ctl "$1" --json peers | jget "sum(p['updates_accepted'] for p in d['peers'] if p['node_id'] == '${ID[$2]}')"
}
found=0
for _ in $(seq 150); do
  if peer_has c a roaming && peer_has c b roaming && peer_has a b exchange && peer_has b a exchange; then
    found=1
    break
  fi
  sleep 0.2
done
if [ "$found" = 1 ]; then
  pass "C answers A and B where their datagrams came from (roaming); A and B found each other by C's peer exchange"
else
  for n in a b c; do echo "--- $n peers:" >&2; ctl "$n" peers >&2 || true; done
  fail "the endpoints were not all learned within 30 s"
fi
# The exchanged endpoints carry updates: A merges B's and B merges A's.
u0=$(updates_from a b)
sleep 2
u1=$(updates_from a b)
v1=$(updates_from b a)
if [ "$u1" -gt "$u0" ] && [ "$v1" -gt 0 ]; then
  pass "updates flow between A and B by the exchanged endpoints ($u0 -> $u1 at A, $v1 at B)"
else
  fail "no updates between A and B ($u0 -> $u1 at A, $v1 at B)"
fi

out=$(ctl a peers)
if grep -qF "127.0.0.1:${PORT[b]} (exchange)" <<<"$out" && grep -qF "*127.0.0.1:${PORT[c]} (uri)" <<<"$out"; then
  pass "dustctl peers shows each endpoint and its source"
else
  fail "dustctl peers does not show the endpoints and their sources: $out"
fi
accepted=$(ctl a metrics | awk '/^dust_peer_exchanges_received_total\{outcome="accepted"\}/ {print $2}')
[ "${accepted:-0}" -gt 0 ] || fail "metrics count no accepted peer exchange at A"
st=$(ctl a --json status)
[ "$(jget "d['network']['reach']['peer_exchange']['accepted'] > 0 and '127.0.0.1:${PORT[c]}' in d['network']['reach']['unicast']" <<<"$st")" = True ] ||
  fail "status network.reach: $(jget "d['network']['reach']" <<<"$st")"
pass "metrics and status count the peer exchanges ($accepted accepted at A)"

# A restart keeps the URI's endpoint (trust store version 2); what was learned is learned again
# (C goes on sending to A's address meanwhile, so A may already have C's roaming address).
kill -TERM "${PID[a]}"
wait "${PID[a]}" || fail "A did not stop cleanly"
unset "PID[a]"
[ "$(od -An -tu1 -j4 -N1 "$WORK/a/state/trust")" -eq 2 ] || fail "A's trust store is not version 2"
start a
if [ "$(ctl a --json peers | jget "'uri' in [e['source'] for p in d['peers'] if p['node_id'] == '${ID[c]}' for e in p['endpoints']]")" = True ]; then
  pass "the URI's endpoint survives a restart in the trust store (version 2)"
else
  fail "after a restart A has no URI endpoint for C"
fi

# A fleet, and introductions: D, E and F trust one fleet and hold its certificates (no pairing,
# no endpoint of their own). D and F are configured with E's address (`peer =`), nothing else;
# E trusts them by their certificates and answers where their datagrams came from. E's peer
# exchange then tells D where F is, but D does not trust F (F's certificate never reached it)
# and F sends only to peers it trusts: D sends its certificate there (an introduction), F
# trusts D and answers, and F's next announce brings D its certificate.
read -r 'PORT[d]' 'PORT[e]' 'PORT[f]' < <(free_ports)
FLEET=$("$CTL" fleet init --out "$WORK/fleet.key" --json | jget "d['fleet_id']")
start d --fleet "$FLEET" --peer "127.0.0.1:${PORT[e]}"
start e --fleet "$FLEET"
start f --fleet "$FLEET" --peer "127.0.0.1:${PORT[e]}"
for n in d e f; do
  ID[$n]=$(ctl "$n" --json trust show | jget "d['node_id']")
  "$CTL" fleet enroll --fleet-key "$WORK/fleet.key" "${ID[$n]}" --out "$WORK/$n.cert" >/dev/null
  ctl "$n" fleet install "$WORK/$n.cert" >/dev/null
done
# certified_unicast N M: N trusts M by certificate and sends to it by unicast.
certified_unicast() {
  ctl "$1" --json peers | jget "any(p['node_id'] == '${ID[$2]}' and p['trust'] == 'certificate' and p['unicast'] for p in d['peers'])" |
    grep -qx True
}
found=0
for _ in $(seq 150); do
  if certified_unicast d f && certified_unicast f d && certified_unicast e d && certified_unicast e f; then
    found=1
    break
  fi
  sleep 0.2
done
intro=$(($(ctl d --json status | jget "d['network']['reach']['peer_exchange']['introductions_sent']") +
  $(ctl f --json status | jget "d['network']['reach']['peer_exchange']['introductions_sent']")))
if [ "$found" = 1 ] && [ "$intro" -gt 0 ]; then
  pass "D and F, configured only with E, trust each other by certificate and send to each other ($intro introductions)"
else
  for n in d e f; do echo "--- $n peers:" >&2; ctl "$n" peers >&2 || true; done
  fail "D and F did not find each other within 30 s ($intro introductions)"
fi
u0=$(updates_from d f)
sleep 2
[ "$(updates_from d f)" -gt "$u0" ] || fail "D merges no updates of F ($u0 -> $(updates_from d f))"
finish reach
