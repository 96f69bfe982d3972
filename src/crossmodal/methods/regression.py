"""Regression maps f: X -> Y: the paper's ``lin`` / ``nn`` and the two remedies on top of them.

Methods: ``lin``, ``nn`` (MSE, as Experiment 1), ``lin-adv``, ``nn-adv`` (+ λ · the adversarial
term) and ``lin-nbr``, ``nn-nbr`` (+ λ · the pairwise-similarity term); the terms are
``crossmodal.methods.terms``. All train with the package's one engine,
``crossmodal.mappings.batched.fit_batched`` (RMSprop, batch 64, the terms through its ``term``
hook), on the raw features, as Experiment 1 does.

Hyper-parameters by k-fold CV on the training rows, in two stages so that a remedy differs from
its base model by the term alone:

1. base (``lin`` / ``nn``): learning rate (and width) and the number of epochs by
   ``crossmodal.mappings.selection.cross_validate`` with the MSE criterion (Experiment 1's CV);
2. remedy: the base's lr, width and epochs, plus the term's settings from ``TERM_GRIDS``, chosen
   by the mean over folds of the validation mNNO^10(Y, f(X)) (cosine, self excluded) — the
   quantity the remedies are meant to raise. MSE would always prefer λ → 0. All settings and
   folds of a remedy train as one stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossmodal.mappings.batched import LossTerm, RunSpec, fit_batched
from crossmodal.mappings.selection import cross_validate
from crossmodal.mappings.splits import kfold_indices
from crossmodal.methods.terms import AdversarialTerm, NeighbourhoodTerm
from crossmodal.metrics.nno import mnno

REGRESSION_METHODS: dict[str, tuple[str, str | None]] = {
    "lin": ("lin", None), "nn": ("nn", None),
    "lin-adv": ("lin", "adversarial"), "nn-adv": ("nn", "adversarial"),
    "lin-nbr": ("lin", "neighbourhood"), "nn-nbr": ("nn", "neighbourhood"),
}
TERMS: dict[str, LossTerm] = {"adversarial": AdversarialTerm(), "neighbourhood": NeighbourhoodTerm()}
# term_params grids: adversarial (λ, lr_D), neighbourhood (λ, τ)
TERM_GRIDS: dict[str, tuple[tuple[float, ...], ...]] = {
    "adversarial": tuple((lam, 1e-3) for lam in (0.3, 1.0, 3.0)),
    "neighbourhood": tuple((lam, tau) for lam in (1.0, 10.0) for tau in (0.1, 0.5)),
}
TERM_PARAM_NAMES: dict[str, tuple[str, ...]] = {"adversarial": ("lambda", "lr_d"), "neighbourhood": ("lambda", "tau")}
BASE_GRID: dict[str, tuple[float, ...]] = {"lr": (1e-3, 1e-4), "hidden": (256,), "dropout": (0.0,), "margin": (1.0,)}
CRITERION_K = 10


@dataclass(frozen=True)
class BaseSettings:
    kind: str
    lr: float
    hidden: int | None
    epochs: int
    batch_size: int
    cv_mse: float


def select_base(X: np.ndarray, Y: np.ndarray, kind: str, n_folds: int, max_epochs: int, seed: int,
                grid: Mapping[str, Sequence[float]] = BASE_GRID, batch_size: int = 64,
                device: str = "cpu") -> tuple[BaseSettings, pd.DataFrame]:
    """lr, width and epochs of ``kind`` by Experiment 1's CV (MSE)."""
    res = cross_validate(X, Y, kind, "mse", grid, n_folds, max_epochs, batch_size, seed, device=device)
    c = res.chosen
    return BaseSettings(kind, float(c["lr"]), c["hidden"], int(c["epochs"]), batch_size, float(c["val_loss"])), res.settings


def validation_mnno(Y_val: np.ndarray, F_val: np.ndarray, k: int = CRITERION_K) -> float:
    """mNNO^k(Y, F) on validation rows (cosine, self excluded; k capped at n − 1)."""
    return mnno(Y_val, F_val, min(k, len(Y_val) - 1), "cosine", include_self=False)


def select_term(X: np.ndarray, Y: np.ndarray, base: BaseSettings, term: str, n_folds: int, seed: int,
                grid: Sequence[tuple[float, ...]] | None = None, device: str = "cpu") -> tuple[tuple[float, ...], pd.DataFrame]:
    """The term's settings with the highest mean validation mNNO^10(Y, f(X)) (first on ties)."""
    grid = TERM_GRIDS[term] if grid is None else tuple(grid)
    folds = kfold_indices(X.shape[0], n_folds, seed)
    runs = [RunSpec(tr, seed=seed + f, lr=base.lr, term_params=tuple(p)) for p in grid for f, (tr, _) in enumerate(folds)]
    fit = fit_batched(X, Y, runs, base.kind, base.hidden, base.epochs, base.batch_size, "mse", device=device, term=TERMS[term])
    scores = np.zeros((len(grid), n_folds))
    for f, (_, va) in enumerate(folds):
        P = fit.predict(X[va])  # every run's f on this fold's rows; run s * n_folds + f is setting s
        for s in range(len(grid)):
            scores[s, f] = validation_mnno(Y[va], P[s * n_folds + f])
    rows = []
    for s, p in enumerate(grid):
        rows.append({**dict(zip(TERM_PARAM_NAMES[term], p)), "cv_mnno_y_fx": float(scores[s].mean()),
                     "cv_mnno_y_fx_std": float(scores[s].std(ddof=1)) if n_folds > 1 else 0.0})
    table = pd.DataFrame(rows)
    best = int(np.argmax(table["cv_mnno_y_fx"].to_numpy()))
    return tuple(grid[best]), table


def fit_predict(X: np.ndarray, Y: np.ndarray, X_test: np.ndarray, base: BaseSettings, term: str | None,
                term_params: tuple[float, ...], seed: int, device: str = "cpu") -> tuple[np.ndarray, list[float]]:
    """Train on all of (X, Y) with the chosen settings; f(X_test) and the per-epoch training loss."""
    run = RunSpec(np.arange(X.shape[0]), seed=seed, lr=base.lr, term_params=term_params)
    fit = fit_batched(X, Y, [run], base.kind, base.hidden, base.epochs, base.batch_size, "mse", device=device,
                      term=None if term is None else TERMS[term])
    return fit.predict(X_test)[0], [float(v) for v in fit.loss[0]]


@dataclass(frozen=True)
class RegressionResult:
    prediction: np.ndarray  # f(X_test)
    chosen: dict[str, Any]
    cv_table: pd.DataFrame
    criterion: str
    train_loss: list[float]


def run_regression(method: str, X: np.ndarray, Y: np.ndarray, X_test: np.ndarray, n_folds: int, max_epochs: int, seed: int,
                   base_cache: dict[tuple[str, str], tuple[BaseSettings, pd.DataFrame]] | None = None,
                   cache_tag: str = "",
                   base_grid: Mapping[str, Sequence[float]] = BASE_GRID,
                   term_grid: Sequence[tuple[float, ...]] | None = None,
                   log: Callable[[str], None] | None = None, device: str = "cpu") -> RegressionResult:
    """CV (module docstring), then the final fit on all training rows and f(X_test).
    ``base_cache`` (keyed by (kind, ``cache_tag``), e.g. the direction) shares a base's CV between
    it and its remedies; the caller keeps the tag unique per (X, Y)."""
    kind, term = REGRESSION_METHODS[method]
    X32, Y32 = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
    key = (kind, cache_tag)
    if base_cache is not None and key in base_cache:
        base, base_table = base_cache[key]
    else:
        base, base_table = select_base(X32, Y32, kind, n_folds, max_epochs, seed, base_grid, device=device)
        if base_cache is not None:
            base_cache[key] = (base, base_table)
    if log is not None:
        log(f"{method}: base {base}")
    chosen: dict[str, Any] = {"kind": kind, "lr": base.lr, "hidden": base.hidden, "epochs": base.epochs,
                              "batch_size": base.batch_size, "cv_mse": base.cv_mse}
    if term is None:
        params: tuple[float, ...] = ()
        table, criterion = base_table, "mse"
    else:
        params, table = select_term(X32, Y32, base, term, n_folds, seed, term_grid, device)
        chosen.update({"term": term, **dict(zip(TERM_PARAM_NAMES[term], params))})
        criterion = f"validation mNNO^{CRITERION_K}(Y,f(X)) (cosine, self excluded)"
        if log is not None:
            log(f"{method}: term settings {params}")
    pred, loss = fit_predict(X32, Y32, np.asarray(X_test, dtype=np.float32), base, term, params, seed, device)
    return RegressionResult(pred, chosen, table, criterion, loss)


def grid_json(method: str, base_grid: Mapping[str, Sequence[float]] = BASE_GRID,
              term_grid: Sequence[tuple[float, ...]] | None = None) -> str:
    """The searched grid, as JSON, for the hyper-parameter table."""
    kind, term = REGRESSION_METHODS[method]
    out: dict[str, Any] = {"base": {k: list(v) for k, v in base_grid.items() if not (kind == "lin" and k in ("hidden", "dropout"))}}
    if term is not None:
        out[term] = [dict(zip(TERM_PARAM_NAMES[term], p)) for p in (TERM_GRIDS[term] if term_grid is None else term_grid)]
    return json.dumps(out, sort_keys=True)
