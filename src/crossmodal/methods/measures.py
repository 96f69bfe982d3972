"""Does a method bridge? Its test rows through the mNNO lens (paper, §3.1), with the paper's test.

Regression map f: X -> Y (X, Y, F = f(X) on the test rows): mNNO(X, F), mNNO(Y, F), mNNO(X, Y).
Shared-space method g: X -> Z, h: Y -> Z: mNNO(X, g(X)), mNNO(h(Y), g(X)), mNNO(Y, h(Y)), plus
mNNO(X, Y) and mNNO(Y, g(X)). The pair that plays the paper's "Y, f(X)" is (h(Y), g(X)): the
question is whether g(X) has taken on the neighbourhoods of the other modality *as it is
represented in the shared space*, rather than keeping those of its own input X. Both families
report it in the column ``mnno_y_fx`` (``y_role`` says "Y" or "h(Y)") so that one column answers
the question for every method. "h(Y)" names the Y side's own embedding: in the t2i direction
(X = texts) it is g(images).

Per (metric, K, self rule): neighbours are exact (``crossmodal.metrics.knn_indices``, computed once
without self; the include-self list is [i] + the first K − 1, as in Experiment 1). Statistics:

* ``p_rank_sum``: the paper's test, the two-sided Wilcoxon rank-sum test of per-item
  NNO(X, F) vs NNO(Y-role, F) (``crossmodal.metrics.significance.rank_sum_test``);
* ``p_paired``: the two-sided Wilcoxon signed-rank test of the same per-item pairs
  (``crossmodal.bridging.measures.paired_p``), which respects the pairing;
* ``diff`` = mNNO(Y-role, F) − mNNO(X, F) and its percentile bootstrap interval over items
  (``n_bootstrap`` resamples, ``level``), the effect size the issue asks for;
* ``chance``: mNNO of independent neighbourhoods (``crossmodal.bridging.measures.chance``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from crossmodal.bridging.measures import bootstrap_ci, chance, nno_for_k, paired_p
from crossmodal.metrics.knn import knn_indices
from crossmodal.metrics.significance import rank_sum_test

SELF_RULES: tuple[str, ...] = ("include", "exclude")


def _mean(counts: np.ndarray, k: int) -> float:
    return float(counts.sum()) / (k * len(counts))


def mnno_rows(sets: dict[str, np.ndarray], pairs: dict[str, tuple[str, str]], compare: tuple[str, str],
              ks: Sequence[int], metrics: Sequence[str] = ("cosine",), self_rules: Sequence[str] = SELF_RULES,
              n_bootstrap: int = 1000, level: float = 0.95, seed: int = 0) -> list[dict[str, object]]:
    """One row per (metric, K, self rule) with mNNO of every named pair of ``sets``.

    ``sets``: name -> (N, d) rows, paired; ``pairs``: column -> (set, set); ``compare``: the two
    columns of ``pairs`` tested against each other, (X-side, Y-role), e.g. ("mnno_x_fx", "mnno_y_fx").
    """
    k_max = max(ks)
    rows = []
    n = len(next(iter(sets.values())))
    for metric in metrics:
        nn = {name: knn_indices(A, k_max, metric) for name, A in sets.items()}  # type: ignore[arg-type]
        for k in ks:
            for rule in self_rules:
                include = rule == "include"
                per = {col: nno_for_k(nn[a], nn[b], k, include) for col, (a, b) in pairs.items()}
                x_side, y_side = per[compare[0]], per[compare[1]]
                rng = np.random.default_rng([seed, k, len(rows)])
                lo, hi = bootstrap_ci((y_side - x_side)[:, None].astype(np.float64) / k, n_bootstrap, level, rng)[0]
                row: dict[str, object] = {"metric": metric, "k": k, "self": rule, "n_test": n}
                row.update({col: _mean(v, k) for col, v in per.items()})
                row.update({"diff": _mean(y_side, k) - _mean(x_side, k), "diff_ci_lo": float(lo), "diff_ci_hi": float(hi),
                            "p_rank_sum": rank_sum_test(x_side, y_side).pvalue, "p_paired": paired_p(x_side, y_side),
                            "chance": chance(k, n, include)})
                rows.append(row)
    return rows


REGRESSION_PAIRS = {"mnno_x_fx": ("X", "F"), "mnno_y_fx": ("Y", "F"), "mnno_x_y": ("X", "Y")}
SHARED_PAIRS = {"mnno_x_fx": ("X", "GX"), "mnno_y_fx": ("HY", "GX"), "mnno_x_y": ("X", "Y"),
                "mnno_y_hy": ("Y", "HY"), "mnno_rawy_fx": ("Y", "GX")}
COMPARE = ("mnno_x_fx", "mnno_y_fx")


def regression_rows(X: np.ndarray, Y: np.ndarray, F: np.ndarray, ks: Sequence[int], **kw: object) -> list[dict[str, object]]:
    """mNNO rows of a regression map on the test rows (``y_role`` "Y")."""
    rows = mnno_rows({"X": X, "Y": Y, "F": F}, REGRESSION_PAIRS, COMPARE, ks, **kw)  # type: ignore[arg-type]
    return [{**r, "y_role": "Y"} for r in rows]


def shared_rows(X: np.ndarray, Y: np.ndarray, GX: np.ndarray, HY: np.ndarray, ks: Sequence[int], **kw: object) -> list[dict[str, object]]:
    """mNNO rows of a shared-space method on the test rows (``y_role`` "h(Y)")."""
    rows = mnno_rows({"X": X, "Y": Y, "GX": GX, "HY": HY}, SHARED_PAIRS, COMPARE, ks, **kw)  # type: ignore[arg-type]
    return [{**r, "y_role": "h(Y)"} for r in rows]
