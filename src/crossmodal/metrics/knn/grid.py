"""The distance grid: float64 bounds of exact distances, their grid cells, and the exact integer
arithmetic that settles a cell where the bounds straddle a boundary.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from crossmodal.metrics.knn.checks import _SAFETY


@dataclass(frozen=True)
class Canonical:
    """The input rows and what the float64 distances need, built only where needed.

    Cosine: the float64 row norms ``sqrt(sum(x * x))`` are stored once; ``rows`` gives the unit
    rows ``x / norm`` (used by ``crossmodal.measures.retrieval``); euclidean: ``x`` itself.
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
