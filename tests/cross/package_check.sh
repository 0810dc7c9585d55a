#!/usr/bin/env bash
# Checks the Debian package of a cross build (scripts/cross arm64|armhf BUILD_DIR): makes it
# with scripts/package, then checks its name and Architecture; that Depends names, for every
# shared library the packaged programs need (their NEEDED sonames), the target package that
# holds it, and nothing the target does not have (no host-only package or version); lintian; that
# every ELF file in it is for the target machine and stripped; and that the packaged dustd runs
# under qemu-user: --version, and --check-config on the packaged /etc/dust/dustd.conf.
#
# Usage: tests/cross/package_check.sh BUILD_DIR ARCH     (ARCH: arm64 or armhf)
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:?usage: package_check.sh BUILD_DIR arm64|armhf}" && pwd)
arch=${2:?usage: package_check.sh BUILD_DIR arm64|armhf}
# shellcheck source=tests/lib/checks.sh
source "$src/tests/lib/checks.sh"

# What readelf -h says of the target's programs; Debian armhf is the hard-float EABI5 ABI.
case "$arch" in
  arm64) triplet=aarch64-linux-gnu machine=AArch64 flags= ;;
  armhf) triplet=arm-linux-gnueabihf machine=ARM flags="Version5 EABI, hard-float ABI" ;;
  *) give_up "ARCH must be arm64 or armhf, not $arch" ;;
esac
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
version=$(cache CMAKE_PROJECT_VERSION)
sysroot=$(cache DUST_CROSS_SYSROOT)
qemu=$(cache DUST_QEMU)
[ -n "$version" ] || give_up "$build/CMakeCache.txt lacks the project version"
if [ -z "$sysroot" ] || [ ! -d "$sysroot" ]; then
  give_up "$build is not a scripts/cross tree (no DUST_CROSS_SYSROOT)"
fi
admindir=$sysroot/var/lib/dpkg
[ -f "$admindir/status" ] || give_up "$admindir/status missing: run scripts/cross again"
dpkg_sysroot() { dpkg-query --admindir="$admindir" "$@"; }

tmp=$(mktemp -d /tmp/dust-package-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- the package ---------------------------------------------------------------------------
deb=$("$src/scripts/package" "$build" 2>"$tmp/package.log") ||
  { cat "$tmp/package.log" >&2; give_up "scripts/package $build failed"; }
before=$failures
[ "$(basename "$deb")" = "neural-dust_${version}_$arch.deb" ] ||
  fail "package file is $(basename "$deb"), want neural-dust_${version}_$arch.deb"
[ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] ||
  fail "control: Architecture is $(dpkg-deb -f "$deb" Architecture), want $arch"
pass_if "$before" "scripts/package: $(basename "$deb"), Architecture: $arch, $(stat -c %s "$deb") bytes"
dpkg-deb -x "$deb" "$tmp/x"

# --- ELF files: the target's machine, stripped ------------------------------------------------
elves=()
while IFS= read -r -d '' f; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && elves+=("${f#"$tmp/x/"}")
done < <(find "$tmp/x" -type f -print0)
for bin in usr/sbin/dustd usr/bin/dustctl; do
  [[ " ${elves[*]} " == *" $bin "* ]] || give_up "the package has no ELF file /$bin"
done
before=$failures
for f in "${elves[@]}"; do
  header=$(readelf -h "$tmp/x/$f")
  got=$(sed -n 's/^ *Machine: *//p' <<<"$header")
  [ "$got" = "$machine" ] || fail "/$f is for machine '$got', want $machine"
  if [ -n "$flags" ] && ! grep -q "Flags:.*$flags" <<<"$header"; then
    fail "/$f lacks the ELF flags '$flags': $(grep Flags: <<<"$header")"
  fi
done
check_stripped "$tmp/x" "${elves[@]}"
pass_if "$before" "${#elves[@]} ELF files (${elves[*]}): machine $machine${flags:+ ($flags)}, stripped"

# --- Depends --------------------------------------------------------------------------------
depends=$(dpkg-deb -f "$deb" Depends)
echo "  Depends: $depends"
# The alternatives cmake/Packaging.cmake types in (systemd's tools, by name): every other
# package in Depends comes from dpkg-shlibdeps and must be one of the target's.
typed=$(sed -n 's/^set(CPACK_DEBIAN_PACKAGE_DEPENDS "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[ -n "$typed" ] || give_up "$build/CPackConfig.cmake sets no CPACK_DEBIAN_PACKAGE_DEPENDS"
typed_names=" $(tr ',|' '  ' <<<"$typed" | sed 's/([^)]*)//g' | xargs) "
# One "name op version" line per alternative of Depends (op and version empty when unversioned).
alternatives=${depends//[,|]/$'\n'}
sed -n 's/^ *\([^ (]*\) *\(( *\([<>=]*\) *\([^)]*\))\)\{0,1\} *$/\1 \3 \4/p' \
  <<<"$alternatives" >"$tmp/deps"
[ "$(wc -l <"$tmp/deps")" -eq "$(wc -l <<<"$alternatives")" ] || give_up "cannot parse Depends: $depends"
# The sysroot's packages and what they provide, one "name arch version package" line each (a
# shlibs file may name a virtual package: libspdlog1.10's is libspdlog1.10-fmt9).
# shellcheck disable=SC2016 # a dpkg-query format, not a shell expansion
dpkg_sysroot -W -f='${Package}|${Architecture}|${Version}|${Provides}\n' | awk -F'|' '{
  print $1, $2, $3, $1
  n = split($4, provides, /, */)
  for (i = 1; i <= n; i++) {
    name = provides[i]; version = ""
    if (match(name, /\(= *[^)]*\)/)) version = substr(name, RSTART + 1, RLENGTH - 2)
    sub(/^= */, "", version); sub(/ *\(.*/, "", name)
    print name, $2, (version == "" ? "-" : version), $1
  }
}' >"$tmp/sysroot-packages"
before=$failures
dep_names=" "
while read -r name op ver; do
  dep_names+="$name "
  [[ "$name" != *:* ]] || fail "Depends names an architecture-qualified package: $name"
  [[ "$typed_names" == *" $name "* ]] && continue
  found=0
  while read -r _ have_arch have_ver pkg; do
    found=1
    [ "$have_arch" = "$arch" ] || [ "$have_arch" = all ] ||
      fail "Depends: $name ($pkg in the sysroot) is for $have_arch, not $arch"
    # A version from another architecture's database could exceed what the target has.
    if [ -n "$op" ] && { [ "$have_ver" = - ] || ! dpkg --compare-versions "$have_ver" "$op" "$ver"; }; then
      fail "Depends: $name ($op $ver), but the $arch sysroot has $pkg $have_ver"
    fi
  done < <(awk -v n="$name" '$1 == n' "$tmp/sysroot-packages")
  [ "$found" -eq 1 ] ||
    fail "Depends: no $arch package in the sysroot is or provides $name (from the host?)"
done <"$tmp/deps"
pass_if "$before" "Depends: every library package is an $arch package of the sysroot, at a version it has"

# Every NEEDED soname of every packaged ELF file -> the sysroot package holding it (its file
# lists, under the target's library directories) -> that package is in Depends.
before=$failures
readelf -d "${elves[@]/#/$tmp/x/}" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | sort -u >"$tmp/needed"
[ -s "$tmp/needed" ] || give_up "readelf -d found no NEEDED library in ${elves[*]}"
while read -r soname; do
  owner=$(dpkg_sysroot -S "*/$triplet/$soname" 2>/dev/null | sed -n '1s/^\([^:]*\)\(:[a-z0-9]*\)\{0,1\}: .*/\1/p')
  if [ -z "$owner" ]; then
    fail "no package in the sysroot holds $soname"
  elif ! awk -v p="$owner" '$4 == p { print $1 }' "$tmp/sysroot-packages" |
    while read -r n; do [[ "$dep_names" == *" $n "* ]] && exit 0; done; then
    fail "$soname is in $owner, which Depends lacks (neither it nor what it provides)"
  else
    echo "  $soname: $owner"
  fi
done <"$tmp/needed"
pass_if "$before" "Depends covers all $(wc -l <"$tmp/needed") NEEDED sonames: $(xargs <"$tmp/needed")"

# --- lintian --------------------------------------------------------------------------------
check_lintian "$deb" "$tmp/lintian.out"

# --- the packaged dustd under qemu-user -----------------------------------------------------
[ -x "$qemu" ] || give_up "no qemu-user emulator in $build/CMakeCache.txt (DUST_QEMU)"
run=("$qemu" -L "$sysroot" "$tmp/x/usr/sbin/dustd")
if out=$("${run[@]}" --version 2>&1) && [ "$out" = "dustd $version" ]; then
  pass "$(basename "$qemu") -L sysroot: packaged dustd --version: $out"
else
  fail "packaged dustd --version under $(basename "$qemu"): $out"
fi
check_dustd_config "$tmp" "$tmp/x/etc/dust/dustd.conf" "${run[@]}"

finish "$arch package"
