"""Closed-form regression maps f: X -> Y (fitted in float64; f(X) returned as float32).

* ``ridge``: ridge regression with an intercept, W = (XcᵀXc + αI)⁻¹ XcᵀYc on centred rows (one
  eigendecomposition of XcᵀXc serves every α). α is chosen by ``inner_folds``-fold CV on the
  training rows (lowest mean validation MSE; a tie goes to the larger α) from the grid
  g · tr(XcᵀXc)/d_x, g in ``RIDGE_GRID``, which makes the grid independent of the scale of X. The
  model is then refitted on all training rows with that α.
* ``procrustes``: orthogonal Procrustes on centred rows with the optimal isotropic scale,
  f(x) = s (x - μ_x) R + μ_y, R = argmin ‖Xc R - Yc‖ over orthogonal R
  (``scipy.linalg.orthogonal_procrustes``), s = Σσ / ‖Xc‖². Needs d_x = d_y: an orthogonal map
  cannot change the dimension, and a padding or PCA projection would be a different method, so
  unequal dimensions are an error.
* ``cca-predict``: ``sklearn.cross_decomposition.CCA(n_components, scale=True, max_iter=500)``;
  f(x) = its ``predict(x)``, the regression of Y on the first ``n_components`` canonical variates
  of X, in Y's space. Default n_components = min(16, d_x, d_y). (``cca`` is the shared-space CCA.)

Light at import: numpy only; scipy and scikit-learn are imported when a map is fitted.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from crossmodal.mappers.fitting import Fitted, Labels
from crossmodal.mappers.registry import MapperSpec, Param, register
from crossmodal.mappings.splits import kfold_indices

RIDGE_GRID: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
CCA_MAX_COMPONENTS = 16


def _ridge_path(X: np.ndarray, Y: np.ndarray, alphas: Sequence[float]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) for every α, fitted on (X, Y) in float64."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    Xc = X - mx
    lam, V = np.linalg.eigh(Xc.T @ Xc)
    lam = np.clip(lam, 0.0, None)
    VtC = V.T @ (Xc.T @ (Y - my))
    out = []
    for a in alphas:
        W = V @ (VtC / (lam + a)[:, None])
        out.append((W, my - mx @ W))
    return out


def ridge_alphas(X: np.ndarray, grid: Sequence[float] = RIDGE_GRID) -> list[float]:
    """The α grid for training rows X: g · tr(XcᵀXc)/d_x."""
    X = np.asarray(X, dtype=np.float64)
    scale = float(((X - X.mean(axis=0)) ** 2).sum()) / X.shape[1]
    return [g * (scale if scale > 0 else 1.0) for g in grid]


def fit_ridge(X: np.ndarray, Y: np.ndarray, inner_folds: int = 5, seed: int = 0,
              grid: Sequence[float] = RIDGE_GRID) -> tuple[np.ndarray, np.ndarray, float, list[float]]:
    """(W, b, chosen α, mean validation MSE per α) with α chosen by CV on these rows."""
    alphas = ridge_alphas(X, grid)
    n = X.shape[0]
    if len(alphas) > 1 and n >= 2 * inner_folds:
        errors = np.zeros(len(alphas))
        for tr, va in kfold_indices(n, inner_folds, seed):
            yv = np.asarray(Y[va], dtype=np.float64)
            xv = np.asarray(X[va], dtype=np.float64)
            for j, (W, b) in enumerate(_ridge_path(X[tr], Y[tr], alphas)):
                errors[j] += float(((xv @ W + b - yv) ** 2).mean()) / inner_folds
        best = max(j for j in range(len(alphas)) if errors[j] == errors.min())  # tie: larger α
    else:
        errors, best = np.full(len(alphas), np.nan), len(alphas) // 2
    W, b = _ridge_path(X, Y, [alphas[best]])[0]
    return W, b, alphas[best], errors.tolist()


def fit_procrustes(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """(R, s, μ_x, μ_y) of f(x) = s (x - μ_x) R + μ_y."""
    import scipy.linalg

    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - mx, Y - my
    R, sigma_sum = scipy.linalg.orthogonal_procrustes(Xc, Yc)
    norm = float((Xc * Xc).sum())
    return R, (float(sigma_sum) / norm if norm > 0 else 1.0), mx, my


def cca_components(dx: int, dy: int, n_train: int, requested: int | None) -> int:
    limit = min(dx, dy, n_train - 1)
    c = min(CCA_MAX_COMPONENTS, limit) if requested is None else int(requested)
    if not 1 <= c <= limit:
        raise ValueError(f"cca-predict needs 1 <= n_components <= min(d_x, d_y, training rows - 1) = {limit}, got {c}")
    return c


def _affine(W: np.ndarray, b: np.ndarray, scale: float = 1.0, shift: np.ndarray | None = None):  # type: ignore[no-untyped-def]
    def apply(A: np.ndarray) -> np.ndarray:
        A64 = np.asarray(A, dtype=np.float64)
        return (scale * ((A64 - shift) if shift is not None else A64) @ W + b).astype(np.float32)

    return apply


class Ridge:
    @staticmethod
    def fit(X: np.ndarray, Y: np.ndarray, labels: Labels, params: dict[str, Any], seed: int, device: str) -> Fitted:
        W, b, a, errors = fit_ridge(X, Y, int(params["inner_folds"]), seed)
        return Fitted(_affine(W, b), details={"alpha": a, "cv_mse": errors, "alpha_grid":
                      f"g * tr(XcT Xc)/d_x, g in {list(RIDGE_GRID)}, {params['inner_folds']}-fold CV"})


class Procrustes:
    @staticmethod
    def fit(X: np.ndarray, Y: np.ndarray, labels: Labels, params: dict[str, Any], seed: int, device: str) -> Fitted:
        if X.shape[1] != Y.shape[1]:
            raise ValueError(f"procrustes needs X and Y of the same dimension, got d_x={X.shape[1]} and "
                             f"d_y={Y.shape[1]} (an orthogonal map cannot change it); use --mapper ridge or cca-predict")
        R, s, mx, my = fit_procrustes(X, Y)
        return Fitted(_affine(R, my, s, mx), details={"scale": s})


class CCAPredict:
    @staticmethod
    def fit(X: np.ndarray, Y: np.ndarray, labels: Labels, params: dict[str, Any], seed: int, device: str) -> Fitted:
        from sklearn.cross_decomposition import CCA
        from sklearn.exceptions import ConvergenceWarning

        c = cca_components(X.shape[1], Y.shape[1], len(X), params["n_components"])
        model = CCA(n_components=c, scale=True, max_iter=500)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64))

        def apply(A: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(np.asarray(A, dtype=np.float64)), dtype=np.float32)

        return Fitted(apply, details={"n_components": c, "convergence_warnings":
                                      sum(issubclass(w.category, ConvergenceWarning) for w in caught)})


_HERE = "crossmodal.mappers.closed_form"
register(MapperSpec(
    "ridge", "closed_form", "Y", "ridge regression with an intercept; alpha by inner CV", f"{_HERE}:Ridge",
    params=(Param("inner_folds", int, 5, "folds of the inner CV that picks alpha"),), in_tables=False))
register(MapperSpec(
    "procrustes", "closed_form", "Y", "orthogonal Procrustes with isotropic scale (needs d_x = d_y)",
    f"{_HERE}:Procrustes", in_tables=False))
register(MapperSpec(
    "cca-predict", "closed_form", "Y", "scikit-learn CCA's regression of Y on X's canonical variates",
    f"{_HERE}:CCAPredict",
    params=(Param("n_components", int, None, "canonical components (default min(16, d_x, d_y))"),), in_tables=False))
