"""Shared-space methods: what they return, how their inputs are scaled and how their settings
are chosen by cross-validation on the training rows.

A shared-space method learns g: X -> Z and h: Y -> Z (X = images, Y = texts here) and is used
through a :class:`SharedSpace`. Its inputs are standardised with the training rows' column means
and standard deviations first (:class:`Standardiser`): CCA does not care, but kernel widths,
shrinkage and the networks' learning rates then mean the same on every dataset.

Cross-validation (:func:`cross_validate_shared`): ``n_folds`` folds of the training rows
(``crossmodal.mappings.kfold_indices``, seeded); fold f fits with seed ``seed + f``. A method's grid
is a list of *base* settings, each with *variants* that one fit yields at once (the epochs of a
network, read at checkpoints of one training run; the shrinkage and the number of components of
a kernel CCA, which share one eigendecomposition). The criterion is label-free and symmetric: the
mean reciprocal rank of the true partner, image -> text and text -> image averaged (cosine,
float64, ties counted against the true partner only when strictly higher), on the validation fold.
The chosen setting has the highest mean over folds (the first in grid order on ties).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossmodal.mappings.splits import kfold_indices
from crossmodal.metrics.knn import cosine_normalise

Params = dict[str, Any]
Labels = list[tuple[int, ...]] | None


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


@dataclass(frozen=True)
class SharedSpace:
    """g (``embed_x``) and h (``embed_y``): raw X / Y rows -> float64 rows of one space Z."""

    embed_x: Callable[[np.ndarray], np.ndarray]
    embed_y: Callable[[np.ndarray], np.ndarray]
    details: dict[str, Any] = field(default_factory=dict)


FitFn = Callable[[np.ndarray, np.ndarray, Labels, Params, Sequence[Params], int], list[SharedSpace]]


@dataclass(frozen=True)
class SharedMethod:
    """A shared-space method: ``fit(X, Y, labels, base, variants, seed)`` returns one space per
    variant; ``grid`` lists (base, variants); ``needs_labels``: only for labelled datasets."""

    name: str
    fit: FitFn
    grid: tuple[tuple[Params, tuple[Params, ...]], ...]
    needs_labels: bool = False
    description: str = ""


def grid_product(**axes: Sequence[Any]) -> tuple[Params, ...]:
    """Every combination of the axes, the first axis slowest."""
    names = list(axes)
    return tuple(dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names)))


def true_partner_ranks(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Rank of b_i among all rows of B for query a_i (1 + #{j : s_ij > s_ii}), cosine in float64."""
    An = cosine_normalise(np.asarray(A, dtype=np.float64), "queries")
    Bn = cosine_normalise(np.asarray(B, dtype=np.float64), "gallery")
    S = An @ Bn.T
    return 1 + (S > np.diag(S)[:, None]).sum(axis=1)


def paired_mrr(A: np.ndarray, B: np.ndarray) -> float:
    """Mean reciprocal rank of the true partner, A -> B and B -> A averaged."""
    return 0.5 * (float(np.mean(1.0 / true_partner_ranks(A, B))) + float(np.mean(1.0 / true_partner_ranks(B, A))))


def _subset_labels(labels: Labels, rows: np.ndarray) -> Labels:
    return None if labels is None else [labels[i] for i in rows]


@dataclass(frozen=True)
class SharedCV:
    """``table``: one row per (base, variant) with the mean and std over folds of the criterion;
    ``chosen``: the chosen base and variant merged."""

    table: pd.DataFrame
    chosen: Params
    chosen_base: Params
    chosen_variant: Params


def cross_validate_shared(method: SharedMethod, X: np.ndarray, Y: np.ndarray, labels: Labels,
                          n_folds: int = 3, seed: int = 0,
                          grid: Sequence[tuple[Params, Sequence[Params]]] | None = None,
                          log: Callable[[str], None] | None = None) -> SharedCV:
    """Choose ``method``'s setting by ``n_folds``-fold CV on (X, Y) (module docstring)."""
    grid = method.grid if grid is None else grid
    folds = kfold_indices(X.shape[0], n_folds, seed)
    rows = []
    for b, (base, variants) in enumerate(grid):
        scores = np.zeros((len(variants), n_folds))
        for f, (tr, va) in enumerate(folds):
            spaces = method.fit(X[tr], Y[tr], _subset_labels(labels, tr), dict(base), [dict(v) for v in variants], seed + f)
            for v, space in enumerate(spaces):
                scores[v, f] = paired_mrr(space.embed_x(X[va]), space.embed_y(Y[va]))
        for v, variant in enumerate(variants):
            rows.append({"base": b, "variant": v, "params": json.dumps({**base, **variant}, sort_keys=True),
                         "cv_mrr": float(scores[v].mean()), "cv_mrr_std": float(scores[v].std(ddof=1)) if n_folds > 1 else 0.0})
        if log is not None:
            log(f"cv {method.name}: {base} -> best mean MRR {scores.mean(axis=1).max():.4f}")
    table = pd.DataFrame(rows)
    best = int(np.argmax(table["cv_mrr"].to_numpy()))  # first maximum = first in grid order
    b, v = int(table.loc[best, "base"]), int(table.loc[best, "variant"])
    base, variant = dict(grid[b][0]), dict(grid[b][1][v])
    return SharedCV(table, {**base, **variant}, base, variant)


def fit_chosen(method: SharedMethod, X: np.ndarray, Y: np.ndarray, labels: Labels, cv: SharedCV, seed: int) -> SharedSpace:
    """The chosen setting refitted on all of (X, Y)."""
    return method.fit(X, Y, labels, dict(cv.chosen_base), [dict(cv.chosen_variant)], seed)[0]


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


def options(params: Mapping[str, Any], **defaults: Any) -> Params:
    """``defaults`` updated with ``params`` (unknown keys are an error, to catch typos in grids)."""
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **params}
