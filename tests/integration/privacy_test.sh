#!/bin/bash
# dustctl privacy: the accountant against an independent Python implementation
# (tests/vectors/rdp_reference.py) at points unlike the unit test's vector (small and large q,
# little and much noise, few and many steps, other deltas), then plan's answer fed back to the
# reference, and the usage errors. Needs no daemon. Usage: privacy_test.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: privacy_test.sh BUILD_DIR}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CTL="$BUILD/ctl/dustctl"
PY=/usr/bin/python3
REF="$SRC/tests/vectors/rdp_reference.py"
# shellcheck source=tests/lib/checks.sh
source "$SRC/tests/lib/checks.sh"

# Relative difference of two numbers within a tolerance.
close() { "$PY" -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t * abs(b))' "$@"; }

# samples batch sigma steps delta
POINTS=("60000 256 1.1 14062 1e-5" "3333 32 0.86 1000 1e-5" "500 50 2.5 40 1e-6"
        "10000 10 0.6 200000 1e-7" "100 100 5.0 30 1e-3" "1000000 64 0.8 50000 1e-8")
for p in "${POINTS[@]}"; do
  read -r n b s t d <<<"$p"
  q=$("$PY" -c "print(min(1.0, $b / $n))")
  read -r rb ob rc oc < <("$PY" "$REF" "$q" "$s" "$t" "$d")
  json=$("$CTL" privacy epsilon --noise "$s" --samples "$n" --batch "$b" --steps "$t" --delta "$d" --json)
  read -r cb cob cc coc < <("$PY" -c 'import json,sys; j=json.load(sys.stdin); print(j["epsilon"], j["order"], j["epsilon_classic"], j["order_classic"])' <<<"$json")
  before=$failures
  { close "$cb" "$rb" 1e-9 && [[ $cob == "$ob" ]]; } ||
    fail "q=$q sigma=$s T=$t delta=$d: Balle $cb (order $cob), Python $rb (order $ob)"
  { close "$cc" "$rc" 1e-9 && [[ $coc == "$oc" ]]; } ||
    fail "q=$q sigma=$s T=$t delta=$d: classic $cc (order $coc), Python $rc (order $oc)"
  pass_if "$before" "q=$q sigma=$s T=$t delta=$d: epsilon $cb / classic $cc as Python computes"
done

# plan: the sigma it prints spends at most the target by the reference, and 0.1% less noise
# spends more (it is the smallest).
for target in 1 3 8; do
  sigma=$("$CTL" privacy plan --epsilon "$target" --samples 3333 --steps 1000 --json |
    "$PY" -c 'import json,sys; print(repr(json.load(sys.stdin)["noise_multiplier"]))')
  read -r at _ _ _ < <("$PY" "$REF" "$("$PY" -c 'print(32/3333)')" "$sigma" 1000 1e-5)
  read -r below _ _ _ < <("$PY" "$REF" "$("$PY" -c 'print(32/3333)')" "$("$PY" -c "print($sigma * 0.999)")" 1000 1e-5)
  if "$PY" -c "import sys; sys.exit(not ($at <= $target < $below))"; then
    pass "plan --epsilon $target: sigma $sigma spends $at (Python), 0.1% less noise $below"
  else
    fail "plan epsilon $target: sigma $sigma spends $at, 0.1% less spends $below"
  fi
done

# Usage errors: exit 1 and a message that names the option.
for bad in "--samples 10 --steps 5" "--epsilon 0 --samples 10 --steps 5" \
           "--epsilon 1 --samples 0 --steps 5" "--epsilon 1 --samples 10 --steps x" \
           "--epsilon 1 --samples 10 --steps 5 --delta 1"; do
  rc=0
  # shellcheck disable=SC2086  # the options are words on purpose
  out=$("$CTL" privacy plan $bad 2>&1) || rc=$?
  [[ $rc == 1 && $out == "dustctl privacy plan: "* ]] || fail "plan $bad: exit $rc, '$out'"
done
pass_if 0 "plan refuses bad options with exit 1"
"$CTL" privacy plan --help | grep -q "Usage: dustctl privacy plan" || fail "plan --help"
finish privacy
