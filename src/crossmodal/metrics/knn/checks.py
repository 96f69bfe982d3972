"""Input checks of the kNN and the other metrics (shape, dtype, finiteness, metric, k), the
canonical float64 unit rows for cosine, and the rounding constants the other parts share."""

from __future__ import annotations

import numpy as np

from crossmodal.names import METRICS, Metric  # noqa: F401  (re-exported)

_U32 = 2.0**-24  # unit roundoff of float32
_SAFETY = 1.25  # slack over the worst-case rounding bound
_NEG_INF = float("-inf")


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
