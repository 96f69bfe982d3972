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
without self; the include-self list is [i] + the first K − 1, as in Experiment 1), per-item NNO is
``crossmodal.measures.nno.nno_of_lists``. Statistics (``crossmodal.measures.significance``):

* ``p_rank_sum``: the paper's test, the two-sided Wilcoxon rank-sum test of per-item
  NNO(X, F) vs NNO(Y-role, F) (``rank_sum_test``);
* ``p_paired``: the two-sided Wilcoxon signed-rank test of the same per-item pairs
  (``paired_p``), which respects the pairing;
* ``diff`` = mNNO(Y-role, F) − mNNO(X, F) and its percentile bootstrap interval over items
  (``bootstrap_ci``: ``n_bootstrap`` resamples, ``level``), the effect size the issue asks for;
* ``chance``: mNNO of independent neighbourhoods (``crossmodal.measures.nno.chance``).

Retrieval rows (Tables 14): Cross-modal retrieval scores of a method (Tables 13/14): category mAP, paired R@K, with and
without CSLS, and the hubness of the gallery. The measures are ``crossmodal.measures``'; this
module assembles one method's row of them.

Queries Q (e.g. g(images)) and gallery G (h(texts)) are paired row by row and live in one space.

* Scores: cosine s_ij = q̂_i · ĝ_j in float64 (``crossmodal.measures.retrieval.cosine_scores``);
  CSLS (``crossmodal.measures.ranks.csls``): c_ij = 2 s_ij − r_G(q_i) − r_Q(g_j), the r values
  taken exactly from ``crossmodal.measures.retrieval.cross_stats``.
* mAP (``crossmodal.measures.ranks.mean_average_precision``): gallery item j is relevant to query
  i when they share a label (Wikipedia: the same category; IAPR TC-12: at least one label), AP
  over the full ordering of the gallery (``gallery_order``: descending score, ties to the lower
  gallery index, exact duplicate gallery rows tied); queries without a relevant item are skipped.
* R@K: share of queries whose own partner ranks ≤ K, plain and CSLS (ranks from ``cross_stats``:
  1 + the number of gallery items scored strictly higher).
* Hubness: N_k(g_j) = how many queries have g_j among their ``hub_k`` nearest gallery items;
  its skewness and the share of gallery items with N_k = 0 (``crossmodal.measures.ranks.hubness``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossmodal.measures.nno import chance, mean_nno, nno_of_lists
from crossmodal.measures.significance import bootstrap_ci, paired_p, rank_sum_test
from crossmodal.metrics.knn import knn_indices
from crossmodal.measures.ranks import (
    csls,
    duplicate_representative,
    hubness,
    mean_average_precision,
    recall_at,
    relevance,
)
from crossmodal.measures.retrieval import cosine_scores, cross_stats

SELF_RULES: tuple[str, ...] = ("include", "exclude")


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
                per = {col: nno_of_lists(nn[a], nn[b], k, include) for col, (a, b) in pairs.items()}
                x_side, y_side = per[compare[0]], per[compare[1]]
                rng = np.random.default_rng([seed, k, len(rows)])
                lo, hi = bootstrap_ci((y_side - x_side)[:, None].astype(np.float64) / k, n_bootstrap, level, rng)[0]
                row: dict[str, object] = {"metric": metric, "k": k, "self": rule, "n_test": n}
                row.update({col: mean_nno(v, k) for col, v in per.items()})
                row.update({"diff": mean_nno(y_side, k) - mean_nno(x_side, k), "diff_ci_lo": float(lo), "diff_ci_hi": float(hi),
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


@dataclass(frozen=True)
class RetrievalScores:
    """One direction (queries -> gallery) of one method, plain (``nn``) and CSLS."""

    map_nn: float
    map_csls: float
    recall_nn: dict[int, float]
    recall_csls: dict[int, float]
    hub_skewness: float
    antihub_share: float
    n_queries: int
    hub_k: int
    csls_k: int


def retrieval_scores(Q: np.ndarray, G: np.ndarray, query_labels: Sequence[tuple[int, ...]] | None,
                     gallery_labels: Sequence[tuple[int, ...]] | None = None, recall_ks: Sequence[int] = (1, 5, 10),
                     hub_k: int = 10, csls_k: int = 10) -> RetrievalScores:
    """mAP (NaN without labels), R@K and hubness of Q -> G, plain and CSLS (module docstring)."""
    Q64, G64 = np.asarray(Q, dtype=np.float64), np.asarray(G, dtype=np.float64)
    stats = cross_stats(Q64, G64, hub_k=hub_k, csls_k=csls_k, names=("queries", "gallery"))
    if query_labels is None:
        map_nn = map_csls = float("nan")
    else:
        S = cosine_scores(Q64, G64)
        rep = duplicate_representative(G64)
        rel = relevance(query_labels, query_labels if gallery_labels is None else gallery_labels)
        map_nn = mean_average_precision(S, rel, rep)
        map_csls = mean_average_precision(csls(S, stats.r_y[:, None], stats.r_f[None, :]), rel, rep)
    skew, antihub = hubness(stats.n_k)
    return RetrievalScores(
        map_nn, map_csls,
        {k: recall_at(stats.rank_nn, k) for k in recall_ks},
        {k: recall_at(stats.rank_csls, k) for k in recall_ks},
        skew, antihub, len(Q64), stats.hub_k, stats.csls_k)
