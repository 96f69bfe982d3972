"""Cross-modal retrieval scores of a method: category mAP, paired R@K, with and without CSLS,
and the hubness of the gallery.

Queries Q (e.g. g(images)) and gallery G (h(texts)) are paired row by row and live in one space.

* Scores: cosine s_ij = q̂_i · ĝ_j in float64 (``crossmodal.metrics.knn.cosine_normalise``);
  CSLS (Conneau et al. 2018): c_ij = 2 s_ij − r_G(q_i) − r_Q(g_j), the mean similarity of q_i to
  its ``csls_k`` nearest gallery items and of g_j to its ``csls_k`` nearest queries, taken exactly
  from ``crossmodal.bridging.retrieval.cross_stats``.
* mAP: gallery item j is relevant to query i when they share a label (Wikipedia: the same
  category; IAPR TC-12: at least one label). AP_i = (1/R_i) Σ_{r: relevant} precision@r over
  the full ranking of the gallery (descending score, ties to the lower gallery index, as
  ``crossmodal.metrics.peers.retrieval_map``); queries without a relevant item are skipped.
* R@K: share of queries whose own partner ranks ≤ K, plain and CSLS (ranks from ``cross_stats``:
  1 + the number of gallery items scored strictly higher).
* Hubness: N_k(g_j) = how many queries have g_j among their ``hub_k`` nearest gallery items;
  its skewness and the share of gallery items with N_k = 0 (``crossmodal.bridging.measures.hubness``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crossmodal.metrics.knn import cosine_normalise


def relevance(query_labels: Sequence[tuple[int, ...]], gallery_labels: Sequence[tuple[int, ...]]) -> np.ndarray:
    """(Q, G) bool: query i and gallery item j share at least one label."""
    vocab = sorted({v for lab in [*query_labels, *gallery_labels] for v in lab})
    col = {v: k for k, v in enumerate(vocab)}

    def members(labels: Sequence[tuple[int, ...]]) -> np.ndarray:
        M = np.zeros((len(labels), max(1, len(vocab))), dtype=np.float32)
        for i, lab in enumerate(labels):
            M[i, [col[v] for v in lab]] = 1.0
        return M

    return members(query_labels) @ members(gallery_labels).T > 0


def cosine_scores(Q: np.ndarray, G: np.ndarray) -> np.ndarray:
    """(Q, G) float64 cosine similarities."""
    return cosine_normalise(np.asarray(Q, dtype=np.float64), "queries") @ cosine_normalise(np.asarray(G, dtype=np.float64), "gallery").T


def average_precisions(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """AP of every query with at least one relevant item (module docstring), in query order."""
    order = np.argsort(-scores, axis=1, kind="stable")  # stable: ties keep the lower index first
    rel = np.take_along_axis(relevant, order, axis=1)
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, scores.shape[1] + 1)
    n_rel = rel.sum(axis=1)
    has = n_rel > 0
    return (precision * rel).sum(axis=1)[has] / n_rel[has]


def mean_average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    aps = average_precisions(scores, relevant)
    if len(aps) == 0:
        raise ValueError("no query has a relevant gallery item")
    return float(aps.mean())


def csls_scores(S: np.ndarray, r_gallery: np.ndarray, r_query: np.ndarray) -> np.ndarray:
    """c_ij = 2 s_ij − r_G(q_i) − r_Q(g_j)."""
    return 2.0 * S - r_gallery[:, None] - r_query[None, :]


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
    from crossmodal.bridging.measures import hubness
    from crossmodal.bridging.retrieval import cross_stats

    Q64, G64 = np.asarray(Q, dtype=np.float64), np.asarray(G, dtype=np.float64)
    stats = cross_stats(Q64, G64, hub_k=hub_k, csls_k=csls_k, names=("queries", "gallery"))
    S = cosine_scores(Q64, G64)
    if query_labels is None:
        map_nn = map_csls = float("nan")
    else:
        rel = relevance(query_labels, query_labels if gallery_labels is None else gallery_labels)
        map_nn = mean_average_precision(S, rel)
        map_csls = mean_average_precision(csls_scores(S, stats.r_y, stats.r_f), rel)
    skew, antihub = hubness(stats.n_k)
    return RetrievalScores(
        map_nn, map_csls,
        {k: float(np.mean(stats.rank_nn <= k)) for k in recall_ks},
        {k: float(np.mean(stats.rank_csls <= k)) for k in recall_ks},
        skew, antihub, len(Q64), stats.hub_k, stats.csls_k)
