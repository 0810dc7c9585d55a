# shellcheck shell=bash
# Sourced by bench/tabular_goals.sh and bench/tabular_daemons.sh.
# tabular_dirs PROGRAM ROOT...: sets DIRS to the data sets (directories with *-train.csv): each
# ROOT is one, or holds them one directory down; exits naming PROGRAM if there is none.
tabular_dirs() {
  local program=$1 r d
  shift
  DIRS=()
  for r in "$@"; do
    r=$(cd "$r" && pwd)
    if compgen -G "$r/*-train.csv" >/dev/null; then
      DIRS+=("$r")
    else
      for d in "$r"/*/; do
        if compgen -G "$d*-train.csv" >/dev/null; then DIRS+=("${d%/}"); fi
      done
    fi
  done
  ((${#DIRS[@]})) || { echo "$program: no *-train.csv under $*" >&2; exit 1; }
}
