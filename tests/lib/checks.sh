# shellcheck shell=bash
# Pass/fail bookkeeping for the test scripts that run many checks and report them all (sourced
# by tests/integration/systemd_test.sh and tests/system/nspawn_test.sh). A failed check is
# counted and the script goes on, so one run shows every problem; checks_done exits with the
# verdict.
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
pass() { echo "ok: $*"; }
# pass_if N MESSAGE: "ok: MESSAGE" if no check failed since the failure count was N.
pass_if() {
  local before=$1
  shift
  [ "$failures" -ne "$before" ] || pass "$@"
}
# Stops here: what follows depends on what just failed.
give_up() {
  echo "FAIL: $*; stopping" >&2
  echo "$((failures + 1)) check(s) failed" >&2
  exit 1
}
skip() { echo "SKIP: $*"; }
need() { command -v "$1" >/dev/null 2>&1; }
# checks_done WHAT: exits 1 if any check failed, else prints "all WHAT checks passed".
checks_done() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all $1 checks passed"
}
