"""Time one exact self-kNN pass of ``crossmodal.metrics.knn_indices`` against the usual tools.

For each N x d (random Gaussian float32, seeded) it times, in the same process:
  ours     knn_indices(X, k, metric)                         (self excluded)
  sklearn  NearestNeighbors(n_neighbors=k+1, algorithm="brute", metric=metric).fit(X).kneighbors(X)
  faiss    IndexFlatIP on L2-normalised rows (cosine) or IndexFlatL2 (euclidean), search k+1
  gemm     the plain float32 GEMM X X^T over row blocks (no selection): the floor a
           non-symmetric method cannot beat
and prints each time, ours/other ratios and which tile scores ours used ("int8" on CPUs with
AMX int8 units at d >= 768, else "float32"; ``--tiles float32`` times the float32 tiles on the
same machine). faiss is the baseline of the targets (issue 15,
part 5): ours/faiss <= 1.0 at N = 10,000, d = 128 and <= 0.6 at N = 20,000, d = 2,048; each
target size that is run gets a "met" or "MISSED" line, and the exit status is 1 when one is
missed. Both libraries run with ``--threads`` threads (torch intra-op, faiss OpenMP); the
load average before and after is printed, as a busy machine skews the ratios.

The memory check runs ``knn_indices`` once in a fresh subprocess at N x d and reports the
peak extra resident memory (VmHWM after the pass minus VmRSS before it, with the high-water
mark reset once the data exist; tracemalloc would not see torch's allocations).

Needs the ``bench`` extra (scikit-learn, faiss-cpu). Examples:
  python benchmarks/bench_knn.py                       # the issue's sizes (a few minutes)
  python benchmarks/bench_knn.py --quick               # small sizes, seconds
  python benchmarks/bench_knn.py --sizes 5000x256 --memory 50000x128 --repeat 3
  python benchmarks/bench_knn.py --sizes 10000x128,20000x2048 --memory none --tools ours,faiss
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_SIZES = "20000x2048,10000x128"
DEFAULT_MEMORY = "200000x128"
# ours / faiss targets (issue 15, part 5c), cosine, k = 10
TARGETS: dict[tuple[int, int], float] = {(10000, 128): 1.0, (20000, 2048): 0.6}


def _parse_size(text: str) -> tuple[int, int]:
    n, d = text.lower().split("x")
    return int(n), int(d)


def _data(n: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)


def _best_time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


_TILES_USED: dict[str, str] = {}  # ours' last tile arithmetic, from a wrapper on _tile_operands


def _record_tiles(force_float32: bool) -> None:
    """Note which scores ours' tiles use (int8 on AMX CPUs, else float32); ``force_float32``
    turns the int8 path off, to time the float32 one on the same machine."""
    import crossmodal.metrics.knn.search as knn_search  # knn_indices and _tile_operands look names up here
    from crossmodal.metrics.knn.int8 import _Int8Scores

    build = knn_search._tile_operands

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        canon, scores_of, eps = build(*args, **kwargs)
        _TILES_USED["ours"] = "int8" if isinstance(scores_of, _Int8Scores) else "float32"
        return canon, scores_of, eps

    knn_search._tile_operands = recorded
    if force_float32:
        knn_search._int8_tiles = lambda dev, d: False


def _ours(X: np.ndarray, k: int, metric: str) -> Callable[[], object]:
    from crossmodal.metrics import knn_indices

    return lambda: knn_indices(X, k, metric)


def _sklearn(X: np.ndarray, k: int, metric: str) -> Callable[[], object]:
    from sklearn.neighbors import NearestNeighbors

    return lambda: NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric=metric).fit(X).kneighbors(X)


def _faiss(X: np.ndarray, k: int, metric: str) -> Callable[[], object]:
    import faiss

    def run() -> object:  # search k + 1: the point itself comes back first, as ours drops it
        if metric == "cosine":
            Xn = X.copy()
            faiss.normalize_L2(Xn)
            index = faiss.IndexFlatIP(X.shape[1])
        else:
            Xn = X
            index = faiss.IndexFlatL2(X.shape[1])
        index.add(Xn)
        return index.search(Xn, k + 1)

    return run


def _gemm(X: np.ndarray, block: int = 2048) -> Callable[[], object]:
    import torch

    A = torch.from_numpy(X)
    out = torch.empty(block, A.shape[0])

    def run() -> None:
        for s in range(0, A.shape[0], block):
            e = min(s + block, A.shape[0])
            torch.mm(A[s:e], A.T, out=out[: e - s])

    return run


def time_size(n: int, d: int, k: int, metric: str, repeat: int, tools: list[str]) -> dict[str, float]:
    X = _data(n, d)
    makers = {"ours": _ours, "sklearn": _sklearn, "faiss": _faiss, "gemm": lambda X, k, m: _gemm(X)}
    fns = {name: makers[name](X, k, metric) for name in tools}
    best = {name: float("inf") for name in tools}
    for _ in range(repeat):  # interleave, so background load hits every tool alike
        for name, fn in fns.items():
            best[name] = min(best[name], _best_time(fn, 1))
    return best


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(n: int, d: int, k: int, metric: str) -> None:
    """Runs in a subprocess: print JSON with the peak extra RSS of one knn_indices pass."""
    from crossmodal.metrics import knn_indices

    X = _data(n, d)
    knn_indices(X[:1000], k, metric)  # load libraries and thread pools before measuring
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    t = time.perf_counter()
    knn_indices(X, k, metric)
    seconds = time.perf_counter() - t
    peak = _status_kib("VmHWM")
    print(json.dumps({"extra_mib": (peak - before) / 1024, "data_mib": X.nbytes / 2**20, "seconds": seconds}))


def measure_memory(n: int, d: int, k: int, metric: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--memory-child", f"{n}x{d}", "--k", str(k), "--metric", metric]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cpus"


def target_lines(results: dict[tuple[int, int], dict[str, float]], metric: str, k: int) -> tuple[list[str], bool]:
    """One line per target size that was run with ours and faiss; False if one is missed."""
    lines, ok = [], True
    for size, target in TARGETS.items():
        best = results.get(size)
        if metric != "cosine" or k != 10 or best is None or not {"ours", "faiss"} <= best.keys():
            continue
        ratio = best["ours"] / best["faiss"]
        met = ratio <= target
        ok &= met
        lines.append(
            f"target N={size[0]} d={size[1]}: ours/faiss {ratio:.2f} (ours {best['ours']:.3f} s, "
            f"faiss {best['faiss']:.3f} s), target <= {target:.1f}: {'met' if met else 'MISSED'}"
        )
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated NxD (default {DEFAULT_SIZES})")
    p.add_argument("--memory", default=DEFAULT_MEMORY, help=f"NxD of the memory check, or 'none' (default {DEFAULT_MEMORY})")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--metric", choices=["cosine", "euclidean"], default="cosine")
    p.add_argument("--repeat", type=int, default=3, help="runs per tool, best kept (default 3)")
    p.add_argument("--threads", type=int, default=2, help="torch and faiss threads (default 2, this VM's cores)")
    p.add_argument("--tools", default="ours,faiss,sklearn,gemm", help="comma-separated subset of ours,faiss,sklearn,gemm")
    p.add_argument("--quick", action="store_true", help="small sizes: 4000x512,5000x128 and memory 20000x128")
    p.add_argument(
        "--tiles",
        choices=["auto", "float32"],
        default="auto",
        help="ours' tile scores: as chosen (int8 on AMX CPUs at d >= 768) or float32 only",
    )
    p.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.memory_child:
        memory_child(*_parse_size(args.memory_child), args.k, args.metric)
        return 0
    if args.quick:
        args.sizes, args.memory = "4000x512,5000x128", "20000x128"
    tools = [t for t in args.tools.split(",") if t]
    _record_tiles(args.tiles == "float32")
    import torch

    torch.set_num_threads(args.threads)
    if "faiss" in tools:
        import faiss

        faiss.omp_set_num_threads(args.threads)
    print(f"# self-kNN, k={args.k}, metric={args.metric}, torch threads={torch.get_num_threads()}, cpus={os.cpu_count()}")
    print(f"# before: {_load()}")
    header = f"{'N':>8} {'d':>5} " + " ".join(f"{t + ' s':>10}" for t in tools)
    ratios = [t for t in tools if t != "ours"] if "ours" in tools else []
    print(header + "".join(f" {'ours/' + t:>13}" for t in ratios) + ("  ours' tiles" if "ours" in tools else ""))
    results: dict[tuple[int, int], dict[str, float]] = {}
    for size in [s for s in args.sizes.split(",") if s]:
        n, d = _parse_size(size)
        best = results[(n, d)] = time_size(n, d, args.k, args.metric, args.repeat, tools)
        line = f"{n:>8} {d:>5} " + " ".join(f"{best[t]:>10.3f}" for t in tools)
        line += "".join(f" {best['ours'] / best[t]:>13.2f}" for t in ratios)
        print(line + (f"  {_TILES_USED.get('ours', '?')}" if "ours" in tools else ""), flush=True)
    print(f"# after: {_load()}")
    lines, targets_met = target_lines(results, args.metric, args.k)
    for line in lines:
        print(line)
    if args.memory.lower() != "none":
        n, d = _parse_size(args.memory)
        mem = measure_memory(n, d, args.k, args.metric)
        print(
            f"memory N={n} d={d}: peak extra RSS {mem['extra_mib']:.0f} MiB "
            f"(input {mem['data_mib']:.0f} MiB float32), pass took {mem['seconds']:.1f} s"
        )
    return 0 if targets_met else 1


if __name__ == "__main__":
    sys.exit(main())
