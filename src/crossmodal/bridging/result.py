"""The typed result of ``crossmodal.bridge`` and its JSON form (numpy only).

JSON keys (``BridgeResult.to_dict()``, ``crossmodal bridge --json``, ``bridge.json``), stable:

=====================  ==================================================================
``n``                  items evaluated (held-out items under CV; all paired rows with F)
``k``                  the first K asked for; the values below are for it
``metric``             ``cosine`` or ``euclidean`` (the neighbours of X, Y and F)
``include_self``       whether each item counts among its own K neighbours
``mnno_x_f``           mNNO^K(X, F), F = f(X)
``mnno_y_f``           mNNO^K(Y, F)
``mnno_x_y``           mNNO^K(X, Y)
``chance``             expected mNNO^K of independent neighbourhoods
``p_paired``           two-sided Wilcoxon signed-rank p of NNO(X,F) vs NNO(Y,F) per item
``p_permutation_x_y``  one-sided permutation p of mNNO(X,Y) (pairing shuffled, +1 rule)
``ci``                 {name: [lo, hi]} bootstrap intervals of ``mnno_x_f``, ``mnno_y_f``,
                       ``mnno_x_y`` and ``mnno_y_f_minus_x_f``
``retrieval``          {``nn``, ``csls``}: each {``r1``, ``r5``, ``r10``, ``mrr``}, F -> Y
``hubness``            {``k_skewness``, ``antihub_share``} of N_k of Y among F (k = 10)
``mse``, ``r2``        MSE per element and R² (mean over Y's dimensions) of F against Y
``verdict``            one sentence
``by_k``               {"K": {``k``, ``mnno_x_f``, ``mnno_y_f``, ``mnno_x_y``, ``chance``,
                       ``p_paired``, ``p_permutation_x_y``, ``ci``, ``verdict``}} for every K
``setup``              how the numbers were made: protocol, folds, mapper and its fitted
                       values, seed, permutations, bootstrap, level, alpha, hub/CSLS k,
                       pairing and input names
=====================  ==================================================================

NaN (e.g. the skewness of a constant N_k) is written as ``null``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Retrieval:
    r1: float
    r5: float
    r10: float
    mrr: float


@dataclass(frozen=True)
class Hubness:
    k: int
    k_skewness: float
    antihub_share: float


@dataclass(frozen=True)
class KScores:
    """The K-dependent values for one K."""

    k: int
    mnno_x_f: float
    mnno_y_f: float
    mnno_x_y: float
    chance: float
    p_paired: float
    p_permutation_x_y: float
    ci: dict[str, tuple[float, float]]
    verdict: str


@dataclass(frozen=True)
class PerItem:
    """Per evaluated item, in input row order."""

    keys: list[str] | None
    fold: np.ndarray  # which evaluation set held it out (0 when F is given)
    nno: dict[int, dict[str, np.ndarray]]  # K -> {"x_f", "y_f", "x_y"} -> int64 counts
    rank_nn: np.ndarray
    rank_csls: np.ndarray
    n_k: np.ndarray  # N_k of the item's y


@dataclass(frozen=True)
class Curve:
    """mNNO against K = 1..len(k) for the three pairs, with the chance level."""

    k: np.ndarray
    x_f: np.ndarray
    y_f: np.ndarray
    x_y: np.ndarray
    chance: np.ndarray


@dataclass(frozen=True)
class BridgeResult(KScores):
    """Everything ``crossmodal.bridge`` measured: the K-dependent values of the first K
    (inherited from KScores), every K in ``by_k``, and the K-independent measures."""

    n: int
    metric: str
    include_self: bool
    retrieval: dict[str, Retrieval]
    hubness: Hubness
    mse: float
    r2: float
    by_k: dict[int, KScores]
    setup: dict[str, Any] = field(default_factory=dict)
    per_item: PerItem | None = None
    curve: Curve | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (keys in the module docstring)."""
        out = {
            "n": self.n,
            "k": self.k,
            "metric": self.metric,
            "include_self": self.include_self,
            "mnno_x_f": self.mnno_x_f,
            "mnno_y_f": self.mnno_y_f,
            "mnno_x_y": self.mnno_x_y,
            "chance": self.chance,
            "p_paired": self.p_paired,
            "p_permutation_x_y": self.p_permutation_x_y,
            "ci": {name: list(v) for name, v in self.ci.items()},
            "retrieval": {name: vars(r) for name, r in self.retrieval.items()},
            "hubness": {"k_skewness": self.hubness.k_skewness, "antihub_share": self.hubness.antihub_share},
            "mse": self.mse,
            "r2": self.r2,
            "verdict": self.verdict,
            "by_k": {str(k): {**vars(s), "ci": {n: list(v) for n, v in s.ci.items()}} for k, s in self.by_k.items()},
            "setup": self.setup,
        }
        return _json_ready(out)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def _value(v: float) -> str:
    return f"{v:.2f}" if abs(v) >= 0.095 else f"{v:.2g}"


def format_p(p: float) -> str:
    """'p < 1e-6' for tiny p, else 'p = 0.012'."""
    if p < 1e-6:
        return "p < 1e-6"
    return f"p = {p:.2g}"


def verdict(mnno_x_f: float, mnno_y_f: float, p_paired: float, chance: float, alpha: float = 0.05) -> str:
    """One sentence: does f(X) keep X's neighbourhoods or take on Y's?"""
    tail = f"paired {format_p(p_paired)}; chance {chance:.2g}."
    if p_paired < alpha and mnno_x_f > mnno_y_f:
        return (f"f(X) keeps the neighbourhoods of X (mNNO {_value(mnno_x_f)}) more than it takes on those of Y "
                f"({_value(mnno_y_f)}); {tail}")
    if p_paired < alpha and mnno_y_f > mnno_x_f:
        return (f"f(X) takes on the neighbourhoods of Y (mNNO {_value(mnno_y_f)}) more than it keeps those of X "
                f"({_value(mnno_x_f)}); {tail}")
    return (f"f(X) is no closer to the neighbourhoods of X (mNNO {_value(mnno_x_f)}) than to those of Y "
            f"({_value(mnno_y_f)}) at alpha {alpha:g}; {tail}")
