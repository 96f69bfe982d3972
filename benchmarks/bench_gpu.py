"""GPU benchmark (issue 15): exact mNNO at a million points, and the paper's hyper-parameter search.

Run it as one prepared script on a machine with a GPU; every figure is printed with its named
baseline, and everything also runs on the CPU at small sizes (``--quick``), which is how the test
suite checks the script itself.

1. **Exact mNNO at N x d** (default 1,000,000 x 2,048, float32 Gaussian V and Z = V R + noise,
   seeded): ``knn_indices`` of V and of Z on ``--device`` (tiled: the N x N matrix is never held),
   then mNNO^K. Exactness is checked on ``--check-rows`` random rows against a float64 brute force
   over all N points (nearest first, ties by the lower index). Printed: seconds per kNN pass,
   effective GEMM TFLOP/s (N^2 d, the symmetric half counted once, as the tiles compute it), and
   the ratio to the named baseline ``float32 GEMM floor``: one plain V V^T over row blocks on the
   same device with no selection, timed in the same run.
2. **The paper's search** (config/paper-grid.yaml, Supplement A): one search job, nn with MSE, on
   data of Wikipedia's shape (2,173 training rows, 128 -> 10 dims; *synthetic*, seeded: the timing
   depends on the shapes only), by ``select_hyperparameters``' engine (``cross_validate``), on
   ``--device`` and, as the named baseline, on this machine's CPU. The full grid's time is then
   *estimated* as (jobs in the mirror run with the search on) x (seconds per job), labelled so.

    python benchmarks/bench_gpu.py                        # on a GPU machine: the issue's sizes
    python benchmarks/bench_gpu.py --quick --device cpu   # seconds, anywhere
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from crossmodal.config import with_defaults
from crossmodal.devices import resolve_device
from crossmodal.mappings.selection import cross_validate
from crossmodal.metrics.knn import knn_indices
from crossmodal.measures.nno import overlap_counts

ROOT = Path(__file__).resolve().parents[1]
MIRROR_SEARCH_JOBS = 80  # trained settings of the mirror run (tests/test_plan.py checks the count)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def gaussian_pair(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """V and Z = V R + 0.5 noise: related neighbourhoods, no ties (continuous data)."""
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((n, d), dtype=np.float32)
    R = rng.standard_normal((d, d), dtype=np.float32) / np.float32(np.sqrt(d))
    Z = V @ R + np.float32(0.5) * rng.standard_normal((n, d), dtype=np.float32)
    return V, Z


def brute_force_rows(X: np.ndarray, rows: np.ndarray, k: int, dev: torch.device) -> np.ndarray:
    """Exclude-self cosine k-NN of ``rows`` over all of X in float64, nearest first, ties by index."""
    Xt = torch.as_tensor(X, device=dev, dtype=torch.float64)
    Xt = Xt / Xt.norm(dim=1, keepdim=True)
    out = []
    for r in rows.tolist():
        dist = (1.0 - Xt @ Xt[r]).cpu().numpy()
        dist[r] = np.inf
        order = np.lexsort((np.arange(len(dist)), dist))  # by distance, then index
        out.append(order[:k])
    return np.stack(out)


def gemm_floor_seconds(X: np.ndarray, dev: torch.device, block: int = 8192) -> float:
    """One plain float32 X X^T over row blocks of the upper triangle (no selection): the floor."""
    Xt = torch.as_tensor(X, device=dev)
    _sync(dev)
    start = time.perf_counter()
    for s in range(0, Xt.shape[0], block):
        (Xt[s : s + block] @ Xt[s:].T).max()
    _sync(dev)
    return time.perf_counter() - start


def exact_mnno(n: int, d: int, k: int, dev: torch.device, check_rows: int, seed: int) -> dict[str, object]:
    V, Z = gaussian_pair(n, d, seed)
    times, lists = [], []
    for X in (V, Z):
        _sync(dev)
        start = time.perf_counter()
        lists.append(knn_indices(X, k, "cosine", device=dev))
        _sync(dev)
        times.append(time.perf_counter() - start)
    mnno = float(overlap_counts(lists[0], lists[1]).sum()) / (k * n)
    rows = np.random.default_rng(seed + 1).choice(n, size=min(check_rows, n), replace=False)
    exact = bool(np.array_equal(brute_force_rows(V, rows, k, dev), lists[0][rows]))
    floor = gemm_floor_seconds(V, dev)
    per_pass = float(np.mean(times))
    return {"n": n, "d": d, "k": k, "device": str(dev), "mnno": mnno, "knn_seconds": [round(t, 2) for t in times],
            "tflops": round(n * n * d / per_pass / 1e12, 2), "gemm_floor_seconds": round(floor, 2),
            "ratio_to_gemm_floor": round(per_pass / floor, 2), "checked_rows": len(rows), "exact_on_checked_rows": exact}


def search_seconds(dev: torch.device, max_epochs: int, folds: int, grid: dict[str, list[float]], seed: int) -> float:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2173, 128), dtype=np.float32)
    Y = np.tanh(X[:, :10]) + np.float32(0.1) * rng.standard_normal((2173, 10), dtype=np.float32)
    _sync(dev)
    start = time.perf_counter()
    cross_validate(X, Y, "nn", "mse", grid, folds, max_epochs, 64, seed, device=str(dev))
    _sync(dev)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--check-rows", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=None, help="search epochs (default: the search config's)")
    ap.add_argument("--quick", action="store_true", help="N=3000, d=64 and a 2-point grid of 3 epochs")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    dev = resolve_device(args.device)
    schema = ROOT / "workflow" / "schemas" / "config.schema.yaml"
    exp1 = with_defaults(yaml.safe_load((ROOT / "config.yaml").read_text()), schema)["experiment1"]
    grid = yaml.safe_load((ROOT / "config" / "paper-grid.yaml").read_text())["experiment1"]["hyperparameter_search"]["grid"]
    grid = {k: v for k, v in grid.items() if k != "margin"}  # nn/mse uses no margin
    epochs, folds = args.epochs or exp1["epochs"], exp1["hyperparameter_search"]["n_folds"]
    n, d = args.n, args.d
    if args.quick:
        n, d, epochs = 3000, 64, 3
        grid = {"lr": grid["lr"][:1], "hidden": grid["hidden"][:2], "dropout": grid["dropout"][:1]}
    result = {"exact_mnno": exact_mnno(n, d, args.k, dev, args.check_rows, args.seed)}
    print(json.dumps(result["exact_mnno"]), flush=True)
    on_device = search_seconds(dev, epochs, folds, grid, args.seed)
    cpu = on_device if dev.type == "cpu" else search_seconds(torch.device("cpu"), epochs, folds, grid, args.seed)
    result["paper_search"] = {
        "data": "synthetic, Wikipedia's shape (2,173 x 128 -> 10)", "grid_points": int(np.prod([len(v) for v in grid.values()])),
        "epochs": epochs, "folds": folds, "device_seconds": round(on_device, 2), "cpu_seconds": round(cpu, 2),
        "ratio_device_to_cpu": round(on_device / cpu, 3), "cpu_threads": torch.get_num_threads(),
        "estimated_full_grid_hours_on_device": round(MIRROR_SEARCH_JOBS * on_device / 3600, 2),
    }
    print(json.dumps(result["paper_search"]), flush=True)
    if not result["exact_mnno"]["exact_on_checked_rows"]:
        raise SystemExit("kNN lists differ from the float64 brute force on the checked rows")


if __name__ == "__main__":
    main()
