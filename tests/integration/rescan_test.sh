#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || C" below: pass never fails
# Incremental rescans with a real dustd: rows appended to a CSV file are picked up by `dustctl
# rescan` (the training samples grow by exactly those rows, and only that file is read), a last
# line without a newline waits until it is complete, a bad appended row keeps the rows before it
# and is named with its line, and a removed file's samples go.
#
# Usage: tests/integration/rescan_test.sh BUILD_DIR
set -euo pipefail
BUILD=$(cd "${1:?usage: rescan_test.sh BUILD_DIR}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DUSTD=$BUILD/daemon/dustd
CTL=$BUILD/ctl/dustctl
PY=/usr/bin/python3
for b in "$DUSTD" "$CTL"; do [ -x "$b" ] || { echo "rescan_test: $b not built" >&2; exit 1; }; done
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"
TMP=$(mktemp -d /tmp/dust-rescan-test.XXXXXX)
PID=
cleanup() {
  if [ -n "$PID" ]; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  [ "${failures:-0}" -eq 0 ] || tail -n 20 "$TMP/dustd.log" >&2 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# rows N FIRST: N rows "label,a,b" with labels cycling 0..1 and features from FIRST on.
rows() {
  local i
  for ((i = $2; i < $2 + $1; i++)); do echo "$((i % 2)),$i.5,0.25"; done
}
mkdir -p "$TMP/data" "$TMP/state"
{ echo "label,a,b"; rows 300 0; } >"$TMP/data/log.csv"
rows 40 0 >"$TMP/data/other.csv"
rows 20 0 >"$TMP/data/log-test.csv"

PORT=$("$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$DUSTD" --data-dir "$TMP/data" --state-dir "$TMP/state" --control-socket "$TMP/dustd.sock" \
  --port "$PORT" --bind-address 127.0.0.1 --broadcast none --layers 2,8,2 --rescan-interval 0 \
  --log-level info >"$TMP/dustd.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  "$CTL" --socket "$TMP/dustd.sock" --timeout 1000 status >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || give_up "dustd exited at start"
  sleep 0.1
done

# rescan: `dustctl rescan --json` into $TMP/rescan.json; sets TOTAL (train + holdout samples),
# READ (files read by this rescan) and TEST.
rescan() {
  "$CTL" --socket "$TMP/dustd.sock" rescan --json >"$TMP/rescan.json" || give_up "dustctl rescan failed"
  read -r TOTAL READ TEST < <("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(d["train_samples"] + d["holdout_samples"], d["files_read"], d["test_samples"])' "$TMP/rescan.json")
}
# field EXPR: a value of the last rescan reply, e.g. field 'd["files_with_errors"][0]["samples"]'.
field() { "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$TMP/rescan.json" "$1"; }

rescan
[ "$TOTAL" = 340 ] && [ "$TEST" = 20 ] && [ "$READ" = 0 ] &&
  pass "at start: 340 training samples (log.csv 300 + other.csv 40), 20 test; an unchanged dir reads no file" ||
  fail "at start: $TOTAL training, $TEST test samples, $READ files read (want 340, 20, 0)"

rows 25 300 >>"$TMP/data/log.csv"
rescan
[ "$TOTAL" = 365 ] && [ "$READ" = 1 ] &&
  pass "25 rows appended to log.csv: 365 samples, one file read" ||
  fail "after appending 25 rows: $TOTAL samples, $READ files read (want 365, 1)"

printf '1,7.5,0.2' >>"$TMP/data/log.csv"
rescan
[ "$TOTAL" = 365 ] && [ "$(field 'd["incomplete_last_lines"][0]["bytes"]')" = 9 ] &&
  pass "a last line without a newline is not a sample, and is reported (9 bytes)" ||
  fail "incomplete line: $TOTAL samples, reply $(cat "$TMP/rescan.json")"
printf '5\n' >>"$TMP/data/log.csv"
rescan
[ "$TOTAL" = 366 ] && [ "$(field 'len(d["incomplete_last_lines"])')" = 0 ] &&
  pass "once completed, the line is one more sample" ||
  fail "completed line: $TOTAL samples (want 366)"

line=$(($(wc -l <"$TMP/data/log.csv") + 3))  # after the two good rows
{ rows 2 400; echo "1,oops,0.5"; rows 3 500; } >>"$TMP/data/log.csv"
rescan
reason=$(field 'd["files_with_errors"][0]["reason"]')
[ "$TOTAL" = 368 ] && [ "$reason" = "line $line, column 2: \"oops\" is not a number" ] &&
  pass "a bad appended row keeps the rows before it (368) and is named: $reason" ||
  fail "bad row: $TOTAL samples (want 368), reason '$reason' (want line $line)"
"$CTL" --socket "$TMP/dustd.sock" status >"$TMP/status.txt"
grep -qF "log.csv: $(field 'd["files_with_errors"][0]["samples"]') samples used, then line $line" "$TMP/status.txt" &&
  pass "dustctl status shows it" || fail "dustctl status lacks the error: $(cat "$TMP/status.txt")"

rm "$TMP/data/other.csv"
rescan
[ "$TOTAL" = 328 ] && [ "$READ" = 0 ] &&
  pass "other.csv removed: its 40 samples are dropped, nothing read" ||
  fail "after removing other.csv: $TOTAL samples, $READ files read (want 328, 0)"

finish rescan_test
