"""Nearest-neighbour overlap (Collell & Moens 2018, §3.1, eq. 1).

    NNO^K(v_i, z_i) = |NN^K(v_i) ∩ NN^K(z_i)|
    mNNO^K(V, Z)    = (1 / (K N)) Σ_i NNO^K(v_i, z_i)

where NN^K(v_i) is the set of indices of the K nearest neighbours of v_i within V. V and Z
are paired row by row; their dimensions may differ.

Each of V and Z may be given as features (a float (N, d) matrix) or as precomputed
neighbours (an integer (N, k') matrix from ``knn_indices``, k' >= K; its first K columns are
used), so a workflow computes the neighbours of a feature set once and reuses them against
every mapped set. The overlap of the neighbour lists (and their checks) is
``crossmodal.measures.nno``'s; this module finds the lists.
"""

from __future__ import annotations

import numpy as np

from crossmodal.measures.nno import check_lists, mean_nno, overlap_counts
from crossmodal.metrics.knn import Metric, check_k, check_metric, knn_indices

__all__ = ["mnno", "nno_per_item", "overlap_counts"]


def _is_neighbour_array(a: np.ndarray) -> bool:
    return a.ndim == 2 and np.issubdtype(a.dtype, np.integer)


def _neighbours(A: object, k: int, metric: str, include_self: bool, name: str) -> np.ndarray:
    arr = np.asarray(A)
    if _is_neighbour_array(arr):
        if arr.shape[0] < 2:
            raise ValueError(f"{name} has {arr.shape[0]} row(s); need at least 2")
        check_k(k, arr.shape[0], include_self)
        return check_lists(arr, k, include_self, name)
    try:
        return knn_indices(arr, k, metric, include_self)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


def _row_count(A: object) -> int:
    arr = np.asarray(A)
    return arr.shape[0] if arr.ndim >= 1 else 0


def nno_per_item(
    V: object, Z: object, k: int = 10, metric: Metric = "cosine", include_self: bool = False
) -> np.ndarray:
    """NNO^K(v_i, z_i) for every pair i: an int64 vector of length N with values in 0..K.

    ``V`` and ``Z``: float (N, d_v) and (N, d_z) features, or integer (N, k') precomputed
    neighbour indices (first K columns used; they must follow ``include_self``).
    Raises ValueError for different row counts and everything ``knn_indices`` rejects.
    """
    check_metric(metric)
    nv, nz = _row_count(V), _row_count(Z)
    if nv != nz:
        raise ValueError(f"V and Z must have the same number of rows, got {nv} and {nz}")
    nn_v = _neighbours(V, k, metric, include_self, "V")
    nn_z = _neighbours(Z, k, metric, include_self, "Z")
    return overlap_counts(nn_v, nn_z)


def mnno(V: object, Z: object, k: int = 10, metric: Metric = "cosine", include_self: bool = False) -> float:
    """mNNO^K(V, Z) = (1 / (K N)) Σ_i NNO^K(v_i, z_i), in [0, 1]. See ``nno_per_item``."""
    return mean_nno(nno_per_item(V, Z, k, metric, include_self), k)
