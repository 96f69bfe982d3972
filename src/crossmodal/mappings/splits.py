"""Cross-validation folds and regression scores of mapped vectors.

The paper evaluates ImageNet by 5-fold CV (Supplement A). Folds here cover every item
exactly once as a test item (np.array_split sizes differ by at most one); the authors'
release instead uses floor(N/k)-sized test folds, so their last N mod k items are never
tested.
"""

from __future__ import annotations

import math

import numpy as np


def kfold_indices(n: int, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """k (train_idx, test_idx) pairs: a seeded shuffle split into k near-equal test folds.

    Indices within each array are sorted, so a fold's rows keep the dataset order.
    """
    if k < 2 or n < k:
        raise ValueError(f"need 2 <= k <= n, got k={k}, n={n}")
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(perm, k)
    out = []
    for i, test in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != i])
        out.append((np.sort(train).astype(np.int64), np.sort(test).astype(np.int64)))
    return out


def r2_per_dimension(ss_res: np.ndarray, ss_tot: np.ndarray) -> np.ndarray:
    """R² of each output dimension from its residual and total sums of squares; a constant
    target dimension scores 1.0 when predicted exactly and 0.0 otherwise (sklearn's force_finite)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))


def regression_scores(pred: np.ndarray, Y: np.ndarray) -> dict[str, float]:
    """How well ``pred`` approximates ``Y`` (both (N, d)), computed in float64.

    mse:  mean over all N*d elements of (pred - Y)^2 -- the per-element MSE the authors
          report (their ``average_MSE``), comparable across output dimensionalities.
    loss: mean over items of ½‖pred - Y‖², the training objective (= mse * d / 2).
    r2:   coefficient of determination per output dimension, uniformly averaged
          (sklearn's r2_score default). A constant target dimension scores 1.0 when
          predicted exactly and 0.0 otherwise (sklearn's force_finite convention).
    """
    P = np.asarray(pred, dtype=np.float64)
    T = np.asarray(Y, dtype=np.float64)
    if P.shape != T.shape or P.ndim != 2:
        raise ValueError(f"pred and Y must be equal-shape 2-d arrays, got {P.shape} and {T.shape}")
    if P.shape[0] < 2:
        raise ValueError("R^2 needs at least two items")
    sq = (P - T) ** 2
    ss_res = sq.sum(axis=0)
    ss_tot = ((T - T.mean(axis=0)) ** 2).sum(axis=0)
    r2_dims = r2_per_dimension(ss_res, ss_tot)
    # Exact sums (math.fsum): numpy's SIMD reductions may round differently from run to run
    # (memory alignment), which would break byte-identical tables.
    return {
        "mse": math.fsum(sq.ravel().tolist()) / sq.size,
        "loss": 0.5 * math.fsum(sq.ravel().tolist()) / sq.shape[0],
        "r2": math.fsum(r2_dims.tolist()) / r2_dims.size,
    }
