"""How close a finished Experiment 1 run's training came to this CPU's floor.

Reads a run's ``results/experiment1/*/*/*/*/*/*/predictions.npz`` (their settings) with its
dataset and splits files, counts for every setting the multiply-adds of training (forward,
weight gradients, input gradients of all but the first layer, over every run's rows and
epochs) and RMSprop's parameter updates (one per parameter per step), and prices them:

* GEMM at this machine's measured one-thread rate for a 64 x 1024 x 1024 product (the
  training's batch size and the widest layers), the best case for every product;
* RMSprop at ``--ns-per-update`` nanoseconds per parameter update (default 2.0, the rate of
  the former seven-op step on the 2-core dev VM; ``benchmarks/bench_rmsprop.py`` measures the
  current step, 1.3-1.5 ns on the mirror run's nn stacks there).

It prints the floor in CPU seconds beside the training jobs' CPU seconds from the run's
Snakemake benchmark files, and what the floor alone needs on ``--cores`` cores.

Example (after a mirror run):
  python benchmarks/bench_training_floor.py --run /path/to/checkout
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from crossmodal.datasets.paired import load_paired  # noqa: E402
from crossmodal.experiments import learned_mappings as lm  # noqa: E402
from crossmodal.mappings.models import layer_dims  # noqa: E402


def gemm_rate(m: int = 64, k: int = 1024, n: int = 1024, seconds: float = 1.0) -> float:
    """Multiply-adds per second of one-thread torch.mm at (m, k) x (k, n)."""
    torch.set_num_threads(1)
    a, b = torch.randn(m, k), torch.randn(n, k)
    torch.mm(a, b.t())
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b.t())
        reps += 1
    return reps * m * k * n / (time.perf_counter() - start)


def setting_cost(pred: Path, root: Path) -> tuple[float, float]:
    """(multiply-adds, parameter updates) of training the setting whose predictions are ``pred``."""
    header, _ = lm.load_predictions(str(pred))
    dataset_dir = pred.parents[3]
    ps = load_paired(str(dataset_dir / "dataset.npz"))
    X, Y = lm.sides(ps, header.direction)
    evals = lm.load_splits(str(root / "results/experiment1" / dataset_dir.parts[-3] / "splits.npz"), ps)
    st = header.settings
    dims = layer_dims(header.mapping, X.shape[1], Y.shape[1], st.hidden)  # type: ignore[arg-type]
    weights = sum(a * b for a, b in dims)
    params = weights + sum(b for _, b in dims)
    rows = sum(len(e.train) for e in evals) * st.epochs
    steps = sum(math.ceil(len(e.train) / st.batch_size) for e in evals) * st.epochs
    return rows * (3 * weights - dims[0][0] * dims[0][1]), steps * params


def training_cpu_seconds(root: Path) -> float:
    files = list((root / "benchmarks/results/experiment1").rglob("train.tsv"))
    return sum(float(list(csv.DictReader(f.open(), delimiter="\t"))[-1]["cpu_time"]) for f in files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, required=True, help="checkout that ran the workflow")
    ap.add_argument("--ns-per-update", type=float, default=2.0)
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    preds = sorted((args.run / "results/experiment1").glob("*/*/*/*/*/*/predictions.npz"))
    if not preds:
        sys.exit(f"{args.run}: no results/experiment1/.../predictions.npz")
    macs, updates = np.sum([setting_cost(p, args.run) for p in preds], axis=0)
    rate = gemm_rate()
    gemm_s, rms_s = macs / rate, updates * args.ns_per_update * 1e-9
    measured = training_cpu_seconds(args.run)
    print(f"settings: {len(preds)}")
    print(f"GEMM: {2 * macs / 1e12:.1f} TFLOP at {2 * rate / 1e9:.0f} GFLOPS (one thread) = {gemm_s:.0f} CPU-s")
    print(f"RMSprop: {updates / 1e9:.1f} G parameter updates at {args.ns_per_update} ns = {rms_s:.0f} CPU-s")
    print(f"floor: {gemm_s + rms_s:.0f} CPU-s = {(gemm_s + rms_s) / args.cores / 60:.1f} min on {args.cores} cores")
    if measured:
        print(f"measured training jobs: {measured:.0f} CPU-s; floor / measured = {(gemm_s + rms_s) / measured:.2f}")


if __name__ == "__main__":
    main()
