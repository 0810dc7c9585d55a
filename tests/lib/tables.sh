# shellcheck shell=bash
# Generated tabular data for the tests (sourced; needs /usr/bin/python3).
#
# table FILE ROWS FEATURES LABELS SEED [SCALE]: ROWS headerless CSV rows "label,f1,...", labels
# drawn from the comma-separated LABELS; class c's features are 1 where index % 4 == c, else 0,
# plus N(0, 0.3) noise (so the classes are learnable but not trivially), times SCALE (1).
table() {
  /usr/bin/python3 - "$@" <<'PYEOF'
import random, sys
path, rows, features, labels, seed = sys.argv[1:6]
scale = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
rng = random.Random(int(seed))
labels = [int(x) for x in labels.split(",")]
with open(path, "w") as f:
    for _ in range(int(rows)):
        c = rng.choice(labels)
        x = [scale * ((1.0 if j % 4 == c else 0.0) + rng.gauss(0, 0.3)) for j in range(int(features))]
        f.write(str(c) + "," + ",".join("%.4f" % v for v in x) + "\n")
PYEOF
}
