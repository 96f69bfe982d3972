"""Nearest-neighbour overlap from neighbour lists (Collell & Moens 2018, §3.1, eq. 1), numpy only.

    NNO^K(v_i, z_i) = |NN^K(v_i) ∩ NN^K(z_i)|,   mNNO^K(V, Z) = (1 / (K N)) Σ_i NNO^K(v_i, z_i)

Everything here starts from neighbour lists (integer (N, k') arrays, one row per item, nearest
first, as ``crossmodal.metrics.knn_indices`` returns them); ``crossmodal.metrics.nno`` is the entry
point that starts from features.

Self rule: lists are computed once *without* self, with K_max >= K columns. The exclude-self list
for K is their first K columns; the include-self list is [i] followed by the first K − 1
(:func:`self_rule_lists`), which is exactly what ``knn_indices(..., include_self=True)`` returns
(the authors' convention, used by the paper's numbers).

* :func:`overlap_counts`: |row_i(a) ∩ row_i(b)| of two lists given under one rule — the one
  list intersection; :func:`nno_of_lists` applies the self rule to exclude-self lists first.
* :func:`mean_nno`: mNNO^K from per-item counts, ``float(sum) / (K N)``.
* :func:`chance`: expected mNNO^K of independent neighbourhoods among n items. Self excluded,
  each of the K neighbours of x_i is among the K of y_i with probability K/(n-1), so
  E[mNNO^K] = K/(n-1); self counted, the shared self is certain and the K-1 others give
  (K-1)²/(n-1), so E[mNNO^K] = (1 + (K-1)²/(n-1)) / K.
* :func:`overlap_curve`: per-item NNO^K for every K = 1..K_max at once.
* :func:`permutation_null`: mNNO(X, Y) counts with the pairing shuffled within each set (the
  neighbours of Y are reused, relabelled by π⁻¹); its p is ``significance.permutation_p``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def check_lists(nn: np.ndarray, k: int, include_self: bool, name: str = "lists") -> np.ndarray:
    """The first k columns of a neighbour matrix as C-contiguous int64, checked against the rules:
    indices within 0..N-1, no index twice in a row, each row holding itself exactly when
    ``include_self``. ValueError naming ``name`` and the first bad row otherwise."""
    n, width = nn.shape
    if width < k:
        raise ValueError(f"{name}: precomputed neighbours have {width} columns, fewer than k={k}")
    nn = np.ascontiguousarray(nn[:, :k], dtype=np.int64)
    out_of_range = ((nn < 0) | (nn >= n)).any(axis=1)
    if out_of_range.any():
        raise ValueError(f"{name}: neighbour index outside 0..{n - 1} (first bad row: {int(np.argmax(out_of_range))})")
    s = np.sort(nn, axis=1)
    repeated = (s[:, 1:] == s[:, :-1]).any(axis=1)
    if repeated.any():
        raise ValueError(
            f"{name}: a row repeats a neighbour index (first bad row: {int(np.argmax(repeated))}); "
            "integer arrays are read as neighbour indices, cast features to float"
        )
    has_self = (nn == np.arange(n)[:, None]).any(axis=1)
    wrong = ~has_self if include_self else has_self
    if wrong.any():
        rule = "lacks itself (include_self=True)" if include_self else "contains itself (include_self=False)"
        raise ValueError(f"{name}: neighbour row {int(np.argmax(wrong))} {rule}")
    return nn


def self_rule_lists(nn_exclude: np.ndarray, k: int, include_self: bool) -> np.ndarray:
    """The K-neighbour lists under a self rule from exclude-self lists with >= K columns:
    the first K columns, or [i] followed by the first K − 1 (module docstring)."""
    k = _check_k(k)
    if not include_self:
        return np.ascontiguousarray(nn_exclude[:, :k])
    n = nn_exclude.shape[0]
    return np.hstack([np.arange(n, dtype=np.int64)[:, None], nn_exclude[:, : k - 1]])


def overlap_counts(nn_a: np.ndarray, nn_b: np.ndarray) -> np.ndarray:
    """|row_i(nn_a) ∩ row_i(nn_b)| for every row (int64); rows hold distinct indices."""
    # Each row has no repeats, so an equal adjacent pair in the merged sorted row is exactly
    # one shared index; O(N k log k) and no N x N or N x k x k intermediate.
    merged = np.sort(np.concatenate([nn_a, nn_b], axis=1), axis=1)
    return (merged[:, 1:] == merged[:, :-1]).sum(axis=1).astype(np.int64)


def nno_of_lists(
    nn_a: np.ndarray, nn_b: np.ndarray, k: int, include_self: bool, names: tuple[str, str] = ("V", "Z")
) -> np.ndarray:
    """Per-item NNO^K (int64, 0..K) of two exclude-self neighbour lists (>= K columns) under a
    self rule; the lists are checked (:func:`check_lists`)."""
    lists = [check_lists(self_rule_lists(nn, k, include_self), k, include_self, name)
             for nn, name in ((nn_a, names[0]), (nn_b, names[1]))]
    return overlap_counts(lists[0], lists[1])


def mean_nno(counts: np.ndarray, k: int) -> float:
    """mNNO^K = (1 / (K N)) Σ_i NNO^K_i from the per-item counts."""
    return float(counts.sum()) / (int(k) * len(counts))


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
    n = nn_a.shape[0]
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

    ``sets``: per evaluation set its (X, Y) K-neighbour lists under the chosen self rule. In each
    set y_π(i) is paired with x_i: Y's lists are relabelled by π⁻¹ instead of recomputed.
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
