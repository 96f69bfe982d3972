"""MSE and R² of f(X) against Y for large sets, in row chunks (numpy only).

The definitions are those of ``crossmodal.mappings.splits.regression_scores`` (MSE per element;
R² per output dimension, averaged uniformly; a constant target dimension scores 1.0 when
predicted exactly, else 0.0, sklearn's force_finite convention, ``r2_per_dimension``); the sums
are taken in row chunks, so a 100k x 512 pair needs no N x d float64 temporaries. Used by
``crossmodal.bridge``; the chunked float64 sums can differ from ``regression_scores``' in the
last bits.
"""

from __future__ import annotations

import math

import numpy as np

from crossmodal.mappings.splits import r2_per_dimension


def regression_chunked(F: np.ndarray, Y: np.ndarray, chunk_elems: int = 1 << 22) -> tuple[float, float]:
    """(MSE per element, R² averaged over output dimensions) of F against Y, float64, chunked."""
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
