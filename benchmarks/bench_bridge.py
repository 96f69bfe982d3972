"""Time and peak memory of ``crossmodal.bridge`` with F given (nothing trained): every measure.

Workload (issue 13, part 7): N pairs, d_x = 768 and d_y = 512 (CLIP-sized), F = f(X) given,
K = 10, cosine, self excluded, the default 999 permutations and 1,000 bootstrap resamples,
2 CPU threads. Each N runs in a fresh subprocess, which reports its wall time per stage (from
``bridge``'s log lines) and its peak resident memory (``resource.getrusage(RUSAGE_SELF)
.ru_maxrss``, which includes about 0.7 GB of imported libraries (torch) and the float32 inputs themselves: 1.3 KB per item at 768 + 2 x 512).

Targets at N = 100,000: all measures in under 3 minutes and under 4 GB peak memory.
Printed: seconds and GB per N, the ratio against each target, and the growth exponents
between consecutive N (time ~ N^a: the GEMM passes are O(N^2 d); memory ~ N^b).

  python benchmarks/bench_bridge.py                   # N = 10,000, 30,000, 100,000
  python benchmarks/bench_bridge.py --sizes 2000,5000 # quick
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

TARGET_SECONDS = 180.0
TARGET_GB = 4.0
D_X, D_Y = 768, 512


def _data(n: int, seed: int = 0):
    """X, Y, F float32: Y and F share a linear image of X (F also its own noise)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    W = (rng.standard_normal((D_X, D_Y)) / math.sqrt(D_X)).astype(np.float32)
    X = np.empty((n, D_X), np.float32)
    Y = np.empty((n, D_Y), np.float32)
    F = np.empty((n, D_Y), np.float32)
    for s in range(0, n, 10_000):
        m = min(10_000, n - s)
        x = rng.standard_normal((m, D_X), dtype=np.float32)
        z = x @ W
        X[s : s + m] = x
        Y[s : s + m] = np.tanh(z) + 0.5 * rng.standard_normal((m, D_Y), dtype=np.float32)
        F[s : s + m] = z + 0.7 * rng.standard_normal((m, D_Y), dtype=np.float32)
    return X, Y, F


def child(n: int, threads: int) -> None:
    import resource

    import torch

    torch.set_num_threads(threads)
    import crossmodal

    X, Y, F = _data(n)
    load = os.getloadavg()[0]
    stages: list[tuple[str, float]] = []
    u0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = u0.ru_utime + u0.ru_stime
    start = time.perf_counter()

    def log(msg: str) -> None:
        stages.append((msg, time.perf_counter() - start))

    res = crossmodal.bridge(X, Y, F, k=10, log=log)
    total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    print(json.dumps({"n": n, "seconds": total, "cpu_seconds": cpu, "peak_gb": usage.ru_maxrss / 1024**2, "stages": stages, "load": round(load, 1),
                      "input_gb": (X.nbytes + Y.nbytes + F.nbytes) / 1024**3,
                      "mnno_x_f": res.mnno_x_f, "mnno_y_f": res.mnno_y_f, "r1": res.retrieval["nn"].r1}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,30000,100000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.threads)
        return
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    rows = []
    for n in (int(v) for v in args.sizes.split(",")):
        proc = subprocess.run([sys.executable, __file__, "--child", str(n), "--threads", str(args.threads)],
                              capture_output=True, text=True, env=env, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append(r)
        marks = r["stages"]
        ends = [t for _, t in marks[1:]] + [r["seconds"]]
        steps = [f"{end - t:6.1f}s {msg}" for (msg, t), end in zip(marks, ends)]
        print(f"N={n:,}: {r['seconds']:.1f} s wall ({r['seconds'] / TARGET_SECONDS:.2f} x the 3-min target), "
              f"{r['cpu_seconds']:.1f} s CPU; peak RSS {r['peak_gb']:.2f} GB ({r['peak_gb'] / TARGET_GB:.2f} x the 4-GB "
              f"target; inputs {r['input_gb']:.2f} GB); mNNO(X,F) {r['mnno_x_f']:.3f}, mNNO(Y,F) {r['mnno_y_f']:.3f}, "
              f"R@1 {r['r1']:.3f}; load average before: {r['load']}")
        print("   seconds per stage:")
        print("\n".join("     " + s for s in steps))
        sys.stdout.flush()
    for a, b in zip(rows, rows[1:]):
        g = math.log(b["n"] / a["n"])
        print(f"N {a['n']:,} -> {b['n']:,}: wall x{b['seconds'] / a['seconds']:.2f} (~N^{math.log(b['seconds'] / a['seconds']) / g:.2f}), "
              f"CPU x{b['cpu_seconds'] / a['cpu_seconds']:.2f} (~N^{math.log(b['cpu_seconds'] / a['cpu_seconds']) / g:.2f}), "
              f"memory x{b['peak_gb'] / a['peak_gb']:.2f} (~N^{math.log(b['peak_gb'] / a['peak_gb']) / g:.2f})")


if __name__ == "__main__":
    main()
