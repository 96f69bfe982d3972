"""Peer representation-similarity metrics, for comparison with mNNO.

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

``retrieval_map`` (class-label mAP) and ``recall_at_k`` (paired R@K) are the retrieval measures
of ``crossmodal.measures.retrieval``, importable from here too.
"""

from __future__ import annotations

import numpy as np
import scipy.spatial.distance
import scipy.stats
import torch

from crossmodal.measures.nno import overlap_counts
from crossmodal.measures.ranks import LabelSets
from crossmodal.measures.retrieval import recall_at_k, retrieval_map
from crossmodal.metrics.knn import (
    Metric,
    check_features,
    check_metric,
    cosine_normalise,
)

__all__ = ["LabelSets", "linear_cka", "mutual_knn_alignment", "recall_at_k", "retrieval_map", "rsa_spearman"]


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
