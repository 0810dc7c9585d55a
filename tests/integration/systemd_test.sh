#!/usr/bin/env bash
# Checks what a distribution ships: the systemd unit (systemd-analyze verify and security), the
# install rules (cmake --install into a scratch DESTDIR), and the Debian package (cpack, its
# contents and control files, installation into a scratch root with dpkg --root running the
# real maintainer scripts, the installed dustd --check-config on the installed config, removal
# and purge, lintian).
#
# Usage: systemd_test.sh BUILD_DIR   (a built tree; the script never writes outside a temporary
# directory, except the unit staging file the install rules keep under BUILD_DIR/systemd/)
set -euo pipefail

build=$(cd "${1:?usage: systemd_test.sh BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/dust-systemd-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=tests/lib/checks.sh
source "$src/tests/lib/checks.sh"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
unitdir=$(sed -n 's/^DUST_SYSTEMD_UNITDIR:PATH=//p' "$build/CMakeCache.txt")
sysusersdir=$(sed -n 's/^DUST_SYSUSERSDIR:PATH=//p' "$build/CMakeCache.txt")
tmpfilesdir=$(sed -n 's/^DUST_TMPFILESDIR:PATH=//p' "$build/CMakeCache.txt")
if [ -z "$version" ] || [ -z "$unitdir" ]; then
  give_up "$build/CMakeCache.txt lacks the project version or DUST_SYSTEMD_UNITDIR"
fi

# The files every installation must contain, relative to the root, for the /usr prefix.
expected_files=(
  etc/dust/dustd.conf
  "${unitdir#/}/dustd.service"
  "${sysusersdir#/}/dust.conf"
  "${tmpfilesdir#/}/dust.conf"
  usr/sbin/dustd
  usr/bin/dustctl
  usr/share/doc/neural-dust/copyright
  usr/share/doc/neural-dust/changelog.gz
  usr/share/doc/neural-dust/operations.md
  usr/share/doc/neural-dust/control-protocol.md
  usr/share/doc/neural-dust/using-the-model.md
  usr/share/bash-completion/completions/dustctl
)
# Manual pages: plain from cmake --install, gzip -9n'd in the package.
man_pages=(usr/share/man/man8/dustd.8 usr/share/man/man1/dustctl.1)

# --- 1. install rules -----------------------------------------------------------------------
stage="$tmp/install-usr"
before=$failures
DESTDIR="$stage" cmake --install "$build" --prefix /usr >"$tmp/install-usr.log" 2>&1 ||
  { cat "$tmp/install-usr.log" >&2; give_up "cmake --install --prefix /usr failed"; }
for f in "${expected_files[@]}" "${man_pages[@]}"; do
  [ -f "$stage/$f" ] || fail "cmake --install --prefix /usr: /$f missing"
done
[ ! -e "$stage/usr/etc" ] || fail "cmake --install --prefix /usr: wrote /usr/etc (must be /etc)"
grep -qx 'ExecStart=/usr/sbin/dustd --config /etc/dust/dustd.conf' "$stage/$unitdir/dustd.service" ||
  fail "installed unit (prefix /usr): ExecStart is not /usr/sbin/dustd --config /etc/dust/dustd.conf"
cmp -s "$src/systemd/dustd.service" "$stage/$unitdir/dustd.service" ||
  fail "installed unit (prefix /usr) differs from systemd/dustd.service"
pass_if "$before" "cmake --install --prefix /usr: $(cd "$stage" && find . -type f | wc -l) files, all expected ones present"

# Another prefix: the config goes to <prefix>/etc and the unit names the binaries there.
opt="$tmp/install-opt"
before=$failures
DESTDIR="$opt" cmake --install "$build" --prefix /opt/dust >"$tmp/install-opt.log" 2>&1 ||
  { cat "$tmp/install-opt.log" >&2; give_up "cmake --install --prefix /opt/dust failed"; }
[ -f "$opt/opt/dust/etc/dust/dustd.conf" ] || fail "prefix /opt/dust: /opt/dust/etc/dust/dustd.conf missing"
[ -x "$opt/opt/dust/sbin/dustd" ] || fail "prefix /opt/dust: /opt/dust/sbin/dustd missing"
grep -qx 'ExecStart=/opt/dust/sbin/dustd --config /opt/dust/etc/dust/dustd.conf' \
  "$opt/$unitdir/dustd.service" || fail "prefix /opt/dust: the unit's ExecStart was not adjusted"
pass_if "$before" "cmake --install --prefix /opt/dust: config and ExecStart follow the prefix"

# --- 2. the unit: systemd-analyze -----------------------------------------------------------
if need systemd-analyze; then
  # verify checks that ExecStart= and ExecReload= exist and that the Documentation= man pages
  # are there: point the unit at the installed tree and man at its manual pages.
  mkdir -p "$tmp/verify"
  sed -e "s|^ExecStart=/usr/sbin/dustd --config /etc/dust/|ExecStart=$stage/usr/sbin/dustd --config $stage/etc/dust/|" \
    "$stage/$unitdir/dustd.service" >"$tmp/verify/dustd.service"
  man_arg=()
  if need man; then
    export MANPATH="$stage/usr/share/man"
  else
    man_arg=(--man=no)
    skip "man is not installed: systemd-analyze verify runs with --man=no"
  fi
  if out=$(systemd-analyze verify "${man_arg[@]}" "$tmp/verify/dustd.service" 2>&1) && [ -z "$out" ]; then
    pass "systemd-analyze verify: clean"
  else
    fail "systemd-analyze verify dustd.service: $out"
  fi

  # Exposure score: a property of the unit file. Goal: at most 2.0 (0 = fully sandboxed, 10 = none).
  report=$(systemd-analyze security --offline=true "$src/systemd/dustd.service" 2>&1 || true)
  score=$(sed -n 's/.*Overall exposure level for dustd.service: \([0-9.]*\).*/\1/p' <<<"$report")
  if [ -z "$score" ]; then
    fail "systemd-analyze security printed no exposure level: $report"
  elif awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    pass "systemd-analyze security --offline=true: exposure $score (<= 2.0)"
  else
    fail "systemd-analyze security: exposure $score > 2.0"
    grep '✗' <<<"$report" >&2 || true
  fi
else
  skip "systemd-analyze is not installed (scripts/deps full installs systemd)"
fi

# --- 3. the Debian package ------------------------------------------------------------------
if ! need cpack || ! need dpkg-deb || ! need dpkg-shlibdeps; then
  skip "cpack, dpkg-deb or dpkg-shlibdeps missing (scripts/deps full installs dpkg-dev)"
  [ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
  exit 0
fi

(cd "$tmp" && cpack -G DEB -B "$tmp/deb" --config "$build/CPackConfig.cmake") >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; give_up "cpack -G DEB failed"; }
arch=$(dpkg --print-architecture)
deb="$tmp/deb/neural-dust_${version}_${arch}.deb"
[ -f "$deb" ] || give_up "cpack made no $deb"
pass "cpack -G DEB: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# Contents: every expected file, man pages compressed, nothing under /usr/local or /usr/etc.
before=$failures
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./||' >"$tmp/contents"
for f in "${expected_files[@]}" "${man_pages[@]/%/.gz}"; do
  grep -qx "$f" "$tmp/contents" || fail "package lacks /$f"
done
if grep -E '^usr/(local|etc)/' "$tmp/contents"; then fail "package installs under /usr/local or /usr/etc"; fi
pass_if "$before" "dpkg-deb -c: $(grep -vc '/$' "$tmp/contents") files, all expected ones present"

# Control: name, version, computed library dependencies, conffiles, maintainer scripts.
before=$failures
[ "$(dpkg-deb -f "$deb" Package)" = neural-dust ] || fail "Package is not neural-dust"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "Version is not $version"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libsodium libstdc++6; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $depends"
done
dpkg-deb -e "$deb" "$tmp/control"
grep -qx /etc/dust/dustd.conf "$tmp/control/conffiles" || fail "conffiles lacks /etc/dust/dustd.conf"
for script in postinst prerm postrm; do
  [ -x "$tmp/control/$script" ] || fail "control: $script missing or not executable"
done
pass_if "$before" "control: Depends: $depends"

dpkg-deb -x "$deb" "$tmp/extract"
zcat "$tmp/extract/usr/share/doc/neural-dust/changelog.gz" | head -1 | grep -q "^neural-dust ($version) " ||
  fail "changelog.gz: the newest entry is not version $version"
check_stripped "$tmp/extract" usr/sbin/dustd usr/bin/dustctl

# --- 4. install into a scratch root with dpkg: the real maintainer scripts run -----------------
scratch_root_checks() {
  # --force-script-chrootless runs them on this machine with DPKG_ROOT set, so that
  # systemd-sysusers, systemd-tmpfiles and deb-systemd-helper act inside the scratch root only;
  # --force-depends because the scratch root holds no other package.
  root="$tmp/root"
  mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info" "$root/etc"
  touch "$root/var/lib/dpkg/status"
  dpkg_root() {
    dpkg --root="$root" --log="$tmp/dpkg.log" --force-script-chrootless --force-depends \
      --force-not-root "$@" >>"$tmp/dpkg.out" 2>&1
  }
  if dpkg_root -i "$deb"; then
    pass "dpkg --root -i: installed, postinst ran"
  else
    cat "$tmp/dpkg.out" >&2
    give_up "dpkg --root -i failed"
  fi
  before=$failures
  dust_uid=$(awk -F: '$1 == "dust" { print $3 }' "$root/etc/passwd" 2>/dev/null || true)
  dust_gid=$(awk -F: '$1 == "dust" { print $3 }' "$root/etc/group" 2>/dev/null || true)
  [ -n "$dust_uid" ] || fail "postinst: no user dust in the root's /etc/passwd"
  [ -n "$dust_gid" ] || fail "postinst: no group dust in the root's /etc/group"
  if [ -d "$root/var/lib/dust" ]; then
    [ "$(stat -c '%a %u %g' "$root/var/lib/dust")" = "700 $dust_uid $dust_gid" ] ||
      fail "postinst: /var/lib/dust is $(stat -c '%a %u %g' "$root/var/lib/dust"), want 700 dust dust"
  else
    fail "postinst: /var/lib/dust not created"
  fi
  [ -L "$root/etc/systemd/system/multi-user.target.wants/dustd.service" ] ||
    fail "postinst: dustd.service not enabled (no multi-user.target.wants link)"
  pass_if "$before" "postinst: user dust ($dust_uid:$dust_gid), /var/lib/dust 0700, unit enabled"

  # The installed daemon checks the installed configuration.
  check_dustd_config "$tmp" "$root/etc/dust/dustd.conf" "$root/usr/sbin/dustd"

  # The unit's PrivateUsers=yes maps only root and dust into dustd's user namespace; any other
  # client of the control socket appears to dustd as nobody. Check that an operator whose
  # supplementary groups include dust is still admitted, and one without it is not: run the
  # installed dustd as dust in a user namespace mapped as systemd maps it (0 and dust's uid/gid
  # to themselves), on loopback, and call it with the installed dustctl as another uid.
  privateusers_check() {
    if ! need unshare || ! need setpriv; then
      skip "unshare/setpriv missing: PrivateUsers check"
      return
    fi
    local pu="$tmp/pu" port=$((20000 + RANDOM % 20000)) pid=""
    chmod 0755 "$tmp"
    mkdir -p "$pu/state" "$pu/run" "$pu/data"
    chown "$dust_uid:$dust_gid" "$pu/state" "$pu/run"
    chmod 0700 "$pu/state"
    chmod 0750 "$pu/run"
    mkfifo "$pu/go"
    # unshare execs bash, which waits until the maps are written, then execs dustd: one pid.
    # shellcheck disable=SC2016 # $0 and $@ are for the inner bash
    unshare --user bash -c 'read -r _ <"$0"; exec "$@"' "$pu/go" \
      setpriv --reuid="$dust_uid" --regid="$dust_gid" --clear-groups \
      "$root/usr/sbin/dustd" --config "$root/etc/dust/dustd.conf" --state-dir "$pu/state" \
      --data-dir "$pu/data" --control-socket "$pu/run/dustd.sock" --bind-address 127.0.0.1 \
      --port "$port" --broadcast none --log-level warn >"$pu/dustd.log" 2>&1 &
    pid=$!
    if ! /usr/bin/python3 - "$pid" "$dust_uid" "$dust_gid" <<'EOF'; then
import os, sys
pid, uid, gid = sys.argv[1:4]
for name, ident in (("uid_map", uid), ("gid_map", gid)):
    fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY)
    os.write(fd, f"0 0 1\n{ident} {ident} 1\n".encode())  # one write(2), as the kernel requires
    os.close(fd)
EOF
      skip "cannot map a user namespace here (containers may forbid it): PrivateUsers check"
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return
    fi
    echo go >"$pu/go"
    for _ in $(seq 100); do
      [ -S "$pu/run/dustd.sock" ] && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ ! -S "$pu/run/dustd.sock" ]; then
      fail "dustd in a PrivateUsers-style namespace did not create its socket: $(cat "$pu/dustd.log")"
    else
      local operator=4321
      if setpriv --reuid=$operator --regid=$operator --groups="$dust_gid" \
        "$root/usr/bin/dustctl" --socket "$pu/run/dustd.sock" status >"$pu/op.out" 2>&1; then
        pass "PrivateUsers: uid $operator with supplementary group dust may use dustctl"
      else
        fail "PrivateUsers: uid $operator in group dust was refused: $(cat "$pu/op.out")"
      fi
      if setpriv --reuid=$operator --regid=$operator --clear-groups \
        "$root/usr/bin/dustctl" --socket "$pu/run/dustd.sock" status >"$pu/other.out" 2>&1; then
        fail "PrivateUsers: uid $operator without group dust was admitted"
      else
        pass "PrivateUsers: uid $operator without group dust is refused"
      fi
    fi
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  }
  if [ -n "$dust_uid" ]; then
    privateusers_check
  else
    skip "PrivateUsers check: no dust user from postinst"
  fi

  # Upgrade in place (same version): postinst runs with the old version; state survives.
  before=$failures
  touch "$root/var/lib/dust/marker"
  dpkg_root -i "$deb" || fail "dpkg --root -i (reinstall) failed"
  [ -f "$root/var/lib/dust/marker" ] || fail "reinstall lost /var/lib/dust"

  # Remove keeps state and config; purge deletes both and disables the unit.
  dpkg_root -r neural-dust || fail "dpkg --root -r failed"
  [ -f "$root/var/lib/dust/marker" ] || fail "remove deleted /var/lib/dust (only purge may)"
  [ -f "$root/etc/dust/dustd.conf" ] || fail "remove deleted the conffile /etc/dust/dustd.conf"
  [ ! -e "$root/usr/sbin/dustd" ] || fail "remove left /usr/sbin/dustd"
  mkdir -p "$root/var/lib/dust/data"
  echo "1,0.5" >"$root/var/lib/dust/data/readings.csv"
  dpkg_root -P neural-dust || fail "dpkg --root -P failed"
  [ ! -e "$root/var/lib/dust/marker" ] || fail "purge left /var/lib/dust/marker (dustd's state)"
  [ -f "$root/var/lib/dust/data/readings.csv" ] ||
    fail "purge deleted the user's training data in /var/lib/dust/data"
  [ "$(ls -A "$root/var/lib/dust")" = data ] || fail "purge left more than data/ in /var/lib/dust"
  rm -r "$root/var/lib/dust/data"
  dpkg_root -i "$deb" || fail "dpkg --root -i (after purge) failed"
  dpkg_root -P neural-dust || fail "dpkg --root -P (empty data/) failed"
  [ ! -e "$root/var/lib/dust" ] || fail "purge left /var/lib/dust with an empty data/"
  [ ! -e "$root/etc/dust/dustd.conf" ] || fail "purge left /etc/dust/dustd.conf"
  [ ! -e "$root/etc/systemd/system/multi-user.target.wants/dustd.service" ] ||
    fail "purge left the multi-user.target.wants link"
  pass_if "$before" "remove keeps /var/lib/dust and the conffile; purge removes them and the enablement, but keeps files in /var/lib/dust/data"
}
if [ "$(id -u)" -eq 0 ]; then
  scratch_root_checks
else
  skip "installing into a scratch root with dpkg --root needs root (postinst chowns /var/lib/dust)"
fi

# --- 5. lintian -----------------------------------------------------------------------------
check_lintian "$deb" "$tmp/lintian.out"
finish systemd/packaging
