#!/usr/bin/env bash
# The history and the dashboard with real daemons on loopback: node1 and two peers it has
# paired with (one named with HTML in its name). Checks that `dustctl history` holds node1's
# accuracy and both peers' series, refuses bad arguments clearly, and that `dustctl status` draws
# the sparkline (block characters in a UTF-8 locale, ASCII otherwise); that headless Chromium
# renders the dashboard (GET / on node1's metrics address) with both peers in the table, the
# HTML name escaped, and charts with points (screenshots kept in the build dir:
# dashboard-phone.png, dashboard-desktop.png); that the history survives kill -9 and a restart
# (every sample saved before the kill is back); and that a damaged history file is reported and
# replaced, never fatal.
#
# Chromium: Debian's `chromium` (CI installs it). Without it the browser part is skipped with a
# message and the test exits 77 (CTest shows it as skipped) after the other checks.
#
# Usage: bash tests/integration/dashboard_test.sh BUILD_DIR
set -euo pipefail

BUILD=$(cd "${1:?usage: dashboard_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DUSTD=$BUILD/daemon/dustd
CTL=$BUILD/ctl/dustctl
PY=/usr/bin/python3
for bin in "$DUSTD" "$CTL" "$PY"; do
  [[ -x $bin ]] || { echo "dashboard_test: missing $bin" >&2; exit 1; }
done

T=$(mktemp -d /tmp/dust-dashboard-test.XXXXXX)
declare -a PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 && $rc -ne 77 ]]; then
    for i in 1 2 3; do [[ -f $T/n$i/log ]] && { echo "--- n$i log (tail)"; tail -20 "$T/n$i/log"; }; done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
log() { echo "[$(date +%H:%M:%S)] $*"; }
# jq-like: jget EXPR < JSON, with the document as d.
jget() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1],{"d":d}))' "$1"; }
ctl() {  # ctl I ARGS...: dustctl on node I's socket
  local i=$1
  shift
  "$CTL" --socket "$T/n$i/sock" --timeout 5000 "$@"
}

# A UDP port for the fleet and a TCP port for node1's metrics address, free right now.
read -r PORT HTTP < <("$PY" -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
t = socket.socket(); t.bind(("127.0.0.1", 0))
print(u.getsockname()[1], t.getsockname()[1])')
NAMES=(unused node1 "node2" "<b>eve</b>")
start() {  # start I
  local i=$1 extra=()
  [[ $i == 1 ]] && extra=(--metrics-listen "127.0.0.1:$HTTP")
  mkdir -p "$T/n$i"
  "$DUSTD" --data-dir "$SRC/data/mnist-10k" --state-dir "$T/n$i/state" \
    --control-socket "$T/n$i/sock" --port "$PORT" --broadcast 127.255.255.255 \
    --display-name "${NAMES[$i]}" --send-interval 0.2 --announce-interval 1 --eval-interval 1 \
    --checkpoint-interval 2 --rescan-interval 0 "${extra[@]}" >>"$T/n$i/log" 2>&1 &
  PIDS[i]=$!
  for _ in $(seq 300); do
    ctl "$i" status >/dev/null 2>&1 && return 0
    kill -0 "${PIDS[$i]}" 2>/dev/null || fail "node$i exited at start"
    sleep 0.1
  done
  fail "node$i did not answer on its control socket"
}
for i in 1 2 3; do start "$i"; done
# node1 trusts both peers and they trust node1.
for i in 2 3; do
  ctl 1 trust add --yes "$(ctl "$i" --json trust show | jget 'd["pairing_uri"]')" >/dev/null
  ctl "$i" trust add --yes "$(ctl 1 --json trust show | jget 'd["pairing_uri"]')" >/dev/null
done
log "3 daemons up and paired (udp $PORT, node1's dashboard on http://127.0.0.1:$HTTP/)"

# --- history: node1's samples (one every 5 s) and both peers' series ------------------------
ok=0
for _ in $(seq 60); do
  h=$(ctl 1 --json history --since 10m)
  if [[ $(jget 'sum(a is not None for a in d["node"]["accuracy"]) >= 3 and len(d["peers"]) == 2 and all(sum(a is not None for a in p["accuracy"]) >= 2 for p in d["peers"])' <<<"$h") == True ]]; then
    ok=1
    break
  fi
  sleep 1
done
((ok)) || fail "history did not fill: $h"
names=$(jget '" ".join(sorted(p["display_name"] for p in d["peers"]))' <<<"$h")
[[ $names == "<b>eve</b> node2" ]] || fail "history's peers: $names"
jget '(d["resolution"], d["interval_s"], len(d["node"]["t_ms"]), sorted(d["node"]["drops"]))' <<<"$h" |
  grep -q "('fine', 5, " || fail "history's resolution and drops: $h"
pass "history: node1's samples and both peers' series ($names)"
ctl 1 history --since 10m | grep -q "^  .*%" || fail "dustctl history printed no samples"

# Bad arguments get a clear error (exit 3: the daemon refused).
set +e
err=$(ctl 1 history --resolution hourly 2>&1); rc1=$?
err2=$(ctl 1 history --since 2d 2>&1); rc2=$?
err3=$(ctl 1 history --since 90000 2>&1); rc3=$?
set -e
[[ $rc1 == 3 && $err == *"auto, fine or coarse"* ]] || fail "--resolution hourly: rc $rc1: $err"
[[ $rc2 == 1 && $err2 == *"expected a duration"* ]] || fail "--since 2d: rc $rc2: $err2"
[[ $rc3 == 3 && $err3 == *"from 1 to 86400"* ]] || fail "--since 90000: rc $rc3: $err3"
pass "bad history arguments refused with a reason"

# status's sparkline: blocks in a UTF-8 locale, ASCII in the C locale.
LC_ALL=C.UTF-8 ctl 1 status | grep -q "accuracy, last hour: .*[▁▂▃▄▅▆▇█]" ||
  fail "no Unicode sparkline in status: $(LC_ALL=C.UTF-8 ctl 1 status | grep accuracy)"
line=$(LC_ALL=C ctl 1 status | grep "accuracy, last hour")
[[ $line =~ last\ hour:\ [_.=*#-]+\ [0-9.]+% ]] || fail "no ASCII sparkline in the C locale: $line"
pass "status sparkline: $line"

# --- the dashboard in headless Chromium -----------------------------------------------------
BROWSER=$(command -v chromium || true)
if [[ -z $BROWSER ]]; then
  echo "SKIP: chromium is not installed (apt-get install chromium): the dashboard was not loaded in a browser"
  skipped=1
else
  skipped=0
  browse() {  # browse WIDTHxHEIGHT ARGS...: headless Chromium with a fresh profile
    local size=$1
    shift
    rm -rf "$T/profile"
    timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --no-first-run \
      --disable-background-networking --disable-component-update --disable-sync \
      --user-data-dir="$T/profile" --window-size="$size" "$@" 2>>"$T/chromium.log"
  }
  browse 1280,900 --dump-dom "http://127.0.0.1:$HTTP/?range=600" >"$T/dom.html" ||
    fail "chromium --dump-dom failed: $(tail -5 "$T/chromium.log")"
  "$PY" - "$T/dom.html" <<'PYEOF' || fail "the rendered dashboard is missing something (above)"
import html.parser, sys
dom = open(sys.argv[1]).read()
class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.lines, self.in_peer = [], [], False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "peer":
            self.in_peer = True
            self.rows.append([])
        elif tag == "td" and self.in_peer:
            self.rows[-1].append("")
        elif tag == "polyline":
            self.lines.append((a.get("data-series"), len(a.get("points", "").split())))
    def handle_endtag(self, tag):
        if tag == "tr":
            self.in_peer = False
    def handle_data(self, data):
        if self.in_peer and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data
p = Page()
p.feed(dom)
names = sorted(r[0] for r in p.rows)
problems = []
if names != ["<b>eve</b>", "node2"]:
    problems.append(f"peer rows {names}")
if any(r[2] != "paired" or r[8] != "live" for r in p.rows):
    problems.append(f"peer rows not paired/live: {p.rows}")
# The name is text wherever it appears (table, legend, chart labels), never an element.
if "<b>eve" in dom or "&lt;b&gt;eve&lt;/b&gt;" not in dom:
    problems.append("a peer's name became markup")
points = {}
for series, n in p.lines:
    points[series] = points.get(series, 0) + n
for want in ("node1 (this node)", "node2", "<b>eve</b>"):
    if points.get(want, 0) < 2:
        problems.append(f"accuracy chart of {want}: {points.get(want, 0)} points")
for p_ in problems:
    print("dashboard:", p_)
print("dashboard: peers", names, "chart points", points)
sys.exit(1 if problems else 0)
PYEOF
  pass "Chromium renders both peers (name escaped) and accuracy charts with points"
  for shot in phone:390,1500 desktop:1280,1000; do
    browse "${shot#*:}" --screenshot="$BUILD/dashboard-${shot%%:*}.png" "http://127.0.0.1:$HTTP/?range=600" >/dev/null ||
      fail "chromium --screenshot failed: $(tail -5 "$T/chromium.log")"
    [[ -s $BUILD/dashboard-${shot%%:*}.png ]] || fail "no screenshot $BUILD/dashboard-${shot%%:*}.png"
  done
  pass "screenshots: $BUILD/dashboard-phone.png, $BUILD/dashboard-desktop.png"
fi
# The page is HTML, /metrics still the metrics text, anything else 404.
"$PY" - "$HTTP" <<'PYEOF' || fail "HTTP routes"
import sys, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}"
r = urllib.request.urlopen(base + "/")
assert r.headers["Content-Type"].startswith("text/html"), r.headers["Content-Type"]
assert b"<svg" in r.read()
m = urllib.request.urlopen(base + "/metrics").read().decode()
assert "dust_model_steps" in m, m[:200]
try:
    urllib.request.urlopen(base + "/nothing")
    sys.exit("no 404")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
# DNS rebinding: a page of another site pointed at 127.0.0.1 sends its own name as Host.
for host, code in (("evil.example:80", 421), ("localhost:1", 200), ("[::1]:9", 200), ("127.0.0.2", 200)):
    req = urllib.request.Request(base + "/", headers={"Host": host})
    try:
        got = urllib.request.urlopen(req).status
    except urllib.error.HTTPError as e:
        got = e.code
    assert got == code, (host, got)
PYEOF
pass "/ is the dashboard, /metrics the metrics, others 404; a non-loopback Host gets 421"

# --- kill -9 and restart: the samples saved before the kill are back ------------------------
# The history is saved with every checkpoint (2 s here): wait for one after a sample.
before=$(ctl 1 --json history --since 10m)
last_sample=$(jget 'd["node"]["t_ms"][-1]' <<<"$before")
for _ in $(seq 100); do
  ckpt=$(ctl 1 --json status | jget 'd["checkpoint"]["last_ms"] or 0')
  ((ckpt > last_sample)) && break
  sleep 0.1
done
((ckpt > last_sample)) || fail "no checkpoint after the last sample"
saved=$(jget '[t for t in d["node"]["t_ms"] if t <= '"$last_sample"']' <<<"$before")
peer_saved=$(jget 'sorted((p["node_id"], t) for p in d["peers"] for t in p["t_ms"])' <<<"$before")
kill -9 "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null || true
log "node1 killed with -9 (${#saved} chars of sample times saved)"
start 1
after=$(ctl 1 --json history --since 10m)
"$PY" - "$saved" "$peer_saved" "$after" <<'PYEOF' || fail "history after kill -9 lost samples"
import ast, json, sys
saved = ast.literal_eval(sys.argv[1])
peer_saved = ast.literal_eval(sys.argv[2])
after = json.loads(sys.argv[3])
t = set(after["node"]["t_ms"])
missing = [x for x in saved if x not in t]
peer_after = {(p["node_id"], x) for p in after["peers"] for x in p["t_ms"]}
# A peer sample taken after the last save may be lost; those before it may not.
peer_missing = [x for x in peer_saved if x not in peer_after and x[1] <= max(saved)]
print(f"restored: {len(saved)} node samples before the kill, {len(missing)} missing;"
      f" {len(peer_saved)} peer samples, {len(peer_missing)} missing")
sys.exit(1 if missing or peer_missing or not saved else 0)
PYEOF
compgen -G "$T/n1/state/*corrupt*" >/dev/null && fail "a state file was found corrupt after kill -9"
pass "history survives kill -9"

# --- a damaged history file: reported, moved aside, replaced; the daemon runs ---------------
kill -TERM "${PIDS[1]}"
wait "${PIDS[1]}" || fail "node1 exited with status $? on SIGTERM"
for f in history history.prev; do
  [[ -f $T/n1/state/$f ]] && printf 'garbage' | dd of="$T/n1/state/$f" bs=1 seek=20 conv=notrunc status=none
done
start 1
recoveries=$(ctl 1 --json status | jget '" | ".join(d["checkpoint"]["recoveries"])')
[[ $recoveries == *history*checksum* ]] || fail "damaged history not reported: $recoveries"
compgen -G "$T/n1/state/history.corrupt-*" >/dev/null || fail "damaged history not moved aside"
sleep 6
ctl 1 --json history --since 10m | jget 'len(d["node"]["t_ms"]) >= 1' | grep -q True ||
  fail "no new history after the damaged one"
pass "damaged history reported ($recoveries) and replaced"

for i in 1 2 3; do kill -TERM "${PIDS[$i]}"; done
for i in 1 2 3; do wait "${PIDS[$i]}" || fail "node$i exited with status $? on SIGTERM"; done
PIDS=()
if ((skipped)); then exit 77; fi
log "PASS"
