#!/usr/bin/env bash
# Measures how steady the daemons' accuracy is: a cluster of real dustd with the demo's data
# split learns together while every host's test accuracy (its own status
# model.test_accuracy) is recorded every few seconds; the summary says how much a host's
# accuracy moves between consecutive snapshots once it has learned.
#
#   tests/e2e/steadiness.sh BUILD_DIR [--nodes N] [--seconds S] [--every S] [--settle S] [--until S]
#                           [--netns] [--split SPLIT] [--send-interval S] [--cpu-budget F]
#                           [--restart HOST AT DOWN [--mute]] [--late HOST AT [--late-args A]]
#                           [--out FILE] [-- DUSTD_ARGS...]
#
# Defaults: 3 nodes, classes:4 (the demo's split), 180 s, a snapshot every 5 s, statistics over
# the snapshots after --settle seconds (default: the second half; --until S: and up to S s), loopback (unicast peers;
# --netns puts every host in its own network namespace, as root). The daemons run with the
# demo's timers (send-interval 0.5, announce 2, cpu-budget min(0.5, 1.6/N)) except that they
# evaluate every second (or every EVERY/2 s if shorter), so that every snapshot is a fresh
# measurement; DUSTD_ARGS are added.
# The netns suite's daemons: --nodes 5 --send-interval 0.2 --cpu-budget 0.2.
# --restart HOST AT DOWN kills that host with SIGKILL AT seconds in and restarts it from its
# state directory DOWN seconds later (--mute: restarted without peers to send to, loopback only,
# so it still hears the others but they do not hear it); --every 0.5 shows the transient.
# --late HOST AT starts that host only AT seconds in, with a fresh state, and pairs it with the
# others (--late-args: extra dustd arguments for it alone, e.g. its own learning rate).
#
# Printed at the end, over the settled snapshots: per host the mean and largest change between
# consecutive snapshots ("step"), the range (max - min) and the mean accuracy; then the means
# over hosts and the hosts' spread (max - min at the same time); with --late, every settled
# host's accuracy before the join (mean of the 3 snapshots up to it), its lowest after it and
# the drop. --out writes every snapshot as CSV (t, host, accuracy, learning rate or empty).
set -euo pipefail
usage() { sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 1; }
case "$1" in -h | --help) usage; exit 0 ;; esac
BUILD=$(cd "$1" && pwd)
shift
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
NODES=3 SECONDS_RUN=180 EVERY=5 SETTLE="" NETNS=0 SPLIT="" OUT="" SEND=0.5 BUDGET="" RESTART="" MUTE=""
LATE="" LATE_ARGS="" UNTIL=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --every) EVERY=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --until) UNTIL=$2; shift 2 ;;
    --netns) NETNS=1; shift ;;
    --split) SPLIT=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --send-interval) SEND=$2; shift 2 ;;
    --cpu-budget) BUDGET=$2; shift 2 ;;
    --restart) RESTART="$2 $3 $4"; shift 4 ;;
    --mute) MUTE=1; shift ;;
    --late) LATE="$2 $3"; shift 3 ;;
    --late-args) LATE_ARGS=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "steadiness.sh: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
[ -n "$SETTLE" ] || SETTLE=$((SECONDS_RUN / 2))
[ -n "$SPLIT" ] || SPLIT="classes:$(((10 + NODES - 1) / NODES > 2 ? (10 + NODES - 1) / NODES : 2))"

# shellcheck source=netlib.sh
source "$HERE/netlib.sh"
# shellcheck source=cluster.sh
source "$HERE/cluster.sh"
cl_find_bins "$BUILD" || { echo "steadiness.sh: dustd, dustctl or dust-bench missing in $BUILD" >&2; exit 1; }
CL_WORK=$(mktemp -d /tmp/dust-steady.XXXXXX)
CL_DATA=$CL_WORK/data
cleanup() {
  local rc=$?
  set +e
  for i in "${!CL_PID[@]}"; do cl_stop "$i"; done
  net_cleanup
  rm -rf "$CL_WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ALL=$(seq -s ' ' 1 "$NODES")
if [ "$NETNS" = 1 ]; then
  why=$(net_check) || { echo "steadiness.sh: --netns: $why" >&2; exit 1; }
  CL_MODE=netns
  net_setup "$NODES"
else
  CL_MODE=loopback
  CL_PORT0=$((20000 + RANDOM % 20000))
  CL_LOOPBACK_HOSTS=$ALL
fi
[ -n "$BUDGET" ] || BUDGET=$(/usr/bin/python3 -c "print(round(min(0.5, 1.6 / $NODES), 2))")
evalint=$(/usr/bin/python3 -c "print(min(1.0, $EVERY / 2))")
CL_DUSTD_ARGS=(--send-interval "$SEND" --announce-interval 2 --eval-interval "$evalint" --cpu-budget "$BUDGET"
  --rescan-interval 0 "${EXTRA[@]}")
"$CL_BIN_BENCH" split --data "$REPO/data/mnist-10k" --out "$CL_DATA" --parts "$NODES" \
  --split "$SPLIT" >/dev/null 2>&1 || { echo "steadiness.sh: dust-bench split failed" >&2; exit 1; }
cl_link_test
# --late HOST AT: that host starts (fresh state) and is paired with everyone only AT seconds in.
LATE_HOST="" LATE_AT=""
[ -z "$LATE" ] || read -r LATE_HOST LATE_AT <<<"$LATE"
EARLY=$(for i in $ALL; do [ "$i" = "$LATE_HOST" ] || printf '%s ' "$i"; done)
for i in $EARLY; do cl_start "$i"; done
cl_pair "$EARLY"
echo "steadiness: $NODES dustd ($CL_MODE, $SPLIT), dustd ${CL_DUSTD_ARGS[*]}" >&2
csv=$CL_WORK/snapshots.csv
: >"$csv"
# One Python process takes the snapshots (dustctl --json status of each host): starting a
# process per value would take seconds per snapshot on a loaded machine. sample T_END appends
# the snapshots due (every EVERY s since T0) until T_END seconds; a host that does not answer
# (killed) is recorded as null.
T0=$(date +%s.%N)
sample() {
  local socks=() i
  for i in $ALL; do socks+=("$(cl_sock "$i")"); done
  /usr/bin/python3 - "$CL_BIN_CTL" "$EVERY" "$T0" "$1" "$csv" "${socks[@]}" <<'PY'
import json, math, subprocess, sys, time
ctl, every, t0, t_end, csv = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks = sys.argv[6:]
n = math.floor((time.time() - t0) / every)
with open(csv, "a") as out:
    while True:
        n += 1
        if n * every > t_end + 1e-9:
            break
        time.sleep(max(0.0, t0 + n * every - time.time()))
        t = time.time() - t0
        line = f"{t:6.1f}s"
        lr = ""
        for h, sock in enumerate(socks, 1):
            r = subprocess.run([ctl, "--socket", sock, "--timeout", "2000", "--json", "status"],
                               capture_output=True, text=True)
            try:
                d = json.loads(r.stdout)
                acc = d["model"].get("test_accuracy")
                lr = d["training"].get("learning_rate", "")
            except (ValueError, KeyError):
                acc = None
            out.write(f"{t:.1f},{h},{'null' if acc is None else acc},{lr}\n")
            line += "    n/a " if acc is None else f" {100 * acc:6.1f}%"
        if lr != "":
            line += f"  lr {lr:.4f}"
        out.flush()
        print(line, file=sys.stderr, flush=True)
PY
}
if [ -n "$LATE" ]; then
  sample "$LATE_AT"
  echo "steadiness: host$LATE_HOST joins (fresh state${LATE_ARGS:+, dustd $LATE_ARGS})" >&2
  # shellcheck disable=SC2086
  cl_start "$LATE_HOST" $LATE_ARGS
  for i in $EARLY; do cl_trust "$LATE_HOST" "$i"; cl_trust "$i" "$LATE_HOST"; done
fi
if [ -n "$RESTART" ]; then
  read -r r_host r_at r_down <<<"$RESTART"
  sample "$r_at"
  echo "steadiness: host$r_host killed (SIGKILL), restarted after $r_down s${MUTE:+ unable to send}" >&2
  cl_stop "$r_host" KILL
  sleep "$r_down"
  # Muted: the restarted host has no peer to send to (loopback), but still receives.
  if [ -n "$MUTE" ]; then CL_LOOPBACK_HOSTS=$r_host; fi
  cl_restart "$r_host"
  CL_LOOPBACK_HOSTS=$ALL
fi
sample "$SECONDS_RUN"
[ -z "$OUT" ] || cp "$csv" "$OUT"
/usr/bin/python3 - "$csv" "$SETTLE" "${UNTIL:-$SECONDS_RUN}" "${LATE_HOST:-0}" "${LATE_AT:-0}" <<'PY'
import collections, sys
rows = [l.strip().split(",") for l in open(sys.argv[1]) if l.strip()]
settle, until = float(sys.argv[2]), float(sys.argv[3])
late_host, late_at = int(sys.argv[4]), float(sys.argv[5])
acc = collections.defaultdict(dict)
for t, h, a, _ in rows:
    if a != "null":
        acc[int(h)][float(t)] = float(a) * 100
print(f"over the snapshots at {settle:g} s <= t <= {until:g} s (accuracy in %, step = change between consecutive snapshots):")
steps_mean, steps_max, ranges, means = [], [], [], []
for h in sorted(acc):
    ts = [t for t in sorted(acc[h]) if settle <= t <= until + 1]
    v = [acc[h][t] for t in ts]
    d = [abs(b - a) for a, b in zip(v, v[1:])]
    if not d:
        continue
    steps_mean.append(sum(d) / len(d)); steps_max.append(max(d))
    ranges.append(max(v) - min(v)); means.append(sum(v) / len(v))
    print(f"  host{h}: mean step {steps_mean[-1]:5.1f}  max step {steps_max[-1]:5.1f}  "
          f"range {ranges[-1]:5.1f}  mean {means[-1]:5.1f}  last {v[-1]:5.1f}  ({len(v)} snapshots)")
# Hosts with snapshots in the window (a late joiner may have none), and the times all of them have.
present = [h for h in acc if any(settle <= t <= until + 1 for t in acc[h])]
times = sorted(set.intersection(*(set(t for t in acc[h] if settle <= t <= until + 1) for h in present)))
spreads = [max(acc[h][t] for h in present) - min(acc[h][t] for h in present) for t in times]
k = len(steps_mean)
print(f"  all: mean step {sum(steps_mean) / k:.1f}, max step {max(steps_max):.1f}, "
      f"mean range {sum(ranges) / k:.1f}, mean accuracy {sum(means) / k:.1f}, "
      f"mean spread between hosts {sum(spreads) / max(1, len(spreads)):.1f} (max {max(spreads, default=0):.1f})")
# --late: how far the joiner moved the settled hosts (issue 15's goal: at most 2 points).
if late_host:
    print(f"settled hosts around host{late_host}'s join at {late_at:g} s (before = mean of the 3 snapshots up to it):")
    for h in sorted(acc):
        pre = [acc[h][t] for t in sorted(acc[h]) if t <= late_at + 0.5][-3:]
        post = [(acc[h][t], t) for t in sorted(acc[h]) if late_at + 0.5 < t <= until + 1]
        if h == late_host or not pre or not post:
            continue
        low, at = min(post)
        before = sum(pre) / len(pre)
        print(f"  host{h}: before {before:.1f}  lowest after {low:.1f} (at {at:.0f} s)  drop {before - low:.1f}")
PY
