#!/usr/bin/python3
"""Standardized reference for tabular data (issue #14's first goal): what the MLP that
dust-bench train uses by default reaches when its features are standardized.

  tabular_reference.py [--json] [--seeds N] [--epochs E] DIR...

Each DIR is a data set (one *-train.csv and one *-test.csv, CSV with a header whose label
column is `label`, else the first column) or a directory of such data sets. Per data set:
model F-32-C (nn.Linear default init, ReLU, softmax cross-entropy), features standardized with
the TRAINING set's per-feature mean and std (std 0 -> 1), mini-batch SGD (batch 32, momentum
0.9, E epochs, reshuffled each epoch, last batch partial as in dust-bench train), classes =
1 + the highest training label (as dust-bench train). Reported: test accuracy, mean and
standard deviation over seeds 1..N, (a) at dust-bench train's default rate 0.05 and (b) at the
rate of the grid 0.01, 0.05, 0.1, 0.2 with the best mean accuracy on a validation split
(a stratified 20% of the training set, seeded; the model is fitted on the other 80% with that
80%'s standardization), then retrained on the whole training set. The test set never chooses
anything. Run it with Debian's python3-torch: /usr/bin/python3 (a pyenv python3 has no torch).
"""
import argparse, csv, glob, json, os, sys
import numpy as np, torch, torch.nn as nn

GRID = (0.01, 0.05, 0.1, 0.2)
DEFAULT_LR = 0.05


def read_csv(path):
    """(features float32 [n, F], labels int64 [n]); label column `label`, else the first."""
    with open(path, newline='') as f:
        rows = [r for r in csv.reader(f) if r]
    try:
        [float(v) for v in rows[0]]
        header = None  # the first row is data
    except ValueError:
        header, rows = rows[0], rows[1:]
    col = header.index('label') if header and 'label' in header else 0
    a = np.array(rows, dtype=np.float64)
    if not np.isfinite(a).all():
        sys.exit(f'{path}: non-finite value')
    y = a[:, col]
    if (y < 0).any() or (y != np.round(y)).any():
        sys.exit(f'{path}: labels must be non-negative integers')
    return np.delete(a, col, axis=1).astype(np.float32), y.astype(np.int64)


def one_file(d, pattern):
    found = sorted(glob.glob(os.path.join(d, pattern)))
    if len(found) != 1:
        sys.exit(f'{d}: expected one {pattern}, found {len(found)}')
    return found[0]


def datasets(paths):
    for p in paths:
        if glob.glob(os.path.join(p, '*-train.csv')):
            yield p
        else:
            subs = sorted(s for s in glob.glob(os.path.join(p, '*'))
                          if glob.glob(os.path.join(s, '*-train.csv')))
            if not subs:
                sys.exit(f'{p}: no *-train.csv in it or in its subdirectories')
            yield from subs


def standardize(fit, *others):
    mean, std = fit.mean(0), fit.std(0)
    std[std == 0] = 1
    return [(x - mean) / std for x in (fit,) + others]


def train_and_score(xtr, ytr, xev, yev, classes, lr, seed, epochs, batch=32):
    torch.manual_seed(seed)  # initialisation and shuffling
    m = nn.Sequential(nn.Linear(xtr.shape[1], 32), nn.ReLU(), nn.Linear(32, classes))
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
    loss = nn.CrossEntropyLoss()
    xtr, ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)
    for _ in range(epochs):
        p = torch.randperm(len(ytr))
        for i in range(0, len(ytr), batch):
            b = p[i:i + batch]
            opt.zero_grad()
            loss(m(xtr[b]), ytr[b]).backward()
            opt.step()
    with torch.no_grad():
        pred = m(torch.from_numpy(xev)).argmax(1).numpy()
    return float((pred == yev).mean())


def validation_split(y, seed, fraction=0.2):
    """Stratified: a seeded `fraction` of each class (at least one sample if it has two)."""
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        val.extend(idx[:int(round(fraction * len(idx))) or (1 if len(idx) > 1 else 0)])
    mask = np.zeros(len(y), bool)
    mask[val] = True
    return ~mask, mask


def summary(accs):
    a = 100 * np.array(accs)
    return {'mean': a.mean(), 'std': a.std(), 'min': a.min(), 'max': a.max(), 'runs': a.tolist()}


def reference(d, seeds, epochs):
    xtr, ytr = read_csv(one_file(d, '*-train.csv'))
    xte, yte = read_csv(one_file(d, '*-test.csv'))
    classes = int(ytr.max()) + 1
    if yte.max() >= classes:
        sys.exit(f'{d}: test label {yte.max()} is above the highest training label')
    fit, val = validation_split(ytr, seed=0)
    val_mean = {}
    for lr in GRID:
        f, v = standardize(xtr[fit], xtr[val])
        val_mean[lr] = np.mean([train_and_score(f, ytr[fit], v, ytr[val], classes, lr, s, epochs)
                                for s in seeds])
    best = max(GRID, key=lambda lr: (val_mean[lr], lr == DEFAULT_LR))  # ties: keep the default
    tr, te = standardize(xtr, xte)
    test = {lr: summary([train_and_score(tr, ytr, te, yte, classes, lr, s, epochs) for s in seeds])
            for lr in {DEFAULT_LR, best}}
    return {'data': os.path.basename(os.path.normpath(d)), 'dir': d,
            'features': xtr.shape[1], 'classes': classes,
            'train_samples': len(ytr), 'test_samples': len(yte), 'epochs': epochs,
            # what always answering the most frequent training class scores: a model at this
            # accuracy has learned nothing, and two such runs agree trivially
            'constant_accuracy': 100 * float((yte == np.bincount(ytr).argmax()).mean()),
            'seeds': list(seeds), 'default_lr': DEFAULT_LR, 'default': test[DEFAULT_LR],
            'validation_accuracy': {str(lr): 100 * a for lr, a in val_mean.items()},
            'best_lr': best, 'best': test[best]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('dirs', nargs='+', metavar='DIR')
    ap.add_argument('--seeds', type=int, default=5, help='seeds 1..N (default 5)')
    ap.add_argument('--epochs', type=int, default=30, help='default 30')
    ap.add_argument('--json', action='store_true', help='print one JSON object')
    a = ap.parse_args()
    torch.set_num_threads(1)  # the benchmark machine is shared; tiny models gain nothing
    results = [reference(d, range(1, a.seeds + 1), a.epochs) for d in datasets(a.dirs)]
    if a.json:
        print(json.dumps({'reference': 'standardized F-32-C MLP, torch ' + torch.__version__,
                          'datasets': results}))
        return
    print(f'| data set | F-C | train/test | lr {DEFAULT_LR}: test acc % (std) | best lr (val) '
          f'| best lr: test acc % (std) |')
    print('|---|---|---:|---:|---:|---:|')
    for r in results:
        print(f"| {r['data']} | {r['features']}-{r['classes']} | {r['train_samples']}/"
              f"{r['test_samples']} | {r['default']['mean']:.2f} ({r['default']['std']:.2f}) "
              f"| {r['best_lr']} | {r['best']['mean']:.2f} ({r['best']['std']:.2f}) |")


if __name__ == '__main__':
    main()
