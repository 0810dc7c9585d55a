# A cluster of real dustd processes, driven through dustctl as an operator would. Sourced (after
# netlib.sh) by tests/e2e/netns.sh and scripts/demo.
#
# Set before use:
#   CL_BIN    directory holding dustd, dustctl, dust-bench (a build dir's daemon/, ctl/, bench/
#             are searched by cl_find_bins BUILD_DIR)
#   CL_WORK   a scratch directory this run owns (deleted by the caller's cleanup)
#   CL_DATA   directory with part-1..part-N and test/ (dust-bench split's output; call
#             cl_link_test once after the split)
#   CL_MODE   "netns" (host i runs in namespace net_ns i, all on the default port, broadcast) or
#             "loopback" (every host in the caller's namespace, port CL_PORT0+i, unicast peers)
#
# Host i has its state in $CL_WORK/h$i/state, its control socket $CL_WORK/h$i/ctl.sock, its log
# $CL_WORK/h$i/dustd.log (appended across restarts), and its data $CL_DATA/part-$i.

CL_MODE=${CL_MODE:-netns}
CL_PORT=${CL_PORT:-48620}   # netns mode: every host's port
CL_PORT0=${CL_PORT0:-0}     # loopback mode: host i uses CL_PORT0 + i
declare -A CL_PID           # host -> dustd PID
declare -A CL_ARGS          # host -> extra dustd arguments of its last start
CL_DUSTD_ARGS=()            # extra arguments for every dustd (set by the caller)

cl_find_bins() {
  local build=$1 d
  CL_BIN_DUSTD="" CL_BIN_CTL="" CL_BIN_BENCH=""
  for d in "$build/daemon" "$build"; do [ -x "$d/dustd" ] && CL_BIN_DUSTD=$d/dustd && break; done
  for d in "$build/ctl" "$build"; do [ -x "$d/dustctl" ] && CL_BIN_CTL=$d/dustctl && break; done
  for d in "$build/bench" "$build"; do [ -x "$d/dust-bench" ] && CL_BIN_BENCH=$d/dust-bench && break; done
  [ -n "$CL_BIN_DUSTD" ] && [ -n "$CL_BIN_CTL" ] && [ -n "$CL_BIN_BENCH" ]
}

cl_dir() { echo "$CL_WORK/h$1"; }
cl_sock() { echo "$CL_WORK/h$1/ctl.sock"; }
cl_port() { if [ "$CL_MODE" = netns ]; then echo "$CL_PORT"; else echo $((CL_PORT0 + $1)); fi; }
cl_ns_index() { if [ "$CL_MODE" = netns ]; then echo "$1"; else echo 0; fi; }

# JSON field from stdin: jq-like path with Python syntax, e.g.  ... | jget "d['model']['steps']"
# (None prints as "null").
jget() {
  /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1], {"d": d})
print("null" if v is None else json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1"
}
# Float comparison: fcmp A '>=' B   (exit status)
fcmp() { /usr/bin/python3 -c "import sys; sys.exit(0 if float('$1') $2 float('$3') else 1)"; }
fmt_pct() { /usr/bin/python3 -c "print('%.1f%%' % (100 * float('$1')))"; }

# dustctl against host i (runs in the caller's namespace: the control socket is a file).
cl_ctl() {
  local i=$1
  shift
  "$CL_BIN_CTL" --socket "$(cl_sock "$i")" "$@"
}

# cl_start i [dustd args...]: starts host i (its directory created on first start) and waits
# until its control socket answers. Extra args are remembered for cl_restart.
cl_start() {
  local i=$1 dir peers="" j
  shift
  CL_ARGS[$i]="$*"
  dir=$(cl_dir "$i")
  mkdir -p "$dir/state"
  local args=(--data-dir "$CL_DATA/part-$i" --state-dir "$dir/state" --control-socket "$(cl_sock "$i")"
    --port "$(cl_port "$i")" --display-name "host$i" "${CL_DUSTD_ARGS[@]}")
  if [ "$CL_MODE" = loopback ]; then
    for j in $CL_LOOPBACK_HOSTS; do
      [ "$j" = "$i" ] || peers+="${peers:+,}127.0.0.1:$(cl_port "$j")"
    done
    args+=(--bind-address 127.0.0.1 --broadcast none --peer "$peers")
  fi
  echo "=== start $(date +%H:%M:%S): dustd ${args[*]} $*" >>"$dir/dustd.log"
  net_spawn "$(cl_ns_index "$i")" "$dir/dustd.log.cur" "$CL_BIN_DUSTD" "${args[@]}" "$@"
  CL_PID[$i]=$NET_LAST_PID
  cl_wait_ready "$i"
}

cl_wait_ready() {
  local i=$1 t
  for ((t = 0; t < 300; t++)); do
    if cl_ctl "$i" --timeout 2000 status >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "${CL_PID[$i]}" 2>/dev/null; then
      cl_collect_log "$i"
      net_log "host$i: dustd exited during start; its log:"
      tail -n 30 "$(cl_dir "$i")/dustd.log" >&2
      return 1
    fi
    sleep 0.1
  done
  net_log "host$i: control socket $(cl_sock "$i") did not answer within 30 s"
  return 1
}

# Appends the current process's output to the host's log (kept across restarts).
cl_collect_log() {
  local dir
  dir=$(cl_dir "$1")
  if [ -f "$dir/dustd.log.cur" ]; then
    cat "$dir/dustd.log.cur" >>"$dir/dustd.log"
    rm -f "$dir/dustd.log.cur"
  fi
}

# cl_stop i [SIGNAL]: TERM (graceful: checkpoint, exit 0) by default, KILL for a crash. For a
# graceful stop, fails if the daemon did not exit 0 (under ASan this catches leaks and errors).
cl_stop() {
  local i=$1 sig=${2:-TERM} pid rc=0
  pid=${CL_PID[$i]:-}
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -"$sig" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
  else
    wait "$pid" 2>/dev/null || rc=$?
  fi
  unset "CL_PID[$i]"
  net_forget "$pid"
  cl_collect_log "$i"
  if [ "$sig" != KILL ] && [ "$rc" != 0 ]; then
    net_log "host$i: dustd exited with status $rc after SIG$sig; last lines of its log:"
    tail -n 20 "$(cl_dir "$i")/dustd.log" >&2
    return 1
  fi
  return 0
}
cl_restart() {
  local i=$1
  # shellcheck disable=SC2086
  cl_start "$i" ${CL_ARGS[$i]}
}

# Fails if a sanitizer reported anything in any host's log.
cl_check_logs() {
  local f bad=0
  for f in "$CL_WORK"/h*/dustd.log "$CL_WORK"/h*/dustd.log.cur; do
    [ -f "$f" ] || continue
    if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$f"; then
      net_log "sanitizer report in $f:"
      grep -m5 -A10 -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$f" >&2
      bad=1
    fi
  done
  return "$bad"
}

# cl_pair "1 2 3": every host trusts every other, the way an operator pairs devices: read the
# pairing URI from `dustctl trust show` on one, `dustctl trust add --yes URI` on the other.
cl_pair() {
  local hosts=($1) i j uri
  for i in "${hosts[@]}"; do
    uri=$(cl_ctl "$i" --json trust show | jget "d['pairing_uri']")
    for j in "${hosts[@]}"; do
      [ "$i" = "$j" ] || cl_ctl "$j" trust add --yes "$uri" >/dev/null
    done
  done
}
cl_trust() { # cl_trust FROM TO: FROM trusts TO
  local uri
  uri=$(cl_ctl "$2" --json trust show | jget "d['pairing_uri']")
  cl_ctl "$1" trust add --yes "$uri" >/dev/null
}
cl_node_id() { cl_ctl "$1" --json trust show | jget "d['node_id']"; }

cl_status() { cl_ctl "$1" --json status; }
# Every host's data dir also holds the shared test set (t10k-*, which the daemon never trains
# on): its status then reports model.test_accuracy, re-measured every eval-interval.
cl_link_test() {
  local p
  for p in "$CL_DATA"/part-*; do ln -sf "$CL_DATA/test"/t10k-* "$p/"; done
}
# cl_bench_train NAME PART...: the test accuracy `dust-bench train --epochs 5` reaches on the
# union of those parts of $CL_DATA (one model trained centrally on them), measured on the test
# set beside them. The daemon's model: 784-32-10 given explicitly, because a part may lack digits
# the test set has (dust-bench would refuse to infer a model that can never predict them), and
# dust-bench's defaults (init seed 1, batch 32, momentum 0.9) at a constant learning rate of
# 0.05. Works in $CL_WORK/bench-NAME.
cl_bench_train() {
  local d=$CL_WORK/bench-$1 i
  shift
  mkdir -p "$d"
  # IDX pairs are matched by prefix: one pair per part.
  for i in "$@"; do
    ln -s "$CL_DATA/part-$i/train-images-idx3-ubyte" "$d/device$i-images-idx3-ubyte"
    ln -s "$CL_DATA/part-$i/train-labels-idx1-ubyte" "$d/device$i-labels-idx1-ubyte"
  done
  ln -s "$CL_DATA/test"/t10k-* "$d/"
  "$CL_BIN_BENCH" train --data "$d" --epochs 5 --layers 784,32,10 2>/dev/null | tail -n 1 | jget "d['test_accuracy']"
}
# Accuracy of host i's current model on that test set, from its own status (waits for the
# first measurement after a start).
cl_eval() {
  local t v
  for ((t = 0; t < 100; t++)); do
    v=$(cl_status "$1" | jget "d['model'].get('test_accuracy')")
    [ "$v" != null ] && { echo "$v"; return 0; }
    sleep 0.2
  done
  net_log "host$1: no test accuracy in its status after 20 s"
  echo 0
  return 1
}
cl_drop() { # cl_drop i REASON: that drop counter (0 if absent)
  cl_status "$1" | jget "d['network']['drops'].get('$2', 0)"
}
# Per-peer updates accepted by host i from host j (by node ID), from `dustctl peers`.
cl_updates_from() {
  local id
  id=$(cl_node_id "$2")
  cl_ctl "$1" --json peers | jget "sum(p['updates_accepted'] or 0 for p in d['peers'] if p['node_id'] == '$id')"
}
