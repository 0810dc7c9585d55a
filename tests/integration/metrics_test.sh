#!/usr/bin/env bash
# The metrics endpoint against real consumers: three dustd on loopback (host1 scraped, trusting
# host2 and host3; host1 and host2 with DP so every family appears, host2 announcing its stats;
# host1's trust store names host2 with a quote, a backslash and a non-ASCII letter), then
#   - promtool check metrics accepts a scrape of host1 (and rejects a copy with a counter
#     renamed, so the check can fail);
#   - every family of the scrape is in docs/operations.md's "Metrics" table with its type and
#     labels, and every row's family is in the scrape and in the source (a copy of the doc
#     without one row fails);
#   - the per-peer series are one per trusted peer, labelled by short node ID and the trust
#     store's name, which reads back exactly after the format's escaping;
#   - docs/grafana-dashboard.json is JSON and queries only documented families (a copy with an
#     unknown name fails);
#   - Debian's prometheus (its binary, a temporary config and storage, a free loopback port)
#     scrapes host1 every second; after two scrapes its HTTP API returns a
#     dust_model_test_accuracy equal to the one `dustctl status --json` reports for the same
#     evaluation (matched by dust_model_accuracy_timestamp_seconds = model.accuracy_at_ms), and
#     the per-peer series of both peers, their labels as host1's trust store has them.
# Every process it starts is stopped on every exit path (netlib.sh's net_cleanup).
#
# Usage: bash tests/integration/metrics_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: metrics_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
CHECK=$SRC/tests/integration/metrics_check.py
DOC=$SRC/docs/operations.md
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"
# shellcheck source=tests/e2e/netlib.sh
source "$SRC/tests/e2e/netlib.sh"
# shellcheck source=tests/e2e/cluster.sh
source "$SRC/tests/e2e/cluster.sh"
cl_find_bins "$BUILD" || give_up "build dustd, dustctl and dust-bench in $BUILD first"
for tool in promtool prometheus; do
  need "$tool" || give_up "$tool not found: Debian's prometheus package has it (scripts/deps full)"
done

CL_WORK=$(mktemp -d /tmp/dust-metrics-test.XXXXXX)
cleanup() {
  local rc=$?
  net_cleanup
  if [ "$rc" -ne 0 ]; then
    for f in "$CL_WORK"/h1/dustd.log "$CL_WORK"/h1/dustd.log.cur "$CL_WORK/prometheus.log"; do
      [ -f "$f" ] && { echo "--- $f (tail)"; tail -n 20 "$f"; }
    done
  fi
  rm -rf "$CL_WORK"
  exit "$rc"
}
trap cleanup EXIT

# Free loopback ports, from the kernel: three consecutive UDP ports for gossip (cluster.sh gives
# host i CL_PORT0 + i), TCP ports for host1's metrics and for Prometheus.
read -r CL_PORT0 MPORT PPORT < <("$PY" -c '
import socket
def free(kind, port=0):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
        return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
while True:
    base = free(socket.SOCK_DGRAM)
    if base < 65000 and all(free(socket.SOCK_DGRAM, base + i) for i in (1, 2, 3)):
        break
print(base, free(socket.SOCK_STREAM), free(socket.SOCK_STREAM))')
CL_MODE=loopback
CL_LOOPBACK_HOSTS="1 2 3"
CL_DATA=$CL_WORK/data
"$CL_BIN_BENCH" split --data "$SRC/data/mnist-10k" --out "$CL_DATA" --parts 3 --split iid \
  --seed 1 --limit 3000 >/dev/null 2>&1 || give_up "dust-bench split failed"
mkdir -p "$CL_DATA/test"
ln -s "$SRC"/data/mnist-10k/t10k-* "$CL_DATA/test/"
cl_link_test
# Light on a shared machine: a third of a core each for training.
CL_DUSTD_ARGS=(--send-interval 0.2 --announce-interval 0.5 --eval-interval 3
  --checkpoint-interval 2 --rescan-interval 0 --cpu-budget 0.3)
DP=(--dp-noise-multiplier 1 --dp-clip 1 --dp-epsilon-budget 1000)
cl_start 1 --metrics-listen "127.0.0.1:$MPORT" "${DP[@]}" || give_up "host1 did not start"
cl_start 2 "${DP[@]}" --announce-stats true || give_up "host2 did not start"
cl_start 3 || give_up "host3 did not start"
cl_pair "1 2 3"
NAME2='kitchen "2" \ Küche'
ID2=$(cl_node_id 2)
ID3=$(cl_node_id 3)
cl_ctl 1 trust add --yes --name "$NAME2" "$(cl_ctl 2 --json trust show | jget "d['pairing_uri']")" \
  >/dev/null || give_up "renaming host2 in host1's trust store failed"

# Until host1 hears both peers live and has their announced accuracy (and host2's epsilon), and
# has measured its own test accuracy.
ready=""
for ((t = 0; t < 120; t++)); do
  if cl_ctl 1 --json peers | jget "sum(1 for p in d['peers'] if p['live'] and p['accuracy'] is not None
      and (p['node_id'] != '$ID2' or p['epsilon'] is not None)) == 2" | grep -q True &&
    [ "$(cl_status 1 | jget "d['model']['test_accuracy']")" != null ]; then
    ready=1
    break
  fi
  sleep 0.5
done
[ -n "$ready" ] || give_up "host1 did not hear both peers' accuracy within 60 s"
pass "3 dustd on loopback: host1 hears host2 and host3 live, with their accuracy"

# --- one scrape of host1, checked offline -------------------------------------------------------
# A checkpoint first, so that every documented family is in the scrape (the doc check requires
# it: a row no daemon of this test emits would go unchecked).
cl_ctl 1 checkpoint >/dev/null || give_up "dustctl checkpoint on host1 failed"
SCRAPE=$CL_WORK/scrape.txt
"$PY" -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
  "http://127.0.0.1:$MPORT/metrics" >"$SCRAPE" || give_up "GET /metrics of host1 failed"

if promtool check metrics <"$SCRAPE" >"$CL_WORK/promtool.out" 2>&1; then
  pass "promtool check metrics accepts the scrape ($(grep -c '^# TYPE' "$SCRAPE") families, $(grep -vc '^#' "$SCRAPE") samples)"
else
  sed 's/^/  promtool: /' "$CL_WORK/promtool.out" >&2
  fail "promtool check metrics rejected the scrape"
fi
sed 's/\bdust_merges_total\b/dust_merges/' "$SCRAPE" >"$CL_WORK/broken.txt"
if promtool check metrics <"$CL_WORK/broken.txt" >/dev/null 2>&1; then
  fail "promtool accepted a counter without _total: the check above proves nothing"
fi

if "$PY" "$CHECK" doc --all "$SCRAPE" "$DOC" "$SRC"/daemon/*.cpp >"$CL_WORK/doc.out" 2>&1; then
  pass "$(tail -n 1 "$CL_WORK/doc.out" | sed 's/^ok: //')"
else
  cat "$CL_WORK/doc.out" >&2
  fail "the scrape and docs/operations.md's Metrics table disagree"
fi
grep -v "^| \`dust_peer_live\` |" "$DOC" >"$CL_WORK/doc-missing-row.md"
if "$PY" "$CHECK" doc "$SCRAPE" "$CL_WORK/doc-missing-row.md" "$SRC"/daemon/*.cpp >/dev/null 2>&1; then
  fail "the doc check passed with dust_peer_live's row removed: it proves nothing"
fi

# Per-peer series: exactly host2 and host3 in every family that each of them must have.
"$PY" - "$SCRAPE" "$CHECK" "$ID2" "$NAME2" "$ID3" <<'PYEOF' || fail "per-peer series (see above)"
import importlib.util, sys
scrape, check, id2, name2, id3 = sys.argv[1:]
spec = importlib.util.spec_from_file_location('metrics_check', check)
mc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mc)
fams = mc.parse_exposition(scrape)
want = {(id2[:7], name2), (id3[:7], 'host3')}
bad = []
for fam in ('dust_peer_live', 'dust_peer_accuracy', 'dust_peer_last_seen_age_seconds',
            'dust_peer_updates_accepted_total', 'dust_peer_updates_rejected_total',
            'dust_peer_announces_total', 'dust_peer_outlier_score'):
    got = {(l['node_id'], l['name']) for l, _ in fams.get(fam, {'samples': []})['samples']}
    if got != want:
        bad.append('%s: series %s, expected %s' % (fam, sorted(got), sorted(want)))
eps = [(l['node_id'], v) for l, v in fams.get('dust_peer_dp_epsilon', {'samples': []})['samples']]
if [e[0] for e in eps] != [id2[:7]] or not eps[0][1] > 0:
    bad.append('dust_peer_dp_epsilon: %s, expected host2 only, > 0' % eps)
live = {l['node_id']: v for l, v in fams['dust_peer_live']['samples']}
if set(live.values()) != {1}:
    bad.append('dust_peer_live: %s, expected both 1' % live)
for b in bad: print('FAIL:', b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
pass_if 0 "per-peer series: host2 and host3 in each family, host2's name read back as '$NAME2'"

if "$PY" "$CHECK" grafana "$SRC/docs/grafana-dashboard.json" "$DOC" >"$CL_WORK/grafana.out" 2>&1; then
  pass "$(sed 's/^ok: //' "$CL_WORK/grafana.out")"
else
  cat "$CL_WORK/grafana.out" >&2
  fail "docs/grafana-dashboard.json"
fi
sed 's/dust_peer_accuracy{/dust_peer_acc{/' "$SRC/docs/grafana-dashboard.json" >"$CL_WORK/grafana-bad.json"
if "$PY" "$CHECK" grafana "$CL_WORK/grafana-bad.json" "$DOC" >/dev/null 2>&1; then
  fail "the Grafana check passed with an undocumented name: it proves nothing"
fi

# --- Debian's prometheus scraping host1 -------------------------------------------------------
cat >"$CL_WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: dust
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
net_spawn 0 "$CL_WORK/prometheus.log" prometheus --config.file="$CL_WORK/prometheus.yml" \
  --storage.tsdb.path="$CL_WORK/tsdb" --web.listen-address="127.0.0.1:$PPORT"
PROM_PID=$NET_LAST_PID
# promq QUERY: the API's data.result of an instant query, as JSON (fails on an API error).
promq() {
  "$PY" - "http://127.0.0.1:$PPORT/api/v1/query" "$1" <<'PYEOF'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + '?' + urllib.parse.urlencode({'query': sys.argv[2]})
r = json.load(urllib.request.urlopen(url, timeout=5))
if r.get('status') != 'success': sys.exit('query %s: %s' % (sys.argv[2], r))
print(json.dumps(r['data']['result']))
PYEOF
}
scrapes=0
for ((t = 0; t < 60; t++)); do
  kill -0 "$PROM_PID" 2>/dev/null || give_up "prometheus exited"
  scrapes=$(promq 'count_over_time(up{job="dust"}[1m]) and on() up{job="dust"} == 1' 2>/dev/null |
    jget "int(float(d[0]['value'][1])) if d else 0" 2>/dev/null) || scrapes=0
  [ "$scrapes" -ge 2 ] && break
  sleep 0.5
done
[ "$scrapes" -ge 2 ] || give_up "prometheus did not scrape host1 twice within 30 s"
pass "prometheus scraped host1 $scrapes times, target up"

# Training paused (less load; the model still changes by merging, so accuracies are compared
# for one evaluation, found by its timestamp). dustctl's status first, then the raw samples
# Prometheus holds for the last 20 s: one taken after that evaluation carries its timestamp.
for h in 1 2 3; do cl_ctl "$h" pause >/dev/null; done
matched=""
for ((t = 0; t < 5 && ${#matched} == 0; t++)); do
  read -r at acc < <(cl_status 1 | jget "'%s %r' % (d['model']['accuracy_at_ms'], d['model']['test_accuracy'])")
  sleep 3
  acc_series=$(promq 'dust_model_test_accuracy{job="dust"}[20s]')
  at_series=$(promq 'dust_model_accuracy_timestamp_seconds{job="dust"}[20s]')
  matched=$("$PY" - "$at" "$acc" "$acc_series" "$at_series" <<'PYEOF'
import json, sys
at, acc = int(sys.argv[1]), float(sys.argv[2])
series = [json.loads(a) for a in sys.argv[3:5]]
if any(len(s) != 1 for s in series): sys.exit('expected one series each: %s' % series)
accs = {ts: float(v) for ts, v in series[0][0]['values']}
for ts, v in series[1][0]['values']:
    if round(float(v) * 1000) == at and ts in accs:
        print('%r %r %s' % (accs[ts], acc, ts))
        break
PYEOF
  )
done
if [ -z "$matched" ]; then
  fail "no sample in prometheus from the evaluation dustctl status reported (5 tries)"
else
  read -r prom_acc ctl_acc ts <<<"$matched"
  if [ "$prom_acc" = "$ctl_acc" ]; then
    pass "dust_model_test_accuracy in prometheus ($prom_acc, scraped at $ts) = dustctl status --json's model.test_accuracy ($ctl_acc), same evaluation"
  else
    fail "dust_model_test_accuracy: prometheus $prom_acc, dustctl status $ctl_acc (same evaluation)"
  fi
fi

# The per-peer series through Prometheus's own parser: both peers, labels as host1 has them.
for fam in dust_peer_live dust_peer_accuracy dust_peer_updates_accepted_total; do
  promq "$fam{job=\"dust\"}" | "$PY" -c '
import json, sys
got = sorted((r["metric"]["node_id"], r["metric"]["name"]) for r in json.load(sys.stdin))
want = sorted([(sys.argv[1][:7], sys.argv[2]), (sys.argv[3][:7], "host3")])
if got != want: sys.exit("%s: %s, expected %s" % (sys.argv[4], got, want))' "$ID2" "$NAME2" "$ID3" "$fam" ||
    fail "$fam in prometheus"
done
pass_if 0 "prometheus has the per-peer series of host2 and host3 (dust_peer_live, _accuracy, _updates_accepted_total)"

# (|| true: net_stop's last kill fails when the process is already gone, which is not an error)
net_stop "$PROM_PID" || true
for h in 1 2 3; do cl_stop "$h" || fail "host$h did not stop cleanly"; done
cl_check_logs || fail "sanitizer reports in the daemons' logs"
finish metrics
