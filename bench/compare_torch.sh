#!/bin/bash
# Trains the 784-32-10 MLP side by side with dust-bench train and PyTorch (bench/torch_mlp_anchor.py,
# one thread) on the same data, epochs and batch, and prints a markdown table.
#
#   bench/compare_torch.sh BUILD_DIR [REPEATS]
#
# Datasets: Fashion-MNIST (Debian's dataset-fashion-mnist, 1 epoch) and the bundled
# data/mnist-10k (5 epochs), batch 32. Each pair runs REPEATS times (default 20), alternating
# torch and dust, run r with seed r on both sides (initialisation and shuffling): one run's
# accuracy moves by several points with the seed at lr 0.05 / momentum 0.9, so the table shows
# the MEAN test accuracy over the seeds (and the range), and the MEDIAN of each rate. Rates are
# given on wall time (the goal's figure) and on the training thread's CPU time (steadier on a
# shared machine).
set -euo pipefail
build=${1:?usage: compare_torch.sh BUILD_DIR [REPEATS]}
repeats=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bench="$build/bench/dust-bench"
[ -x "$bench" ] || { echo "no $bench: build the dust-bench target first" >&2; exit 1; }
fashion=/usr/share/datasets/fashion-mnist
[ -f "$fashion/train-images-idx3-ubyte.gz" ] || { echo "$fashion missing: apt-get install dataset-fashion-mnist" >&2; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "load before: $(uptime)" >&2
printf '| dataset | epochs | torch samples/s | dust samples/s | ratio | torch samples/cpu-s | dust samples/cpu-s | cpu ratio | torch acc (mean, range) | dust acc (mean, range) | difference (standard error) |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for spec in "fashion-mnist:$fashion:1" "mnist-10k:$root/data/mnist-10k:5"; do
  IFS=: read -r name dir epochs <<<"$spec"
  tw=(); tc=(); ta=(); dw=(); dc=(); da=()
  for ((r = 0; r < repeats; r++)); do
    out=$(/usr/bin/python3 "$here/torch_mlp_anchor.py" "$dir" "$epochs" 32 1 "$((r + 1))")
    tw+=("$(sed -n 's/.*samples\/s=\([0-9]*\).*/\1/p' <<<"$out")")
    ta+=("$(sed -n 's/.*test_acc=\([0-9.]*\)%.*/\1/p' <<<"$out")")
    tc+=("$(sed -n 's/^samples\/cpu_s=\([0-9]*\).*/\1/p' <<<"$out")")
    json=$("$bench" train --data "$dir" --epochs "$epochs" --batch 32 --seed "$((r + 1))" 2>/dev/null | tail -n 1)
    read -r w c a < <(/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f %.0f %.2f" % (d["samples_per_s"], d["samples_per_cpu_s"], 100*d["test_accuracy"]))' "$json")
    dw+=("$w"); dc+=("$c"); da+=("$a")
    echo "$name run $((r + 1)): torch ${tw[-1]}/s (cpu ${tc[-1]}) ${ta[-1]}%  dust $w/s (cpu $c) $a%" >&2
  done
  mtw=$(printf '%s\n' "${tw[@]}" | median); mtc=$(printf '%s\n' "${tc[@]}" | median)
  mdw=$(printf '%s\n' "${dw[@]}" | median); mdc=$(printf '%s\n' "${dc[@]}" | median)
  # mean, min, max and sample standard deviation of the accuracies
  stats_awk='NR==1{lo=hi=$1} {s+=$1; q+=$1*$1; if($1<lo)lo=$1; if($1>hi)hi=$1}
             END {m=s/NR; v=NR>1?(q-NR*m*m)/(NR-1):0; printf "%.4f %.2f %.2f %.4f", m, lo, hi, (v>0?sqrt(v):0)}'
  ta_stats=$(printf '%s\n' "${ta[@]}" | awk "$stats_awk")
  da_stats=$(printf '%s\n' "${da[@]}" | awk "$stats_awk")
  awk -v n="$name" -v e="$epochs" -v tw="$mtw" -v dw="$mdw" -v tc="$mtc" -v dc="$mdc" -v ta="$ta_stats" -v da="$da_stats" -v r="$repeats" \
    'BEGIN {split(ta, t, " "); split(da, d, " ");
            se = sqrt((t[4]^2 + d[4]^2) / r);
            printf "| %s | %d | %d | %d | %.1fx | %d | %d | %.1fx | %.2f%% (%.2f-%.2f) | %.2f%% (%.2f-%.2f) | %+.2f (%.2f) |\n",
                   n, e, tw, dw, dw/tw, tc, dc, dc/tc, t[1], t[2], t[3], d[1], d[2], d[3], d[1]-t[1], se}'
done
echo "load after: $(uptime)" >&2
