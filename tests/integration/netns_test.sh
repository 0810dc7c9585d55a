#!/usr/bin/env bash
# CTest entry for the network-namespace end-to-end suite (tests/e2e/netns.sh): real dustd
# processes in network namespaces on a bridge. Needs root (CI runs as root); a run that cannot
# create namespaces FAILS with the reason rather than passing silently.
# Usage: bash tests/integration/netns_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: $0 BUILD_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
  echo "netns_test: FAIL: must run as root to create network namespaces (uid $(id -u))" >&2
  exit 1
fi
# Every scenario on a normal build. A sanitizer build trains several times slower (learning
# periods get twice the time) and is there to catch memory and undefined-behaviour errors, so
# it runs the scenarios that drive distinct code paths in the daemon: start-up and pairing
# (learn), restart from a checkpoint after SIGKILL (kill9), trust changes at run time (trust),
# altered and replayed datagrams (replay) and floods of garbage and forgeries (flood). The others
# (partition, loss10, loss30, poison) exercise the same receive and merge paths under different
# traffic and are judged on learning, which the normal build's pass checks; CI runs the suite
# once per build. E2E_SCENARIOS="..." chooses the scenarios explicitly.
scale=1
scenarios=()
if grep -qE '^DUST_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  scale=2
  scenarios=(network learn kill9 trust replay flood)
fi
if [ -n "${E2E_SCENARIOS:-}" ]; then read -r -a scenarios <<<"$E2E_SCENARIOS"; fi
judge=1
[ "$scale" = 1 ] || judge=0  # sanitizers: learning bounds are the normal build's to judge
E2E_JUDGE_LEARNING=${E2E_JUDGE_LEARNING:-$judge} E2E_TIME=${E2E_TIME:-$scale} \
  exec bash "$here/../e2e/netns.sh" "$build" "${scenarios[@]}"
