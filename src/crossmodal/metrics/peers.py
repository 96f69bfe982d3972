"""Other representation-similarity and retrieval metrics, for comparison with mNNO.

* ``mutual_knn_alignment``: the "mutual_knn" score of the Platonic Representation
  Hypothesis code (Huh et al. 2024, ``metrics.py``): rows are L2-normalised, each row's top-k
  by inner product excluding itself are taken, and the score is the mean over rows of
  |kNN_A(i) ∩ kNN_B(i)| / k. That is mNNO^k with cosine distance and ``include_self=False``;
  the only difference is tie order (their ``argsort`` is unstable), so on data without
  distance ties the two are equal.
* ``linear_cka``: linear centred kernel alignment (Kornblith et al. 2019), biased (HSIC with
  the centred Gram matrices) or unbiased (the U-statistic HSIC of Song et al. 2012).
* ``rsa_spearman``: representational similarity analysis, the Spearman correlation of the
  two condensed pairwise-distance vectors.
* ``retrieval_map``: cross-modal retrieval mean average precision with class-label
  relevance (a database item is relevant to a query when they share a label).
* ``recall_at_k``: paired retrieval, fraction of queries whose own pair is in the top K.

Retrieval ranks a database by the chosen distance, ties broken by the lower index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.spatial.distance
import scipy.stats
import torch

from crossmodal.metrics.knn import (
    Metric,
    check_features,
    check_metric,
    cosine_normalise,
)
from crossmodal.metrics.nno import overlap_counts

LabelSets = Sequence[Iterable[int]] | np.ndarray


def _paired(A: object, B: object) -> tuple[np.ndarray, np.ndarray]:
    A64, B64 = check_features(A, "A"), check_features(B, "B")
    if A64.shape[0] != B64.shape[0]:
        raise ValueError(f"A and B must have the same number of rows, got {A64.shape[0]} and {B64.shape[0]}")
    return A64, B64


def _topk_inner_product(F: np.ndarray, k: int) -> np.ndarray:
    S = torch.from_numpy(F @ F.T)
    S.fill_diagonal_(-1e8)  # as in the PRH code: a point is not its own neighbour
    return torch.argsort(S, dim=1, descending=True, stable=True)[:, :k].numpy()


def mutual_knn_alignment(A: object, B: object, k: int = 10) -> float:
    """PRH ``mutual_knn``: mean |kNN_A(i) ∩ kNN_B(i)| / k, cosine, self excluded (O(N^2))."""
    A64, B64 = _paired(A, B)
    if not 1 <= k <= A64.shape[0] - 1:
        raise ValueError(f"k={k} must be within 1..N-1 for N={A64.shape[0]}")
    nn_a = _topk_inner_product(cosine_normalise(A64, "A"), k)
    nn_b = _topk_inner_product(cosine_normalise(B64, "B"), k)
    return float(overlap_counts(nn_a, nn_b).mean()) / k


def _hsic_parts(X: np.ndarray, Y: np.ndarray) -> float:
    """Unbiased linear-kernel HSIC from features, O(N d^2), no N x N Gram matrix.

    With K~ = XX^T and L~ = YY^T with zeroed diagonals, Song et al.'s estimator is
    [tr(K~L~) + 1'K~1 1'L~1 / ((n-1)(n-2)) - 2 1'K~L~1 / (n-2)] / (n(n-3)).
    """
    n = X.shape[0]
    kd = (X * X).sum(axis=1)  # diag of XX^T
    ld = (Y * Y).sum(axis=1)
    tr_kl = float(np.sum((X.T @ Y) ** 2) - kd @ ld)
    k1 = X @ X.sum(axis=0) - kd  # K~ 1
    l1 = Y @ Y.sum(axis=0) - ld
    return (tr_kl + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2.0 * (k1 @ l1) / (n - 2)) / (n * (n - 3))


def linear_cka(A: object, B: object, unbiased: bool = False) -> float:
    """Linear CKA between paired feature sets (rows = items), in [0, 1] when biased."""
    A64, B64 = _paired(A, B)
    if unbiased:
        if A64.shape[0] < 4:
            raise ValueError("unbiased CKA needs at least 4 rows")
        hab = _hsic_parts(A64, B64)
        return float(hab / np.sqrt(_hsic_parts(A64, A64) * _hsic_parts(B64, B64)))
    Ac = A64 - A64.mean(axis=0)
    Bc = B64 - B64.mean(axis=0)
    # ||Ac^T Bc||_F^2 / (||Ac^T Ac||_F ||Bc^T Bc||_F): feature-space form of tr(KHLH)/...
    num = np.sum((Ac.T @ Bc) ** 2)
    den = np.sqrt(np.sum((Ac.T @ Ac) ** 2) * np.sum((Bc.T @ Bc) ** 2))
    if den == 0:
        raise ValueError("CKA is undefined for a constant feature set")
    return float(num / den)


def rsa_spearman(A: object, B: object, metric: Metric = "cosine") -> float:
    """Spearman correlation of the condensed pairwise-distance vectors (O(N^2) memory)."""
    A64, B64 = _paired(A, B)
    check_metric(metric)
    if metric == "cosine":
        cosine_normalise(A64, "A"), cosine_normalise(B64, "B")  # zero rows are an error
    da = scipy.spatial.distance.pdist(A64, metric=metric)
    db = scipy.spatial.distance.pdist(B64, metric=metric)
    return float(scipy.stats.spearmanr(da, db).statistic)


def _as_label_sets(labels: LabelSets, n: int, name: str) -> list[tuple[int, ...]]:
    """Each item's labels as a tuple of ints (an int label becomes a 1-tuple)."""
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} entries for {n} rows")
    return [(int(x),) if np.ndim(x) == 0 else tuple(int(v) for v in x) for x in labels]


def _label_matrices(sets_q: list[tuple[int, ...]], sets_d: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Binary membership matrices over one shared label vocabulary."""
    vocab = {v: j for j, v in enumerate(sorted({v for s in sets_q + sets_d for v in s}))}
    out = []
    for sets in (sets_q, sets_d):
        M = np.zeros((len(sets), max(1, len(vocab))), dtype=np.float32)
        for i, s in enumerate(sets):
            M[i, [vocab[v] for v in s]] = 1.0
        out.append(M)
    return out[0], out[1]


def _rank_database(Q: np.ndarray, D: np.ndarray, metric: str, rep: np.ndarray) -> np.ndarray:
    """Database indices per query, nearest first, ties by the lower index (float64).

    ``rep[j]`` is the first database row identical to row j: copying its distance makes exact
    duplicates tie exactly, whatever rounding the GEMM gives each copy.
    """
    if metric == "cosine":
        dist = 1.0 - cosine_normalise(Q, "queries") @ cosine_normalise(D, "database").T
    else:
        dist = (Q * Q).sum(1)[:, None] + (D * D).sum(1)[None, :] - 2.0 * Q @ D.T
    return np.argsort(dist[:, rep], axis=1, kind="stable")


def _duplicate_representative(D: np.ndarray) -> np.ndarray:
    _, first, inverse = np.unique(D, axis=0, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)]


def retrieval_map(
    queries: object,
    database: object,
    query_labels: LabelSets,
    database_labels: LabelSets | None = None,
    metric: Metric = "cosine",
    block: int = 1024,
    exclude_self: bool = False,
) -> float:
    """Mean average precision over queries, relevance = sharing at least one label.

    Labels per item are an int or a collection of ints (IAPR's label-id lists).
    ``database_labels`` defaults to ``query_labels`` (paired cross-modal sets). AP is over
    the full ranking; queries with no relevant item have no AP and are skipped.

    ``exclude_self=True`` (within-set retrieval, queries and database the same rows): database
    item i is removed from query i's ranking, so AP is over the other N - 1 items (the
    leave-query-out protocol, in one vectorised pass). Needs as many queries as database items.
    """
    Q, D = check_features(queries, "queries"), check_features(database, "database")
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"queries and database must share a space, got dims {Q.shape[1]} and {D.shape[1]}")
    check_metric(metric)
    if exclude_self and Q.shape[0] != D.shape[0]:
        raise ValueError(f"exclude_self needs the queries to be the database rows, got {Q.shape[0]} queries "
                         f"and {D.shape[0]} database items")
    sets_q = _as_label_sets(query_labels, Q.shape[0], "query_labels")
    sets_d = sets_q if database_labels is None else _as_label_sets(database_labels, D.shape[0], "database_labels")
    Lq, Ld = _label_matrices(sets_q, sets_d)
    rep = _duplicate_representative(D)
    ranks = np.arange(1, D.shape[0] + (0 if exclude_self else 1))
    aps: list[np.ndarray] = []
    for s in range(0, Q.shape[0], block):
        order = _rank_database(Q[s : s + block], D, metric, rep)
        if exclude_self:  # drop each query's own row from its ranking, keeping the others' order
            own = order == np.arange(s, s + len(order))[:, None]
            order = order[~own].reshape(len(order), D.shape[0] - 1)
        rel = (Lq[s : s + block] @ Ld.T > 0)[np.arange(len(order))[:, None], order]
        precision = np.cumsum(rel, axis=1) / ranks
        n_rel = rel.sum(axis=1)
        has = n_rel > 0
        aps.append((precision * rel).sum(axis=1)[has] / n_rel[has])
    all_ap = np.concatenate(aps)
    if len(all_ap) == 0:
        raise ValueError("no query has a relevant database item")
    return float(all_ap.mean())


def recall_at_k(queries: object, database: object, k: int = 10, metric: Metric = "cosine", block: int = 1024) -> float:
    """Fraction of queries i whose paired item i is among the k nearest database items."""
    Q, D = _paired(queries, database)
    if Q.shape[1] != D.shape[1]:
        raise ValueError(f"queries and database must share a space, got dims {Q.shape[1]} and {D.shape[1]}")
    check_metric(metric)
    if not 1 <= k <= D.shape[0]:
        raise ValueError(f"k={k} must be within 1..N for N={D.shape[0]}")
    rep = _duplicate_representative(D)
    hits = 0
    for s in range(0, Q.shape[0], block):
        order = _rank_database(Q[s : s + block], D, metric, rep)[:, :k]
        hits += int((order == np.arange(s, s + len(order))[:, None]).any(axis=1).sum())
    return hits / Q.shape[0]
