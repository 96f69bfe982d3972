"""Training and hyper-parameter search of the paper's maps (``crossmodal.mappers.paper``) and of the
remedies on top of them (``crossmodal.mappers.remedies``), with the package's one engine,
``crossmodal.mappings.batched.fit_batched`` (RMSprop, the remedies' terms through its ``term`` hook),
on the raw features, as Experiment 1 trains them.

``crossmodal bridge`` (:meth:`RegressionMap.fit_folds`): every fold is one run of one batched
stack (fold f seeded with seed + f), with the spec's parameters; learning rate, width, epochs and
batch size default to the authors' released values for ``paper_defaults`` (direction I→T; the
width class follows d_x); a remedy's term uses its first grid setting unless given.

Tables 13/14 (:meth:`RegressionMap.select`), by k-fold CV on the training rows, in two stages so
that a remedy differs from its base model by the term alone:

1. base (``lin`` / ``nn``): learning rate (and width) and the number of epochs by
   ``crossmodal.mappings.selection.cross_validate`` with the MSE criterion (Experiment 1's CV);
2. remedy: the base's lr, width and epochs, plus the term's settings from the spec's grid,
   chosen by the mean over folds of the validation mNNO^10(Y, f(X)) (cosine, self excluded).
   All settings and folds of a remedy train as one stack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossmodal.mappers.fitting import Fitted, Labels, Selection, SelectContext, Split
from crossmodal.mappers.paper import HIDDEN_LAYERS
from crossmodal.mappers.registry import MapperSpec
from crossmodal.mappers.remedies import REMEDIES
from crossmodal.mappers.terms import TERM_PARAM_NAMES, AdversarialTerm, NeighbourhoodTerm
from crossmodal.mappings.batched import BatchedFit, LossTerm, RunSpec, fit_batched
from crossmodal.mappings.selection import cross_validate
from crossmodal.mappings.splits import kfold_indices
from crossmodal.metrics.nno import mnno

TERMS: dict[str, LossTerm] = {"adversarial": AdversarialTerm(), "neighbourhood": NeighbourhoodTerm()}
CRITERION_K = 10


@dataclass(frozen=True)
class BaseSettings:
    kind: str
    lr: float
    hidden: int | None
    epochs: int
    batch_size: int
    cv_mse: float


def base_axes(spec: MapperSpec) -> dict[str, tuple[Any, ...]]:
    """The base maps' CV grid as axes (``cross_validate``'s form), from the spec's settings."""
    keys = list(spec.grid[0][0])
    return {k: tuple(dict.fromkeys(base[k] for base, _ in spec.grid)) for k in keys}


def term_grid(spec: MapperSpec, term: str) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(v[k] for k in TERM_PARAM_NAMES[term]) for v in spec.grid[0][1])


def select_base(X: np.ndarray, Y: np.ndarray, kind: str, grid: Mapping[str, Sequence[Any]], n_folds: int,
                max_epochs: int, seed: int, batch_size: int = 64, device: str = "cpu") -> tuple[BaseSettings, pd.DataFrame]:
    """lr, width and epochs of ``kind`` by Experiment 1's CV (MSE)."""
    res = cross_validate(X, Y, kind, "mse", grid, n_folds, max_epochs, batch_size, seed, device=device)
    c = res.chosen
    return BaseSettings(kind, float(c["lr"]), c["hidden"], int(c["epochs"]), batch_size, float(c["val_loss"])), res.settings


def validation_mnno(Y_val: np.ndarray, F_val: np.ndarray, k: int = CRITERION_K) -> float:
    """mNNO^k(Y, F) on validation rows (cosine, self excluded; k capped at n − 1)."""
    return mnno(Y_val, F_val, min(k, len(Y_val) - 1), "cosine", include_self=False)


def select_term(X: np.ndarray, Y: np.ndarray, base: BaseSettings, term: str, grid: Sequence[tuple[float, ...]],
                n_folds: int, seed: int, device: str = "cpu") -> tuple[tuple[float, ...], pd.DataFrame]:
    """The term's settings with the highest mean validation mNNO^10(Y, f(X)) (first on ties)."""
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


def _model(fit: BatchedFit, m: int) -> Fitted:
    """Run ``m`` of a batched fit as a mapping."""
    def apply(A: np.ndarray) -> np.ndarray:
        return fit.predict(np.asarray(A, dtype=np.float32))[m]

    return Fitted(apply)


def grid_json(spec: MapperSpec, kind: str, term: str | None) -> str:
    """The searched grid, as JSON, for the hyper-parameter table."""
    out: dict[str, Any] = {"base": {k: list(v) for k, v in base_axes(spec).items()
                                    if not (kind == "lin" and k in ("hidden", "dropout"))}}
    if term is not None:
        out[term] = [dict(zip(TERM_PARAM_NAMES[term], p)) for p in term_grid(spec, term)]
    return json.dumps(out, sort_keys=True)


class RegressionMap:
    """``kind`` (lin, nn, nn-3, nn-5), with the remedy ``term`` when not None."""

    def __init__(self, kind: str, term: str | None) -> None:
        self.kind, self.term = kind, term

    def _term_params(self, params: Mapping[str, Any]) -> tuple[float, ...]:
        return () if self.term is None else tuple(float(params[k]) for k in TERM_PARAM_NAMES[self.term])

    def fit_folds(self, X: np.ndarray, Y: np.ndarray, labels: Labels, splits: Sequence[Split], params: Mapping[str, Any],
                  seed: int, device: str | None = None, progress: bool = False) -> list[Fitted]:
        from crossmodal.mappings.diagnostics import check_steady_decrease
        from crossmodal.mappings.hyperparams import resolve_hyperparams

        source = str(params["paper_defaults"])
        hp = resolve_hyperparams(source, "i2t", self.kind, "user", image_dim=X.shape[1])
        lr = float(params["lr"] or hp.lr)
        hidden = None if self.kind == "lin" else int(params.get("hidden") or hp.hidden)  # type: ignore[arg-type]
        epochs = int(params["epochs"] or hp.epochs)
        batch = int(params["batch_size"] or hp.batch_size)
        loss = str(params["loss"] or "mse")
        tp = self._term_params(params)
        runs = [RunSpec(tr, seed=seed + f, lr=lr, term_params=tp) for f, (tr, _) in enumerate(splits)]
        Xf, Yf = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
        where = {} if device is None else {"device": device}
        term = {} if self.term is None else {"term": TERMS[self.term]}
        fit = fit_batched(Xf, Yf, runs, self.kind, hidden, epochs, batch, loss, progress=progress, **where, **term)
        checks = [check_steady_decrease(fit.loss[m].tolist()) for m in range(len(splits))]
        details: dict[str, Any] = {
            "lr": lr, "hidden": hidden, "epochs": epochs, "batch_size": batch, "loss": loss,
            "optimizer": "RMSprop(rho=0.9, eps=1e-8)",
            "hyperparameters_from": f"authors' {hp.image_class} values for {source} I->T, overridden where given",
            "unsteady_training_runs": sum(not c.steady for c in checks),
            "final_train_loss": [float(fit.loss[m][-1]) if epochs else None for m in range(len(splits))]}
        if self.term is not None:
            details[self.term] = dict(zip(TERM_PARAM_NAMES[self.term], tp))
        return [Fitted(_model(fit, m).map_x, details=details) for m in range(len(splits))]

    def fit(self, X: np.ndarray, Y: np.ndarray, labels: Labels, params: Mapping[str, Any], seed: int,
            device: str | None = None) -> Fitted:
        return self.fit_folds(X, Y, labels, [(np.arange(len(X)), np.arange(0))], params, seed, device)[0]

    def select(self, spec: MapperSpec, X: np.ndarray, Y: np.ndarray, labels: Labels, ctx: SelectContext) -> Selection:
        """CV (module docstring), then the final fit on all training rows. The base's CV is shared
        through ``ctx.cache`` (keyed by kind and ``ctx.tag``) between it and its remedies."""
        X32, Y32 = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
        key = (self.kind, ctx.tag)
        if key in ctx.cache:
            base, base_table = ctx.cache[key]
        else:
            base, base_table = select_base(X32, Y32, self.kind, base_axes(spec), ctx.n_folds, ctx.max_epochs, ctx.seed,
                                           device=ctx.device)
            ctx.cache[key] = (base, base_table)
        if ctx.log is not None:
            ctx.log(f"{spec.name}: base {base}")
        chosen: dict[str, Any] = {"kind": self.kind, "lr": base.lr, "hidden": base.hidden, "epochs": base.epochs,
                                  "batch_size": base.batch_size, "cv_mse": base.cv_mse}
        if self.term is None:
            params: tuple[float, ...] = ()
            table, criterion = base_table.assign(score=base_table["val_loss"], score_std=base_table["val_loss_std"]), "mse"
            best = int(np.nanargmin(table["score"].to_numpy()))
        else:
            params, table = select_term(X32, Y32, base, self.term, term_grid(spec, self.term), ctx.n_folds, ctx.seed,
                                        ctx.device)
            chosen.update({"term": self.term, **dict(zip(TERM_PARAM_NAMES[self.term], params))})
            criterion = f"validation mNNO^{CRITERION_K}(Y,f(X)) (cosine, self excluded)"
            table = table.assign(score=table["cv_mnno_y_fx"], score_std=table["cv_mnno_y_fx_std"])
            best = int(np.nanargmax(table["score"].to_numpy()))
            if ctx.log is not None:
                ctx.log(f"{spec.name}: term settings {params}")
        run = RunSpec(np.arange(X32.shape[0]), seed=ctx.seed, lr=base.lr, term_params=params)
        fit = fit_batched(X32, Y32, [run], base.kind, base.hidden, base.epochs, base.batch_size, "mse", device=ctx.device,
                          term=None if self.term is None else TERMS[self.term])
        fitted = Fitted(_model(fit, 0).map_x, details={"train_loss": [float(v) for v in fit.loss[0]]})
        return Selection(fitted, chosen, table, criterion, best, grid_json(spec, self.kind, self.term))


# The implementations the registrations in crossmodal.mappers.paper and .remedies name.
MAPS: dict[str, RegressionMap] = {
    **{kind: RegressionMap(kind, None) for kind in HIDDEN_LAYERS},
    **{name: RegressionMap(kind, term) for name, (kind, term) in REMEDIES.items()},
}
