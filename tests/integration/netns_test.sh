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
# A sanitizer build trains several times slower: give learning periods more time.
scale=1
if grep -qE '^DUST_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then scale=2; fi
E2E_TIME=${E2E_TIME:-$scale} exec bash "$here/../e2e/netns.sh" "$build"
