"""What every mapping returns, and the generic fitting and hyper-parameter search used for any
mapping that brings no special one of its own (plugins included).

* :class:`Fitted`: ``map_x`` (f, or g for a shared space) and ``map_y`` (Y itself for a regression
  map, h for a shared space), plus JSON-ready ``details``.
* :func:`fit_folds`: one fit per cross-validation fold (``crossmodal bridge``); an implementation
  with its own ``fit_folds`` (e.g. one batched stack of all folds) is used as it is.
* :func:`select`: hyper-parameters by ``n_folds``-fold CV on the training rows, then one fit on all
  of them (Tables 13/14). The generic search tries every setting of the spec's grid (or its
  defaults alone): regression maps by the mean validation MSE of f(X) against Y (lowest wins),
  shared-space maps by the validation MRR of the true partner, I→T and T→I averaged (highest
  wins); the first setting in grid order wins ties.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from crossmodal.mappers.registry import MapperSpec, Params

if TYPE_CHECKING:
    import pandas as pd

Labels = list[tuple[int, ...]] | None
Split = tuple[np.ndarray, np.ndarray]  # (train rows, test rows)


def _same(A: np.ndarray) -> np.ndarray:
    return A


@dataclass(frozen=True)
class Fitted:
    """A fitted mapping: ``map_x`` takes raw X rows to f(X) (Y's space) or g(X) (the shared space);
    ``map_y`` takes raw Y rows to Y's role: Y itself, or h(Y) in the shared space."""

    map_x: Callable[[np.ndarray], np.ndarray]
    map_y: Callable[[np.ndarray], np.ndarray] = _same
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SelectContext:
    """How Tables 13/14 search hyper-parameters: folds of the training rows, the most epochs,
    the seed, the device; ``cache`` is shared by the mappings of one run (keyed by the caller's
    ``tag``, e.g. the direction), so a remedy reuses its base map's search."""

    n_folds: int
    max_epochs: int
    seed: int
    device: str = "cpu"
    tag: str = ""
    cache: dict[Any, Any] = field(default_factory=dict)
    log: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Selection:
    """The chosen setting refitted on all training rows, and the search that chose it: ``table``
    has one row per setting with ``score`` (mean over folds) and ``score_std``; ``best`` is the
    chosen row's index in it."""

    fitted: Fitted
    chosen: dict[str, Any]
    table: pd.DataFrame
    criterion: str
    best: int
    grid: str  # the searched grid, as JSON

    @property
    def cv_score(self) -> float:
        return float(self.table["score"].iloc[self.best])

    @property
    def cv_score_std(self) -> float:
        return float(self.table["score_std"].iloc[self.best])


def subset_labels(labels: Labels, rows: np.ndarray) -> Labels:
    return None if labels is None else [labels[i] for i in rows]


def fit_folds(spec: MapperSpec, X: np.ndarray, Y: np.ndarray, labels: Labels, splits: Sequence[Split],
              params: Mapping[str, Any], seed: int, device: str = "cpu", progress: bool = False,
              log: Callable[[str], None] | None = None) -> list[Fitted]:
    """``spec`` fitted on each split's training rows; fold f is seeded with ``seed + f``."""
    impl = spec.load()
    if hasattr(impl, "fit_folds"):
        return list(impl.fit_folds(X, Y, labels, splits, dict(params), seed, device, progress))
    out = []
    for f, (tr, _) in enumerate(splits):
        if log is not None:
            log(f"fitting {spec.name} on fold {f + 1}/{len(splits)} ({len(tr)} training rows)")
        out.append(impl.fit(X[tr], Y[tr], subset_labels(labels, tr), dict(params), seed + f, device))
    return out


def grid_settings(spec: MapperSpec) -> list[Params]:
    """Every setting of the spec's grid (base merged with each variant) over its defaults, or the
    defaults alone when it has no grid."""
    if not spec.grid:
        return [spec.defaults()]
    return [spec.resolve_params({**base, **variant}) for base, variants in spec.grid for variant in variants]


def validation_mse(F: np.ndarray, Y: np.ndarray) -> float:
    return float(((np.asarray(F, dtype=np.float64) - np.asarray(Y, dtype=np.float64)) ** 2).mean())


def select(spec: MapperSpec, X: np.ndarray, Y: np.ndarray, labels: Labels, ctx: SelectContext) -> Selection:
    """Hyper-parameters of ``spec`` on (X, Y) by CV, then the chosen setting fitted on all rows."""
    impl = spec.load()
    if hasattr(impl, "select"):
        return impl.select(spec, X, Y, labels, ctx)
    import pandas as pd

    from crossmodal.mappings.splits import kfold_indices
    from crossmodal.measures.retrieval import paired_mrr

    settings = grid_settings(spec)
    folds = kfold_indices(X.shape[0], ctx.n_folds, ctx.seed)
    scores = np.zeros((len(settings), ctx.n_folds))
    for s, params in enumerate(settings):
        for f, (tr, va) in enumerate(folds):
            fitted = impl.fit(X[tr], Y[tr], subset_labels(labels, tr), dict(params), ctx.seed + f, ctx.device)
            if spec.space == "Y":
                scores[s, f] = validation_mse(fitted.map_x(X[va]), Y[va])
            else:
                scores[s, f] = paired_mrr(fitted.map_x(X[va]), fitted.map_y(Y[va]))
    mean = scores.mean(axis=1)
    best = int(np.nanargmin(mean)) if spec.space == "Y" else int(np.nanargmax(mean))
    table = pd.DataFrame({"params": [json.dumps(p, sort_keys=True, default=str) for p in settings], "score": mean,
                          "score_std": scores.std(axis=1, ddof=1) if ctx.n_folds > 1 else np.zeros(len(settings))})
    chosen = settings[best]
    fitted = impl.fit(X, Y, labels, dict(chosen), ctx.seed, ctx.device)
    criterion = ("validation MSE of f(X) against Y" if spec.space == "Y"
                 else "validation MRR of the true partner (I->T and T->I averaged, cosine)")
    grid = json.dumps([{"base": b, "variants": list(v)} for b, v in spec.grid] or [spec.defaults()], sort_keys=True,
                      default=str)
    return Selection(fitted, dict(chosen), table, criterion, best, grid)
