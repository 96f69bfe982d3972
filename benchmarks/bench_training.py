"""Time batched training (``fit_batched``) against one-by-one training (``fit_mapping``, the same
engine given one run at a time, as a user training single models would call it).

The slice is the IAPR TC-12-sized CV problem of the paper's Supplement A: N items (default
1570, so each of 5 folds trains on ~1256 and validates on ~314), image 128-d <-> text 64-d in
both directions (128->64 and 64->128), ``nn`` with 512 hidden units (``--hidden 64,256,...``
gives one row per width), 5 folds x 3 learning
rates x 4 dropouts = 60 models, each with its per-epoch validation loss, as CV needs.
Both ways train the very same 60 models in the same process; the table gives seconds, the
speedup (sequential / batched) and the largest prediction difference between the two
(relative to the largest |prediction|), which should be float noise.

Then it estimates what the full CV grid would cost per direction (batched): every width of
PAPER_GRID is timed for ``--probe-epochs`` epochs with all its lr x dropout x fold models
(nn, MSE) and extrapolated linearly to ``--max-epochs``; nn-3/nn-5 and max-margin are scaled
from those timings by their multiply-add counts / margin count (an estimate, not a
measurement). Data: seeded Gaussian X, Y = tanh(X A) (the cost does not depend on values).

Examples:
  python benchmarks/bench_training.py                 # the issue's slice, 10 epochs
  python benchmarks/bench_training.py --epochs 20 --threads 1
  python benchmarks/bench_training.py --quick         # a few seconds, for a smoke test
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from crossmodal.mappings import (
    PAPER_GRID,
    RunSpec,
    fit_batched,
    fit_mapping,
    kfold_indices,
    predict,
)
from crossmodal.mappings.models import layer_dims


def _data(n: int, dx: int, dy: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dx)).astype(np.float32)
    Y = np.tanh(X @ rng.standard_normal((dx, dy)) / np.sqrt(dx)).astype(np.float32)
    return X, Y


def _runs(n: int, folds: int, lrs: list[float], dropouts: list[float], seed: int = 0) -> list[RunSpec]:
    split = kfold_indices(n, folds, seed)
    return [RunSpec(tr, seed=seed + f, lr=lr, dropout=d, val=te)
            for (f, (tr, te)), lr, d in itertools.product(enumerate(split), lrs, dropouts)]


def _compare(X, Y, runs, hidden, epochs, batch_size, device) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    seq = []
    for r in runs:
        model, _ = fit_mapping(X[r.train], Y[r.train], "nn", hidden, r.lr, epochs, batch_size, seed=r.seed,
                               validation=(X[r.val], Y[r.val]), dropout=r.dropout, device=device)
        seq.append(predict(model, X))
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit = fit_batched(X, Y, runs, "nn", hidden, epochs, batch_size, device=device)
    P = fit.predict(X)
    t_bat = time.perf_counter() - t0
    S = np.stack(seq)
    return t_seq, t_bat, float(np.abs(P - S).max() / np.abs(S).max())


def _macs(kind: str, dx: int, dy: int, hidden: int) -> int:
    return sum(a * b for a, b in layer_dims(kind, dx, dy, hidden))


def _grid_estimate(X, Y, folds, probe_epochs, max_epochs, batch_size, device) -> dict[str, float]:
    """Seconds for the whole grid of one direction, per (kind, loss), extrapolated."""
    grid = PAPER_GRID
    nn_total, deep = 0.0, {"nn-3": 0.0, "nn-5": 0.0}
    for h in grid["hidden"]:
        runs = _runs(len(X), folds, list(grid["lr"]), list(grid["dropout"]))
        t0 = time.perf_counter()
        fit_batched(X, Y, runs, "nn", int(h), probe_epochs, batch_size, device=device)
        sec = (time.perf_counter() - t0) / probe_epochs * max_epochs
        nn_total += sec
        for k in deep:
            deep[k] += sec * _macs(k, X.shape[1], Y.shape[1], int(h)) / _macs("nn", X.shape[1], Y.shape[1], int(h))
    runs = _runs(len(X), folds, list(grid["lr"]), [0.0])
    t0 = time.perf_counter()
    fit_batched(X, Y, runs, "lin", None, probe_epochs, batch_size, device=device)
    lin = (time.perf_counter() - t0) / probe_epochs * max_epochs
    n_margin = len(grid["margin"])
    return {"lin": lin, "nn": nn_total, **deep, "lin max-margin": lin * n_margin,
            "nn max-margin": nn_total * n_margin, "nn-5 max-margin": deep["nn-5"] * n_margin}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1570, help="items in the CV set")
    ap.add_argument("--dims", default="128x64,64x128", help="comma-separated d_in x d_out")
    ap.add_argument("--hidden", default="512", help="comma-separated nn widths, one table row each")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--lrs", default="0.01,0.001,0.0001")
    ap.add_argument("--dropouts", default="0,0.25,0.5,0.75")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--probe-epochs", type=int, default=1, help="epochs timed per width for the grid estimate")
    ap.add_argument("--max-epochs", type=int, default=50, help="epochs of the full grid (estimate)")
    ap.add_argument("--no-grid", action="store_true", help="skip the full-grid estimate")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.n, args.hidden, args.epochs, args.lrs, args.dropouts, args.no_grid = 300, "64", 2, "0.01", "0,0.5", True
    if args.threads:
        torch.set_num_threads(args.threads)
    lrs = [float(v) for v in args.lrs.split(",")]
    dropouts = [float(v) for v in args.dropouts.split(",")]
    runs = _runs(args.n, args.folds, lrs, dropouts)
    n_train = len(runs[0].train)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    widths = [int(v) for v in args.hidden.split(",")]
    print(f"{len(runs)} models = {args.folds} folds x {len(lrs)} lrs x {len(dropouts)} dropouts; nn; "
          f"~{n_train} train / {args.n - n_train} val rows; {args.epochs} epochs; batch {args.batch_size}")
    print(f"{'direction':>10} {'hidden':>6} {'models':>6} {'sequential s':>13} {'batched s':>10} {'speedup':>8} "
          f"{'max rel diff':>13}")
    Xw, Yw = _data(64, 8, 4)  # warm-up: first-call costs (thread pools, kernels) stay out of both timings
    _compare(Xw, Yw, _runs(64, 2, [0.01], [0.0, 0.5]), 8, 1, 16, args.device)
    speedups = []
    for dims, hidden in itertools.product(args.dims.split(","), widths):
        dx, dy = (int(v) for v in dims.lower().split("x"))
        X, Y = _data(args.n, dx, dy)
        t_seq, t_bat, diff = _compare(X, Y, runs, hidden, args.epochs, args.batch_size, args.device)
        speedups.append(t_seq / t_bat)
        print(f"{dims:>10} {hidden:>6} {len(runs):>6} {t_seq:>13.2f} {t_bat:>10.2f} {t_seq / t_bat:>7.1f}x {diff:>13.2e}")
    if args.no_grid:
        return
    print(f"\nfull CV grid per direction, batched, {args.max_epochs} epochs (nn: {len(PAPER_GRID['hidden'])} widths "
          f"x {len(PAPER_GRID['lr'])} lrs x {len(PAPER_GRID['dropout'])} dropouts x {args.folds} folds; "
          f"timed {args.probe_epochs} epoch(s) per width and extrapolated; nn-3/nn-5/max-margin scaled):")
    ratio = float(np.mean(speedups))
    print(f"{'direction':>10} {'kind / loss':>16} {'batched s':>10} {'sequential s (est.)':>20}")
    for dims in args.dims.split(","):
        dx, dy = (int(v) for v in dims.lower().split("x"))
        X, Y = _data(args.n, dx, dy)
        est = _grid_estimate(X, Y, args.folds, args.probe_epochs, args.max_epochs, args.batch_size, args.device)
        for name, sec in est.items():
            print(f"{dims:>10} {name:>16} {sec:>10.0f} {sec * ratio:>20.0f}")
    print(f"(sequential estimate = batched x the measured mean speedup {ratio:.1f}x)")


if __name__ == "__main__":
    main()
