#!/usr/bin/env bash
# Issue #14's real-daemon goal, measured: for each data set (a directory with *-train.csv and
# *-test.csv), three real dustd on loopback, each with a third of the training CSV, default
# configuration except `layers` (the data's shape, as dust-bench train infers it) and what the
# harness needs (ports, peers, trust, state and data dirs), learn for SECONDS; then, with
# training paused and the models settled, for each daemon:
#   - `dustctl evaluate` on the whole test file and `dustctl predict` on the same file (the two
#     accuracies must be equal: same model, same scaling, rows sent over the socket; the model's
#     content hash must be the same before and after both);
#   - the input scaling in `dustctl status --json` (all three must agree on one id, in state
#     "agreed"); a status without a scaling object skips that check and says so;
#   - the incompatible_model drops of the last 10 s (updates carry the model fingerprint mixed
#     with the scaling: peers on different scalings drop each other's updates, so this stays 0
#     only if they agree) and the updates accepted in that time (> 0: they do exchange).
# Central reference: dust-bench train --data DIR --epochs 30, mean over --central-seeds seeds.
#
# The split is non-IID like dust-sim's --split shards:2: the training rows sorted by label, cut
# into 6 equal shards, each daemon dealt 2 at random (seeded); --iid deals shuffled rows round
# robin. The header row stays at the top of every part.
#
#   bench/tabular_daemons.sh [--build DIR] [--seconds S] [--seeds N] [--central-seeds N] [--iid]
#                            [--keep DIR] [--dustd-arg ARG]... [ROOT_OR_DATA_DIR...]
#
# ROOT defaults to ../shared/datasets/tabular beside the repository (every directory one level
# down holding a *-train.csv). --seconds 120 (the goal), --seeds 1 (runs per data set; run s
# deals the split with seed s, the daemons keep their defaults), --central-seeds 5. Runs one
# data set at a time (two at once would share the machine's cores and skew both). Every run's
# result is a JSON line on stdout ("run"), then one markdown table; progress on stderr.
# --keep DIR keeps the daemons' logs, state and data. --dustd-arg ARG (repeatable) passes ARG
# to every dustd, for exploration (e.g. --dustd-arg --holdout-fraction=0); the goal is measured
# without it.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build
SECONDS_RUN=120
SEEDS=1
CENTRAL_SEEDS=5
SPLIT=shards
KEEP=
EXTRA=()
ROOTS=()
while (($#)); do
  case $1 in
    --build) BUILD=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --central-seeds) CENTRAL_SEEDS=$2; shift 2 ;;
    --iid) SPLIT=iid; shift ;;
    --keep) KEEP=$2; shift 2 ;;
    --dustd-arg) EXTRA+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tabular_daemons: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) ROOTS+=("$1"); shift ;;
  esac
done
((${#ROOTS[@]})) || ROOTS=("$SRC/../shared/datasets/tabular")
for v in "$SECONDS_RUN" "$SEEDS" "$CENTRAL_SEEDS"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] ||
    { echo "tabular_daemons: --seconds, --seeds and --central-seeds take positive integers" >&2; exit 2; }
done
PY=/usr/bin/python3

# shellcheck source=tests/e2e/netlib.sh
source "$SRC/tests/e2e/netlib.sh"
# shellcheck source=tests/e2e/cluster.sh
source "$SRC/tests/e2e/cluster.sh"
cl_find_bins "$BUILD" || { echo "tabular_daemons: build dustd, dustctl and dust-bench in $BUILD first" >&2; exit 1; }

# The data sets: each argument is one, or holds them one directory down.
# shellcheck source=bench/tabular_dirs.sh
source "$(dirname "${BASH_SOURCE[0]}")/tabular_dirs.sh"
tabular_dirs tabular_daemons "${ROOTS[@]}"

if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP"
  OUT=$(cd "$KEEP" && pwd)
else
  OUT=$(mktemp -d /tmp/dust-tabular-daemons.XXXXXX)
fi
cleanup() {
  local h
  for h in "${!CL_PID[@]}"; do cl_stop "$h" KILL || true; done
  [ -n "$KEEP" ] || rm -rf "$OUT"
}
trap cleanup EXIT

CL_MODE=loopback
CL_LOOPBACK_HOSTS="1 2 3"
HOSTS=(1 2 3)

# split_csv TRAIN OUTDIR SEED: OUTDIR/part-{1,2,3}/NAME (header kept), dealt as described above.
split_csv() {
  "$PY" - "$1" "$2" "$3" "$SPLIT" <<'PYEOF'
import csv, os, random, sys
train, out, seed, split = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = open(train).read().splitlines(keepends=True)
head = next(csv.reader(lines[:1]))
header = [] if all(c.strip().lstrip('+-').replace('.', '', 1).isdigit() for c in head) else lines[:1]
rows = lines[len(header):]
col = head.index('label') if header and 'label' in head else 0
label = lambda l: int(float(l.split(',')[col]))
rng = random.Random(seed)
rng.shuffle(rows)
parts = [[] for _ in range(3)]
if split == 'iid':
    for i, r in enumerate(rows): parts[i % 3].append(r)
else:  # shards:2
    rows.sort(key=label)  # stable: within a label, the shuffled order
    order = list(range(6))
    rng.shuffle(order)
    for s, shard in enumerate(order):
        parts[s // 2] += rows[len(rows) * shard // 6:len(rows) * (shard + 1) // 6]
for i, p in enumerate(parts, 1):
    os.makedirs('%s/part-%d' % (out, i))
    with open('%s/part-%d/%s' % (out, i, os.path.basename(train)), 'w') as f:
        f.writelines(header + p)
    print('part-%d: %d rows, labels %s' % (i, len(p), sorted({label(r) for r in p})), file=sys.stderr)
PYEOF
}

# counters: for each host, "incompatible_model-drops updates_accepted" from its status.
counters() {
  local h
  for h in "${HOSTS[@]}"; do
    cl_status "$h" | jget "'%d %d' % (d['network']['drops'].get('incompatible_model', 0), d['network']['updates_accepted'])"
  done
}

# run_one DIR SEED CENTRAL_JSON: one split, three daemons, one JSON line on stdout.
run_one() {
  local dir=$1 seed=$2 central=$3 name train test layers w h t before after
  name=$(basename "$dir")
  train=$(compgen -G "$dir/*-train.csv" | head -n 1)
  test=$(compgen -G "$dir/*-test.csv" | head -n 1)
  layers=$(jget "','.join(map(str, d['layers']))" <<<"$central")
  w=$OUT/$name.$seed
  rm -rf "$w"
  mkdir -p "$w/data/test"
  ln -s "$test" "$w/data/test/"
  split_csv "$train" "$w/data" "$seed" 2>"$w/split.txt"
  CL_WORK=$w CL_DATA=$w/data
  CL_PORT0=$((42000 + ($$ + seed * 7) % 8000))
  CL_DUSTD_ARGS=(--layers "$layers" "${EXTRA[@]}")
  for h in "${HOSTS[@]}"; do cl_start "$h"; done
  cl_pair "${HOSTS[*]}"
  net_log "$name seed $seed: 3 dustd, layers $layers, $SPLIT split ($(paste -sd' ' "$w/split.txt")); ${SECONDS_RUN} s"
  sleep $((SECONDS_RUN > 10 ? SECONDS_RUN - 10 : 0))
  before=$(counters)
  sleep $((SECONDS_RUN > 10 ? 10 : SECONDS_RUN))
  after=$(counters)
  # A paused daemon still merges its peers' updates (pause stops local training only; with all
  # three paused their models still change every round for more than 30 s), so its model can
  # change between evaluate and predict: each daemon's pair is taken again until its model's
  # hash is the same before and after it (at most 10 tries; the report compares the two
  # accuracies only on one model).
  for h in "${HOSTS[@]}"; do cl_ctl "$h" pause >/dev/null; done
  for h in "${HOSTS[@]}"; do
    for ((t = 0; t < 10; t++)); do
      cl_status "$h" >"$w/status-$h.json"
      cl_ctl "$h" --json evaluate --data "$w/data/test" --split test >"$w/evaluate-$h.json"
      cl_ctl "$h" --json predict "$test" >"$w/predict-$h.jsonl"
      cl_status "$h" | jget "d['model']['content_hash']" >"$w/hash-after-$h"
      [ "$(cat "$w/hash-after-$h")" != "$(jget "d['model']['content_hash']" <"$w/status-$h.json")" ] || break
    done
    echo "$t" >"$w/retries-$h"
  done
  for h in "${HOSTS[@]}"; do cl_stop "$h"; done
  "$PY" - "$w" "$name" "$seed" "$SPLIT" "$layers" "$before" "$after" <<'PYEOF'
import json, sys
w, name, seed, split, layers, before, after = sys.argv[1:8]
before = [list(map(int, l.split())) for l in before.splitlines()]
after = [list(map(int, l.split())) for l in after.splitlines()]
daemons = []
for h in (1, 2, 3):
    st = json.load(open('%s/status-%d.json' % (w, h)))
    sc = st['model'].get('scaling', st.get('scaling'))
    ev = json.load(open('%s/evaluate-%d.json' % (w, h)))
    pred = json.loads(open('%s/predict-%d.jsonl' % (w, h)).read().splitlines()[-1])
    daemons.append({
        'evaluate': ev['accuracy'], 'predict': pred.get('accuracy'), 'samples': ev['samples'],
        'steps': st['model']['steps'],
        'same_model': open('%s/hash-after-%d' % (w, h)).read().strip() == st['model']['content_hash'],
        'retries': int(open('%s/retries-%d' % (w, h)).read()),
        'scaling': None if sc is None else {'id': sc.get('id'), 'state': sc.get('state')},
        'incompatible_last_10s': after[h - 1][0] - before[h - 1][0],
        'accepted_last_10s': after[h - 1][1] - before[h - 1][1]})
print(json.dumps({'run': name, 'seed': int(seed), 'split': split, 'layers': layers,
                  'daemons': daemons}))
PYEOF
}

echo "tabular_daemons: ${#DIRS[@]} data sets, seeds 1..$SEEDS, $SECONDS_RUN s, $SPLIT split${EXTRA[*]:+, dustd ${EXTRA[*]}}; load: $(uptime)" >&2
start=$(date +%s)
: >"$OUT/runs.jsonl"
for d in "${DIRS[@]}"; do
  n=$(basename "$d")
  for ((s = 1; s <= CENTRAL_SEEDS; s++)); do
    "$CL_BIN_BENCH" train --data "$d" --epochs 30 --seed "$s" 2>/dev/null | tail -n 1
  done >"$OUT/$n.central.jsonl"
  for ((s = 1; s <= SEEDS; s++)); do
    run_one "$d" "$s" "$(head -n 1 "$OUT/$n.central.jsonl")" | tee -a "$OUT/runs.jsonl"
  done
done
echo "tabular_daemons: done in $(($(date +%s) - start)) s" >&2

"$PY" - "$OUT" "$SECONDS_RUN" "$SPLIT" "${DIRS[@]}" <<'PYEOF'
import json, os, statistics, sys
out, seconds, split, dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
GOAL = 3.0
runs = [json.loads(l) for l in open(out + '/runs.jsonl')]
print('| data set | central | daemon 1 | daemon 2 | daemon 3 | gap (mean), goal <= 3 '
      '| gap (worst daemon) | predict == evaluate | one scaling |')
print('|---|---:|---:|---:|---:|---:|---:|---|---|')
met = 0
for d in dirs:
    n = os.path.basename(d)
    central = [100 * json.loads(l)['test_accuracy'] for l in open('%s/%s.central.jsonl' % (out, n))]
    mine = [r for r in runs if r['run'] == n]
    acc = [[100 * r['daemons'][h]['evaluate'] for r in mine] for h in range(3)]
    mean = [statistics.mean(a) for a in acc]
    c = statistics.mean(central)
    gap, worst = c - statistics.mean(mean), c - min(mean)
    met += gap <= GOAL
    same = all(x['predict'] == x['evaluate'] and x['same_model'] for r in mine for x in r['daemons'])
    ids = [[x['scaling'] for x in r['daemons']] for r in mine]
    if any(s is None for i in ids for s in i):
        agree = 'not in status; by updates:'
    else:
        agree = 'yes' if all(len({s['id'] for s in i}) == 1 and all(s['state'] == 'agreed' for s in i)
                             for i in ids) else 'NO'
    quiet = all(x['incompatible_last_10s'] == 0 and x['accepted_last_10s'] > 0
                for r in mine for x in r['daemons'])
    if agree.endswith(':'):
        agree += ' yes' if quiet else ' NO'
    elif not quiet:
        agree += '; but updates dropped as incompatible_model (or none accepted) in the last 10 s'
    print('| %s | %.2f | %s | %.2f %s | %.2f | %s | %s |' % (
        n, c, ' | '.join('%.2f' % m for m in mean), gap, 'pass' if gap <= GOAL else 'FAIL',
        worst, 'yes' if same else 'NO', agree))
print()
print('Test accuracy in %%: central = dust-bench train --epochs 30, mean over %d seeds; daemon i = '
      'dustctl evaluate of daemon i after %s s, mean over %d split seeds (%s split). gap = central '
      '- the daemons\' mean (worst: - the lowest daemon). %d of %d data sets meet the goal.'
      % (len(central), seconds, len(mine), 'shards:2' if split == 'shards' else 'iid', met, len(dirs)))
PYEOF
