"""Retrieval measures from scores and ranks: CSLS, the gallery ordering, AP / mAP, R@K, MRR and
hubness (numpy/scipy only). The scores and the exact ranks themselves come from
``crossmodal.measures.retrieval`` (torch GEMMs).

Queries q_i retrieve from a gallery g_1..g_G; higher scores are nearer.

* CSLS (Conneau et al. 2018): ``c_ij = 2 s_ij - r_G(q_i) - r_Q(g_j)``, where ``r_G(q_i)`` is the
  mean score of q_i with its ``csls_k`` nearest gallery items and ``r_Q(g_j)`` the mean score of
  g_j with its ``csls_k`` nearest queries (:func:`csls`, the one formula; ``cross_stats`` gives
  the r values exactly).
* Gallery ordering (:func:`gallery_order`): each query's gallery, highest score first, ties to
  the lower gallery index; gallery rows that are exact duplicates take the score of their first
  copy (``rep``, :func:`duplicate_representative`), so they tie exactly whatever rounding the
  GEMM gave each copy.
* AP (:func:`average_precisions`): gallery item j is relevant to query i when they share a label
  (:func:`relevance`); AP_i = (1/R_i) Σ_{r: relevant} precision@r over that ordering; queries
  without a relevant item have no AP; mAP is the mean over the others.
* Rank of the true partner (paired rows, query q_i's partner g_i): ``1 + #{j : s_ij > s_ii}``
  (strictly higher; equal scores do not push it down), computed by ``cross_stats``; from ranks:
  R@K = share of queries with rank <= K (:func:`recall_at`), MRR = mean of 1/rank summed exactly
  (:func:`mean_reciprocal_rank`).
* Hubness (scikit-hubness): N_k(g_j) = number of queries with g_j among their k nearest
  (``cross_stats``); :func:`hubness` gives its skewness and the share of N_k = 0 (anti-hubs).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.stats

LabelSets = Sequence[Iterable[int]] | np.ndarray


def csls(s: np.ndarray, r_of_query: np.ndarray, r_of_gallery: np.ndarray) -> np.ndarray:
    """c = 2 s − r_G(q) − r_Q(g), elementwise (broadcast (Q, 1) and (1, G) for a score matrix)."""
    return 2.0 * s - r_of_query - r_of_gallery


def duplicate_representative(G: np.ndarray) -> np.ndarray:
    """For every gallery row, the index of the first row identical to it."""
    _, first, inverse = np.unique(G, axis=0, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)]


def gallery_order(scores: np.ndarray, rep: np.ndarray | None = None) -> np.ndarray:
    """(q, G) gallery indices per query row, highest score first, ties to the lower index;
    with ``rep`` every gallery item is scored as its first duplicate (module docstring)."""
    key = -scores if rep is None else -scores[:, rep]
    return np.argsort(key, axis=1, kind="stable")


def label_sets(labels: LabelSets, n: int, name: str) -> list[tuple[int, ...]]:
    """Each item's labels as a tuple of ints (an int label becomes a 1-tuple)."""
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} entries for {n} rows")
    return [(int(x),) if np.ndim(x) == 0 else tuple(int(v) for v in x) for x in labels]


def label_membership(query_labels: Sequence[Iterable[int]],
                     gallery_labels: Sequence[Iterable[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Binary float32 membership matrices (Q, L) and (G, L) over one shared label vocabulary;
    ``Mq[a] @ Mg[b].T > 0`` says which pairs share a label."""
    sets_q, sets_g = [tuple(s) for s in query_labels], [tuple(s) for s in gallery_labels]
    vocab = {v: j for j, v in enumerate(sorted({v for s in sets_q + sets_g for v in s}))}
    out = []
    for sets in (sets_q, sets_g):
        M = np.zeros((len(sets), max(1, len(vocab))), dtype=np.float32)
        for i, s in enumerate(sets):
            M[i, [vocab[v] for v in s]] = 1.0
        out.append(M)
    return out[0], out[1]


def relevance(query_labels: Sequence[Iterable[int]], gallery_labels: Sequence[Iterable[int]]) -> np.ndarray:
    """(Q, G) bool: query i and gallery item j share at least one label."""
    Mq, Mg = label_membership(query_labels, gallery_labels)
    return Mq @ Mg.T > 0


def average_precisions(scores: np.ndarray, relevant: np.ndarray, rep: np.ndarray | None = None,
                       own: np.ndarray | None = None) -> np.ndarray:
    """AP of every query row with at least one relevant item, in row order (module docstring).

    ``scores``, ``relevant``: (q, G) in gallery index order. ``own``: per row a gallery index
    left out of that row's ranking (within-set retrieval, the query itself), AP then over G − 1.
    """
    order = gallery_order(scores, rep)
    if own is not None:  # drop each query's own item from its ranking, keeping the others' order
        order = order[order != np.asarray(own)[:, None]].reshape(len(order), order.shape[1] - 1)
    rel = np.take_along_axis(relevant, order, axis=1)
    precision = np.cumsum(rel, axis=1) / np.arange(1, order.shape[1] + 1)
    n_rel = rel.sum(axis=1)
    has = n_rel > 0
    return (precision * rel).sum(axis=1)[has] / n_rel[has]


def mean_average_precision(scores: np.ndarray, relevant: np.ndarray, rep: np.ndarray | None = None) -> float:
    """mAP over the queries with a relevant item (:func:`average_precisions`)."""
    aps = average_precisions(scores, relevant, rep)
    if len(aps) == 0:
        raise ValueError("no query has a relevant gallery item")
    return float(aps.mean())


def recall_at(ranks: np.ndarray, k: int) -> float:
    """R@K: the share of queries whose true partner has rank <= K."""
    return int((ranks <= k).sum()) / len(ranks)


def mean_reciprocal_rank(ranks: np.ndarray) -> float:
    """MRR: the mean of 1 / rank, summed exactly (``math.fsum``)."""
    return math.fsum((1.0 / ranks).tolist()) / len(ranks)


def rank_summary(ranks: np.ndarray, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """{"r1": R@1, "r5": R@5, "r10": R@10, "mrr": MRR} of the ranks of the true partners."""
    return {**{f"r{k}": recall_at(ranks, k) for k in ks}, "mrr": mean_reciprocal_rank(ranks)}


def hubness(n_k: np.ndarray) -> tuple[float, float]:
    """(skewness of N_k with scipy.stats.skew defaults, share of items with N_k = 0)."""
    with np.errstate(all="ignore"):
        skew = float(scipy.stats.skew(n_k.astype(np.float64)))
    return skew, float((n_k == 0).mean())
