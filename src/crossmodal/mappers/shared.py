"""Shared-space methods: what they return, how their inputs are scaled and how their settings
are chosen by cross-validation on the training rows.

A shared-space method learns g: X -> Z and h: Y -> Z (X = images, Y = texts here) and is used
as a :class:`crossmodal.mappers.fitting.Fitted` (``map_x`` = g, ``map_y`` = h), through
:class:`SharedFit`, the implementation its registration names. Its inputs are standardised with the training rows' column means
and standard deviations first (:class:`Standardiser`): CCA does not care, but kernel widths,
shrinkage and the networks' learning rates then mean the same on every dataset.

Cross-validation (:meth:`SharedFit.cross_validate`, for Tables 13/14): ``n_folds`` folds of the training rows
(``crossmodal.mappings.kfold_indices``, seeded); fold f fits with seed ``seed + f``. A method's grid
is a list of *base* settings, each with *variants* that one fit yields at once (the epochs of a
network, read at checkpoints of one training run; the shrinkage and the number of components of
a kernel CCA, which share one eigendecomposition). The criterion is label-free and symmetric: the
mean reciprocal rank of the true partner, image -> text and text -> image averaged (cosine,
float64, ties counted against the true partner only when strictly higher), on the validation fold.
The chosen setting has the highest mean over folds (the first in grid order on ties).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossmodal.mappers.fitting import Fitted, Labels, Selection, SelectContext, subset_labels
from crossmodal.mappers.registry import MapperSpec, Params
from crossmodal.mappings.splits import kfold_indices
from crossmodal.measures.retrieval import paired_mrr


@dataclass(frozen=True)
class Standardiser:
    """x -> (x - mean) / scale with the training rows' statistics (constant columns: scale 1)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, A: np.ndarray) -> Standardiser:
        A64 = np.asarray(A, dtype=np.float64)
        sd = A64.std(axis=0)
        return cls(A64.mean(axis=0), np.where(sd > 0, sd, 1.0))

    def __call__(self, A: np.ndarray) -> np.ndarray:
        return (np.asarray(A, dtype=np.float64) - self.mean) / self.scale


# A fitted shared space is a Fitted: ``map_x`` is g, ``map_y`` is h (raw rows -> float64 rows of Z).
SharedSpace = Fitted
FitFn = Callable[[np.ndarray, np.ndarray, Labels, Params, Sequence[Params], int], list[Fitted]]


@dataclass(frozen=True)
class SharedCV:
    """``table``: one row per (base, variant) with the mean and std over folds of the criterion;
    ``chosen``: the chosen base and variant merged, as the grid names them."""

    table: pd.DataFrame
    chosen: Params
    chosen_base: Params
    chosen_variant: Params


class SharedFit:
    """The implementation of a shared-space mapping: ``fit_variants(X, Y, labels, base, variants,
    seed)`` returns one fitted space per variant from one fit; ``variant_keys`` names the
    parameters that are variants. Both get complete settings (the spec's defaults filled in)."""

    def __init__(self, fit_variants: FitFn, variant_keys: tuple[str, ...]) -> None:
        self.fit_variants, self.variant_keys = fit_variants, variant_keys

    def _split(self, spec: MapperSpec, base: Params, variants: Sequence[Params]) -> tuple[Params, list[Params]]:
        full = spec.defaults()
        return ({**{k: v for k, v in full.items() if k not in self.variant_keys}, **base},
                [{**{k: full[k] for k in self.variant_keys}, **v} for v in variants])

    def fit(self, X: np.ndarray, Y: np.ndarray, labels: Labels, params: Params, seed: int, device: str = "cpu") -> Fitted:
        base = {k: v for k, v in params.items() if k not in self.variant_keys}
        return self.fit_variants(X, Y, labels, base, [{k: params[k] for k in self.variant_keys}], seed)[0]

    def cross_validate(self, spec: MapperSpec, X: np.ndarray, Y: np.ndarray, labels: Labels, n_folds: int = 3,
                       seed: int = 0, log: Callable[[str], None] | None = None) -> SharedCV:
        """Choose the setting by ``n_folds``-fold CV on (X, Y) (module docstring)."""
        folds = kfold_indices(X.shape[0], n_folds, seed)
        rows = []
        for b, (base, variants) in enumerate(spec.grid):
            scores = np.zeros((len(variants), n_folds))
            full_base, full_variants = self._split(spec, base, variants)
            for f, (tr, va) in enumerate(folds):
                spaces = self.fit_variants(X[tr], Y[tr], subset_labels(labels, tr), full_base, full_variants, seed + f)
                for v, space in enumerate(spaces):
                    scores[v, f] = paired_mrr(space.map_x(X[va]), space.map_y(Y[va]))
            for v, variant in enumerate(variants):
                rows.append({"base": b, "variant": v, "params": json.dumps({**base, **variant}, sort_keys=True),
                             "cv_mrr": float(scores[v].mean()),
                             "cv_mrr_std": float(scores[v].std(ddof=1)) if n_folds > 1 else 0.0})
            if log is not None:
                log(f"cv {spec.name}: {base} -> best mean MRR {scores.mean(axis=1).max():.4f}")
        table = pd.DataFrame(rows)
        best = int(np.argmax(table["cv_mrr"].to_numpy()))  # first maximum = first in grid order
        b, v = int(table.loc[best, "base"]), int(table.loc[best, "variant"])
        base, variant = dict(spec.grid[b][0]), dict(spec.grid[b][1][v])
        return SharedCV(table, {**base, **variant}, base, variant)

    def fit_chosen(self, spec: MapperSpec, X: np.ndarray, Y: np.ndarray, labels: Labels, cv: SharedCV, seed: int) -> Fitted:
        """The chosen setting refitted on all of (X, Y)."""
        base, variants = self._split(spec, cv.chosen_base, [cv.chosen_variant])
        return self.fit_variants(X, Y, labels, base, variants, seed)[0]

    def select(self, spec: MapperSpec, X: np.ndarray, Y: np.ndarray, labels: Labels, ctx: SelectContext) -> Selection:
        cv = self.cross_validate(spec, X, Y, labels, ctx.n_folds, ctx.seed, log=ctx.log)
        fitted = self.fit_chosen(spec, X, Y, labels, cv, ctx.seed)
        table = cv.table.assign(score=cv.table["cv_mrr"], score_std=cv.table["cv_mrr_std"])
        grid = json.dumps([{"base": b, "variants": list(v)} for b, v in spec.grid], sort_keys=True)
        return Selection(fitted, {**cv.chosen, **fitted.details}, table,
                         "validation MRR of the true partner (I->T and T->I averaged, cosine)",
                         int(np.argmax(table["score"].to_numpy())), grid)


def label_matrix(labels: Sequence[tuple[int, ...]], classes: Sequence[int] | None = None) -> tuple[np.ndarray, list[int]]:
    """(N, C) 0/1 float32 membership over ``classes`` (default: the sorted labels seen)."""
    classes = sorted({v for lab in labels for v in lab}) if classes is None else list(classes)
    col = {c: j for j, c in enumerate(classes)}
    M = np.zeros((len(labels), len(classes)), dtype=np.float32)
    for i, lab in enumerate(labels):
        for v in lab:
            if v in col:
                M[i, col[v]] = 1.0
    return M, classes


def single_label(labels: Labels) -> bool:
    return labels is not None and all(len(lab) == 1 for lab in labels)
