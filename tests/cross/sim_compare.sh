#!/usr/bin/env bash
# The engine is deterministic on every architecture: a short dust-sim run of a cross-built
# dust-sim under qemu-user must print exactly what the host's (x86-64) dust-sim prints for the
# same arguments, every evaluation line and the summary, except the wall-clock "seconds".
# (Kernels are built with -ffp-contract=off, so no architecture fuses a*b+c into one rounding;
# every vector path sums in the same order as the plain one: see docs/architecture.md.)
#
# Usage: tests/cross/sim_compare.sh NATIVE_BUILD_DIR CROSS_BUILD_DIR [dust-sim arguments...]
set -euo pipefail
native=$(cd "${1:?usage: sim_compare.sh NATIVE_BUILD CROSS_BUILD [args]}" && pwd)
cross=$(cd "${2:?usage: sim_compare.sh NATIVE_BUILD CROSS_BUILD [args]}" && pwd)
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
emulated=$cross/emulated/bench/dust-sim
[ -x "$emulated" ] || { echo "sim_compare: $emulated missing (not a cross build tree?)" >&2; exit 1; }
args=("$@")
[ ${#args[@]} -gt 0 ] ||
  args=(--data "$src/data/mnist-10k" --nodes 4 --split shards:2 --rounds 60 --eval-every 30
    --loss 0.1 --seed 1)
tmp=$(mktemp -d /tmp/dust-sim-compare.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$native/bench/dust-sim" "${args[@]}" >"$tmp/native.jsonl"
"$emulated" "${args[@]}" >"$tmp/cross.jsonl"
# Everything but the wall-clock time must match, byte for byte once "seconds" is dropped.
strip() { python3 -c 'import json,sys
for line in sys.stdin:
    if line.strip():
        r = json.loads(line); r.pop("seconds", None); print(json.dumps(r, sort_keys=True))' <"$1"; }
strip "$tmp/native.jsonl" >"$tmp/native.txt"
strip "$tmp/cross.jsonl" >"$tmp/cross.txt"
[ -s "$tmp/native.txt" ] || { echo "sim_compare: the native run printed nothing" >&2; exit 1; }
if ! diff -u "$tmp/native.txt" "$tmp/cross.txt"; then
  echo "FAIL: dust-sim under $(head -c 200 "$emulated" | grep -o 'qemu-[a-z0-9_]*' | head -1)" \
    "differs from the native dust-sim for: ${args[*]}" >&2
  exit 1
fi
echo "ok: $(wc -l <"$tmp/native.txt") dust-sim lines identical on the host and under emulation:"
tail -n 1 "$tmp/native.txt"
