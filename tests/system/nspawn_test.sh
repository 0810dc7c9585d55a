#!/usr/bin/env bash
# The Debian package under a real systemd: installs neural-dust with apt into a minimal Debian 12
# system, boots it with systemd as PID 1 (systemd-nspawn --boot) and does what an operator does
# (start, dustctl as root / a dust member / anyone else, reload, watchdog, stop, remove, purge);
# then boots two such devices on a private LAN and pairs them with dustctl, as the README's demo
# does, and checks that they learn together what neither learns alone.
#
#   tests/system/nspawn_test.sh BUILD_DIR               (root; CTest: system.nspawn)
#   tests/system/nspawn_test.sh BUILD_DIR --root-only   (phase 2 alone: makes the cached root;
#                                                        CTest system.nspawn_root, a fixture that
#                                                        downloads while other tests run)
#
# Phases, each timed:
#   1. package: cpack -G DEB in a scratch directory (the package's contents, control files and
#      maintainer scripts are checked by tests/integration/systemd_test.sh; not repeated here).
#   2. root: debootstrap --variant=minbase bookworm plus systemd and systemd-sysv, cached in
#      BUILD_DIR/nspawn-cache/ (a second run downloads nothing: the root, and apt's .deb cache
#      for the package's dependencies, are kept there; delete the directory to start afresh).
#   3. install: `apt-get install ./neural-dust_*.deb` in a copy of that root (systemd-nspawn,
#      not booted), so Depends are resolved from Debian's mirror as a user's apt does.
#   4. one device: boots a copy with its own network namespace (loopback only) and runs the
#      checks from the host with nsenter (like `machinectl shell`, without machined or D-Bus).
#   5. two devices: two copies, each booted in a network namespace of tests/e2e/netlib.sh (eth0
#      on a bridge of their own; nothing is added to this machine's network), each given a
#      non-IID half of data/mnist-10k (dust-bench split --split classes:5), paired with
#      `dustctl trust show` / `dustctl trust add`, the package's configuration (UDP broadcast) with the learning-rate
#      schedule compressed into the 90 s (see there).
# Everything is removed at exit, pass or fail: containers, namespaces, the scratch directory.
#
# Environment: DUST_DEBIAN_MIRROR (default http://deb.debian.org/debian); DUST_NSPAWN_DECAY_STEPS
# (default 135; empty: the package's learning-rate schedule, see phase 5).
set -euo pipefail

build=$(cd "${1:?usage: nspawn_test.sh BUILD_DIR [--root-only]}" && pwd)
root_only=false
case "${2:-}" in
  "") ;;
  --root-only) root_only=true ;;
  *) echo "usage: nspawn_test.sh BUILD_DIR [--root-only]" >&2; exit 2 ;;
esac
src=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/checks.sh
source "$src/tests/lib/checks.sh"
# Network namespaces (net_setup, net_spawn, net_cleanup) and the cluster helpers: JSON fields
# (jget), float comparison (fcmp), percentages (fmt_pct), dust-bench baselines (cl_bench_train).
# shellcheck source=tests/e2e/netlib.sh
source "$src/tests/e2e/netlib.sh"
# shellcheck source=tests/e2e/cluster.sh
source "$src/tests/e2e/cluster.sh"

# Like the netns suite, this fails rather than skips without what it needs: a skipped test
# would let CI pass without ever booting the package.
if [ "$(id -u)" -ne 0 ]; then
  give_up "must run as root (debootstrap, systemd-nspawn, network namespaces), uid $(id -u)"
fi
if ! need debootstrap || ! need systemd-nspawn || ! need cpack || ! need dpkg-shlibdeps; then
  "$src/scripts/deps" full # debootstrap, systemd-container, dpkg-dev
fi
if why=$(net_check); then :; else
  give_up "network namespaces unavailable: $why"
fi

cl_find_bins "$build" || give_up "$build has no dustd, dustctl and dust-bench: build it first"
CL_WORK="" CL_DATA="" # set once the scratch directory exists

mirror=${DUST_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || give_up "$build/CMakeCache.txt has no project version"
arch=$(dpkg --print-architecture)
debname=neural-dust_${version}_${arch}.deb
cache=$build/nspawn-cache
mkdir -p "$cache/archives/partial"
# One run per build tree at a time: the cache is shared.
exec 9>"$cache/lock"
flock 9
# On disk, not a tmpfs: three roots of ~250 MB each.
work=$(mktemp -d /var/tmp/dust-nspawn.XXXXXX)
CL_WORK=$work CL_DATA=$work/slices

# --- bookkeeping: phases, containers, cleanup ------------------------------------------------
PHASE="" PHASE_START=0 PHASE_TIMES=()
phase() {
  [ -z "$PHASE" ] || PHASE_TIMES+=("$(printf '%-50s %4d s' "$PHASE" $((SECONDS - PHASE_START)))")
  PHASE=$1 PHASE_START=$SECONDS
  [ -z "$PHASE" ] || echo "=== $PHASE ($(date -u +%H:%M:%S))"
}
# container name -> systemd-nspawn PID, the container's PID 1 and that PID's start time
declare -A CT_NSPAWN CT_LEADER CT_LEADER_START
# start_time PID: field 22 of /proc/PID/stat (the comm field before it has no spaces here)
start_time() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null || true; }

cleanup() {
  local rc=$? name
  set +e
  trap - EXIT
  phase "6. cleanup"
  local t0=$SECONDS
  for name in "${!CT_NSPAWN[@]}"; do ct_poweroff "$name"; done
  local t1=$SECONDS
  net_cleanup
  local t2=$SECONDS
  rm -rf "$work"
  echo "  cleanup: containers $((t1 - t0)) s, namespaces $((t2 - t1)) s, files $((SECONDS - t2)) s"
  phase ""
  echo "phase times:"
  printf '  %s\n' "${PHASE_TIMES[@]}"
  printf '  %-50s %4d s\n' total "$SECONDS"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ct NAME CMD...: runs CMD inside the booted container NAME as root, in all its namespaces, with
# a clean environment (as `machinectl shell` would).
ct() {
  local name=$1
  shift
  nsenter --target "${CT_LEADER[$name]}" --all env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# ct_boot NAME ROOT NETNS: boots ROOT with systemd as PID 1 in network namespace NETNS (0: a
# private one with loopback only) and waits until the boot has finished.
ct_boot() {
  local name=$1 root=$2 ns=$3 net t state=""
  if [ "$ns" = 0 ]; then net=(--private-network); else net=(--network-namespace-path="/run/netns/$(net_ns "$ns")"); fi
  # --register=no --keep-unit: no machined, no D-Bus, no systemd needed on this machine.
  # --console=read-only: the boot messages go to a file.
  net_spawn 0 "$work/$name.console" systemd-nspawn --quiet --boot --register=no --keep-unit \
    --console=read-only --directory="$root" --machine="$name" "${net[@]}"
  CT_NSPAWN[$name]=$NET_LAST_PID
  for ((t = 0; t < 100; t++)); do
    CT_LEADER[$name]=$(pgrep -P "${CT_NSPAWN[$name]}" -x systemd || true)
    [ -z "${CT_LEADER[$name]}" ] || break
    sleep 0.1
  done
  [ -n "${CT_LEADER[$name]}" ] || { tail -20 "$work/$name.console" >&2; give_up "$name: no systemd in the container"; }
  CT_LEADER_START[$name]=$(start_time "${CT_LEADER[$name]}")
  for ((t = 0; t < 600; t++)); do
    state=$(ct "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    sleep 0.1
  done
  case "$state" in
    running) pass "$name: booted, systemd is-system-running: running" ;;
    degraded) fail "$name: booted degraded: $(ct "$name" systemctl --failed --no-legend)" ;;
    *) tail -20 "$work/$name.console" >&2; give_up "$name: not booted after 60 s (state '$state')" ;;
  esac
}

# ct_poweroff NAME: an orderly shutdown (systemd-nspawn turns SIGTERM into a poweroff of the
# container), waited for.
ct_poweroff() {
  local name=$1
  [ -n "${CT_NSPAWN[$name]:-}" ] || return 0
  # (|| true: net_stop's last kill fails when the process is gone, which is not an error here)
  net_stop "${CT_NSPAWN[$name]}" TERM || true
  # A container whose systemd-nspawn had to be killed could leave its PID 1 behind (the same
  # process: same start time, not a recycled PID).
  if [ "$(start_time "${CT_LEADER[$name]}")" = "${CT_LEADER_START[$name]}" ]; then
    kill -KILL "${CT_LEADER[$name]}" 2>/dev/null || true
  fi
  unset "CT_NSPAWN[$name]" "CT_LEADER[$name]" "CT_LEADER_START[$name]"
}

# Status of dustd in container NAME as JSON (dustctl --json status as root), and one field.
ct_status() { ct "$1" dustctl --json status; }
ct_field() { ct_status "$1" | jget "$2"; }
ct_show() { ct "$1" systemctl show -P "$2" dustd; } # a property of dustd.service
steps_above() { [ "$(ct_field "$1" "d['model']['steps']")" -gt "$2" ]; } # steps_above NAME N
# logged NAME CURSOR PATTERN: dustd's journal after CURSOR has a line matching PATTERN.
logged() { ct_journal "$1" "$2" -u dustd -o cat | grep -q -- "$3"; }
# wait_for SECONDS CMD...: polls CMD every 0.5 s until it succeeds; fails after SECONDS.
wait_for() {
  local limit=$1 t
  shift
  for ((t = 0; t < limit * 2; t++)); do
    "$@" && return 0
    sleep 0.5
  done
  return 1
}
# The journal of container NAME from CURSOR (journalctl's own cursor, from ct_cursor: the last
# entry before what is looked for) on, with extra journalctl arguments (a unit, a match).
# --cursor, not --after-cursor: with a match, systemd 252's journalctl --after-cursor also
# skips the first matching entry when the cursor's own entry does not match.
ct_cursor() { ct "$1" journalctl --quiet --no-pager -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }
ct_journal() {
  local name=$1 cursor=$2
  shift 2
  ct "$name" journalctl --no-pager -o short-monotonic --cursor="$cursor" "$@"
}

# ct_give_data NAME: what docs/operations.md ("Pair two devices", step 1) tells the operator to
# do with training files, here the ones the host put in the container's /root/slice.
ct_give_data() {
  ct "$1" sh -ec 'install -d -o root -g dust -m 0750 /var/lib/dust/data
    cp /root/slice/* /var/lib/dust/data/
    chmod 0640 /var/lib/dust/data/* && chgrp dust /var/lib/dust/data/*
    dustctl rescan >/dev/null'
}

# --- 1. the package ---------------------------------------------------------------------------
if ! $root_only; then
  phase "1. package (cpack -G DEB)"
  mkdir -p "$work/deb"
  (cd "$work/deb" && cpack -G DEB -B "$work/deb" --config "$build/CPackConfig.cmake") >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; give_up "cpack -G DEB failed"; }
  [ -f "$work/deb/$debname" ] || give_up "cpack made no $debname"
  pass "cpack: $debname, $(stat -c %s "$work/deb/$debname") bytes; Depends: $(dpkg-deb -f "$work/deb/$debname" Depends)"
fi

# --- 2. the minimal Debian root (cached) -------------------------------------------------------
phase "2. Debian $suite root (debootstrap)"
# What the cached root was made from: another recipe makes another root.
base_key="debootstrap --variant=minbase --include=systemd,systemd-sysv $suite $mirror"
base=$cache/base
if [ -f "$base/.dust-base-key" ] && [ "$(cat "$base/.dust-base-key")" = "$base_key" ]; then
  pass "cached root $base ($(du -sh "$base" | cut -f1)), nothing downloaded"
else
  rm -rf "$base" "$base.tmp"
  # systemd-sysv: /sbin/init is systemd. No recommends: what a minimal device has.
  if ! debootstrap --variant=minbase --include=systemd,systemd-sysv "$suite" "$base.tmp" "$mirror" \
    >"$work/debootstrap.log" 2>&1; then
    tail -30 "$work/debootstrap.log" >&2
    give_up "debootstrap failed (log above)"
  fi
  downloaded=$(du -sh "$base.tmp/var/cache/apt/archives" | cut -f1)
  # The .debs debootstrap downloaded are installed: keep the cache small.
  find "$base.tmp/var/cache/apt/archives" -name '*.deb' -delete
  echo "$base_key" >"$base.tmp/.dust-base-key"
  mv "$base.tmp" "$base"
  pass "debootstrap: $suite minbase + systemd, $downloaded of packages, root $(du -sh "$base" | cut -f1)"
fi

if $root_only; then
  phase ""
  finish "systemd-nspawn root"
  exit 0
fi

# --- 3. install the package with apt -----------------------------------------------------------
phase "3. apt-get install ./$debname"
pkgroot=$work/pkgroot
cp -a --reflink=auto "$base" "$pkgroot"
cp "$work/deb/$debname" "$pkgroot/root/"
# Not booted, with this machine's network, for the mirror; apt's .deb cache is the one in
# BUILD_DIR, so the dependencies are downloaded once. (The root's package lists are those of its
# debootstrap: the cached .debs stay valid for them after a point release.) Depends are resolved
# as any apt does; --no-install-recommends leaves out what the libraries only recommend (with
# them: 115 packages, 56 MB to download, 207 MB installed; without: 19, 3.4 MB, 14 MB), which
# the package cannot need, since a Depends-only system must work.
in_pkgroot() {
  systemd-nspawn --quiet --register=no --keep-unit --directory="$pkgroot" --pipe \
    --bind="$cache/archives:/var/cache/apt/archives" --chdir=/root \
    env DEBIAN_FRONTEND=noninteractive "$@" >>"$work/apt.log" 2>&1
}
install_pkg() { in_pkgroot apt-get install -y --no-install-recommends "./$debname"; }
# A cached root's package lists may name versions the mirror has dropped since (a point
# release) and the .deb cache lacks (a new dependency): then once more with fresh lists.
if ! install_pkg && ! { echo "(apt-get update, then again)" && in_pkgroot apt-get update && install_pkg; }; then
  tail -30 "$work/apt.log" >&2
  give_up "apt-get install ./$debname failed in the root"
fi
got=$(sed -n 's/^Need to get \(.*\) of archives\.$/\1/p' "$work/apt.log" | tail -1)
pass "apt-get install ./$debname: $(grep -c '^Setting up ' "$work/apt.log") packages set up, downloaded ${got:-nothing}"
rm "$pkgroot/root/$debname"
# Each container is a copy of this root: its own identity (made at dustd's first start), machine
# ID and host name (dustd's display name).
make_device() { # make_device NAME PART: a copy of pkgroot named NAME with slice PART in /root/slice
  local name=$1 part=$2 root=$work/$1
  cp -a --reflink=auto "$pkgroot" "$root"
  systemd-id128 new >"$root/etc/machine-id"
  echo "$name" >"$root/etc/hostname"
  mkdir -p "$root/root/slice"
  cp -L "$work/slices/part-$part"/train-* "$work/slices/test"/t10k-* "$root/root/slice/"
}
# The bundled data dealt out to two devices, five digit classes each; the test set, held by
# no device's training data, sits beside each slice (test_accuracy in dustctl status).
"$CL_BIN_BENCH" split --data "$src/data/mnist-10k" --out "$work/slices" --parts 2 \
  --split classes:5 >"$work/split.json" 2>/dev/null || give_up "dust-bench split failed"

# --- 4. one device under systemd ---------------------------------------------------------------
phase "4. one device: systemd checks"
make_device dust-one 1
ct_boot dust-one "$work/dust-one" 0
ct1() { ct dust-one "$@"; }
before=$failures
[ "$(ct1 systemctl is-enabled dustd)" = enabled ] || fail "dustd.service is not enabled after installation"
[ "$(ct1 systemctl is-active dustd)" = active ] || fail "dustd did not start at boot: $(ct1 systemctl status dustd)"
pass_if "$before" "the package's postinst enabled dustd; it started at boot"
hash0=$(ct_field dust-one "d['model']['content_hash']")
steps0=$(ct_field dust-one "d['model']['steps']")
[ "$steps0" = 0 ] || fail "a fresh device's model has $steps0 steps"

# Start: Type=notify, so `systemctl start` returns once dustd said READY=1, and only then is
# the unit active (a daemon that never notifies stays "activating" until TimeoutStartSec).
before=$failures
ct1 systemctl stop dustd
cur=$(ct_cursor dust-one)
ct1 systemctl start dustd || fail "systemctl start dustd failed"
[ "$(ct_show dust-one Type)" = notify ] || fail "dustd.service is not Type=notify"
[ "$(ct1 systemctl is-active dustd)" = active ] || fail "after systemctl start, dustd is $(ct1 systemctl is-active dustd)"
ct_journal dust-one "$cur" _PID=1 | grep -q 'Started dustd.service' || fail "the journal has no 'Started dustd.service'"
pass_if "$before" "systemctl start dustd: active (Type=notify; status '$(ct_show dust-one StatusText)')"

# dustctl: root, a member of the dust group, someone else.
ct1 useradd --no-create-home --groups dust alice
ct1 useradd --no-create-home bob
before=$failures
ct1 dustctl status >"$work/root-status.out" 2>&1 || fail "dustctl status as root failed: $(cat "$work/root-status.out")"
ct1 runuser -u alice -- dustctl status >"$work/alice.out" 2>&1 || fail "dustctl status as alice (group dust) failed: $(cat "$work/alice.out")"
grep -q '^node: ' "$work/alice.out" || fail "dustctl status as alice printed no node: $(cat "$work/alice.out")"
rc=0
ct1 runuser -u bob -- dustctl status >"$work/bob.out" 2>&1 || rc=$?
# /run/dust is 0750 dust:dust, so bob cannot even reach the socket: dustctl's "cannot talk to
# dustd" (exit 2), with the reason and the hint about the dust group.
[ "$rc" = 2 ] || fail "dustctl status as bob (not in dust) exited $rc, want 2: $(cat "$work/bob.out")"
if ! { grep -q 'permission denied' "$work/bob.out" && grep -q 'are you in the dust group' "$work/bob.out"; }; then
  fail "dustctl refused bob without a clear message: $(cat "$work/bob.out")"
fi
pass_if "$before" "dustctl status: root and alice (group dust) served; bob refused, exit 2: $(tr '\n' ' ' <"$work/bob.out")"

# Training data, as the operator guide says; dustd trains on it.
ct_give_data dust-one
wait_for 60 steps_above dust-one 0 || fail "dustd did not train on the data it was given"

# Reload: SIGHUP through ExecReload, the same process.
before=$failures
pid=$(ct_show dust-one MainPID)
cur=$(ct_cursor dust-one)
ct1 systemctl reload dustd || fail "systemctl reload dustd failed: $(ct_journal dust-one "$cur" -u dustd)"
[ "$(ct_show dust-one MainPID)" = "$pid" ] || fail "reload changed MainPID $pid -> $(ct_show dust-one MainPID)"
[ "$(ct1 systemctl is-active dustd)" = active ] || fail "dustd is not active after the reload"
ct_journal dust-one "$cur" _PID=1 | grep -q 'Reloaded dustd.service' || fail "systemd logged no 'Reloaded dustd.service'"
wait_for 5 logged dust-one "$cur" 'SIGHUP: reloading' || fail "dustd did not log the reload"
pass_if "$before" "systemctl reload dustd: MainPID $pid kept; dustd logged: $(ct_journal dust-one "$cur" -u dustd -o cat | grep -m1 'SIGHUP')"

# Watchdog: a drop-in with a short WatchdogSec (applies at the next start), a frozen daemon.
#
# "The same model": training is paused and the data taken away (a restart always trains), but
# the model still moves at every round (0.5 s): the progress that waits in the accumulator is
# merged a part at a time. So the comparison is made at the checkpoint's round: status, then
# `dustctl checkpoint`, then status again, at the same round and hash, give the checkpoint's
# (round, hash); a loop inside the container asks the restarted dustd for its status as soon as
# it answers, which is before its first round in most runs; when that answer is at the
# checkpoint's round (the one dustd logs restoring), its hash must be the checkpoint's. An
# attempt whose first answer came after a round proves nothing about the hash and is repeated
# (at most 5 attempts; 1 or 2 in the runs measured); the restart itself is checked every time.
before=$failures
ct1 mkdir -p /etc/systemd/system/dustd.service.d
printf '[Service]\nWatchdogSec=4s\n' | ct1 tee /etc/systemd/system/dustd.service.d/50-test-watchdog.conf >/dev/null
ct1 systemctl daemon-reload
ct1 systemctl restart dustd
[ "$(ct_show dust-one WatchdogUSec)" = 4s ] || fail "the drop-in did not set WatchdogSec=4s: $(ct_show dust-one WatchdogUSec)"
# (The model itself moves at merges, once per round: training only fills the accumulator.)
model_moved() { [ "$(ct_field dust-one "d['model']['content_hash']")" != "$hash0" ]; }
wait_for 60 model_moved || fail "dustd's model did not move from the initial one"
ct1 dustctl pause >/dev/null
ct1 sh -ec 'mkdir /root/held && mv /var/lib/dust/data/* /root/held/'
r1=/root/pre1.json r2=/root/pre2.json rf=/root/first.json # in the container; the host reads $work/dust-one/root/
wd_from=$(date +%s%6N)
compared=""
for attempt in 1 2 3 4 5; do
  for _ in 1 2 3 4 5; do
    ct1 sh -ec "dustctl --json status >$r1; dustctl checkpoint >/dev/null; dustctl --json status >$r2"
    same_round=$(/usr/bin/python3 -c "import json; a, b = (json.load(open('$work/dust-one' + f)) for f in ('$r1', '$r2')); print(a['model']['rounds'] == b['model']['rounds'] and a['model']['content_hash'] == b['model']['content_hash'])")
    [ "$same_round" = True ] && break
  done
  [ "$same_round" = True ] || { fail "no checkpoint without a round in between in 5 tries"; break; }
  node=$(jget "d['node_id']" <"$work/dust-one$r2")
  hash=$(jget "d['model']['content_hash']" <"$work/dust-one$r2")
  rounds=$(jget "d['model']['rounds']" <"$work/dust-one$r2")
  steps=$(jget "d['model']['steps']" <"$work/dust-one$r2")
  [ "$hash" != "$hash0" ] || fail "the checkpointed model is still the initial model: nothing to compare"
  pid=$(ct_show dust-one MainPID)
  restarts=$(ct_show dust-one NRestarts)
  cur=$(ct_cursor dust-one)
  ct1 sh -c "kill -STOP $pid" # the shell's kill: procps is not installed
  # dustctl --timeout: the frozen dustd accepts connections but never answers.
  if ! ct1 sh -c "end=\$((\$(date +%s) + 60)); while [ \$(date +%s) -lt \$end ]; do
      dustctl --timeout 100 --json status >$rf 2>/dev/null && ! grep -q '\"pid\": $pid,' $rf && exit 0
    done; exit 1"; then
    ct1 sh -c "kill -CONT $pid" || true
    fail "watchdog: dustd frozen with SIGSTOP was not restarted within 60 s: $(ct_journal dust-one "$cur" _PID=1 -o cat)"
    break
  fi
  wait_for 10 logged dust-one "$cur" 'model restored from checkpoint' || true
  restored=$(ct_journal dust-one "$cur" -u dustd -o cat | sed -n 's/^model restored from checkpoint: \([0-9]*\) steps, \([0-9]*\) rounds$/\1 \2/p' | tail -1)
  ct_journal dust-one "$cur" _PID=1 -o cat >"$work/watchdog.log"
  grep -q 'dustd.service: Watchdog timeout' "$work/watchdog.log" || fail "the journal shows no watchdog timeout: $(cat "$work/watchdog.log")"
  [ "$(ct_show dust-one NRestarts)" -gt "$restarts" ] || fail "NRestarts did not grow"
  [ "$(ct_show dust-one MainPID)" != "$pid" ] || fail "MainPID is still the frozen $pid"
  [ "$(jget "d['node_id']" <"$work/dust-one$rf")" = "$node" ] || fail "node ID changed: $node -> $(jget "d['node_id']" <"$work/dust-one$rf")"
  [ "$restored" = "$steps $rounds" ] || fail "dustd restored '${restored:-nothing}' (steps rounds), the checkpoint had '$steps $rounds'"
  if [ "$(jget "d['model']['rounds']" <"$work/dust-one$rf")" = "$rounds" ]; then
    [ "$(jget "d['model']['content_hash']" <"$work/dust-one$rf")" = "$hash" ] ||
      fail "the restored model (round $rounds) is not the checkpointed one: hash $(jget "d['model']['content_hash']" <"$work/dust-one$rf") != $hash"
    compared=$attempt
    break
  fi
  echo "  (attempt $attempt: the restarted dustd first answered after round $rounds; again)"
done
wd_to=$(date +%s%6N)
[ -n "$compared" ] || fail "watchdog: in 5 attempts the restarted dustd never answered before its first round"
pass_if "$before" "watchdog (attempt $compared): frozen PID $pid restarted as $(ct_show dust-one MainPID) after '$(grep -m1 'Watchdog timeout' "$work/watchdog.log")'; same node ${node:0:15}..., restored checkpoint: $steps steps, round $rounds, hash ${hash:0:16} (initial ${hash0:0:16})"
ct1 rm -r /etc/systemd/system/dustd.service.d
ct1 systemctl daemon-reload

# Stop writes a checkpoint: give the data back, train past the last checkpoint, stop.
before=$failures
ct1 sh -ec 'mv /root/held/* /var/lib/dust/data/'
ct1 dustctl rescan >/dev/null
ckpt() { ct1 sh -c 'stat -c %.Y /var/lib/dust/checkpoint; sha256sum </var/lib/dust/checkpoint'; }
trained_past_checkpoint() { ct_status dust-one | jget "d['model']['steps'] > d['checkpoint']['steps']" | grep -qx True; }
wait_for 60 trained_past_checkpoint || fail "dustd did not train past its checkpoint"
ckpt_before=$(ckpt)
cur=$(ct_cursor dust-one)
ct1 systemctl stop dustd || fail "systemctl stop dustd failed"
[ "$(ct_show dust-one Result)" = success ] || fail "dustd stopped with result $(ct_show dust-one Result)"
ckpt_after=$(ckpt)
[ "$(head -1 <<<"$ckpt_before")" != "$(head -1 <<<"$ckpt_after")" ] || fail "systemctl stop did not rewrite the checkpoint (mtime $(head -1 <<<"$ckpt_after"))"
[ "$(tail -1 <<<"$ckpt_before")" != "$(tail -1 <<<"$ckpt_after")" ] || fail "the checkpoint written at stop has the old contents"
if ! { logged dust-one "$cur" 'SIGTERM: stopping (checkpoint, then exit)' && logged dust-one "$cur" '^stopped'; }; then
  fail "dustd's journal lacks the stop: $(ct_journal dust-one "$cur" -u dustd -o cat)"
fi
if logged dust-one "$cur" '^checkpoint: '; then fail "dustd logged a checkpoint error at stop"; fi
pass_if "$before" "systemctl stop dustd: checkpoint rewritten (mtime $(head -1 <<<"$ckpt_before") -> $(head -1 <<<"$ckpt_after"), contents changed), result success"

# No warning from systemd about the unit in this boot, but for the watchdog test's own.
before=$failures
ct1 journalctl -b -p warning -o json --no-pager >"$work/warnings.json"
/usr/bin/python3 - "$work/warnings.json" "$wd_from" "${wd_to:-$wd_from}" >"$work/warnings.txt" <<'PY'
import json, sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for line in open(path):
    e = json.loads(line)
    msg = e.get("MESSAGE", "")
    if not isinstance(msg, str):
        msg = bytes(msg).decode(errors="replace")
    # systemd's messages (PID 1) about dustd.service: its unit field, or the unit file's name.
    if e.get("_PID") != "1" or not (e.get("UNIT") == "dustd.service" or "dustd" in msg):
        continue
    t = int(e["__REALTIME_TIMESTAMP"])
    print(("(watchdog test) " if lo <= t <= hi else "") + f"<{e.get('PRIORITY')}> {msg}")
PY
if grep -v '^(watchdog test) ' "$work/warnings.txt" >&2; then fail "systemd warned about dustd.service (above)"; fi
pass_if "$before" "journalctl -b -p warning: no warning from systemd about dustd.service ($(grep -c '^(watchdog test) ' "$work/warnings.txt") during the watchdog test, expected)"
sed 's/^/  /' "$work/warnings.txt"

# Remove and purge, checked against what docs/operations.md ("Upgrade") says: "Removing the
# package (apt remove neural-dust) stops dustd and keeps /var/lib/dust and /etc/dust/dustd.conf.
# apt purge neural-dust deletes /etc/dust and everything dustd created in /var/lib/dust
# (identity key, trust store, checkpoints, counters), but keeps the training files you put into
# /var/lib/dust/data"; the dust user and group stay. Also gone: the binaries, the unit and its
# enablement (no mask left behind).
before=$failures
ct1 systemctl start dustd
ct1 env DEBIAN_FRONTEND=noninteractive apt-get remove -y neural-dust >"$work/remove.log" 2>&1 ||
  fail "apt-get remove neural-dust failed: $(tail -5 "$work/remove.log")"
# (no pgrep: procps is not installed)
# shellcheck disable=SC2016 # for the container's shell
if ct1 sh -c 'for p in /proc/[0-9]*; do [ "$(cat "$p/comm" 2>/dev/null)" != dustd ] || exit 0; done; exit 1'; then
  fail "apt-get remove left dustd running"
fi
for f in /var/lib/dust/identity.key /var/lib/dust/checkpoint /var/lib/dust/data/train-images-idx3-ubyte /etc/dust/dustd.conf; do
  ct1 test -f "$f" || fail "apt-get remove deleted $f (only purge may)"
done
for f in /usr/sbin/dustd /usr/bin/dustctl /lib/systemd/system/dustd.service; do
  if ct1 test -e "$f"; then fail "apt-get remove left $f"; fi
done
pass_if "$before" "apt-get remove: dustd stopped, binaries and unit gone, /var/lib/dust (identity, checkpoint, data) and /etc/dust/dustd.conf kept"
before=$failures
ct1 env DEBIAN_FRONTEND=noninteractive apt-get purge -y neural-dust >"$work/purge.log" 2>&1 ||
  fail "apt-get purge neural-dust failed: $(tail -5 "$work/purge.log")"
for f in /var/lib/dust/identity.key /var/lib/dust/checkpoint /etc/dust /etc/systemd/system/dustd.service \
  /etc/systemd/system/multi-user.target.wants/dustd.service /run/dust; do
  if ct1 test -e "$f" || ct1 test -L "$f"; then fail "apt-get purge left $f"; fi
done
ct1 test -f /var/lib/dust/data/train-images-idx3-ubyte ||
  fail "apt-get purge deleted the training data in /var/lib/dust/data"
[ "$(ct1 ls -A /var/lib/dust)" = data ] || fail "apt-get purge left more than data/ in /var/lib/dust: $(ct1 ls -A /var/lib/dust | tr '\n' ' ')"
grep -q "kept /var/lib/dust/data" "$work/purge.log" || fail "apt-get purge did not say it kept /var/lib/dust/data"
ct1 getent passwd dust >/dev/null || fail "purge removed the user dust (the guide says it stays)"
ct1 getent group dust >/dev/null || fail "purge removed the group dust (the guide says it stays)"
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expression
[ "$(ct1 dpkg-query -W -f='${db:Status-Status}' neural-dust 2>/dev/null || echo not-installed)" = not-installed ] ||
  fail "dpkg still knows neural-dust after the purge"
ct1 systemctl daemon-reload
if ct1 systemctl cat dustd >/dev/null 2>&1; then fail "systemd still has a unit dustd.service after the purge"; fi
pass_if "$before" "apt-get purge: dustd's state in /var/lib/dust, /etc/dust and the unit's links gone; the training files in /var/lib/dust/data, user and group dust kept"

# Installed again on the running system: postinst enables and starts it (deb-systemd-invoke),
# with a new identity (the purge took the old one). The dependencies are still installed, so
# this container's loopback-only network is enough.
before=$failures
cp "$work/deb/$debname" "$work/dust-one/root/"
ct1 sh -c "cd /root && DEBIAN_FRONTEND=noninteractive apt-get install -y ./$debname" >"$work/reinstall.log" 2>&1 ||
  fail "apt-get install ./$debname on the running system failed: $(tail -5 "$work/reinstall.log")"
[ "$(ct1 systemctl is-enabled dustd)" = enabled ] || fail "reinstalled, dustd is not enabled"
[ "$(ct1 systemctl is-active dustd)" = active ] || fail "reinstalled, dustd was not started by postinst"
node2=$(ct_field dust-one "d['node_id']")
[ "$node2" != "$node" ] || fail "after purge and reinstall, the node kept its identity $node"
pass_if "$before" "apt-get install on the running system: postinst enabled and started dustd, new node ${node2:0:15}..."
ct_poweroff dust-one

# --- 5. two devices on a LAN -------------------------------------------------------------------
phase "5. two devices: pairing and learning"
# What each device reaches alone, and one model trained centrally on both slices: dust-bench
# train on this machine (the daemon's model; see cl_bench_train).
alone_a=$(cl_bench_train alone-1 1)
alone_b=$(cl_bench_train alone-2 2)
central=$(cl_bench_train central 1 2)
classes() { jget "','.join(str(c) for c in d['parts'][$1 - 1]['classes'])" <"$work/split.json"; }
echo "  dust-a: digits $(classes 1), alone $(fmt_pct "$alone_a"); dust-b: digits $(classes 2), alone $(fmt_pct "$alone_b"); central $(fmt_pct "$central")"
# Two network namespaces whose eth0 (10.99.0.1/24, 10.99.0.2/24) are ports of a bridge in a
# third: the devices' broadcasts reach each other and nothing else.
net_setup 2
make_device dust-a 1
make_device dust-b 2
ct_boot dust-a "$work/dust-a" 1
ct_boot dust-b "$work/dust-b" 2
ct_give_data dust-a
ct_give_data dust-b
# The package's configuration but for one line. With it unchanged (the learning rate falls from
# 0.2 to 0.02 over the first 1000 steps, about 8 minutes) the rate stays near 0.2 for the 90 s:
# each device's large steps on its five digits land in the other's model every round, and the
# accuracy swings by up to 10 points between measurements (docs/demo.md, "How steady is the
# accuracy"). Whether both are above the target at one measurement is then luck: one run passed
# at 61 s, another ended at 74.6% and 68.5% (target 83.2%). scripts/demo compresses the schedule
# into its learning time (1.5 steps per second, 135 for 90 s), and so does an operator here, the
# way docs/operations.md says (edit dustd.conf, reload: the schedule applies on reload).
# DUST_NSPAWN_DECAY_STEPS= (empty) keeps the package's schedule, to see the difference.
decay=${DUST_NSPAWN_DECAY_STEPS-135}
for n in dust-a dust-b; do
  [ -n "$decay" ] || break
  ct "$n" sh -ec "printf '\\n# a 90-second demonstration: the whole schedule in $decay steps\\nlearning-rate-decay-steps = $decay\\n' >>/etc/dust/dustd.conf
    dustd --check-config --config /etc/dust/dustd.conf >/dev/null
    systemctl reload dustd" || give_up "$n: could not set learning-rate-decay-steps = $decay and reload"
  [ "$(ct_field "$n" "d['training']['learning_rate_schedule']['decay_steps']")" = "$decay" ] ||
    fail "$n: the reload did not apply learning-rate-decay-steps = $decay"
done
# Pairing, both ways, as the guide does it: `dustctl trust show` on one device, `dustctl trust
# add` of what it showed on the other.
before=$failures
pair() { # pair FROM TO: TO trusts FROM
  local uri
  uri=$(ct "$1" dustctl --json trust show | jget "d['pairing_uri']")
  ct "$2" dustctl trust add --yes "$uri" >"$work/trust-$2.out" || fail "$2: dustctl trust add failed: $(cat "$work/trust-$2.out")"
}
pair dust-a dust-b
pair dust-b dust-a
pass_if "$before" "paired: dust-a $(ct_field dust-a "d['node_id']" | cut -c1-15)... and dust-b $(ct_field dust-b "d['node_id']" | cut -c1-15)... trust each other"

# Within 90 s both must come within 10 points of the central model and each beat itself alone,
# at the same moment, by the accuracy each daemon measures on the test set.
target=$(/usr/bin/python3 -c "print($central - 0.10)")
echo "  target: both >= $(fmt_pct "$target") (central - 10 points), dust-a > $(fmt_pct "$alone_a"), dust-b > $(fmt_pct "$alone_b")"
echo "  time   dust-a   dust-b   updates accepted a/b   learning rate"
t0=$SECONDS
reached=""
while :; do
  sleep 5
  el=$((SECONDS - t0))
  ct_status dust-a >"$work/a.json"
  ct_status dust-b >"$work/b.json"
  acc_a=$(jget "d['model']['test_accuracy'] or 0" <"$work/a.json")
  acc_b=$(jget "d['model']['test_accuracy'] or 0" <"$work/b.json")
  printf '  %3ds   %6s   %6s   %8s/%-8s         %s\n' "$el" "$(fmt_pct "$acc_a")" "$(fmt_pct "$acc_b")" \
    "$(jget "d['network']['updates_accepted']" <"$work/a.json")" \
    "$(jget "d['network']['updates_accepted']" <"$work/b.json")" \
    "$(jget "'%.3f' % d['training']['learning_rate']" <"$work/b.json")"
  if fcmp "$acc_a" '>=' "$target" && fcmp "$acc_b" '>=' "$target" && fcmp "$acc_a" '>' "$alone_a" &&
    fcmp "$acc_b" '>' "$alone_b"; then
    reached=$el
    break
  fi
  [ "$el" -lt 90 ] || break
done
if [ -n "$reached" ]; then
  pass "learned together in ${reached} s: dust-a $(fmt_pct "$acc_a") (alone $(fmt_pct "$alone_a")), dust-b $(fmt_pct "$acc_b") (alone $(fmt_pct "$alone_b")), central $(fmt_pct "$central")"
else
  fail "after 90 s: dust-a $(fmt_pct "$acc_a") (alone $(fmt_pct "$alone_a")), dust-b $(fmt_pct "$acc_b") (alone $(fmt_pct "$alone_b")); target $(fmt_pct "$target")"
fi
# Over UDP broadcast: the default configuration has no unicast peers, so every accepted update
# came as a broadcast datagram over the bridge.
before=$failures
for n in dust-a dust-b; do
  ct "$n" grep -qE '^[[:space:]]*(peer|broadcast)[[:space:]]*=' /etc/dust/dustd.conf &&
    fail "$n: /etc/dust/dustd.conf sets peer or broadcast"
  [ "$(ct_field "$n" "d['network']['updates_accepted']")" -gt 0 ] || fail "$n accepted no update"
done
pass_if "$before" "the package's configuration (broadcast = auto, no peer): updates crossed the bridge as UDP broadcasts"
ct_poweroff dust-a
ct_poweroff dust-b
phase ""
finish "systemd-nspawn"
