"""float32 tile operands and their error bounds: cosine unit rows, euclidean augmented rows
(one GEMM gives minus the squared distance), the per-row bound eps on |float32 score - exact
score|, and the float32 tile scorer (``_Float32Scores``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
import torch

from crossmodal.metrics.knn.checks import _SAFETY, _U32
from crossmodal.metrics.knn.grid import _GRID_BITS, Canonical


def _row_chunks(n: int, d: int, size: int = 1 << 20) -> Iterator[slice]:
    step = max(1, size // d)  # by default ~8 MB of float64 per chunk
    for s in range(0, n, step):
        yield slice(s, min(s + step, n))


def _each_chunk(fn: Callable[[slice], None], n: int, d: int, size: int = 1 << 20) -> None:
    """fn(chunk) for every row chunk of about ``size`` values, on torch's thread count (numpy
    releases the GIL); an error is raised for the first chunk in row order that has one."""
    chunks = list(_row_chunks(n, d, size))
    threads = min(torch.get_num_threads(), len(chunks))
    if threads < 2:
        for c in chunks:
            fn(c)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, chunks))


def _first_nonfinite_row(X: np.ndarray, rows: np.ndarray, name: str) -> None:
    """Rows whose sum of squares is not finite: NaN/Inf in the data, or overflow."""
    for r in rows:
        if not np.isfinite(X[r]).all():
            raise ValueError(f"{name} has NaN or Inf values (first bad row: {int(r)})")
    raise ValueError(f"{name} row {int(rows[0])} is too large: its squared norm overflows float64")


def _checked_norms(X: np.ndarray, nr: np.ndarray, c: slice, name: str) -> np.ndarray:
    """``nr``, the float64 norms of the rows ``X[c]``, once they are checked: NaN/Inf, overflow
    or a zero row raise."""
    bad = ~np.isfinite(nr)
    if bad.any():
        _first_nonfinite_row(X, np.flatnonzero(bad) + c.start, name)
    zero = nr == 0
    if zero.any():
        raise ValueError(
            f"{name} has a zero vector (first at row {int(np.argmax(zero)) + c.start}); cosine distance is undefined"
        )
    return nr


def _float32_cosine_error(d: int) -> float:
    """Bound on |float32 GEMM score - exact cosine| of unit rows rounded to float32: the GEMM's
    accumulation (gamma_d) plus the rounding of the unit rows."""
    return _SAFETY * (d + 4) * _U32


def _cosine_operands(X: np.ndarray, name: str, rows: int = 0) -> tuple[Canonical, np.ndarray, np.ndarray]:
    """Canonical form, float32 unit rows (zero rows appended up to ``rows``), eps per row."""
    n, d = X.shape
    norms = np.empty(n)
    A = np.empty((max(n, rows), d), dtype=np.float32)
    A[n:] = 0.0

    def unit_rows(c: slice) -> None:
        x = X[c].astype(np.float64, copy=False)
        # The canonical norm sqrt(sum(x * x)), as crossmodal.measures.retrieval defines it.
        nr = norms[c] = _checked_norms(X, np.sqrt((x * x).sum(axis=1)), c, name)
        A[c] = x / nr[:, None]  # the canonical unit rows, rounded once to float32

    _each_chunk(unit_rows, n, d)
    eps = np.full(n, _float32_cosine_error(d))
    return Canonical(X, "cosine", norms), A, eps


def _euclidean_operands(
    X: np.ndarray, name: str, rows: int = 0
) -> tuple[Canonical, np.ndarray, np.ndarray, np.ndarray]:
    """Canonical form, augmented float32 rows A and B (zero rows appended up to ``rows``),
    eps per row."""
    n, d = X.shape
    mean = np.zeros(d)
    for c in _row_chunks(n, d):
        sq = (X[c].astype(np.float64, copy=False) ** 2).sum(axis=1)
        bad = ~np.isfinite(sq)
        if bad.any():
            _first_nonfinite_row(X, np.flatnonzero(bad) + c.start, name)
        mean += X[c].sum(axis=0, dtype=np.float64)
    mean /= n
    # Centre (in float64: an offset far from the origin would swamp float32) and scale to
    # unit radius, both order-preserving, so scores are O(1) and cannot overflow.
    r = np.empty(n)
    for c in _row_chunks(n, d):
        xc = X[c].astype(np.float64, copy=False) - mean
        r[c] = np.sqrt((xc * xc).sum(axis=1))
    scale = float(r.max()) or 1.0
    r /= scale
    # Augmented rows: A_i . B_j = 2 x_i.x_j - |x_i|^2 - |x_j|^2 = -|x_i - x_j|^2 in one GEMM.
    A = np.zeros((max(n, rows), d + 2), dtype=np.float32)
    B = np.zeros((max(n, rows), d + 2), dtype=np.float32)

    def augmented_rows(c: slice) -> None:
        xs = (X[c].astype(np.float64, copy=False) - mean) / scale
        sq = (xs * xs).sum(axis=1)
        A[c, :d], A[c, d], A[c, d + 1] = 2.0 * xs, -sq, -1.0
        B[c, :d], B[c, d], B[c, d + 1] = xs, 1.0, sq

    _each_chunk(augmented_rows, n, d)
    # |sum of the d + 2 terms| <= (|x_i| + |x_j|)^2 <= (r_i + 1)^2 in scaled units. Plus a
    # grid cell (relative, <= 2^-31 of that), so a gap over 2 eps also separates cells.
    eps = (_SAFETY * (d + 10) * _U32 + 2.0 ** (1 - _GRID_BITS)) * (r + 1.0) ** 2
    return Canonical(X, "euclidean", None), A, B, eps


# -------------------------------------------- tile scores: float32 here, int8 in ``int8``


class _Scorer(Protocol):
    """Writes the float32 scores of rows ``rows`` against rows ``cols`` into ``out``."""

    d: int  # inner size of its GEMMs (the tile plan weighs GEMM work by it)

    def __call__(self, rows: slice | torch.Tensor, cols: slice, out: torch.Tensor) -> None: ...


class _Float32Scores:
    """Scores ``A[rows] . B[cols]`` by one float32 GEMM (torch, or numpy's BLAS on CPU)."""

    def __init__(self, A: torch.Tensor, B: torch.Tensor, numpy_blas: bool) -> None:
        self.A, self.B, self.d = A, B, A.shape[1]
        self.A_np = A.numpy() if numpy_blas else None
        self.B_np = B.numpy() if numpy_blas else None

    def __call__(self, rows: slice | torch.Tensor, cols: slice, out: torch.Tensor) -> None:
        if self.A_np is not None and self.B_np is not None:
            r = rows.numpy() if isinstance(rows, torch.Tensor) else rows
            np.matmul(self.A_np[r], self.B_np[cols].T, out=out.numpy())
        else:
            torch.mm(self.A[rows], self.B[cols].T, out=out)
