#!/usr/bin/env bash
# bench/tabular_goals.sh and bench/tabular_reference.py on generated tables (one seed, 20
# rounds): the goal table has one row per data set with every cell filled; the reference reads
# a header with the label column last, learns raw-scale (x 10^4) features as well as unit-scale
# ones because it standardizes them, chooses its rate among the grid on validation data and
# reports the constant predictor's accuracy; a data set that dust-bench and dust-sim refuse shows
# their message and FAIL in its row instead of stopping the table.
# Exit 77 (skipped) if Debian's python3-torch is not installed. Usage: tabular_goals_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: tabular_goals_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"
# shellcheck source=tests/lib/tables.sh
source "$SRC/tests/lib/tables.sh"
"$PY" -c 'import torch' 2>/dev/null || { skip "no python3-torch for $PY"; exit 77; }
TMP=$(mktemp -d /tmp/dust-tabular-goals-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

mkdir -p "$TMP/root/unit" "$TMP/root/raw" "$TMP/root/one"
table "$TMP/root/unit/unit-train.csv" 300 5 0,1,2 1
table "$TMP/root/unit/unit-test.csv" 150 5 0,1,2 2
for part in train test; do
  # Raw scale, with a header and the label last: the reference must find it by name.
  table "$TMP/raw.csv" 300 5 0,1,2 "$([ $part = train ] && echo 3 || echo 4)" 10000
  awk -F, -v OFS=, 'NR == 1 { print "a,b,c,d,e,label" } { l = $1; $1 = ""; print substr($0, 2), l }' \
    "$TMP/raw.csv" >"$TMP/root/raw/raw-$part.csv"
done
table "$TMP/root/one/one-train.csv" 50 5 1 5
table "$TMP/root/one/one-test.csv" 50 5 0,1 6

if ! bash "$SRC/bench/tabular_goals.sh" --build "$BUILD" --seeds 1 --rounds 20 --keep "$TMP/runs" \
  "$TMP/root" >"$TMP/table.md" 2>"$TMP/err"; then
  give_up "tabular_goals.sh failed: $(tail -n 3 "$TMP/err")"
fi
grep -q '^tabular_goals: done in [0-9]* s$' "$TMP/err" || fail "no elapsed time on stderr"

"$PY" - "$TMP" <<'PYEOF' || fail "see above"
import json, sys
tmp = sys.argv[1]
bad = []
def check(ok, what):
    if not ok: bad.append(what)
lines = open(tmp + '/table.md').read().splitlines()
rows = {l.split('|')[1].strip(): [c.strip() for c in l.split('|')[2:-1]]
        for l in lines[2:] if l.startswith('| ')}
check(list(rows) == ['one', 'raw', 'unit'], 'rows %s, not one, raw, unit' % list(rows))
check(all(len(r) == 9 for r in rows.values()), 'a row without 10 cells')
for name in ('raw', 'unit'):
    r = json.loads(open('%s/runs/%s.reference.out' % (tmp, name)).read())['datasets'][0]
    check(r['best']['mean'] > 85 and r['default']['mean'] > 85,
          '%s: the reference did not learn: %s' % (name, r))
    check(r['best_lr'] in (0.01, 0.05, 0.1, 0.2) and len(r['validation_accuracy']) == 4,
          '%s: rate not chosen among the grid: %s' % (name, r))
    # every test label is drawn from 0,1,2: the constant predictor gets about a third
    check(20 < r['constant_accuracy'] < 45, '%s: constant %s' % (name, r['constant_accuracy']))
    cells = rows.get(name, [''] * 9)
    check(cells[6][-1] == ')' and cells[7][-1] == ')' and cells[4][-1] == ')',
          '%s: a dust figure is missing: %s' % (name, cells))
    check(cells[5].split()[1] in ('pass', 'FAIL') and cells[8].rstrip('*').split()[1] in ('pass', 'FAIL'),
          '%s: gap cells %s %s' % (name, cells[5], cells[8]))
one = rows.get('one', [''] * 9)
check('has only label 1' in one[4] and one[5] == 'n/a FAIL' and one[8] == 'n/a FAIL',
      'one class: %s' % one)
check(any(' goals met. Whole table: ' in l for l in lines), 'no summary line')
for b in bad: print('FAIL:', b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
pass_if 0 "tabular_goals.sh: a row per data set, the reference standardizes and learns raw-scale data"
finish tabular_goals_test
