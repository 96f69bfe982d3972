"""Mappers f: X -> Y fitted on the training rows of each fold, predicting its held-out rows.

* ``ridge`` (default): closed-form ridge regression with an intercept,
  W = (XcᵀXc + αI)⁻¹ XcᵀYc on centred rows (one eigendecomposition of XcᵀXc serves every α).
  α is chosen by ``inner_folds``-fold CV on the fold's training rows (lowest mean validation
  MSE; a tie goes to the larger α) from the grid g · tr(XcᵀXc)/d_x, g in ``RIDGE_GRID``, which
  makes the grid independent of the scale of X. The model is then refitted on all training
  rows with that α.
* ``procrustes``: orthogonal Procrustes on centred rows with the optimal isotropic scale,
  f(x) = s (x - μ_x) R + μ_y, R = argmin ‖Xc R - Yc‖ over orthogonal R
  (``scipy.linalg.orthogonal_procrustes``), s = Σσ / ‖Xc‖². Needs d_x = d_y: an orthogonal
  map cannot change the dimension, and a padding or PCA projection would be a different
  method, so unequal dimensions are an error.
* ``cca``: ``sklearn.cross_decomposition.CCA(n_components, scale=True, max_iter=500)``;
  f(x) = its ``predict(x)``, the regression of Y on the first ``n_components`` canonical
  variates of X, in Y's space. Default n_components = min(16, d_x, d_y).
* ``lin``, ``nn`` (and ``nn-3``, ``nn-5``): the paper's maps, trained exactly as Experiment 1
  trains them (``crossmodal.mappings.fit_batched``: RMSprop ρ = 0.9, ε = 1e-8, batch 64, MSE
  loss ½‖f(x) − y‖², fold f seeded with seed + f, all folds trained together). Learning rate,
  hidden width and epochs are the authors' released values for the paper dataset named by
  ``paper_defaults`` (default ``iaprtc``, direction I→T; the width class follows d_x),
  overridable with ``lr``, ``hidden``, ``epochs``, ``batch_size``, ``loss``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from crossmodal.mappings.splits import kfold_indices

MAPPERS: tuple[str, ...] = ("ridge", "lin", "nn", "nn-3", "nn-5", "procrustes", "cca")
RIDGE_GRID: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
CCA_MAX_COMPONENTS = 16

Split = tuple[np.ndarray, np.ndarray]  # (train rows, test rows)


@dataclass(frozen=True)
class Fitted:
    """f(X) on each fold's test rows, and what was fitted (per fold, JSON-ready)."""

    predictions: list[np.ndarray]
    details: dict[str, object] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ ridge


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


# ------------------------------------------------------------------------- procrustes, cca


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


def _cca_components(dx: int, dy: int, n_train: int, requested: int | None) -> int:
    limit = min(dx, dy, n_train - 1)
    c = min(CCA_MAX_COMPONENTS, limit) if requested is None else int(requested)
    if not 1 <= c <= limit:
        raise ValueError(f"cca needs 1 <= n_components <= min(d_x, d_y, training rows - 1) = {limit}, got {c}")
    return c


# ------------------------------------------------------------------------- the paper's maps


def _train_paper_maps(X: np.ndarray, Y: np.ndarray, splits: Sequence[Split], kind: str, seed: int,
                      options: Mapping[str, object], progress: bool) -> Fitted:
    from crossmodal.mappings.batched import RunSpec, fit_batched
    from crossmodal.mappings.diagnostics import check_steady_decrease
    from crossmodal.mappings.hyperparams import resolve_hyperparams
    from crossmodal.mappings.train import predict

    hp = resolve_hyperparams(str(options.get("paper_defaults", "iaprtc")), "i2t", kind, "user", image_dim=X.shape[1])
    lr = float(options.get("lr") or hp.lr)  # type: ignore[arg-type]
    hidden = None if kind == "lin" else int(options.get("hidden") or hp.hidden)  # type: ignore[call-overload]
    epochs = int(options.get("epochs") or hp.epochs)  # type: ignore[call-overload]
    batch = int(options.get("batch_size") or hp.batch_size)  # type: ignore[call-overload]
    loss = str(options.get("loss") or "mse")
    runs = [RunSpec(tr, seed=seed + f, lr=lr) for f, (tr, _) in enumerate(splits)]
    Xf, Yf = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
    fit = fit_batched(Xf, Yf, runs, kind, hidden, epochs, batch, loss, progress=progress)
    preds = [predict(fit.model(m), Xf[te]) for m, (_, te) in enumerate(splits)]
    checks = [check_steady_decrease(fit.loss[m].tolist()) for m in range(len(splits))]
    details = {"lr": lr, "hidden": hidden, "epochs": epochs, "batch_size": batch, "loss": loss,
               "optimizer": "RMSprop(rho=0.9, eps=1e-8)", "hyperparameters_from": f"authors' {hp.image_class} "
               f"values for {options.get('paper_defaults', 'iaprtc')} I->T, overridden where given",
               "unsteady_training_runs": sum(not c.steady for c in checks),
               "final_train_loss": [float(fit.loss[m][-1]) if epochs else None for m in range(len(splits))]}
    return Fitted(preds, details)


# ------------------------------------------------------------------------------------ entry


def fit_predict(
    mapper: str,
    X: np.ndarray,
    Y: np.ndarray,
    splits: Sequence[Split],
    seed: int = 0,
    options: Mapping[str, object] | None = None,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Fitted:
    """Fit ``mapper`` on each split's training rows and predict its test rows (float32)."""
    options = dict(options or {})
    if mapper not in MAPPERS:
        raise ValueError(f"unknown mapper {mapper!r}; use one of {', '.join(MAPPERS)}")
    dx, dy = X.shape[1], Y.shape[1]
    if mapper in ("lin", "nn", "nn-3", "nn-5"):
        return _train_paper_maps(X, Y, splits, mapper, seed, options, progress)
    if mapper == "procrustes" and dx != dy:
        raise ValueError(f"procrustes needs X and Y of the same dimension, got d_x={dx} and d_y={dy} "
                         "(an orthogonal map cannot change it); use --mapper ridge or cca")
    preds: list[np.ndarray] = []
    per_fold: list[dict[str, object]] = []
    for f, (tr, te) in enumerate(splits):
        if log is not None:
            log(f"fitting {mapper} on fold {f + 1}/{len(splits)} ({len(tr)} training rows)")
        if mapper == "ridge":
            W, b, a, errors = fit_ridge(X[tr], Y[tr], int(options.get("inner_folds", 5)), seed + f)  # type: ignore[call-overload]
            preds.append((np.asarray(X[te], dtype=np.float64) @ W + b).astype(np.float32))
            per_fold.append({"alpha": a, "cv_mse": errors})
        elif mapper == "procrustes":
            R, s, mx, my = fit_procrustes(X[tr], Y[tr])
            preds.append((s * (np.asarray(X[te], dtype=np.float64) - mx) @ R + my).astype(np.float32))
            per_fold.append({"scale": s})
        else:  # cca
            from sklearn.cross_decomposition import CCA
            from sklearn.exceptions import ConvergenceWarning

            c = _cca_components(dx, dy, len(tr), options.get("n_components"))  # type: ignore[arg-type]
            model = CCA(n_components=c, scale=True, max_iter=500)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(np.asarray(X[tr], dtype=np.float64), np.asarray(Y[tr], dtype=np.float64))
            preds.append(np.asarray(model.predict(np.asarray(X[te], dtype=np.float64)), dtype=np.float32))
            per_fold.append({"n_components": c,
                             "convergence_warnings": sum(issubclass(w.category, ConvergenceWarning) for w in caught)})
    details: dict[str, object] = {"folds": per_fold}
    if mapper == "ridge":
        details["alpha_grid"] = f"g * tr(XcT Xc)/d_x, g in {list(RIDGE_GRID)}, {options.get('inner_folds', 5)}-fold CV"
    return Fitted(preds, details)
