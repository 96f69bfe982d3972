"""Hyper-parameters by k-fold cross-validation on the training data (Supplement A).

The grid (:data:`PAPER_GRID`): learning rate {0.01, 0.001, 0.0001}, hidden units {64, 128,
256, 512, 1024}, dropout {0, 0.25, 0.5, 0.75}, margin γ {1, 2.5, 5, 7.5, 10} (max-margin
only). ``lin`` has no hidden layer, so only lr (and γ) vary for it. The number of epochs is
chosen too: for each setting the per-epoch validation loss is averaged over the folds and the
epoch with the lowest mean (earliest on ties) is that setting's epoch count, up to
``max_epochs``. The chosen setting has the lowest such mean validation loss (ties: the first
in grid order).

Fold f trains on the other folds (``kfold_indices(n, n_folds, seed)``) with seed ``seed + f``,
so every setting sees the same folds, initial weights and batch order. All runs of one hidden
width are trained together by ``fit_batched`` (in chunks of at most ``max_params`` parameters).

Validation loss = the training loss by default. Caveat for max-margin: its value grows with γ,
so comparing settings with different margins by it favours small γ; pass ``criterion`` (e.g.
"cosine" or "mse") to compare all settings by one margin-free loss instead.

Every run's training loss is checked with :func:`check_steady_decrease`; the counts of
unsteady runs are part of the result (the paper only kept properly learned mappings).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossmodal.mappings.batched import RunSpec, fit_batched
from crossmodal.mappings.common import DEFAULT_BATCH_SIZE
from crossmodal.mappings.diagnostics import check_steady_decrease
from crossmodal.mappings.models import layer_dims
from crossmodal.mappings.splits import kfold_indices

PAPER_GRID: dict[str, tuple[float, ...]] = {
    "lr": (0.01, 0.001, 0.0001),
    "hidden": (64, 128, 256, 512, 1024),
    "dropout": (0.0, 0.25, 0.5, 0.75),
    "margin": (1.0, 2.5, 5.0, 7.5, 10.0),
}
SETTING_COLUMNS = ("setting", "lr", "hidden", "dropout", "margin")


def grid_settings(kind: str, loss: str, grid: Mapping[str, Sequence[float]] = PAPER_GRID) -> pd.DataFrame:
    """One row per setting (columns :data:`SETTING_COLUMNS`), in grid order (hidden slowest,
    then lr, dropout, margin). lin: hidden None, dropout 0; margin NaN unless max-margin."""
    deep = kind != "lin"
    hiddens = [int(h) for h in grid["hidden"]] if deep else [None]
    dropouts = [float(d) for d in grid["dropout"]] if deep else [0.0]
    margins = [float(m) for m in grid["margin"]] if loss == "max-margin" else [float("nan")]
    rows = [
        {"lr": float(lr), "hidden": h, "dropout": d, "margin": g}
        for h, lr, d, g in itertools.product(hiddens, grid["lr"], dropouts, margins)
    ]
    out = pd.DataFrame(rows, columns=list(SETTING_COLUMNS[1:]))
    out.insert(0, "setting", np.arange(len(out)))
    return out


def best_epoch(mean_val: np.ndarray) -> int:
    """1-based epoch of the lowest mean validation loss (the earliest on ties; NaN = never)."""
    arr = np.asarray(mean_val, dtype=np.float64)
    if arr.size == 0 or np.isnan(arr).all():
        raise ValueError("no finite validation loss to choose an epoch from")
    return int(np.nanargmin(arr)) + 1


def choose_setting(table: pd.DataFrame) -> int:
    """Row position of the lowest ``val_loss`` (first on ties, NaN never chosen)."""
    vals = table["val_loss"].to_numpy(dtype=np.float64)
    if np.isnan(vals).all():
        raise ValueError("every setting has a NaN validation loss")
    return int(np.nanargmin(vals))


@dataclass
class CVResult:
    """``settings``: one row per setting with its chosen epoch count (``epochs``), mean and
    std over folds of the validation loss at that epoch, and ``n_unsteady`` runs.
    ``runs``: one row per (setting, fold) with the training-loss check. ``curves``: per
    (setting, fold, epoch) train and validation loss. ``chosen``: the selected values."""

    settings: pd.DataFrame
    runs: pd.DataFrame
    curves: pd.DataFrame
    chosen: dict[str, Any]

    def chosen_frame(self) -> pd.DataFrame:
        """``chosen`` as a one-row DataFrame (for a CSV)."""
        return pd.DataFrame([self.chosen])


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def cross_validate(
    X: np.ndarray,
    Y: np.ndarray,
    kind: str,
    loss: str = "mse",
    grid: Mapping[str, Sequence[float]] = PAPER_GRID,
    n_folds: int = 5,
    max_epochs: int = 50,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    labels: np.ndarray | None = None,
    criterion: str | None = None,
    device: str = "cpu",
    max_params: int = 50_000_000,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> CVResult:
    """Choose lr, hidden, dropout, margin and the number of epochs for ``kind``/``loss`` by
    ``n_folds``-fold CV on (X, Y); see the module docstring for the rules."""
    X, Y = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
    settings = grid_settings(kind, loss, grid)
    folds = kfold_indices(X.shape[0], n_folds, seed)
    train_hist: dict[tuple[int, int], np.ndarray] = {}
    val_hist: dict[tuple[int, int], np.ndarray] = {}
    for hidden in dict.fromkeys(settings["hidden"].tolist()):  # widths in grid order
        group = settings[settings["hidden"].isna()] if hidden is None else settings[settings["hidden"] == hidden]
        h = None if hidden is None else int(hidden)
        n_params = sum(a * b + b for a, b in layer_dims(kind, X.shape[1], Y.shape[1], h))
        jobs = [(int(r.setting), f) for r in group.itertuples() for f in range(n_folds)]
        for chunk in _chunks(jobs, max(1, max_params // n_params)):
            runs = []
            for sid, f in chunk:
                row = settings.iloc[sid]
                margin = 1.0 if np.isnan(row["margin"]) else float(row["margin"])
                runs.append(RunSpec(folds[f][0], seed=seed + f, lr=float(row["lr"]), dropout=float(row["dropout"]),
                                    margin=margin, val=folds[f][1]))
            if log is not None:
                log(f"cv {kind}/{loss}: hidden {h}, {len(runs)} runs x {max_epochs} epochs")
            fit = fit_batched(X, Y, runs, kind, h, max_epochs, batch_size, loss, labels, device, progress,
                              val_loss=criterion)
            for m, key in enumerate(chunk):
                train_hist[key] = fit.loss[m]
                val_hist[key] = fit.val_loss[m]  # type: ignore[index]

    curve_rows, run_rows, table_rows = [], [], []
    for s in settings.itertuples():
        vals = np.stack([val_hist[(s.setting, f)] for f in range(n_folds)])
        ep = best_epoch(vals.mean(axis=0))
        n_unsteady = 0
        for f in range(n_folds):
            tr = train_hist[(s.setting, f)]
            chk = check_steady_decrease(tr)
            n_unsteady += int(not chk.steady)
            run_rows.append({"setting": s.setting, "fold": f, "seed": seed + f, "steady": chk.steady,
                             "reason": chk.reason, "loss_start": chk.start, "loss_end": chk.end,
                             "rise_frac": chk.rise_frac})
            for e in range(max_epochs):
                curve_rows.append({"setting": s.setting, "fold": f, "epoch": e + 1, "loss": tr[e],
                                   "val_loss": vals[f, e]})
        table_rows.append({"epochs": ep, "val_loss": float(vals[:, ep - 1].mean()),
                           "val_loss_std": float(vals[:, ep - 1].std(ddof=1)) if n_folds > 1 else 0.0,
                           "n_unsteady": n_unsteady})
    table = pd.concat([settings, pd.DataFrame(table_rows)], axis=1)
    best = table.iloc[choose_setting(table)]
    chosen: dict[str, Any] = {
        "kind": kind, "loss": loss, "criterion": criterion or loss,
        "lr": float(best["lr"]),
        "hidden": None if kind == "lin" else int(best["hidden"]),
        "dropout": float(best["dropout"]),
        "margin": float(best["margin"]) if loss == "max-margin" else None,
        "epochs": int(best["epochs"]), "val_loss": float(best["val_loss"]),
        "val_loss_std": float(best["val_loss_std"]), "n_unsteady": int(best["n_unsteady"]),
        "n_folds": n_folds, "max_epochs": max_epochs, "batch_size": batch_size, "seed": seed,
        "n_settings": len(table),
    }
    return CVResult(table, pd.DataFrame(run_rows), pd.DataFrame(curve_rows), chosen)
