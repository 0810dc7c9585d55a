# shellcheck shell=bash
# Reporting helpers and package checks shared by the packaging tests (sourced by
# tests/integration/systemd_test.sh, tests/cross/package_check.sh and tests/system/nspawn_test.sh;
# bash, set -euo pipefail); tests/integration/shape_test.sh uses the reporting helpers.
# Checks go on after a failure and the script ends with `finish`, so one run shows every
# problem; give_up stops where what follows depends on what just failed.

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
# finish WHAT: the exit status of the script.
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
  fi
  echo "all $* checks passed"
}

# check_lintian DEB OUT: lintian exits non-zero only for errors; the warnings and
# informational tags that stay are printed and explained in docs/operations.md ("Packaging
# notes").
check_lintian() {
  local deb=$1 out=$2
  if ! need lintian; then
    skip "lintian is not installed (scripts/deps full installs it)"
    return
  fi
  if lintian --fail-on error "$deb" >"$out" 2>&1; then
    pass "lintian: no errors"
  else
    fail "lintian reported errors"
  fi
  sed 's/^/  lintian: /' "$out"
}

# check_stripped ROOT FILE...: the packaged binaries (CPACK_STRIP_FILES) have no symbol table
# and no debug information left.
check_stripped() {
  local root=$1 bin
  shift
  for bin in "$@"; do
    if readelf -S "$root/$bin" | grep -qE '\.symtab|\.debug_info'; then fail "/$bin is not stripped"; fi
  done
}

# check_dustd_config TMP CONF DUSTD...: the packaged dustd (the command DUSTD..., e.g. under
# qemu) accepts the packaged configuration CONF, and rejects a broken copy of it naming the file
# and line, so that the first check is not vacuous. TMP is a scratch directory.
check_dustd_config() {
  local tmp=$1 conf=$2 line
  shift 2
  if "$@" --check-config --config "$conf" >"$tmp/check.out" 2>&1; then
    pass "packaged dustd --check-config accepts the packaged /etc/dust/dustd.conf"
  else
    cat "$tmp/check.out" >&2
    fail "packaged dustd --check-config rejected the packaged /etc/dust/dustd.conf"
  fi
  cp "$conf" "$tmp/broken.conf"
  echo "no-such-option = 1" >>"$tmp/broken.conf"
  line=$(wc -l <"$tmp/broken.conf")
  if "$@" --check-config --config "$tmp/broken.conf" >"$tmp/broken.out" 2>&1; then
    fail "dustd --check-config accepted an unknown option"
  elif ! grep -q "broken.conf:$line" "$tmp/broken.out"; then
    fail "dustd --check-config did not name broken.conf:$line: $(cat "$tmp/broken.out")"
  else
    pass "packaged dustd --check-config rejects an unknown option at broken.conf:$line"
  fi
}
