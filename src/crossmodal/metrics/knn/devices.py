"""What the machine offers the tiles: the CPU's vendor and flags, the BLAS that computes
float32 CPU tiles and numpy's BLAS threads while the tile workers run (speed choices only: the
results never depend on them), and true float32 GEMMs on CUDA (TF32 would void the bound)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def _full_fp32_matmul() -> Iterator[None]:
    """TF32 would void the rounding bound; force true float32 GEMMs on CUDA."""
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


@functools.cache
def _cpu_info() -> tuple[str, frozenset[str]]:
    """(vendor_id, flags) of the first CPU in /proc/cpuinfo; empty where it cannot be read."""
    vendor, flags = "", frozenset[str]()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key.strip() == "flags":
                    flags = frozenset(value.split())
                    break
    except OSError:
        pass
    return vendor, flags


@functools.cache
def _tile_blas() -> str:
    """Which float32 BLAS computes the CPU tiles: "torch" (MKL) on Intel CPUs, else "numpy".

    Any float32 BLAS keeps the error bound, so only the speed depends on it. MKL takes its own
    kernels on Intel CPUs and a generic path elsewhere. On the 2-core AMD EPYC VM this module was
    tuned on, numpy's OpenBLAS ran 5-10 % faster per core; on a 2-core Intel Xeon VM (AVX-512)
    MKL tiles made kNN at 10,000 x 128 faster and were even at 20,000 x 2,048 (figures in
    benchmarks/README.md, "kNN on the Intel VM").
    """
    intel = _cpu_info()[0] == "GenuineIntel"
    return "torch" if intel and torch.backends.mkl.is_available() else "numpy"


def _numpy_blas(dev: torch.device) -> bool:
    return dev.type == "cpu" and _tile_blas() == "numpy"


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """numpy's BLAS on one thread per call while the workers run (its thread count is global
    to the process). threadpoolctl comes with scikit-learn, which not every rule's env holds;
    without it the BLAS keeps its threads: slower with two workers, the same result."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
