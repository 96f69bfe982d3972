"""Exact k-nearest neighbours of every point within one set of vectors (self-kNN).

Definition of the result (what the tests' references compute):

* distances are those of the input values taken exactly (float32 inputs widen to float64
  without rounding): cosine ``1 - x_i.x_j / (|x_i| |x_j|)``; euclidean is ranked by the squared
  distance ``sum((x_i - x_j) ** 2)`` (same order as the distance);
* distances are compared on a grid, and equal grid cells are ties, broken by the lower index:
  cosine distance rounded to a multiple of ``2**-32`` (absolute, about 2.3e-10), squared
  euclidean distance rounded to 32 significant bits (relative, 2**-32 to 2**-31 of the value),
  both rounding halves upwards;
* each row lists its k neighbours nearest first by (grid cell, index);
* ``include_self=False`` (default): a point is never its own neighbour;
  ``include_self=True``: the point itself is always first, followed by its k - 1 nearest
  other points under the rule above. This matches the authors' sklearn code (a point is
  among its own K) and makes duplicate rows deterministic: a duplicate of i ties with i at
  distance 0, and "self first" is the tie-break that keeps i in its own list.

Why a grid: two distances that are mathematically equal (a duplicate, a scaled copy under
cosine, a permuted copy, the many equal distances of lattice data) come out of any floating-
point computation with different rounding, so ordering raw float64 values orders true ties by
rounding noise, and differently on another BLAS or device. Rounding the exact value to a grid
gives a total, transitive order (cell, then index) that no computation can change. The grid is
several hundred times coarser than the float64 error bound at d = 2048 (cosine ``1.25 (2d +
10) 2**-53`` absolute, euclidean ``1.25 (d + 4) 2**-53`` relative), so a float64 estimate
almost always names its cell outright (near d = 2**21 the bound reaches the grid: still exact,
only more exact arithmetic). When the estimate's error interval straddles a cell boundary and
the choice changes the order within the row, the cell is settled in exact integer arithmetic
on the inputs. The consequence, by design: **two distances closer than the grid may tie even
though they are mathematically distinct** (then the lower index comes first), and two
distinct distances on either side of a cell boundary never tie, however close. float32
features carry about 2**-24 relative precision, so such near-equal distances are below what
the data resolve.

How it is computed fast: a float32 GEMM over square tiles of the upper triangle only (the
self-distance matrix is symmetric, so each tile serves the rows of both its row block and
its column block; a diagonal block is halved recursively into two diagonal halves and the
tile between them, 3/4 of the square per level, as far as the GEMMs stay large),
with the top-k selection fused into the tiles as a threshold filter: only scores above a
row's current k'-th best (k' = k + margin) become candidates, found via block maxima over
runs of 32 scores, and are folded into the row's list tile by tile. The diagonal tiles come
first and seed each row's list from the k'-th largest run maximum (no top-k over the tile).
On CPU, T workers (torch's thread count) with one thread each share the work: a worker
takes the next tile's selection when its scores are ready (selections run one at a time,
in plan order) or else the next tile's GEMM (``_tile_blas``) and its run maxima. No op is
split over threads, so none waits for a thread that another process has pushed off its
core. The full N x N matrix is never held; memory is O(N d + N k' + T tile^2).

Cosine tiles on CPUs with AMX int8 units (d from 768 to 65,536) take int8 GEMMs instead, about
ten times a float32 GEMM per core: each unit row is split into two int8 slices of a shared
scale (``_int8_cosine_operands``), and three exact int32 GEMMs (``torch._int_mm``) give the
slices' products, which sum to a float32 score within a bound computed from each row's actual
residual. At d = 2,048 that bound is a little below the float32 one; where it is more than
twice that (spiky rows coarsen the shared scale) the float32 tiles run instead. The
candidates, the re-check and the result are the same either way.

Why it is still exact: every float32 score is within a proven bound ``eps`` of the exact
value (GEMM rounding, gamma_d, plus the rounding of the inputs, or the int8 slices' residuals;
widened by one grid cell),
so two candidates whose float32 scores differ by more than 2 eps lie in different cells, in
that order. Each row's candidate list is split at those wide gaps into runs; only runs of two
or more candidates get float64 distances and are ordered by (cell, index). If the run holding
the k-th candidate reaches the end of the list, a point outside it could still tie, so that
row is scored against all points and every point within 2 eps is re-ranked. The result does
not depend on the thread count, the device, the BLAS, the tile size or the margin.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Protocol

import numpy as np
import torch

from crossmodal.devices import resolve_device

Metric = Literal["cosine", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "euclidean")

_U32 = 2.0**-24  # unit roundoff of float32
_SAFETY = 1.25  # slack over the worst-case rounding bound
_NEG_INF = float("-inf")


# ----------------------------------------------------------------------------------- checks


def _validated_input(X: object, name: str = "X") -> np.ndarray:
    """C-contiguous float32/float64 (N >= 2, d >= 1); finiteness is checked with the norms."""
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (N, d) array, got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} has {arr.shape[0]} row(s); need at least 2")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has 0 columns")
    keep = arr.dtype in (np.float32, np.float64)  # float32 stays float32: no 2x copy
    return np.ascontiguousarray(arr, dtype=arr.dtype if keep else np.float64)


def check_features(X: object, name: str = "X") -> np.ndarray:
    """``X`` as a C-contiguous finite float64 (N, d) matrix, or ValueError naming the problem."""
    X64 = _validated_input(X, name).astype(np.float64, copy=False)
    bad = ~np.isfinite(X64).all(axis=1)
    if bad.any():
        raise ValueError(f"{name} has NaN or Inf values (first bad row: {int(np.argmax(bad))})")
    return X64


def check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return metric


def check_k(k: object, n: int, include_self: bool) -> int:
    """K as an int within 1..N-1 (1..N with self), else ValueError."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be an integer, got {k!r}")
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    limit = n if include_self else n - 1
    if k > limit:
        rule = "N with include_self=True" if include_self else "N - 1 without self"
        raise ValueError(f"k={k} is too large for N={n} points (at most {rule})")
    return k


def cosine_normalise(X64: np.ndarray, name: str = "X") -> np.ndarray:
    """Rows scaled to unit length (the canonical float64 form used for cosine)."""
    norms = np.sqrt((X64 * X64).sum(axis=1))
    zero = norms == 0
    if zero.any():
        raise ValueError(f"{name} has a zero vector (first at row {int(np.argmax(zero))}); cosine distance is undefined")
    return X64 / norms[:, None]


# ------------------------------------------------------------------- float64 distances, grid


@dataclass(frozen=True)
class Canonical:
    """The input rows and what the float64 distances need, built only where needed.

    Cosine: the float64 row norms ``sqrt(sum(x * x))`` are stored once; ``rows`` gives the unit
    rows ``x / norm`` (used by ``crossmodal.bridging.retrieval``); euclidean: ``x`` itself.
    """

    X: np.ndarray  # validated input, float32 or float64
    metric: str
    norms: np.ndarray | None  # float64 row norms (cosine only)

    def rows(self, idx: np.ndarray) -> np.ndarray:
        x = self.X[idx].astype(np.float64, copy=False)
        return x / self.norms[idx, None] if self.norms is not None else x


_U64 = 2.0**-53  # unit roundoff of float64
_GRID_BITS = 32
_COSINE_CELL = 2.0**-_GRID_BITS  # cosine distance: absolute cell width
_DROP = 52 - (_GRID_BITS - 1)  # float64 fraction bits dropped: 32 significant bits kept


def _cosine_error(d: int) -> float:
    """Bound on |float64 estimate - exact| of a cosine distance in ``_distance_bounds``.

    Norms: relative error (d/2 + 1) u each; dot product: gamma_d |x_i| |x_j|; the quotient and
    ``1 - c``: a few u. Altogether below (2d + 6) u; the factor and the + 10 are slack.
    """
    return _SAFETY * (2 * d + 10) * _U64


def _euclidean_error(d: int) -> float:
    """Relative bound of the float64 squared distance: d + 2 roundings of non-negative terms."""
    return _SAFETY * (d + 4) * _U64


def _distance_bounds(canon: Canonical, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 lower and upper bounds of the exact distance of each pair (rows[t], cols[t]).

    Any summation order (BLAS, SIMD width) is covered by the bound, so only the bounds, never
    the bits of the estimate, decide an order.
    """
    n_pairs, d = len(rows), canon.X.shape[1]
    est = np.empty(n_pairs, dtype=np.float64)
    step = max(1, (1 << 18) // d)  # ~1 MB per gathered float32 operand: stays in cache

    def estimate(s: int) -> None:
        a, b = canon.X[rows[s : s + step]], canon.X[cols[s : s + step]]
        if canon.metric == "cosine":  # float32 inputs: einsum widens them in cache-sized pieces
            est[s : s + step] = np.einsum("ij,ij->i", a, b, dtype=np.float64)
        else:
            diff = a.astype(np.float64) - b
            est[s : s + step] = np.einsum("ij,ij->i", diff, diff)

    starts = range(0, n_pairs, step)
    threads = min(torch.get_num_threads(), len(starts))
    if threads > 1:  # numpy's gathers and einsum release the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(estimate, starts))
    else:
        for s in starts:
            estimate(s)
    if canon.norms is not None:  # cosine
        est = 1.0 - est / (canon.norms[rows] * canon.norms[cols])
        err = _cosine_error(d)
        return np.nextafter(est - err, -np.inf), np.nextafter(est + err, np.inf)
    err = _euclidean_error(d) + 4 * _U64  # + the roundings of the two products below
    return np.maximum(est * (1.0 - err), 0.0), est * (1.0 + err)


def _cells_of_floats(metric: str, x: np.ndarray) -> np.ndarray:
    """Grid cell (int64, monotone in x) of float64 distances.

    Cosine: ``floor(x 2**32 + 1/2)`` (exact: x 2**32 < 2**34 keeps 1/2 representable).
    Euclidean (x >= 0): the bit pattern of a non-negative float64 grows with its value, so
    rounding it to 32 significant bits is an integer add and shift on the pattern.
    """
    if metric == "cosine":
        return np.floor(x * 2.0**_GRID_BITS + 0.5).astype(np.int64)
    bits = np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)
    return ((bits + np.uint64(1 << (_DROP - 1))) >> np.uint64(_DROP)).astype(np.int64)


def _exact_integers(x: np.ndarray, y: np.ndarray) -> tuple[list[int], list[int], int]:
    """x and y as integers on one power-of-two scale: x = X * 2**e exactly (e shared)."""
    m, e = np.frexp(np.concatenate([x, y]).astype(np.float64))
    mant = (m * 2.0**53).astype(np.int64).tolist()  # exact: m has 53 significant bits
    exps = (e.astype(np.int64) - 53).tolist()
    e0 = min((b for a, b in zip(mant, exps, strict=True) if a), default=0)
    ints = [a << (b - e0) if a else 0 for a, b in zip(mant, exps, strict=True)]
    return ints[: len(x)], ints[len(x) :], e0


def _at_most_times_sqrt(lhs: int, t: int, m: int) -> bool:
    """lhs <= t * sqrt(m) for integers (m >= 0), exactly."""
    if t >= 0:
        return lhs <= 0 or lhs * lhs <= t * t * m
    return lhs < 0 and lhs * lhs >= t * t * m


def _exact_cosine_cell(x: np.ndarray, y: np.ndarray, lo: int, hi: int) -> int:
    """The cell of the exact cosine distance, known to lie in lo..hi.

    Cell >= b  <=>  1 - c >= (2b - 1) / 2**33  <=>  P 2**33 <= T sqrt(|X|^2 |Y|^2) with
    T = 2**33 - 2b + 1 and c = P / sqrt(|X|^2 |Y|^2) on the integer vectors (scale cancels).
    """
    X, Y, _ = _exact_integers(x, y)
    p = sum(a * b for a, b in zip(X, Y, strict=True))
    m = sum(a * a for a in X) * sum(b * b for b in Y)
    one = 1 << (_GRID_BITS + 1)
    cell = lo
    while cell < hi and _at_most_times_sqrt(p * one, one - 2 * (cell + 1) + 1, m):
        cell += 1
    return cell


def _float_pattern(q: Fraction) -> Fraction:
    """The IEEE float64 bit pattern extended to all reals q >= 0: exact (an integer) at every
    float64, linear in between, so that rounding it is rounding q on the float64 grid."""
    if q == 0:
        return Fraction(0)
    e = q.numerator.bit_length() - q.denominator.bit_length()  # floor(log2 q) or one above
    if q < Fraction(2) ** e:
        e -= 1
    if e < -1022:  # subnormal range: pattern = q / 2**-1074
        return q * 2**1074
    return (e + 1023) * 2**52 + (q / Fraction(2) ** e - 1) * 2**52


def _exact_euclidean_cell(x: np.ndarray, y: np.ndarray) -> int:
    X, Y, e = _exact_integers(x, y)
    q = Fraction(sum((a - b) ** 2 for a, b in zip(X, Y, strict=True))) * Fraction(2) ** (2 * e)
    return math.floor((_float_pattern(q) + 2 ** (_DROP - 1)) / 2**_DROP)


def _ambiguous_that_matter(lo: np.ndarray, hi: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Pairs whose cell is uncertain (lo < hi) and could share a cell with another pair of
    their group; any other uncertain pair sorts the same whichever of its cells is true."""
    amb = np.flatnonzero(lo != hi)
    if not len(amb):
        return amb
    order = np.argsort(groups, kind="stable")
    g_sorted = groups[order]
    first = np.searchsorted(g_sorted, groups[amb], "left")
    last = np.searchsorted(g_sorted, groups[amb], "right")
    keep = [
        a
        for a, f, t in zip(amb.tolist(), first.tolist(), last.tolist(), strict=True)
        if np.count_nonzero((lo[order[f:t]] <= hi[a]) & (hi[order[f:t]] >= lo[a])) > 1  # itself + another
    ]
    return np.asarray(keep, dtype=np.int64)


def pair_cells(canon: Canonical, rows: np.ndarray, cols: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Grid cell of the exact distance of each pair (rows[t], cols[t]), for sorting.

    Pairs are compared only within their group (``groups[t]``, e.g. one row's near-tie run).
    The float64 bounds name the cell of almost every pair; a pair whose bounds straddle a
    cell boundary is settled in exact integer arithmetic when another pair of its group could
    fall into one of its cells, otherwise its lower cell orders it correctly. Exact duplicate
    rows have distance 0 exactly and land in cell 0.
    """
    lower, upper = _distance_bounds(canon, rows, cols)
    lo, hi = _cells_of_floats(canon.metric, lower), _cells_of_floats(canon.metric, upper)
    for t in _ambiguous_that_matter(lo, hi, groups).tolist():
        x, y = canon.X[rows[t]], canon.X[cols[t]]
        if canon.metric == "cosine":
            lo[t] = _exact_cosine_cell(x, y, int(lo[t]), int(hi[t]))
        else:
            lo[t] = _exact_euclidean_cell(x, y)
    return lo


# ------------------------------------------------------------------------ float32 fast pass


@contextlib.contextmanager
def _full_fp32_matmul() -> Iterator[None]:
    """TF32 would void the rounding bound; force true float32 GEMMs on CUDA."""
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old


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
        # The canonical norm sqrt(sum(x * x)), as crossmodal.bridging.retrieval defines it.
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


# ------------------------------------------------------------- tile scores: float32 or int8


class _Scorer(Protocol):
    """Writes the float32 scores of rows ``rows`` against rows ``cols`` into ``out``."""

    d: int  # inner size of its GEMMs (the tile plan weighs GEMM work by it)

    def __call__(self, rows: slice | torch.Tensor, cols: slice, out: torch.Tensor) -> None: ...


def _numpy_blas(dev: torch.device) -> bool:
    return dev.type == "cpu" and _tile_blas() == "numpy"


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


_Q1 = 2.0**7  # first slice: multiples of 2**-7 of the scale
_Q2 = 2.0**8  # second slice: the first one's rounding error, in steps 2**8 finer
_INT8_MIN_D = 768  # below this, three int8 GEMMs and their sum cost more than one float32 GEMM
_INT8_MAX_D = 2**16  # the K = 2d GEMM's int32 sums stay below 2**31 (2 * 2**16 * 127**2)
_INT8_EPS_RATIO = 2.0  # int8 tiles only while their bound is within this of the float32 one


class _Int8Scores:
    """Cosine scores from exact int8 GEMMs (``torch._int_mm``, int32 sums) of sliced unit rows.

    Each unit row is ``u = sigma (q1 2**-7 + q2 2**-15) + r`` with int8 q1, q2, one scale sigma
    for all rows and a small residual r; ``Q`` holds ``[q1 | q2 | q1]``, so the three
    GEMMs q1.q1, [q1 q2].[q2 q1] (both cross terms at once) and q2.q2 read views of it. Their
    int32 results are exact; the float32 sum rounds a few times (see ``_int8_cosine_operands``).
    """

    def __init__(self, Q: torch.Tensor, d: int, scale: float) -> None:
        import threading

        self.Q, self.d, self.scale = Q, d, scale  # scale = sigma**2 2**-14
        self._local = threading.local()  # an int32 buffer per thread, reused across tiles

    def _int32(self, shape: tuple[int, int]) -> torch.Tensor:
        buf = getattr(self._local, "buf", None)
        if buf is None or buf.numel() < shape[0] * shape[1]:
            buf = self._local.buf = torch.empty(shape[0] * shape[1], dtype=torch.int32)
        return buf[: shape[0] * shape[1]].view(shape)

    def __call__(self, rows: slice | torch.Tensor, cols: slice, out: torch.Tensor) -> None:
        d, a, b = self.d, self.Q[rows], self.Q[cols]
        G = self._int32(tuple(out.shape))
        torch._int_mm(a[:, :d], b[:, :d].T, out=G)
        torch.mul(G, self.scale, out=out)
        torch._int_mm(a[:, : 2 * d], b[:, d:].T, out=G)
        out.add_(G, alpha=self.scale / _Q2)
        torch._int_mm(a[:, d : 2 * d], b[:, d : 2 * d].T, out=G)
        out.add_(G, alpha=self.scale / _Q2**2)


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


def _int8_gemm_fast() -> bool:
    """Whether ``torch._int_mm`` runs on AMX int8 units here (through oneDNN): about ten
    times a float32 GEMM per core, where VNNI or AVX2 kernels gain little or nothing."""
    return "amx_int8" in _cpu_info()[1] and torch.backends.mkldnn.is_available()


@functools.cache
def _int8_gemm_exact() -> bool:
    """Whether ``torch._int_mm`` works on this CPU and sums exactly, checked once at the int8
    extremes (a kernel that saturates int16 partial sums, as pre-VNNI ones do, fails)."""
    rng = np.random.default_rng(0)
    a = rng.integers(-127, 128, (48, 4096), dtype=np.int8)
    a[:16] = 127
    a[16:32:2] = -127
    b = a.copy()
    b[::3] = -b[::3]
    try:
        with torch.inference_mode():
            got = torch._int_mm(torch.from_numpy(a), torch.from_numpy(b).T).numpy()
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    return bool(np.array_equal(got, a.astype(np.int64) @ b.astype(np.int64).T))


def _int8_tiles(dev: torch.device, d: int) -> bool:
    """Cosine tiles in int8 (``_Int8Scores``) rather than float32: on CPUs where that GEMM is
    fast and exact, for d where it pays. A speed choice only: both bound their error."""
    return dev.type == "cpu" and _INT8_MIN_D <= d <= _INT8_MAX_D and _int8_gemm_fast() and _int8_gemm_exact()


def _int8_cosine_operands(X: np.ndarray, name: str, rows: int) -> tuple[Canonical, _Int8Scores, np.ndarray]:
    """Canonical form, int8 tile scores (zero rows appended up to ``rows``), eps per row.

    Each row x becomes t = x 2**7 / (sigma |x|), rounded once to float32 (u' = sigma t / 2**7
    is the unit row, each entry within 2 u32 of the exact one), split exactly as t = q1 + q2 /
    2**8 + e (q1, q2 int8, |e| <= 1 step of the second slice); v = sigma (q1 + q2 / 2**8) / 2**7 is
    what the GEMMs see and r = u' - v = sigma e / 2**7 the residual. Then u'_i.u'_j - v_i.v_j
    = v_i.r_j + r_i.v_j + r_i.r_j, at most |v_i| |r_j| + |r_i| |v_j| + |r_i| |r_j|
    (Cauchy-Schwarz on the actual residuals, not a worst case) with |v| <= 1 + |r|, and
    |u'_i.u'_j - u_i.u_j| <= 6 u32. v_i.v_j is exact in the int32 sums; their float32 sum and
    its scale round at most six times, each within u32 of the parts' magnitudes, at most
    (|v1_i| + |v2_i|)(|v1_j| + |v2_j|) (v1, v2: the slices), where |v1| + |v2| <= 1 + 2 |v2|
    + |r| and |v2| <= sigma sqrt(d) / 2**8. Each row takes the largest residual of all the
    others; the sum times the safety factor.
    """
    n, d = X.shape
    norms, peak = np.empty(n), np.empty(n)

    def measure(c: slice) -> None:
        nr = np.sqrt(np.einsum("ij,ij->i", X[c], X[c], dtype=np.float64))  # no float64 copy
        norms[c] = _checked_norms(X, nr, c, name)
        peak[c] = np.abs(X[c]).max(axis=1) / norms[c]

    _each_chunk(measure, n, d)
    # One scale for all rows, so the sum needs no per-row or per-column factor; |t| stays a
    # hair below 127, so q1 fits int8 whatever the rounding of t.
    sigma = float(peak.max()) * (_Q1 / 127) * (1 + 2**-16)
    scale = _Q1 / sigma / norms
    Q = np.zeros((max(n, rows), 3 * d), dtype=np.int8)
    rho = np.empty(n)

    def split(c: slice) -> None:
        t = (X[c] * scale[c, None]).astype(np.float32)  # in float64 first: no float32 overflow
        q1 = np.rint(t)
        t -= q1  # exact: |t - q1| <= 1/2 on t's own grid
        t *= _Q2
        q2 = np.rint(t)
        np.clip(q2, -127, 127, out=q2)  # +-128 (e exactly +-1/2) is clipped: e is then 1
        t -= q2  # e, exact
        Q[c, :d], Q[c, d : 2 * d] = q1, q2
        Q[c, 2 * d :] = Q[c, :d]
        rho[c] = np.sqrt(np.einsum("ij,ij->i", t, t, dtype=np.float64)) * (sigma / _Q1 / _Q2)

    _each_chunk(split, n, d, 1 << 16)  # chunks of 256 kB: the passes stay in cache
    r_max = float(rho.max())
    mag, mag_max = 1 + rho + sigma * math.sqrt(d) / _Q1, 1 + r_max + sigma * math.sqrt(d) / _Q1
    eps = _SAFETY * (r_max + rho + 3 * rho * r_max + 6 * _U32 * (1 + mag * mag_max))
    scores = _Int8Scores(torch.from_numpy(Q), d, sigma * sigma / _Q1**2)
    return Canonical(X, "cosine", norms), scores, eps


def _fold(
    best_v: torch.Tensor, best_i: torch.Tensor, row0: int, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor
) -> None:
    """Fold candidates into the running top-k' of rows ``row0 + rows`` (in place).

    ``rows`` must be grouped in ascending order (as ``nonzero`` returns them), so each
    candidate's slot within its row follows from counts alone, without a sort.
    """
    kk = best_v.shape[1]
    nrows = int(rows.max()) + 1
    counts = torch.bincount(rows, minlength=nrows)
    rank = torch.arange(len(rows), device=rows.device) - (torch.cumsum(counts, 0) - counts)[rows]
    width = kk + int(counts.max())
    D_v = torch.full((nrows, width), _NEG_INF, device=vals.device)
    D_i = torch.full((nrows, width), -1, dtype=torch.int64, device=vals.device)
    D_v[:, :kk] = best_v[row0 : row0 + nrows]
    D_i[:, :kk] = best_i[row0 : row0 + nrows]
    D_v[rows, kk + rank] = vals
    D_i[rows, kk + rank] = cols
    v, j = torch.topk(D_v, kk, dim=1)
    best_v[row0 : row0 + nrows] = v
    best_i[row0 : row0 + nrows] = torch.gather(D_i, 1, j)


def _fold_numpy(
    best_v: np.ndarray, best_i: np.ndarray, row0: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray
) -> None:
    """``_fold`` on CPU: only the rows that got candidates are touched, and numpy sorts the
    short rows (torch.topk costs about a millisecond per call on CPU whatever its size)."""
    kk = best_v.shape[1]
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # rows are grouped
    counts = np.diff(np.r_[first, len(rows)])
    hit = row0 + rows[first]
    group = np.repeat(np.arange(len(first)), counts)
    slot = kk + np.arange(len(rows)) - first[group]
    D_v = np.full((len(first), kk + int(counts.max())), _NEG_INF, dtype=best_v.dtype)
    D_i = np.full(D_v.shape, -1, dtype=np.int64)
    D_v[:, :kk], D_i[:, :kk] = best_v[hit], best_i[hit]
    D_v[group, slot], D_i[group, slot] = vals, cols
    # Equal float32 scores may come in either order: the exact pass orders them.
    top = np.argsort(-D_v, axis=1)[:, :kk]  # SIMD sort; a stable one costs 3-5x
    best_v[hit] = np.take_along_axis(D_v, top, axis=1)
    best_i[hit] = np.take_along_axis(D_i, top, axis=1)


def _fold_any(
    best_v: torch.Tensor, best_i: torch.Tensor, row0: int, rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor
) -> None:
    """``_fold``, in numpy on CPU (same lists up to the order of equal float32 scores)."""
    if best_v.device.type == "cpu":
        _fold_numpy(best_v.numpy(), best_i.numpy(), row0, rows.numpy(), cols.numpy(), vals.numpy())
    else:
        _fold(best_v, best_i, row0, rows, cols, vals)


_CHUNK = 32  # scores per block maximum in the filter


def _flat_nonzero(mask: torch.Tensor) -> torch.Tensor:
    """Ascending flat indices of the True entries (int64).

    On CPU numpy's nonzero is several times faster than torch's at one thread (and torch's
    stalls badly with two threads on a busy machine); the tensor shares numpy's memory.
    """
    if mask.device.type == "cpu":
        return torch.from_numpy(np.flatnonzero(mask.numpy()))
    return torch.nonzero(mask.reshape(-1)).squeeze(1)


def _row_run_max(S: torch.Tensor) -> torch.Tensor:
    """(m, w / _CHUNK): the maximum of each run of _CHUNK columns in each row."""
    return S.view(S.shape[0], -1, _CHUNK).amax(dim=2)


_COL_RUN = 8  # rows per block maximum down a column: a run is gathered as 8 cache lines


def _col_run_max(S: torch.Tensor) -> torch.Tensor:
    """(m / _COL_RUN, w): the maximum of each run of _COL_RUN rows in each column."""
    return S.unflatten(0, (-1, _COL_RUN)).amax(dim=1)


def _filter_rows(
    S: torch.Tensor, tau: torch.Tensor, run_max: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(row, col, score) of entries of S above their row's threshold, rows ascending.

    Block maxima over runs of _CHUNK columns (``_row_run_max``, computed here unless given)
    are compared first, so the exact compare and nonzero touch only the few runs that can
    hold a candidate. Runs are gathered by flat index (index_select copies whole rows of
    32; advanced indexing with two index tensors is ~10x slower on CPU).
    """
    m, w = S.shape
    nb = w // _CHUNK
    run_max = _row_run_max(S) if run_max is None else run_max
    hit = _flat_nonzero(run_max > tau[:, None])  # run ids r * nb + ch
    r = torch.div(hit, nb, rounding_mode="floor")
    sub = S.view(m * nb, _CHUNK).index_select(0, hit)  # (q, _CHUNK)
    flat = _flat_nonzero(sub > tau.index_select(0, r)[:, None])
    q = torch.div(flat, _CHUNK, rounding_mode="floor")
    cols = (hit.index_select(0, q) - r.index_select(0, q) * nb) * _CHUNK + (flat - q * _CHUNK)
    return r.index_select(0, q), cols, sub.view(-1).index_select(0, flat)


def _filter_cols(
    S: torch.Tensor, tau: torch.Tensor, run_max: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(col, row, score) of entries of S above their column's threshold, cols ascending;
    ``run_max``: ``_col_run_max(S)``, computed here unless given."""
    m, w = S.shape
    runs = S.unflatten(0, (m // _COL_RUN, _COL_RUN))
    run_max = _col_run_max(S) if run_max is None else run_max
    hit = _flat_nonzero(run_max > tau[None, :])  # ch * w + c
    ch = torch.div(hit, w, rounding_mode="floor")
    c = hit - ch * w
    # (q, _COL_RUN), strided (a cache line per score), but only the few runs that can hold
    # one; numpy's mixed advanced indexing is ~3x faster than torch's on CPU.
    if S.device.type == "cpu":
        sub = torch.from_numpy(runs.numpy()[ch.numpy(), :, c.numpy()])
    else:
        sub = runs[ch, :, c]
    flat = _flat_nonzero(sub > tau.index_select(0, c)[:, None])
    q = torch.div(flat, _COL_RUN, rounding_mode="floor")
    cols, rows = c.index_select(0, q), ch.index_select(0, q) * _COL_RUN + (flat - q * _COL_RUN)
    vals = sub.view(-1).index_select(0, flat)
    # Group by column, rows ascending within (they are ascending per column already).
    if S.device.type == "cpu":
        order = torch.from_numpy(np.argsort(cols.numpy(), kind="stable"))
    else:  # the int32 keys are unique, so an unstable sort is deterministic
        order = torch.sort((cols * m + rows).to(torch.int32)).indices
    return cols.index_select(0, order), rows.index_select(0, order), vals.index_select(0, order)


def _seed_from_diagonal(
    S: torch.Tensor, run_max: torch.Tensor, best_v: torch.Tensor, best_i: torch.Tensor, row0: int, col0: int, kk: int
) -> None:
    """Exact float32 top-kk of the rows of S (rows row0.., columns col0.., self already -inf)
    into their (empty) lists.

    Every score at or above the kk-th largest maximum of the 32-score runs is a candidate:
    kk runs reach that value, so the kk best scores are all among them. A top-k over the
    whole tile costs ~10x more on CPU.
    """
    m, w = S.shape
    nb = w // _CHUNK
    if nb < kk:  # too few runs for the bound: plain top-k
        v, i = torch.topk(S, kk, dim=1)
        best_v[row0 : row0 + m] = v
        best_i[row0 : row0 + m] = torch.where(torch.isinf(v), torch.full_like(i, -1), i + col0)
        return
    if S.device.type == "cpu":
        kth = torch.from_numpy(np.partition(run_max.numpy(), nb - kk, axis=1)[:, nb - kk].copy())
    else:
        kth = torch.kthvalue(run_max, nb - kk + 1, dim=1).values
    below = torch.nextafter(kth, torch.full_like(kth, _NEG_INF))  # the filter keeps > below
    r, c, v = _filter_rows(S, below, run_max)
    if len(r):
        _fold_any(best_v, best_i, row0, r, c + col0, v)


Tile = tuple[int, int, int, int]  # (first row, rows, first column, columns)


_MIN_TILE_WORK = 2**28  # multiply-adds: smaller GEMMs cost more in per-tile overhead than they save


def _diagonal_tiles(s: int, size: int, d: int, kk: int) -> tuple[list[Tile], list[Tile]]:
    """(seeds, inner tiles) covering the upper triangle of the diagonal block [s, s + size).

    The block is halved recursively (two diagonal halves and the tile between them) while the
    halves still seed their rows (more than kk columns) and their GEMMs are large enough to
    pay for themselves; each level computes 3/4 of the square it replaces.
    """
    half = math.ceil(size / 2 / _CHUNK) * _CHUNK
    if size - half <= kk or (size - half) ** 2 * d < _MIN_TILE_WORK:
        return [(s, size, s, size)], []
    seeds_a, inner_a = _diagonal_tiles(s, half, d, kk)
    seeds_b, inner_b = _diagonal_tiles(s + half, size - half, d, kk)
    return seeds_a + seeds_b, inner_a + inner_b + [(s, half, s + half, size - half)]


def _tile_plan(n_pad: int, tile: int, d: int, kk: int) -> list[Tile]:
    """Tiles covering the upper triangle of the score matrix, in scan order.

    Blocks of ``tile`` rows (the last may be shorter); diagonal blocks split as in
    ``_diagonal_tiles``. Diagonal tiles
    come first (they seed every row's threshold), then the tiles within blocks, smallest
    first, then the full off-diagonal tiles, so the thresholds tighten before the big tiles.
    """
    blocks = [(s, min(tile, n_pad - s)) for s in range(0, n_pad, tile)]
    seeds: list[Tile] = []
    inner: list[Tile] = []
    for s, size in blocks:
        block_seeds, block_inner = _diagonal_tiles(s, size, d, kk)
        seeds += block_seeds
        inner += block_inner
    inner.sort(key=lambda tl: tl[1] * tl[3])  # stable: a fixed order
    outer = [(s, h, t, w) for a, (s, h) in enumerate(blocks) for t, w in blocks[a + 1 :]]
    return seeds + inner + outer


@dataclass(frozen=True)
class _TileScores:
    """A computed tile: its scores and their run maxima (``_row_run_max``, ``_col_run_max``)."""

    S: torch.Tensor
    row_max: torch.Tensor
    col_max: torch.Tensor


def _select_tile(ts: _TileScores, best_v: torch.Tensor, best_i: torch.Tensor, tile: Tile, kk: int) -> None:
    """Fold the scores of ``tile`` into the lists of its rows and of its columns."""
    s, h, t, w = tile
    if s == t:
        _seed_from_diagonal(ts.S, ts.row_max, best_v, best_i, s, s, kk)
        return
    r, c, v = _filter_rows(ts.S, best_v[s : s + h, -1], ts.row_max)
    if len(r):
        _fold_any(best_v, best_i, s, r, c + t, v)
    c2, r2, v2 = _filter_cols(ts.S, best_v[t : t + w, -1], ts.col_max)
    if len(c2):
        _fold_any(best_v, best_i, t, c2, r2 + s, v2)


class _TileRunner:
    """Runs a tile plan on CPU with ``workers`` threads, each with one torch thread.

    Tasks: the GEMM of a tile (any worker, as soon as a buffer is free; tiles in plan order)
    and the selection from a computed tile (strictly in plan order, one at a time, since it
    reads the thresholds the previous ones left). A free worker takes the next selection if
    its tile is ready, else the next GEMM. So the cores share the work whatever its mix
    (the selection's share falls as d grows) and whatever else runs on the machine, with no
    GEMM split over cores that waits for its slowest thread. Only the speed depends on the
    timing: each row's list is updated tile by tile in plan order.
    """

    def __init__(self, n_tiles: int, workers: int, buffers: list[torch.Tensor]) -> None:
        import threading

        self.n_tiles = n_tiles
        self.workers = workers
        self.free = list(range(len(buffers)))
        self.buffers = buffers
        self.cond = threading.Condition()
        self.next_gemm = 0
        self.next_select = 0
        self.selecting = False
        self.ready: dict[int, tuple[int, _TileScores]] = {}  # tile -> (buffer, scores)
        self.error: BaseException | None = None

    def run(
        self,
        gemm: Callable[[int, torch.Tensor], _TileScores],
        select: Callable[[_TileScores, int], None],
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        def worker() -> None:
            torch.set_num_threads(1)  # OpenMP and MKL thread counts are per calling thread
            with torch.inference_mode():  # thread-local too
                while (task := self._take()) is not None:
                    kind, j, b, S = task
                    try:
                        if kind == "gemm":
                            S = gemm(j, self.buffers[b])
                        else:
                            select(S, j)
                    except BaseException as err:  # hand it to the caller, stop the others
                        with self.cond:
                            self.error = err
                            self.cond.notify_all()
                        return
                    self._done(kind, j, b, S)

        threads = torch.get_num_threads()
        with ThreadPoolExecutor(self.workers) as pool:
            for f in [pool.submit(worker) for _ in range(self.workers)]:
                f.result()
        torch.set_num_threads(threads)  # the workers changed the default that new threads inherit
        if self.error is not None:
            raise self.error

    def _take(self) -> tuple[str, int, int, _TileScores | None] | None:
        with self.cond:
            while True:
                if self.error is not None or self.next_select == self.n_tiles:
                    return None
                if not self.selecting and self.next_select in self.ready:
                    self.selecting = True
                    b, S = self.ready.pop(self.next_select)
                    return "select", self.next_select, b, S
                if self.next_gemm < self.n_tiles and self.free:
                    self.next_gemm += 1
                    return "gemm", self.next_gemm - 1, self.free.pop(), None
                self.cond.wait()

    def _done(self, kind: str, j: int, b: int, S: _TileScores | None) -> None:
        with self.cond:
            if kind == "gemm":
                assert S is not None
                self.ready[j] = (b, S)
            else:
                self.selecting = False
                self.next_select += 1
                self.free.append(b)
            self.cond.notify_all()


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


def _blocking(n: int, tile: int, kk: int) -> tuple[int, int]:
    """(tile, padded row count): blocks of nearly equal size, multiples of _CHUNK rows and
    more than kk (the last one may be shorter); rows padded only to a multiple of _CHUNK,
    as every padding row costs GEMM work."""
    blocks = math.ceil(n / max(tile, kk + 1))
    return math.ceil(n / blocks / _CHUNK) * _CHUNK, math.ceil(n / _CHUNK) * _CHUNK


def _symmetric_topk(
    scores_of: _Scorer, n: int, kk: int, tile: int, dev: torch.device, progress: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 top-kk scores (descending) and indices of each of the first n rows, self
    excluded; the operands behind ``scores_of`` hold zero rows beyond n up to the padded
    row count of ``_blocking`` (whole blocks).

    Scores must be symmetric (score(i, j) == score(j, i) in exact arithmetic), so only tiles
    on and above the diagonal are computed; each serves both its rows and its columns.

    On CPU with T > 1 threads, T workers with one torch thread each share the GEMMs and the
    selection (``_TileRunner``): the selection is many small ops, for which a barrier per op
    costs more than it gains (and stalls badly on a busy machine).
    """
    from tqdm.auto import tqdm

    # Padding rows score -inf against everything and accept nothing (threshold +inf).
    tile, n_pad = _blocking(n, tile, kk)
    best_v = torch.full((n_pad, kk), _NEG_INF, device=dev)
    best_i = torch.full((n_pad, kk), -1, dtype=torch.int64, device=dev)
    plan = _tile_plan(n_pad, tile, scores_of.d, kk)
    last_seed = max(j for j, (s, _, t, _) in enumerate(plan) if s == t)
    bufs = [torch.empty(tile * tile, device=dev)]
    bar = tqdm(total=len(plan), disable=not progress, desc="kNN tiles", unit="tile", leave=False)

    # On CPU each GEMM runs on one thread of its worker; the run maxima are taken right after,
    # by the same worker.
    def scores(tl: Tile, buf: torch.Tensor) -> _TileScores:
        s, h, t, w = tl
        out = buf[: h * w].view(h, w)
        scores_of(slice(s, s + h), slice(t, t + w), out)
        if s == t:  # a point is not its own neighbour
            out.fill_diagonal_(_NEG_INF)
        if max(s + h, t + w) > n:  # padding columns (and rows) never win
            out[:, max(n - t, 0) :] = _NEG_INF
            out[max(n - s, 0) :, :] = _NEG_INF
        return _TileScores(out, _row_run_max(out), _col_run_max(out))

    def select(S: _TileScores, j: int) -> None:
        _select_tile(S, best_v, best_i, plan[j], kk)
        if j == last_seed:  # every row seeded: padding rows accept nothing from now on
            best_v[n:] = float("inf")
        bar.update(1)

    threads = torch.get_num_threads()
    if dev.type != "cpu":
        for j, tl in enumerate(plan):
            select(scores(tl, bufs[0]), j)
    else:
        with _one_blas_thread():
            if threads == 1:
                for j, tl in enumerate(plan):
                    select(scores(tl, bufs[0]), j)
            else:
                bufs += [torch.empty(tile * tile, device=dev) for _ in range(threads)]  # a spare: no worker waits
                _TileRunner(len(plan), threads, bufs).run(lambda j, buf: scores(plan[j], buf), select)
    bar.close()
    return best_v[:n], best_i[:n]


# --------------------------------------------------------------------------- exact re-check


def _fallback_rows(
    scores_of: _Scorer, dev: torch.device, canon: Canonical, rows: np.ndarray, eps: np.ndarray, k: int
) -> np.ndarray:
    """Rows whose candidates end inside a near-tie run: score them against all points and
    re-rank by (cell, index) every point within 2 eps of the k-th float32 score."""
    n = canon.X.shape[0]
    out = np.empty((len(rows), k), dtype=np.int64)
    step = max(1, (1 << 24) // n)
    for s in range(0, len(rows), step):
        rr = rows[s : s + step]
        rr_t = torch.as_tensor(rr, device=dev)
        S = torch.empty((len(rr), n), device=dev)
        scores_of(rr_t, slice(0, n), S)
        S[torch.arange(len(rr), device=S.device), rr_t] = _NEG_INF
        kth = torch.topk(S, k, dim=1).values[:, -1].double()
        low = (kth - 2.0 * torch.as_tensor(eps[rr], device=S.device)).float()
        low = torch.nextafter(low, torch.full_like(low, _NEG_INF))  # round the bound outwards
        r, c = (t.cpu().numpy() for t in torch.nonzero(S >= low[:, None], as_tuple=True))
        counts = np.bincount(r, minlength=len(rr))
        slot = np.arange(len(r)) - (np.cumsum(counts) - counts)[r]
        cand = np.full((len(rr), int(counts.max())), n, dtype=np.int64)  # padding sorts last
        cand[r, slot] = c
        cell = np.full(cand.shape, np.iinfo(np.int64).max)
        cell[r, slot] = pair_cells(canon, rr[r], c, r)
        order = np.lexsort((cand, cell), axis=-1)[:, :k]
        out[s : s + step] = np.take_along_axis(cand, order, axis=1)
    return out


def _exact_from_candidates(
    vals32: np.ndarray,
    idx: np.ndarray,
    eps: np.ndarray,
    k: int,
    canon: Canonical,
    scores_of: _Scorer,
    dev: torch.device,
) -> np.ndarray:
    """Exact top-k from each row's float32 top-k' (scores descending).

    Every float32 score is within eps of the exact one (eps includes a grid cell), so two
    candidates whose float32 scores differ by more than 2 eps lie in different cells, in
    that order. Split each row's candidate list at those wide gaps into runs; only runs of
    two or more need their cells, and the run holding the k-th candidate must end before
    the list does (else a point outside the list could tie with it: such rows go to the
    full fallback).
    """
    n, kk = vals32.shape
    vals = vals32.astype(np.float64)
    wide = vals[:, :-1] - vals[:, 1:] > 2.0 * eps[:, None]  # (n, kk-1): gap after position m
    top = min(k, kk - 1)
    result = idx[:, :k].copy()
    todo = np.flatnonzero(~wide[:, :top].all(axis=1)) if top else np.arange(0)
    if kk == n - 1:  # every other point is a candidate: nothing lies outside the list
        covered = np.ones(len(todo), dtype=bool)
    else:
        covered = wide[todo, k - 1 :].any(axis=1)
    ok = todo[covered]
    if len(ok):
        w = wide[ok]
        run = np.concatenate([np.zeros((len(ok), 1), np.int64), np.cumsum(w, axis=1)], axis=1)  # run id
        # Positions after the run that holds the k-th candidate cannot enter the top k.
        last = run[:, k - 1 : k]
        relevant = run <= last
        shared = np.zeros((len(ok), kk), dtype=bool)
        shared[:, 1:] |= ~w
        shared[:, :-1] |= ~w
        need = shared & relevant  # members of multi-point runs
        r_need, c_need = np.nonzero(need)
        cell = np.zeros((len(ok), kk), dtype=np.int64)
        groups = r_need * kk + run[r_need, c_need]  # one row's run: the pairs ever compared
        cell[r_need, c_need] = pair_cells(canon, ok[r_need], idx[ok][r_need, c_need], groups)
        run_key = np.where(relevant, run, np.iinfo(np.int64).max)
        cand = idx[ok]
        order = np.lexsort((cand, cell, run_key), axis=-1)[:, :k]
        result[ok] = np.take_along_axis(cand, order, axis=1)
    bad = todo[~covered]
    if len(bad):
        result[bad] = _fallback_rows(scores_of, dev, canon, bad, eps, k)
    return result


def _tile_operands(X: np.ndarray, metric: str, n_pad: int, dev: torch.device) -> tuple[Canonical, _Scorer, np.ndarray]:
    """Canonical form, the tile scores (operands padded with zero rows to ``n_pad``) and the
    bound eps per row on |float32 score - exact score|, widened by a grid cell so that a gap
    over 2 eps also separates cells."""
    d = X.shape[1]
    if metric == "cosine":
        if _int8_tiles(dev, d):
            canon, int8, eps = _int8_cosine_operands(X, "X", n_pad)
            # Spiky rows (one large entry) coarsen the shared scale: past twice the float32
            # bound the wider near-tie runs cost more than the int8 GEMMs save.
            if eps.max() <= _INT8_EPS_RATIO * _float32_cosine_error(d):
                return canon, int8, eps + _COSINE_CELL
        canon, A_np, eps = _cosine_operands(X, "X", n_pad)
        A = torch.from_numpy(A_np).to(dev)
        return canon, _Float32Scores(A, A, _numpy_blas(dev)), eps + _COSINE_CELL
    canon, A_np, B_np, eps = _euclidean_operands(X, "X", n_pad)
    A, B = torch.from_numpy(A_np).to(dev), torch.from_numpy(B_np).to(dev)
    return canon, _Float32Scores(A, B, _numpy_blas(dev)), eps


# -------------------------------------------------------------------------------- public API


def knn_indices(
    X: object,
    k: int,
    metric: Metric = "cosine",
    include_self: bool = False,
    *,
    device: str | torch.device | None = None,
    tile: int | None = None,
    margin: int | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Exact K nearest neighbours of every row of ``X`` within ``X``.

    Args:
        X: (N, d) real matrix, N >= 2, finite; no zero rows under cosine.
        k: neighbours per point, 1 <= k <= N - 1 (<= N with ``include_self``).
        metric: ``"cosine"`` (1 - cosine similarity) or ``"euclidean"``.
        include_self: count each point as its own first neighbour (authors' code).
        device: torch device for the float32 pass; default: CUDA when present, else CPU.
        tile: tile edge in rows (memory ~ tile^2 floats, at most 46340); default 2048 (CPU),
            8192 (CUDA).
        margin: extra candidates kept per row for the near-tie re-check (default
            2 + ceil(d / 256)); a speed knob only, results do not depend on it.
        progress: show a tqdm bar (stderr) over the tiles.

    Returns:
        int64 (N, k): row i lists i's neighbours nearest first; ties (distances in the same
        2**-32 grid cell, see the module docstring) go to the lower index; with
        ``include_self`` column 0 is i itself.

    Raises:
        ValueError: bad shape, NaN/Inf (first bad row named), fewer than 2 rows, k out of
        range, unknown metric, or a zero vector under cosine.
    """
    Xv = _validated_input(X)
    metric = check_metric(metric)
    n = Xv.shape[0]
    k = check_k(k, n, include_self)
    k_other = k - 1 if include_self else k
    self_col = np.arange(n, dtype=np.int64)[:, None]
    if k_other == 0:
        _cosine_operands(Xv, "X") if metric == "cosine" else _euclidean_operands(Xv, "X")  # same checks
        return self_col
    dev = resolve_device(device)
    if tile is None:
        tile = 8192 if dev.type == "cuda" else 2048
    if margin is None:
        # More near-ties at the k-th candidate as eps grows with d; a short list sends rows
        # to the (slower, still exact) fallback, a long one costs filter work.
        margin = 2 + math.ceil(Xv.shape[1] / 256)
    kk = min(k_other + max(1, int(margin)), n - 1)

    tile = min(max(1, int(tile)), 46340)
    n_pad = _blocking(n, tile, kk)[1]  # built padded: no copy of the operands later
    with _full_fp32_matmul(), torch.inference_mode():
        canon, scores_of, eps = _tile_operands(Xv, metric, n_pad, dev)
        vals, idx = _symmetric_topk(scores_of, n, kk, tile, dev, progress)
        out = _exact_from_candidates(vals.cpu().numpy(), idx.cpu().numpy(), eps, k_other, canon, scores_of, dev)
    if include_self:
        out = np.hstack([self_col, out])
    return np.ascontiguousarray(out, dtype=np.int64)
