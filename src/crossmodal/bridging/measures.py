"""Neighbourhood measures of ``crossmodal.bridge`` and their statistics (numpy/scipy only).

Per evaluation set (all paired rows when F is given, else each held-out fold) the neighbours
of X, Y and F are computed once, self excluded, with ``crossmodal.metrics.knn_indices``; the
include-self list for K is [i] followed by the first K - 1 of them (``with_self``, as in
Experiment 1). Per-item NNO^K comes from ``crossmodal.metrics.nno_per_item`` on those lists.
Per-item values of all sets are then pooled (under CV every item is held out exactly once),
and every mean below is over the pooled items.

* chance (independent neighbourhoods, a set of n items): self excluded, each of the K
  neighbours of x_i is among the K of y_i with probability K/(n-1), so E[mNNO^K] = K/(n-1);
  self counted, the shared self is certain and the K-1 others give (K-1)²/(n-1), so
  E[mNNO^K] = (1 + (K-1)²/(n-1)) / K. Pooled over sets: the item-weighted mean.
* permutation null of mNNO(X, Y): the pairing is shuffled within each set (y_π(i) paired with
  x_i; the neighbours of Y are reused, relabelled by π⁻¹), ``n_permutations`` times;
  one-sided p = (1 + #{null >= observed}) / (1 + n_permutations).
* paired test: ``scipy.stats.wilcoxon(NNO(X,F), NNO(Y,F))``, two-sided, scipy's defaults
  (zero differences dropped, ``method="auto"``); p = 1 when every difference is 0.
* bootstrap: items resampled with replacement ``n_bootstrap`` times; percentile interval at
  ``level`` for mNNO(X,F), mNNO(Y,F), mNNO(X,Y) and mNNO(Y,F) - mNNO(X,F).
* regression: MSE per element and R² per output dimension averaged uniformly (the
  definitions of ``crossmodal.mappings.splits.regression_scores``), in row chunks so a
  100k x 512 pair needs no N x d float64 temporaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.stats

from crossmodal.experiments.learned_mappings import with_self
from crossmodal.mappings.splits import r2_per_dimension
from crossmodal.metrics.nno import nno_per_item, overlap_counts

CI_NAMES: tuple[str, ...] = ("mnno_x_f", "mnno_y_f", "mnno_x_y", "mnno_y_f_minus_x_f")


def lists_for_k(nn_exclude: np.ndarray, k: int, include_self: bool) -> np.ndarray:
    """The K-neighbour lists under a self rule, from exclude-self lists with >= K columns."""
    return with_self(nn_exclude, k) if include_self else np.ascontiguousarray(nn_exclude[:, :k])


def nno_for_k(nn_a: np.ndarray, nn_b: np.ndarray, k: int, include_self: bool) -> np.ndarray:
    """Per-item NNO^K of two exclude-self neighbour lists."""
    return nno_per_item(lists_for_k(nn_a, k, include_self), lists_for_k(nn_b, k, include_self), k,
                        include_self=include_self)


def chance(k: int, n: int, include_self: bool) -> float:
    """Expected mNNO^K of independent neighbourhoods among n items (module docstring)."""
    if include_self:
        return (1.0 + (k - 1) ** 2 / (n - 1)) / k
    return k / (n - 1)


def overlap_curve(nn_a: np.ndarray, nn_b: np.ndarray, k_max: int, include_self: bool) -> np.ndarray:
    """(N, k_max) per-item NNO^K for K = 1..k_max at once, from exclude-self lists.

    A shared index at positions p, q of the two lists is inside both top-K' lists exactly when
    max(p, q) < K'; a histogram of those maxima, accumulated, gives every K' in one sort.
    Self counted: NNO^K = 1 + the exclude-self overlap of the first K - 1.
    """
    n, width = nn_a.shape
    kk = k_max - 1 if include_self else k_max
    counts = np.zeros((n, k_max + 1), dtype=np.int64)
    if kk > 0:
        a, b = nn_a[:, :kk], nn_b[:, :kk]
        vals = np.concatenate([a, b], axis=1)
        pos = np.concatenate([np.broadcast_to(np.arange(kk), a.shape)] * 2, axis=1)
        order = np.argsort(vals, axis=1, kind="stable")
        v = np.take_along_axis(vals, order, axis=1)
        p = np.take_along_axis(pos, order, axis=1)
        rows, cols = np.nonzero(v[:, 1:] == v[:, :-1])
        deepest = np.maximum(p[rows, cols], p[rows, cols + 1])
        np.add.at(counts, (rows, deepest + 1), 1)
    counts = np.cumsum(counts, axis=1)[:, 1:]  # column K'-1: overlap of the first K' (exclude-self)
    if not include_self:
        return counts
    shifted = np.zeros((n, k_max), dtype=np.int64)
    shifted[:, 1:] = counts[:, : k_max - 1]
    return shifted + 1


def permutation_null(
    sets: Sequence[tuple[np.ndarray, np.ndarray]],
    k: int,
    n_permutations: int,
    rng: np.random.Generator,
    progress: bool = False,
) -> np.ndarray:
    """Total NNO^K(X, Y) counts over all sets, once per permutation of the pairing.

    ``sets``: per evaluation set its (X, Y) K-neighbour lists under the chosen self rule.
    """
    from tqdm.auto import tqdm

    # int32 indices halve the sort's memory traffic (the cost of each permutation at large N)
    small = [(x.astype(np.int32), y.astype(np.int32)) if len(x) < 2**31 else (x, y) for x, y in sets]
    out = np.zeros(n_permutations, dtype=np.int64)
    for b in tqdm(range(n_permutations), desc=f"permutations K={k}", unit="perm", disable=not progress, leave=False):
        total = 0
        for nn_x, nn_y in small:
            perm = rng.permutation(len(nn_x))
            inverse = np.empty(len(perm), dtype=nn_y.dtype)
            inverse[perm] = np.arange(len(perm), dtype=nn_y.dtype)
            total += int(overlap_counts(nn_x, inverse[nn_y[perm]]).sum())
        out[b] = total
    return out


def permutation_p(observed: int, null: np.ndarray) -> float:
    """One-sided p with the +1 rule: (1 + #{null >= observed}) / (1 + B)."""
    return (1.0 + float((null >= observed).sum())) / (1.0 + len(null))


def paired_p(nno_x_f: np.ndarray, nno_y_f: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of the per-item pairs (scipy defaults); 1 if all equal."""
    if np.array_equal(nno_x_f, nno_y_f):
        return 1.0
    return float(scipy.stats.wilcoxon(nno_x_f, nno_y_f, alternative="two-sided").pvalue)


def bootstrap_ci(per_item: np.ndarray, n_bootstrap: int, level: float, rng: np.random.Generator) -> np.ndarray:
    """Percentile intervals of the column means of ``per_item`` (N, m): (m, 2) [lo, hi]."""
    n = per_item.shape[0]
    chunk = max(1, (1 << 23) // (n * per_item.shape[1]))  # resamples per step: ~64 MB of float64
    means = np.empty((n_bootstrap, per_item.shape[1]))
    for s in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - s)
        idx = rng.integers(0, n, size=(b, n))
        means[s : s + b] = per_item[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return np.quantile(means, [tail, 1.0 - tail], axis=0).T


def regression(F: np.ndarray, Y: np.ndarray, chunk_elems: int = 1 << 22) -> tuple[float, float]:
    """(MSE per element, R² averaged over output dimensions) of F against Y, float64, chunked.

    R² of a constant target dimension is 1.0 when predicted exactly, else 0.0 (sklearn's
    force_finite convention), as in ``regression_scores``.
    """
    n, d = Y.shape
    step = max(1, chunk_elems // d)
    col_sum = np.zeros(d)
    for s in range(0, n, step):
        col_sum += Y[s : s + step].sum(axis=0, dtype=np.float64)
    mean = col_sum / n
    ss_res, ss_tot = np.zeros(d), np.zeros(d)
    row_res: list[float] = []
    for s in range(0, n, step):
        y = Y[s : s + step].astype(np.float64)
        sq = (F[s : s + step].astype(np.float64) - y) ** 2
        ss_res += sq.sum(axis=0)
        ss_tot += ((y - mean) ** 2).sum(axis=0)
        row_res.extend(sq.sum(axis=1).tolist())
    r2 = r2_per_dimension(ss_res, ss_tot)
    return math.fsum(row_res) / (n * d), math.fsum(r2.tolist()) / d


def hubness(n_k: np.ndarray) -> tuple[float, float]:
    """(skewness of N_k with scipy.stats.skew defaults, share of items with N_k = 0)."""
    with np.errstate(all="ignore"):
        skew = float(scipy.stats.skew(n_k.astype(np.float64)))
    return skew, float((n_k == 0).mean())
