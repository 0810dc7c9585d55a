#!/usr/bin/env bash
# End-to-end suite on a real network, in the style of WireGuard's netns.sh.
#
#   tests/e2e/netns.sh BUILD_DIR [SCENARIO...]      (root; all scenarios when none is named)
#
# Five hosts (more for intruders, a spy and an attacker), each a real dustd in its own network
# namespace with a veth into a bridge that lives in a namespace of its own, addresses
# 10.99.0.i/24, so UDP broadcast crosses real interfaces. Every host holds a private non-IID slice
# of data/mnist-10k (two classes each, `dust-bench split --split classes:2`); accuracy is always
# the daemon's own measurement (status model.test_accuracy) of its current model on the test
# set every data dir also holds and no host trains on (t10k-* files are never trained on). Every assertion reads the daemons' own status through dustctl --json.
# Assertions are about relative improvement (together vs. alone, before vs. after a fault), not
# about absolute accuracy, so they hold on a loaded 2-core machine and under ASan.
#
# Scenarios (in this order; later ones reuse the trained cluster of "learn"):
#   network    the harness itself: broadcast crosses the bridge, nft loss and partitions bite
#   learn      all hosts learn together and beat what each learned alone
#   kill9      a host killed with kill -9 and restarted keeps identity, trust and model; catches up
#   partition  two groups cut apart by nftables, then healed: converge again
#   trust      an untrusted host's updates are never merged; revoking a peer stops its updates
#   replay     a captured datagram altered in flight is rejected (bad signature) while the
#              genuine one is accepted once; replays of it, then and later, are rejected
#   flood      random bytes, validly shaped garbage, forged updates under a trusted sender's
#              key: learning and the control socket keep working
#   loss10     10% datagram loss on every host (nft numgen), from scratch: still converges
#   loss30     30% loss, the same
#   poison     a trusted peer sends sign-flipped updates; with a robust aggregator (clip)
#              the honest hosts still learn (dust-bench attacker)
#   poison-mean  the same with the plain mean, as a control (prints, asserts nothing; not run
#              unless named)
#   sleep      the demo's shape: three hosts (classes:4) at the learning rate's floor, host2
#              stopped with SIGSTOP for E2E_SLEEP_S (60) s, then continued: hosts 1 and 3 within 3
#              points of their accuracy before it left, while it is away and after; then a fourth
#              host (IID data) joins late: it starts at the fleet's rate (the floor), and the
#              settled hosts move by at most 2 points (issue 15's goals)
#   sites      two subnets joined by a router (no broadcast across), two hosts each, enrolled
#              by one fleet key, one endpoint per site: peer exchange finds the others (every
#              host trusts the three others by certificate and ends up with unicast to the two
#              across the router), the four learn within 3 points of the same four on one
#              subnet, and a host revoked (the list installed on one host of the other site) is
#              ignored by all within 3 send intervals, measured (issue 16). Alone:
#              tests/e2e/netns.sh BUILD sites, or E2E_SCENARIOS=sites ctest -R netns
#
# Every namespace, interface and process it creates is removed at exit, pass or fail. The time
# limits of learning periods can be scaled with E2E_TIME (e.g. 2 for a slow sanitizer build);
# waits that are windows of observation (a partition, a revocation, a flood) are not. Exit
# status 0 = all passed.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SCENARIO...]" >&2
  exit 1
fi
BUILD=$(cd "$1" && pwd)
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=netlib.sh
source "$HERE/netlib.sh"
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"

N=${E2E_HOSTS:-5}
TIME=${E2E_TIME:-1}            # multiplies every learning period
INTRUDER=$((N + 1))            # an unpaired dustd
SPY=$((N + 2))                 # python3 capture / replay / flood, no dustd
ATTACKER=$((N + 3))            # dust-bench attacker
ALL=$(seq -s ' ' 1 "$N")
UDPTOOL=(/usr/bin/python3 "$HERE/udptool.py")
SUITE_START=$(date +%s)

secs() { /usr/bin/python3 -c "print(max(1, round($1 * $TIME)))"; }

say() { printf '\n[%4ds] %s\n' $(($(date +%s) - SUITE_START)) "$*" >&2; }
pass() { printf '  [+] %s\n' "$*" >&2; }
FAILED=0
fail() {
  printf '  [FAIL] %s\n' "$*" >&2
  FAILED=1
  return 1
}
# check DESCRIPTION CMD...: runs CMD and reports it; a failure marks the suite failed (the
# scenario goes on, so one run shows every broken assertion).
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

cleanup() {
  local rc=$?
  set +e
  if [ -n "${CL_WORK:-}" ] && [ "$rc" != 0 ] || [ "$FAILED" = 1 ]; then
    for i in $(seq 1 "$ATTACKER") ${SITES:-} ${SITES_LAN:-}; do
      [ -f "$CL_WORK/h$i/dustd.log.cur" ] || [ -f "$CL_WORK/h$i/dustd.log" ] || continue
      cl_collect_log "$i"
      echo "--- last lines of host$i's log:" >&2
      tail -n 15 "$CL_WORK/h$i/dustd.log" >&2
    done
  fi
  net_cleanup
  [ -n "${CL_WORK:-}" ] && rm -rf "$CL_WORK"
  left=$(net_leftovers)
  if [ -n "$left" ]; then
    echo "netns.sh: namespaces left behind: $left" >&2
    rc=1
  fi
  exit "$rc"
}

# --- preconditions: fail (never skip) when the suite cannot run ------------------------------
if ! reason=$(net_check); then
  echo "netns.sh: FAIL: cannot create network namespaces here: $reason" >&2
  echo "netns.sh: the suite needs root with CAP_NET_ADMIN/CAP_SYS_ADMIN, iproute2 and nftables" >&2
  exit 1
fi
if ! cl_find_bins "$BUILD"; then
  echo "netns.sh: FAIL: dustd, dustctl or dust-bench missing in $BUILD (build them first)" >&2
  exit 1
fi
trap cleanup EXIT
trap "exit 130" INT TERM
CL_WORK=$(mktemp -d /tmp/dust-e2e.XXXXXX)
CL_DATA=$CL_WORK/data
CL_MODE=netns
# Short timers so the suite is short; training gets a fifth of a core per host (5 hosts share
# the 2 cores with the rest of the machine). The learning-rate schedule is compressed the same
# way: from 0.2 to its floor (0.02) over 250 steps, about 50 s at 5 rounds a second, instead of
# the default 1000 (docs/demo.md: before it settles, accuracy moves by 5-20 points between
# measurements; at the floor by about 1).
CL_DUSTD_ARGS=(--send-interval "${E2E_SEND_INTERVAL:-0.2}" --announce-interval 1 --eval-interval 2 --checkpoint-interval 2
  --cpu-budget 0.2 --log-level info --rescan-interval 0 --learning-rate-decay-steps "${E2E_DECAY_STEPS:-250}")

"$CL_BIN_BENCH" split --data "$REPO/data/mnist-10k" --out "$CL_DATA" --parts "$N" \
  --split classes:2 --seed 1 >"$CL_WORK/split.json" 2>/dev/null ||
  { echo "netns.sh: dust-bench split failed" >&2; exit 1; }
# The intruder and the attacker hold an IID sample of their own (not taken from any host).
"$CL_BIN_BENCH" split --data "$REPO/data/mnist-10k" --out "$CL_WORK/extra" --parts 2 --split iid \
  --seed 2 --limit 1000 >/dev/null 2>&1 || { echo "netns.sh: dust-bench split failed" >&2; exit 1; }
ln -s "$CL_WORK/extra/part-1" "$CL_DATA/part-$INTRUDER"
ln -s "$CL_WORK/extra/part-2" "$CL_DATA/part-$ATTACKER"
cl_link_test
net_setup "$ATTACKER"

# --- helpers over the whole cluster ----------------------------------------------------------
declare -A ALONE TOGETHER
evals() { # evals "1 2 3" ARRAY: accuracy of each host into ARRAY
  local -n _ev_out=$2
  local i
  for i in $1; do _ev_out[$i]=$(cl_eval "$i"); done
}
show() { # show "1 2 3" ARRAY [label]
  local -n _sh_a=$2
  local i line=""
  for i in $1; do line+=" h$i=$(fmt_pct "${_sh_a[$i]}")"; done
  printf '      %-9s%s\n' "${3:-}" "$line" >&2
}
mean() { # mean "1 2 3" ARRAY
  local -n _mn_a=$2
  local i vals=""
  for i in $1; do vals+="${_mn_a[$i]},"; done
  /usr/bin/python3 -c "v=[$vals]; print(sum(v)/len(v))"
}
spread() { # spread "1 2 3" ARRAY: max - min
  local -n _sp_a=$2
  local i vals=""
  for i in $1; do vals+="${_sp_a[$i]},"; done
  /usr/bin/python3 -c "v=[$vals]; print(max(v)-min(v))"
}
# Alone-accuracy bar: every host must beat what the best host reached alone by this margin.
MARGIN=${E2E_MARGIN:-0.2}
beats_alone() { # beats_alone "hosts" ARRAY: every host >= its own alone + MARGIN
  local -n _ba_a=$2
  local i
  for i in $1; do fcmp "${_ba_a[$i]}" '>=' "$(/usr/bin/python3 -c "print(${ALONE[$i]} + $MARGIN)")" || return 1; done
}
# learn_until "hosts" SECONDS ARRAY [MEAN] [AGREE]: polls every few seconds, printing
# accuracies, until every host beats alone by MARGIN, they agree within AGREE (default 0.15)
# and their mean reaches MEAN (default 0), or the time is up. ARRAY gets each host's mean over
# its last 3 measurements, so a transient (a restarted host merging its way back, a healed
# partition) must have passed for the hosts to agree.
learn_until() {
  local hosts=$1 limit=$2 agree=${5:-0.15} t0 i n=0
  local -n _lu_out=$3
  declare -A _lu_now _lu_hist
  t0=$(date +%s)
  while :; do
    sleep 4
    evals "$hosts" _lu_now
    show "$hosts" _lu_now "$(($(date +%s) - t0))s"
    n=$((n + 1))
    for i in $hosts; do
      _lu_hist[$i]="$(echo "${_lu_hist[$i]:-} ${_lu_now[$i]}" | awk '{for (k = (NF > 3 ? NF - 2 : 1); k <= NF; k++) printf "%s ", $k}')"
      _lu_out[$i]=$(echo "${_lu_hist[$i]}" | awk '{s = 0; for (k = 1; k <= NF; k++) s += $k; print s / NF}')
    done
    if [ "$n" -ge 3 ] && beats_alone "$hosts" "$3" && fcmp "$(spread "$hosts" "$3")" '<=' "$agree" &&
      fcmp "$(mean "$hosts" "$3")" '>=' "${4:-0}"; then break; fi
    [ $(($(date +%s) - t0)) -lt "$limit" ] || break
  done
  show "$hosts" "$3" "last 3"
}
stop_all() {
  local i rc=0
  for i in "${!CL_PID[@]}"; do cl_stop "$i" || rc=1; done
  return "$rc"
}
# A fresh cluster: every host's state wiped (new identities), started with ARGS, paired.
fresh_cluster() {
  local i
  stop_all
  for i in $ALL; do rm -rf "$(cl_dir "$i")/state"; done
  for i in $ALL; do cl_start "$i" "$@"; done
  cl_pair "$ALL"
}
steps() { cl_status "$1" | jget "d['model']['steps']"; }
# at_floor HOST: the host's learning rate has decayed to its floor (docs/engine.md).
at_floor() {
  cl_status "$1" | jget "d['training']['learning_rate'] <= d['training']['learning_rate_schedule']['floor'] * 1.000001" |
    grep -qx True
}
# wait_floor "hosts": waits (at most secs 120 in all) until every host's rate is at its floor.
wait_floor() {
  local waited=0 h
  for h in $1; do
    while ! at_floor "$h" && [ "$waited" -lt "$(secs 120)" ]; do sleep 2; waited=$((waited + 2)); done
  done
}
# settled "hosts" ARRAY: each host's mean over 3 measurements 2 s (one eval-interval) apart.
settled() {
  local -n _st_out=$2
  declare -A _st_now _st_sum
  local k i
  for k in 1 2 3; do
    [ "$k" = 1 ] || sleep 2
    evals "$1" _st_now
    for i in $1; do _st_sum[$i]=$(/usr/bin/python3 -c "print(${_st_sum[$i]:-0} + ${_st_now[$i]})"); done
  done
  for i in $1; do _st_out[$i]=$(/usr/bin/python3 -c "print(${_st_sum[$i]} / 3)"); done
  show "$1" _st_out "settled"
}
# lowest "hosts" SECONDS ARRAY: measures every 2 s for SECONDS, printing; ARRAY gets each host's
# lowest mean of 3 consecutive measurements, the statistic `settled` gives "before": a single
# measurement at the floor moves by about a point (docs/demo.md), so the lowest of some 20 single
# ones lies below their mean with nothing happening, while a real dip (a forgetting fleet, a
# joiner's pull) lasts far longer than 3 measurements. The lowest single one is printed.
lowest() {
  local -n _lo_out=$3
  declare -A _lo_now _lo_hist _lo_single
  local t0 i m
  t0=$(date +%s)
  for i in $1; do _lo_out[$i]=1 _lo_single[$i]=1; done
  while [ $(($(date +%s) - t0)) -lt "$2" ]; do
    sleep 2
    evals "$1" _lo_now
    show "$1" _lo_now "$(($(date +%s) - t0))s"
    for i in $1; do
      if fcmp "${_lo_now[$i]}" '<' "${_lo_single[$i]}"; then _lo_single[$i]=${_lo_now[$i]}; fi
      _lo_hist[$i]=$(echo "${_lo_hist[$i]:-} ${_lo_now[$i]}" | awk '{for (k = (NF > 3 ? NF - 2 : 1); k <= NF; k++) printf "%s ", $k}')
      [ "$(echo "${_lo_hist[$i]}" | wc -w)" -eq 3 ] || continue
      m=$(echo "${_lo_hist[$i]}" | awk '{print ($1 + $2 + $3) / 3}')
      if fcmp "$m" '<' "${_lo_out[$i]}"; then _lo_out[$i]=$m; fi
    done
  done
  show "$1" _lo_single "lowest 1"
  show "$1" _lo_out "lowest 3"
}
# within "hosts" BEFORE LOW POINTS: every host's LOW is at most POINTS below its BEFORE.
within() {
  local -n _wi_b=$2 _wi_l=$3
  local i
  for i in $1; do fcmp "${_wi_l[$i]}" '>=' "$(/usr/bin/python3 -c "print(${_wi_b[$i]} - $4 / 100)")" || return 1; done
}

# --- scenarios --------------------------------------------------------------------------------
scenario_network() {
  say "network: the harness (bridge, broadcast, nft loss and partition) before any daemon"
  local port=40999 got
  net_spawn 2 "$CL_WORK/count2" "${UDPTOOL[@]}" count --port $port --timeout 5 --expect 400
  local p2=$NET_LAST_PID
  net_spawn 3 "$CL_WORK/count3" "${UDPTOOL[@]}" count --port $port --timeout 5 --expect 400
  local p3=$NET_LAST_PID
  net_loss 3 30 $port
  sleep 0.5
  net_exec 1 "${UDPTOOL[@]}" burst --to "$(net_bcast)" --port $port --count 400 --interval 0.002 >/dev/null
  wait "$p2" "$p3" || true
  net_forget "$p2"
  net_forget "$p3"
  got=$(jget "d['received']" <"$CL_WORK/count2")
  check "broadcast from host1 reaches host2 across the bridge ($got/400)" [ "$got" -ge 396 ]
  got=$(jget "d['received']" <"$CL_WORK/count3")
  check "30% nft loss on host3 drops about 30% ($got/400 arrived)" [ "$got" -ge 220 -a "$got" -le 340 ]
  net_rules_clear 3
  net_partition "1" "2"
  net_spawn 2 "$CL_WORK/count2" "${UDPTOOL[@]}" count --port $port --timeout 2
  p2=$NET_LAST_PID
  sleep 0.3
  net_exec 1 "${UDPTOOL[@]}" burst --to "$(net_bcast)" --port $port --count 50 >/dev/null
  wait "$p2" || true
  net_forget "$p2"
  got=$(jget "d['received']" <"$CL_WORK/count2")
  check "partition: host2 hears nothing from host1 ($got/50)" [ "$got" -eq 0 ]
  net_rules_clear 1
  net_rules_clear 2
}

LEARNED=0
scenario_learn() {
  say "learn: $N hosts, two classes each, alone first, then paired"
  local i
  stop_all
  for i in $ALL; do cl_start "$i"; done
  sleep "$(secs 8)"
  evals "$ALL" ALONE
  show "$ALL" ALONE alone
  cl_pair "$ALL"
  for i in $ALL; do
    check "host$i trusts the $((N - 1)) others" [ "$(cl_status "$i" | jget "d['peers']['trusted']")" -eq $((N - 1)) ]
  done
  learn_until "$ALL" "$(secs 60)" TOGETHER
  for i in $ALL; do
    check "host$i: together $(fmt_pct "${TOGETHER[$i]}") >= alone $(fmt_pct "${ALONE[$i]}") + $MARGIN" \
      fcmp "${TOGETHER[$i]}" '>=' "$(/usr/bin/python3 -c "print(${ALONE[$i]} + $MARGIN)")"
    check "host$i merged updates from its peers" \
      [ "$(cl_status "$i" | jget "d['network']['updates_accepted']")" -gt 0 ]
  done
  LEARNED=1
}
need_learned() { [ "$LEARNED" = 1 ] || scenario_learn; }

scenario_kill9() {
  need_learned
  say "kill9: host3 killed with SIGKILL, restarted"
  local before after id_before id_after trust_before trust_after ckpt steps_after t
  # Wait for a checkpoint that holds real training, as an operator's daemon would have.
  for ((t = 0; t < 50; t++)); do
    ckpt=$(cl_status 3 | jget "(d.get('checkpoint') or {}).get('steps') or 0")
    [ "$ckpt" -gt 0 ] && break
    sleep 0.2
  done
  id_before=$(cl_node_id 3)
  trust_before=$(cl_ctl 3 --json trust list | jget "sorted(p['node_id'] for p in d['trusted'])")
  ckpt=$(cl_status 3 | jget "(d.get('checkpoint') or {}).get('steps') or 0")
  before=$(cl_eval 3)
  cl_stop 3 KILL
  sleep 3
  cl_restart 3
  id_after=$(cl_node_id 3)
  trust_after=$(cl_ctl 3 --json trust list | jget "sorted(p['node_id'] for p in d['trusted'])")
  steps_after=$(steps 3)
  after=$(cl_eval 3)
  check "host3 kept its identity ($id_after)" [ "$id_before" = "$id_after" ]
  check "host3 kept its trust store ($N - 1 peers)" [ "$trust_before" = "$trust_after" ]
  check "host3's model came back from its checkpoint (steps $steps_after >= checkpointed $ckpt > 0)" \
    [ "$ckpt" -gt 0 -a "$steps_after" -ge "$ckpt" ]
  check "host3's restored model is the trained one (accuracy $(fmt_pct "$after"), before kill $(fmt_pct "$before"), alone $(fmt_pct "${ALONE[3]}"))" \
    fcmp "$after" '>=' "$(/usr/bin/python3 -c "print(${ALONE[3]} + $MARGIN)")"
  declare -A acc
  # Rejoining shakes every host for a few seconds (docs/demo.md, "kill -9"); judged on the mean
  # of the last 3 measurements once the hosts agree within 10 points again, or after 30 s.
  learn_until "$ALL" "$(secs 30)" acc 0 0.10
  local others
  others=$(mean "$(echo "$ALL" | tr ' ' '\n' | grep -vx 3 | tr '\n' ' ')" acc)
  check "host3 caught up: $(fmt_pct "${acc[3]}") within 10 points of the others' $(fmt_pct "$others")" \
    fcmp "${acc[3]}" '>=' "$(/usr/bin/python3 -c "print($others - 0.10)")"
  check "host3 merges updates again after the restart" \
    [ "$(cl_status 3 | jget "d['network']['updates_accepted']")" -gt 0 ]
}

scenario_partition() {
  need_learned
  local a="1 2" b
  b=$(seq -s ' ' 3 "$N")
  say "partition: {$a} | {$b} by nftables, then healed"
  net_partition "$a" "$b"
  sleep 2  # what was in flight is delivered or dropped
  local from3_before from3_after from1_before from1_after
  from3_before=$(cl_updates_from 1 3)
  from1_before=$(cl_updates_from 4 1)
  sleep 10
  from3_after=$(cl_updates_from 1 3)
  from1_after=$(cl_updates_from 4 1)
  check "partitioned: host1 merged nothing from host3 ($from3_before -> $from3_after)" [ "$from3_before" = "$from3_after" ]
  check "partitioned: host4 merged nothing from host1 ($from1_before -> $from1_after)" [ "$from1_before" = "$from1_after" ]
  declare -A split_acc
  evals "$ALL" split_acc
  show "$ALL" split_acc split
  local i
  for i in $ALL; do net_rules_clear "$i"; done
  declare -A healed
  learn_until "$ALL" "$(secs 40)" healed
  check "healed: host1 merges host3's updates again" [ "$(cl_updates_from 1 3)" -gt "$from3_after" ]
  check "healed: every host beats alone by $MARGIN again" beats_alone "$ALL" healed
  check "healed: hosts agree within 15 points (spread $(fmt_pct "$(spread "$ALL" healed)"))" \
    fcmp "$(spread "$ALL" healed)" '<=' 0.15
}

scenario_trust() {
  need_learned
  say "trust: an unpaired intruder; then host1 revokes host2"
  local i d0 d1
  declare -A untrusted_before
  for i in $ALL; do untrusted_before[$i]=$(cl_drop "$i" untrusted); done
  # The intruder trusts everyone (so it is a full participant from its side), nobody trusts it.
  cl_start "$INTRUDER"
  for i in $ALL; do cl_trust "$INTRUDER" "$i"; done
  sleep 6
  local intruder_id
  intruder_id=$(cl_node_id "$INTRUDER")
  check "the intruder is sending (datagrams out: $(cl_status "$INTRUDER" | jget "d['network']['datagrams_out']"))" \
    [ "$(cl_status "$INTRUDER" | jget "d['network']['datagrams_out']")" -gt 0 ]
  for i in $ALL; do
    d1=$(cl_drop "$i" untrusted)
    check "host$i counted the intruder's datagrams as untrusted (${untrusted_before[$i]} -> $d1)" \
      [ "$d1" -gt "${untrusted_before[$i]}" ]
    check "host$i merged no update from the intruder" \
      [ "$(cl_ctl "$i" --json peers | jget "sum(p['updates_accepted'] or 0 for p in d['peers'] if p['node_id'] == '$intruder_id')")" -eq 0 ]
  done
  cl_stop "$INTRUDER"

  local id2 before after others_before others_after
  id2=$(cl_node_id 2)
  others_before=$(cl_updates_from 3 2)
  cl_ctl 1 trust remove "$id2" >/dev/null
  before=$(cl_updates_from 1 2)
  d0=$(cl_drop 1 untrusted)
  sleep 5
  after=$(cl_updates_from 1 2)
  d1=$(cl_drop 1 untrusted)
  others_after=$(cl_updates_from 3 2)
  check "revoked: host1 merged nothing from host2 after trust remove ($before -> $after)" [ "$before" = "$after" ]
  check "revoked: host2's datagrams now count as untrusted at host1 ($d0 -> $d1)" [ "$d1" -gt "$d0" ]
  check "host2 kept sending meanwhile (host3 merged $others_before -> $others_after)" [ "$others_after" -gt "$others_before" ]
  cl_trust 1 2
}

scenario_replay() {
  need_learned
  say "replay: host$SPY captures host4's updates while host1 cannot hear host4; it then delivers an altered copy, the genuine one, and replays"
  local cap=$CL_WORK/capture.txt out i victim=1 sender=4
  # host1 drops everything from host4's address: the spy (another address) is host1's only path
  # to these datagrams, as a man in the middle would be.
  net_rules_clear "$victim"
  net_rules_table "$victim"
  net_exec "$victim" nft add rule inet dust_e2e input ip saddr "$(net_ip "$sender")" drop
  sleep 1
  out=$(net_exec "$SPY" "${UDPTOOL[@]}" capture --port "$CL_PORT" --count 2 --min-size 200 \
    --source "$(net_ip "$sender")" --timeout 10 --out "$cap") ||
    { fail "captured no update datagram from host$sender (spy saw: $out)"; net_rules_clear "$victim"; return 1; }
  pass "captured 2 update datagrams of host$sender: $out"
  local bs0 bs1 up0 up1 up2 rp0 rp1
  bs0=$(cl_drop "$victim" bad_signature)
  up0=$(cl_updates_from "$victim" "$sender")
  # Altered in flight: one bit of the payload flipped (offset -100: before the signature).
  net_exec "$SPY" "${UDPTOOL[@]}" send --to "$(net_ip "$victim")" --port "$CL_PORT" -i "$cap" --index 0 \
    --flip -100 --count 3 --interval 0.05 >/dev/null
  sleep 1
  bs1=$(cl_drop "$victim" bad_signature)
  up1=$(cl_updates_from "$victim" "$sender")
  check "host$victim rejected the 3 altered copies as bad_signature ($bs0 -> $bs1)" [ "$bs1" -ge $((bs0 + 3)) ]
  check "host$victim merged none of them ($up0 -> $up1 updates from host$sender)" [ "$up1" = "$up0" ]
  # The genuine datagram, delivered late by the spy: accepted once (the alteration alone made
  # the difference), then every later copy is a replay.
  rp0=$(cl_status "$victim" | jget "d['network']['drops'].get('replay', 0) + d['network']['drops'].get('stale', 0)")
  net_exec "$SPY" "${UDPTOOL[@]}" send --to "$(net_ip "$victim")" --port "$CL_PORT" -i "$cap" --index 0 >/dev/null
  sleep 1
  up2=$(cl_updates_from "$victim" "$sender")
  check "host$victim accepted the genuine datagram once ($up1 -> $up2 updates from host$sender)" [ "$up2" -eq $((up1 + 1)) ]
  net_exec "$SPY" "${UDPTOOL[@]}" send --to "$(net_ip "$victim")" --port "$CL_PORT" -i "$cap" --index 0 \
    --count 3 --interval 0.05 >/dev/null
  sleep 1
  rp1=$(cl_status "$victim" | jget "d['network']['drops'].get('replay', 0) + d['network']['drops'].get('stale', 0)")
  check "host$victim rejected its 3 replays (replay+stale $rp0 -> $rp1)" [ "$rp1" -ge $((rp0 + 3)) ]
  check "host$victim merged no replay ($(cl_updates_from "$victim" "$sender") updates from host$sender)" \
    [ "$(cl_updates_from "$victim" "$sender")" -eq "$up2" ]
  net_rules_clear "$victim"
  # Replayed later to everyone else, who had received the original long before.
  declare -A rpb
  for i in $ALL; do
    rpb[$i]=$(cl_status "$i" | jget "d['network']['drops'].get('replay', 0) + d['network']['drops'].get('stale', 0)")
  done
  sleep 2
  net_exec "$SPY" "${UDPTOOL[@]}" send --to "$(net_bcast)" --port "$CL_PORT" -i "$cap" --index 1 --count 3 --interval 0.05 >/dev/null
  sleep 1
  for i in $ALL; do
    # The sender counts its own datagrams as 'own'; the victim never had this one (it was cut
    # off from host$sender), so for it the first copy is a late delivery, not a replay.
    [ "$i" = "$sender" ] || [ "$i" = "$victim" ] && continue
    local rp
    rp=$(cl_status "$i" | jget "d['network']['drops'].get('replay', 0) + d['network']['drops'].get('stale', 0)")
    check "host$i rejected 3 late replays of host$sender's datagram (replay+stale ${rpb[$i]} -> $rp)" [ "$rp" -ge $((rpb[$i] + 3)) ]
  done
}

scenario_flood() {
  need_learned
  # The 8-point bound below holds at the learning rate's floor: wait for it (a scenario order
  # or E2E_DECAY_STEPS that reaches the flood earlier must not make the check flaky).
  local h
  wait_floor "$ALL"
  for h in $ALL; do check "host$h's learning rate is at its floor before the flood" at_floor "$h"; done
  say "flood: host$SPY sends random bytes, validly shaped garbage, then forged updates of a trusted sender, as fast as it can"
  local cap=$CL_WORK/capture.txt i mode t0 t1 worst=0 ms failures=0 calls=0
  [ -s "$cap" ] || net_exec "$SPY" "${UDPTOOL[@]}" capture --port "$CL_PORT" --count 5 --min-size 200 --timeout 10 --out "$cap" >/dev/null
  declare -A acc0 steps0 in0 acc1
  evals "$ALL" acc0
  for i in $ALL; do
    steps0[$i]=$(steps "$i")
    in0[$i]=$(cl_status "$i" | jget "d['network']['datagrams_in']")
  done
  for mode in random shaped forged; do
    net_spawn "$SPY" "$CL_WORK/flood-$mode.json" "${UDPTOOL[@]}" flood --to "$(net_bcast)" \
      --port "$CL_PORT" --mode "$mode" -i "$cap" --seconds 6 --keep 40
    local fpid=$NET_LAST_PID
    while kill -0 "$fpid" 2>/dev/null; do
      for i in $ALL; do
        t0=$(date +%s%N)
        if cl_ctl "$i" --timeout 5000 status >/dev/null 2>&1; then :; else failures=$((failures + 1)); fi
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        calls=$((calls + 1))
        [ "$ms" -gt "$worst" ] && worst=$ms
      done
      sleep 0.2
    done
    wait "$fpid" || true
    net_forget "$fpid"
    pass "flood $mode: $(cat "$CL_WORK/flood-$mode.json")"
  done
  check "control socket answered all $calls status requests during the floods (slowest ${worst} ms, dustctl start-up included)" \
    [ "$failures" -eq 0 -a "$worst" -lt 2000 ]
  evals "$ALL" acc1
  show "$ALL" acc1 after
  for i in $ALL; do
    local s d
    s=$(steps "$i")
    d=$(cl_status "$i" | jget "d['network']['datagrams_in']")
    check "host$i kept training during the flood (steps ${steps0[$i]} -> $s)" [ "$s" -gt "${steps0[$i]}" ]
    check "host$i received the flood ($((d - in0[$i])) datagrams) and counted drops: $(cl_status "$i" | jget "d['network']['drops']")" \
      [ $((d - in0[$i])) -gt 1000 ]
  done
  # At the learning rate's floor (checked above) a daemon's accuracy moves by about a point
  # between measurements (docs/demo.md), so the cluster's mean may fall 8 points at most.
  local verdict="after the floods: mean accuracy $(fmt_pct "$(mean "$ALL" acc1)") (before $(fmt_pct "$(mean "$ALL" acc0)")), every host still beats alone by $MARGIN"
  if [ "${E2E_JUDGE_LEARNING:-1}" = 0 ]; then
    # A sanitizer build (tests/integration/netns_test.sh): the floods are here for the parsers
    # and the drop counts; the accuracy bound is judged by the normal build's run, where timing
    # is a user's. Under ASan the mean fell 7.6 to 14.5 points in five runs (four past the bound).
    say "  (not judged under sanitizers) $verdict"
    return 0
  fi
  check "$verdict" \
    fcmp "$(mean "$ALL" acc1)" '>=' "$(/usr/bin/python3 -c "print($(mean "$ALL" acc0) - 0.08)")" && beats_alone "$ALL" acc1
}

scenario_loss() {
  local pct=$1 i
  say "loss$pct: fresh cluster, $pct% of datagrams dropped at random on every host"
  [ -n "${ALONE[1]:-}" ] || { stop_all; for i in $ALL; do cl_start "$i"; done; sleep "$(secs 8)"; evals "$ALL" ALONE; show "$ALL" ALONE alone; }
  stop_all
  for i in $ALL; do net_loss "$i" "$pct" "$CL_PORT"; done
  fresh_cluster
  declare -A acc
  # Agreement within 15 points at 10% loss, 20 at 30%: with the decaying rate the hosts came
  # within 8.7-14.1 points at 30% loss in four runs (docs/demo.md), single snapshots still
  # moving 10-15 points there; 20 leaves CI a margin. (A constant rate left 22-32 points.)
  local agree=0.15
  [ "$pct" -ge 30 ] && agree=0.20
  # More time under heavier loss: a lost datagram only delays mixing, so convergence is slower.
  learn_until "$ALL" "$(secs $((60 + 2 * pct)))" acc 0 "$agree"
  local dropped
  for i in $ALL; do
    dropped=$(net_exec "$i" nft list table inet dust_e2e | awk '/packets/ {for (k = 1; k <= NF; k++) if ($k == "packets") print $(k + 1)}')
    check "host$i: nft dropped $dropped datagrams; accuracy $(fmt_pct "${acc[$i]}") >= alone $(fmt_pct "${ALONE[$i]}") + $MARGIN" \
      [ "${dropped:-0}" -gt 0 ] && check "host$i converged under $pct% loss" beats_alone "$i" acc
  done
  check "hosts agree within $(fmt_pct "$agree") under $pct% loss (spread $(fmt_pct "$(spread "$ALL" acc)"))" \
    fcmp "$(spread "$ALL" acc)" '<=' "$agree"
  for i in $ALL; do net_rules_clear "$i"; done
  LEARNED=0  # new identities: later scenarios need a fresh learn
}

scenario_poison() {
  local aggregator=${1:-${E2E_POISON_AGGREGATOR:-clip}} i
  say "poison: a trusted peer sends sign-flipped updates; honest hosts aggregate with $aggregator"
  # The bar: what the same hosts reached without an attacker (scenario learn), less 15 points.
  [ -n "${TOGETHER[1]:-}" ] || scenario_learn
  local clean bar
  clean=$(mean "$ALL" TOGETHER)
  bar=$(/usr/bin/python3 -c "print($clean - 0.15)")
  stop_all
  fresh_cluster --aggregator "$aggregator"
  local adir=$CL_WORK/h$ATTACKER
  mkdir -p "$adir"
  net_spawn "$ATTACKER" "$adir/attacker.log" "$CL_BIN_BENCH" attacker --data "$CL_DATA/part-$ATTACKER" --to "$(net_bcast)" \
    --port "$CL_PORT" --attack signflip --send-interval "${E2E_SEND_INTERVAL:-0.2}" --key "$adir/key" --uri-out "$adir/uri"
  local apid=$NET_LAST_PID t
  for ((t = 0; t < 100; t++)); do [ -s "$adir/uri" ] && break; sleep 0.1; done
  [ -s "$adir/uri" ] || { fail "dust-bench attacker did not start: $(tail -n 5 "$adir/attacker.log")"; return 1; }
  for i in $ALL; do cl_ctl "$i" trust add --yes "$(cat "$adir/uri")" >/dev/null; done
  declare -A acc
  learn_until "$ALL" "$(secs 60)" acc "$bar"
  local aid
  aid=$(awk '$1 == "attacker" {print $2; exit}' "$adir/attacker.log")
  local seen accepted rejected
  for i in $ALL; do
    seen=$(cl_ctl "$i" --json peers | jget "next(([p['updates_accepted'] or 0, p['updates_rejected'] or 0] for p in d['peers'] if p['node_id'] == '$aid'), [0, 0])")
    accepted=$(echo "$seen" | jget "d[0]")
    rejected=$(echo "$seen" | jget "d[1]")
    if [ "$aggregator" = mean ]; then
      pass "control (mean): host$i accepted $accepted poisoned updates (rejected $rejected), accuracy $(fmt_pct "${acc[$i]}")"
      continue
    fi
    check "host$i accepted $accepted of the attacker's poisoned updates (rejected $rejected): they reached the aggregator" \
      [ "$accepted" -gt 0 ]
    check "host$i learned despite the attacker: $(fmt_pct "${acc[$i]}") >= alone $(fmt_pct "${ALONE[$i]}") + $MARGIN" \
      beats_alone "$i" acc
  done
  if [ "$aggregator" = mean ]; then
    pass "control (mean): honest mean $(fmt_pct "$(mean "$ALL" acc)"), without attacker $(fmt_pct "$clean")"
  else
    check "honest hosts' mean $(fmt_pct "$(mean "$ALL" acc)") >= $(fmt_pct "$clean") reached without attacker - 15 points" \
      fcmp "$(mean "$ALL" acc)" '>=' "$bar"
  fi
  net_stop "$apid"
  pass "attacker: $(tail -n 1 "$adir/attacker.log")"
  rm -f "$adir/key" "$adir/uri"
  LEARNED=0
}

scenario_sleep() {
  local away=${E2E_SLEEP_S:-60} three="1 2 3" i t0 pid
  say "sleep: three hosts at the floor (the demo's split), host2 stopped (SIGSTOP) for $away s, then continued; then host4 joins late"
  t0=$(date +%s)
  stop_all
  # The demo's data: three hosts with four digits each; the late joiner holds an IID sample of
  # the same size, so it brings no new digit, only its steps and its model.
  local data3=$CL_WORK/data3 saved=$CL_DATA
  if [ ! -d "$data3" ]; then
    if ! "$CL_BIN_BENCH" split --data "$REPO/data/mnist-10k" --out "$data3" --parts 3 \
      --split classes:4 --seed 1 >/dev/null 2>&1 ||
      ! "$CL_BIN_BENCH" split --data "$REPO/data/mnist-10k" --out "$CL_WORK/iid3" --parts 3 \
        --split iid --seed 3 >/dev/null 2>&1; then
      fail "sleep: dust-bench split failed"
      return 1
    fi
    ln -s "$CL_WORK/iid3/part-1" "$data3/part-4"
    CL_DATA=$data3 cl_link_test
  fi
  CL_DATA=$data3
  for i in 1 2 3 4; do rm -rf "$(cl_dir "$i")/state"; done
  for i in $three; do cl_start "$i"; done
  cl_pair "$three"
  wait_floor "$three"
  for i in $three; do check "host$i's learning rate is at its floor" at_floor "$i"; done
  declare -A before low after
  settled "$three" before
  pid=${CL_PID[2]}
  check "host2's process is dustd itself (SIGSTOP stops the daemon)" [ "$(cat "/proc/$pid/comm")" = dustd ]
  kill -STOP "$pid"
  lowest "1 3" "$away" low
  kill -CONT "$pid"
  sleep 10
  settled "$three" after
  for i in 1 3; do
    pass "host$i: before host2 left $(fmt_pct "${before[$i]}"), lowest while away $(fmt_pct "${low[$i]}") (mean of 3), after $(fmt_pct "${after[$i]}")"
  done
  check "while host2 was away, hosts 1 and 3 stayed within 3 points of before" within "1 3" before low 3
  check "after host2 came back, hosts 1 and 3 are within 3 points of before" within "1 3" before after 3

  say "sleep: host4 joins the settled three with a fresh state"
  # Settled again first: host2 is still catching up for a while after its return (each try is
  # a mean of 3 measurements; at the floor hosts agree within 1-2 points, docs/demo.md).
  declare -A before4 low4
  for ((i = 0; i < 10; i++)); do
    settled "$three" before4
    fcmp "$(spread "$three" before4)" '<=' 0.02 && break
  done
  cl_start 4
  for i in $three; do
    cl_trust 4 "$i"
    cl_trust "$i" 4
  done
  lowest "$three" "$(secs 40)" low4
  for i in $three; do
    pass "host$i: before host4 joined $(fmt_pct "${before4[$i]}"), lowest after $(fmt_pct "${low4[$i]}") (mean of 3)"
  done
  check "host4 trains at the fleet's rate, the floor (position $(cl_status 4 | jget "d['training']['learning_rate_schedule']['position']"), own steps $(steps 4))" at_floor 4
  check "the late joiner moved the settled hosts by at most 2 points" within "$three" before4 low4 2
  stop_all
  CL_DATA=$saved
  LEARNED=0 # other hosts, other data: later scenarios need a fresh learn
  pass "sleep took $(($(date +%s) - t0)) s"
}

# --- sites: beyond one broadcast domain ------------------------------------------------------
# Two subnets, 10.98.1.0/24 (hosts 11, 12) and 10.98.2.0/24 (hosts 13, 14), each a bridge of
# its own, joined by a router namespace (ip_forward on; broadcast never crosses a router). The
# four are enrolled by one fleet key made here (`dustctl fleet init`, then one `fleet enroll` +
# `fleet install` each, `fleet = ID`; no `trust add` among them). Each site is configured with
# a single endpoint on the other side (`peer =`: site A's hosts send to host 13, site B's to
# host 11), and hosts 11 and 13 are enrolled with that endpoint in their certificates. Against
# them, the same four (the same data: parts 1-4) on one subnet, 10.98.3.0/24 (hosts 21-24),
# paired, trained at the same time with the same settings. Asserted: every host trusts the
# three others by certificate, knows an endpoint of each and sends by unicast to the two across
# the router (12 and 14, which nobody configured, found by peer exchange and introductions);
# the sites' mean test accuracy is within SITES_POINTS (3) points of the one subnet's; then a
# revocation of host 12, installed on host 14 only, makes the three others count its updates as
# `revoked` within 3 send intervals (measured), and they go on merging each other's.
SITES_A="11 12"
SITES_B="13 14"
SITES="$SITES_A $SITES_B"
SITES_LAN="21 22 23 24"
SITES_POINTS=${E2E_SITES_POINTS:-0.03}
SITES_REVOKED=12   # a host of site A without an endpoint of its own
SITES_LIST_ON=14   # the one host of site B the revocation list is installed on
declare -A SITES_EP=([11]=10.98.1.11 [13]=10.98.2.13)
sites_net() {
  local i
  net_add_lan siteA
  net_add_lan siteB
  net_add_lan onelan
  net_add_router rt "$(net_lan_ns siteA)" 10.98.1.254/24 "$(net_lan_ns siteB)" 10.98.2.254/24
  for i in $SITES_A; do net_add_host "$i" "$(net_lan_ns siteA)" "10.98.1.$i/24" 10.98.1.254; done
  for i in $SITES_B; do net_add_host "$i" "$(net_lan_ns siteB)" "10.98.2.$i/24" 10.98.2.254; done
  for i in $SITES_LAN; do net_add_host "$i" "$(net_lan_ns onelan)" "10.98.3.$i/24"; done
  # Host 1x and 2x hold the data of host x.
  for i in 1 2 3 4; do
    ln -sfn "$CL_DATA/part-$i" "$CL_DATA/part-1$i"
    ln -sfn "$CL_DATA/part-$i" "$CL_DATA/part-2$i"
  done
}
# sites_fleet_init: the operator's fleet key ($CL_WORK/fleet.key), its ID in SITES_FLEET.
sites_fleet_init() {
  rm -f "$CL_WORK/fleet.key"
  SITES_FLEET=$("$CL_BIN_CTL" fleet init --out "$CL_WORK/fleet.key" --json | jget "d['fleet_id']")
}
# sites_trust "hosts": one `fleet enroll` (from the host's pairing URI, with its endpoint if it
# has one) and one `fleet install` per host: N operator actions for N hosts.
sites_trust() {
  local i uri
  local -a ep
  for i in $1; do
    uri=$(cl_ctl "$i" --json trust show | jget "d['pairing_uri']")
    ep=()
    [ -z "${SITES_EP[$i]:-}" ] || ep=(--endpoint "${SITES_EP[$i]}:$CL_PORT")
    "$CL_BIN_CTL" fleet enroll --fleet-key "$CL_WORK/fleet.key" "$uri" "${ep[@]}" \
      --out "$CL_WORK/h$i.cert" >/dev/null
    cl_ctl "$i" fleet install "$CL_WORK/h$i.cert" >/dev/null
  done
}
# sites_peer H J: H's entry for J in its peers list (JSON).
sites_peer() {
  local id
  id=$(cl_node_id "$2")
  cl_ctl "$1" --json peers | jget "([p for p in d['peers'] if p['node_id'] == '$id'] or [None])[0]"
}
# sites_found: every host trusts each other host by certificate and knows an endpoint of it,
# and sends by unicast to those across the router (not to its own site's: broadcast reaches
# them).
sites_found() {
  local h j p want
  for h in $SITES; do
    for j in $SITES; do
      [ "$h" != "$j" ] || continue
      p=$(sites_peer "$h" "$j")
      want=True
      case " $SITES_A " in *" $h "*) case " $SITES_A " in *" $j "*) want=False ;; esac ;; esac
      case " $SITES_B " in *" $h "*) case " $SITES_B " in *" $j "*) want=False ;; esac ;; esac
      [ "$(jget "d is not None and d['trust'] == 'certificate' and len(d['endpoints']) > 0 and d['unicast'] == $want" <<<"$p")" = True ] || return 1
    done
  done
}
# sites_revoke: revokes SITES_REVOKED with the fleet key, installs the list on SITES_LIST_ON
# only, and measures how long after the install each other host first counts a `revoked` drop
# (each polled every 20 ms by a thread of its own; dustctl talks to the control sockets). Prints JSON
# {"host": seconds or null}.
sites_revoke() {
  local others=$1
  "$CL_BIN_CTL" fleet revoke --fleet-key "$CL_WORK/fleet.key" "$(cl_node_id "$SITES_REVOKED")" \
    --out "$CL_WORK/revocation1" >/dev/null
  # shellcheck disable=SC2086 # one argument per host
  /usr/bin/python3 - "$CL_BIN_CTL" "$CL_WORK" "$SITES_LIST_ON" "$CL_WORK/revocation1" $others <<'PY'
import json, subprocess, sys, threading, time
ctl, work, on, lst, hosts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
def revoked(h):
    out = subprocess.run([ctl, "--socket", f"{work}/h{h}/ctl.sock", "--json", "status"],
                         capture_output=True, check=True).stdout
    return json.loads(out)["network"]["drops"].get("revoked", 0)
before = {h: revoked(h) for h in hosts}
# The clock starts when the install has returned, i.e. when the list is in force on its first
# device; each other host is polled by a thread of its own, so one slow dustctl call (a loaded
# machine) does not delay noticing another host.
subprocess.run([ctl, "--socket", f"{work}/h{on}/ctl.sock", "fleet", "install", lst],
               capture_output=True, check=True)
t0 = time.monotonic()
took = {h: None for h in hosts}
def watch(h):
    while time.monotonic() - t0 < 10:
        if revoked(h) > before[h]:
            took[h] = round(time.monotonic() - t0, 2)
            return
        time.sleep(0.02)
threads = [threading.Thread(target=watch, args=(h,)) for h in hosts]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(took))
PY
}
scenario_sites() {
  say "sites: two subnets joined by a router, two hosts each, one fleet key, one endpoint per site; against the same four hosts on one subnet"
  local i t0 found=0 learned
  declare -A SITE_ACC LAN_ACC
  stop_all
  LEARNED=0
  sites_net
  sites_fleet_init
  local args=(--peer-exchange-interval 1 --peer-exchange-ttl 30)
  local a=("${args[@]}" --fleet "$SITES_FLEET" --peer 10.98.2.13:"$CL_PORT")
  local b=("${args[@]}" --fleet "$SITES_FLEET" --peer 10.98.1.11:"$CL_PORT")
  cl_start 11 "${a[@]}" --endpoint 10.98.1.11:"$CL_PORT"
  cl_start 12 "${a[@]}"
  cl_start 13 "${b[@]}" --endpoint 10.98.2.13:"$CL_PORT"
  cl_start 14 "${b[@]}"
  for i in $SITES_LAN; do cl_start "$i" "${args[@]}"; done
  sites_trust "$SITES"
  cl_pair "$SITES_LAN"
  t0=$(date +%s)
  for ((i = 0; i < 60; i++)); do
    if sites_found; then found=1; break; fi
    sleep 1
  done
  check "sites: every host trusts all three others by certificate; each sends by unicast to the two across the router ($(($(date +%s) - t0)) s)" [ "$found" = 1 ]
  for i in $SITES; do
    check "host$i: 3 peers by certificate, none paired" \
      [ "$(cl_status "$i" | jget "(d['peers']['certified'], d['peers']['paired'])")" = "(3, 0)" ]
  done
  learned=0
  for i in 12 14; do
    learned=$((learned + $(cl_status "$i" | jget "d['network']['reach']['peer_exchange']['entries_learned']")))
  done
  # 12 and 14 never hear each other's certificates unless one introduces itself to the other
  # at the address a peer exchange gave it (docs/operations.md, "Across sites").
  local intro=0
  for i in 12 14; do
    intro=$((intro + $(cl_status "$i" | jget "d['network']['reach']['peer_exchange']['introductions_sent']")))
  done
  check "sites: hosts 12 and 14, configured with no endpoint, learned $learned from peer exchanges and sent $intro introductions" \
    [ "$learned" -gt 0 -a "$intro" -gt 0 ]
  for i in 12 14; do say "host$i's peers:"; cl_ctl "$i" peers >&2; done
  # Both groups started together; let them learn, then compare (means of 3 measurements).
  sleep "$(secs 60)"
  settled "$SITES" SITE_ACC
  settled "$SITES_LAN" LAN_ACC
  local ms ml
  ms=$(mean "$SITES" SITE_ACC)
  ml=$(mean "$SITES_LAN" LAN_ACC)
  check "sites: two subnets $(fmt_pct "$ms") within $(fmt_pct "$SITES_POINTS") of one subnet $(fmt_pct "$ml") (gap $(fmt_pct "$(/usr/bin/python3 -c "print(abs($ms - $ml))")"))" \
    fcmp "$(/usr/bin/python3 -c "print(abs($ms - $ml))")" '<=' "$SITES_POINTS"
  for i in $SITES; do
    check "host$i merged updates from its peers" [ "$(cl_status "$i" | jget "d['network']['updates_accepted']")" -gt 0 ]
  done

  say "sites: host$SITES_REVOKED revoked with the fleet key, the list installed on host$SITES_LIST_ON only"
  local rest took bound worst h
  rest=$(echo "$SITES" | tr ' ' '\n' | grep -vx "$SITES_REVOKED" | tr '\n' ' ')
  took=$(sites_revoke "$rest")
  bound=$(/usr/bin/python3 -c "print(round(3 * ${E2E_SEND_INTERVAL:-0.2}, 3))")
  worst=$(jget "'none' if None in d.values() else max(d.values())" <<<"$took")
  check "sites: every other host counts host$SITES_REVOKED's updates as revoked, the last after $worst s (bound: 3 send intervals, $bound s; per host, s: $took)" \
    fcmp "$([ "$worst" = none ] && echo inf || echo "$worst")" '<=' "$bound"
  declare -A from_revoked from_rest drops
  for h in $rest; do
    drops[$h]=$(cl_drop "$h" revoked)
    from_revoked[$h]=$(cl_updates_from "$h" "$SITES_REVOKED")
    from_rest[$h]=$(cl_ctl "$h" --json peers | jget "sum(p['updates_accepted'] or 0 for p in d['peers'])")
  done
  sleep 3
  for h in $rest; do
    check "host$h merged nothing of host$SITES_REVOKED's since (${from_revoked[$h]} -> $(cl_updates_from "$h" "$SITES_REVOKED")) and went on dropping its updates as revoked (${drops[$h]} -> $(cl_drop "$h" revoked)); it trusts 2 peers by certificate now" \
      [ "$(cl_updates_from "$h" "$SITES_REVOKED")" = "${from_revoked[$h]}" -a \
        "$(cl_drop "$h" revoked)" -gt "${drops[$h]}" -a \
        "$(cl_status "$h" | jget "d['peers']['certified']")" = 2 ]
    check "host$h goes on merging the two others' updates ($(cl_ctl "$h" --json peers | jget "sum(p['updates_accepted'] or 0 for p in d['peers'])") > ${from_rest[$h]})" \
      [ "$(cl_ctl "$h" --json peers | jget "sum(p['updates_accepted'] or 0 for p in d['peers'])")" -gt "${from_rest[$h]}" ]
  done
  pass "sites took $(($(date +%s) - t0)) s after enrolment"
  stop_all
}

# --- run ------------------------------------------------------------------------------------
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(network learn kill9 partition trust replay flood loss10 loss30 poison sleep sites)
for s in "${scenarios[@]}"; do
  case "$s" in
    network | learn | kill9 | partition | trust | replay | flood | poison | sleep | sites) "scenario_$s" || true ;;
    poison-mean) scenario_poison mean || true ;;  # control, not in the default run: no assertion
    loss10) scenario_loss 10 || true ;;
    loss30) scenario_loss 30 || true ;;
    *) echo "netns.sh: unknown scenario '$s'" >&2; exit 1 ;;
  esac
done
stop_all || fail "a daemon did not stop cleanly (exit status != 0 on SIGTERM)"
cl_check_logs || fail "a sanitizer reported an error (see above)"
say "done in $(($(date +%s) - SUITE_START)) s"
if [ "$FAILED" = 1 ]; then
  echo "netns.sh: FAILED" >&2
  exit 1
fi
echo "netns.sh: all scenarios passed" >&2
