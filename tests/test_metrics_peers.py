"""Peer metrics against independent references written here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from crossmodal.metrics import (
    linear_cka,
    mnno,
    mutual_knn_alignment,
    recall_at_k,
    retrieval_map,
    rsa_spearman,
)


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(21)
    A = rng.standard_normal((120, 9))
    B = A @ rng.standard_normal((9, 14)) + 0.7 * rng.standard_normal((120, 14))
    return A, B


# ---------------------------------------------------------------------------- mutual kNN (PRH)


def prh_mutual_knn(feats_A: torch.Tensor, feats_B: torch.Tensor, topk: int) -> float:
    """The Platonic Representation Hypothesis code (metrics.py), features normalised first."""
    feats_A = torch.nn.functional.normalize(feats_A, dim=-1)
    feats_B = torch.nn.functional.normalize(feats_B, dim=-1)

    def compute_nearest_neighbors(feats: torch.Tensor, topk: int) -> torch.Tensor:
        return (feats @ feats.T).fill_diagonal_(-1e8).argsort(dim=1, descending=True)[:, :topk]

    knn_A = compute_nearest_neighbors(feats_A, topk)
    knn_B = compute_nearest_neighbors(feats_B, topk)
    n = knn_A.shape[0]
    range_tensor = torch.arange(n).unsqueeze(1)
    lvm_mask = torch.zeros(n, n)
    llm_mask = torch.zeros(n, n)
    lvm_mask[range_tensor, knn_A] = 1.0
    llm_mask[range_tensor, knn_B] = 1.0
    acc = (lvm_mask * llm_mask).sum(dim=1) / topk
    return acc.mean().item()


def test_mutual_knn_matches_prh_code_and_mnno(pair) -> None:
    A, B = pair
    for k in (1, 5, 10):
        ours = mutual_knn_alignment(A, B, k)
        assert math.isclose(ours, prh_mutual_knn(torch.from_numpy(A), torch.from_numpy(B), k), abs_tol=1e-6)
        assert ours == mnno(A, B, k, "cosine", include_self=False)  # the documented relation


# -------------------------------------------------------------------------------------- CKA


def gram_hsic_biased(K: np.ndarray, L: np.ndarray) -> float:
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(K @ H @ L @ H)) / (n - 1) ** 2


def gram_hsic_unbiased(K: np.ndarray, L: np.ndarray) -> float:
    """Song et al. (2012), eq. 5, written out on the Gram matrices."""
    n = len(K)
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0.0)
    np.fill_diagonal(Lt, 0.0)
    one = np.ones(n)
    term = np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2)) - 2.0 * (one @ Kt @ Lt @ one) / (n - 2)
    return float(term) / (n * (n - 3))


@pytest.mark.parametrize("unbiased", [False, True])
def test_linear_cka_matches_gram_reference(pair, unbiased: bool) -> None:
    A, B = pair
    K, L = A @ A.T, B @ B.T
    hsic = gram_hsic_unbiased if unbiased else gram_hsic_biased
    expected = hsic(K, L) / math.sqrt(hsic(K, K) * hsic(L, L))
    assert math.isclose(linear_cka(A, B, unbiased=unbiased), expected, rel_tol=1e-9)


def test_linear_cka_invariances(pair) -> None:
    A, _ = pair
    rng = np.random.default_rng(22)
    Q, _ = np.linalg.qr(rng.standard_normal((9, 9)))
    assert math.isclose(linear_cka(A, 4.0 * A @ Q), 1.0, rel_tol=1e-12)
    assert math.isclose(linear_cka(A, 4.0 * A @ Q, unbiased=True), 1.0, rel_tol=1e-9)


# -------------------------------------------------------------------------------------- RSA


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_rsa_matches_reference(pair, metric: str) -> None:
    A, B = pair

    def condensed(X: np.ndarray) -> np.ndarray:
        n = len(X)
        out = []
        for i in range(n):
            for j in range(i + 1, n):
                if metric == "cosine":
                    out.append(1.0 - X[i] @ X[j] / (np.linalg.norm(X[i]) * np.linalg.norm(X[j])))
                else:
                    out.append(np.linalg.norm(X[i] - X[j]))
        return np.array(out)

    ra = scipy.stats.rankdata(condensed(A))
    rb = scipy.stats.rankdata(condensed(B))
    expected = np.corrcoef(ra, rb)[0, 1]
    assert math.isclose(rsa_spearman(A, B, metric), expected, rel_tol=1e-9)


# -------------------------------------------------------------------------------- retrieval


def reference_ranking(q: np.ndarray, D: np.ndarray, metric: str) -> list[int]:
    """Pure-python ranking of the database for one query; ties by the lower index."""
    def dist(j: int) -> float:
        if metric == "cosine":
            return 1.0 - float(q @ D[j]) / (np.linalg.norm(q) * np.linalg.norm(D[j]))
        return float(np.sum((q - D[j]) ** 2))

    return sorted(range(len(D)), key=lambda j: (dist(j), j))


def reference_map(Q, D, labels_q, labels_d, metric) -> float:
    aps = []
    for i, q in enumerate(Q):
        ranking = reference_ranking(q, D, metric)
        rel = [bool(set(labels_q[i]) & set(labels_d[j])) for j in ranking]
        if not any(rel):
            continue
        hits, total = 0, 0.0
        for r, is_rel in enumerate(rel, start=1):
            if is_rel:
                hits += 1
                total += hits / r
        aps.append(total / sum(rel))
    return float(np.mean(aps))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_map_multilabel_matches_reference(metric: str) -> None:
    rng = np.random.default_rng(23)
    n = 80
    Q = rng.standard_normal((n, 6))
    D = Q + 0.8 * rng.standard_normal((n, 6))
    D[5] = D[9] = D[30]  # duplicates in the database tie exactly
    labels = [tuple(rng.choice(12, size=rng.integers(1, 4), replace=False)) for _ in range(n)]
    labels[3] = (99,)  # a query nobody shares a label with is skipped
    expected = reference_map(Q, D, labels, labels, metric)
    assert math.isclose(retrieval_map(Q, D, labels, metric=metric, block=17), expected, rel_tol=1e-12)


def test_map_single_labels_and_separate_database() -> None:
    rng = np.random.default_rng(24)
    Q, D = rng.standard_normal((40, 5)), rng.standard_normal((55, 5))
    lq, ld = rng.integers(0, 4, 40), rng.integers(0, 4, 55)
    expected = reference_map(Q, D, [(x,) for x in lq], [(x,) for x in ld], "cosine")
    assert math.isclose(retrieval_map(Q, D, lq, ld), expected, rel_tol=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_recall_at_k_matches_reference(metric: str) -> None:
    rng = np.random.default_rng(25)
    Q = rng.standard_normal((70, 4))
    D = Q + 0.9 * rng.standard_normal((70, 4))
    for k in (1, 5, 20):
        expected = np.mean([i in reference_ranking(Q[i], D, metric)[:k] for i in range(len(Q))])
        assert recall_at_k(Q, D, k, metric, block=13) == expected


def test_retrieval_errors() -> None:
    X = np.eye(4)
    with pytest.raises(ValueError, match="share a space"):
        retrieval_map(X, np.ones((4, 3)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="3 entries for 4 rows"):
        retrieval_map(X, X, [0, 1, 2])
    with pytest.raises(ValueError, match="k=5"):
        recall_at_k(X, X, 5)
    with pytest.raises(ValueError, match="same number of rows"):
        linear_cka(X, np.eye(5))


@pytest.mark.shared_data
def test_iapr_map_multilabel_on_real_labels(shared_data) -> None:
    # IAPR label-id lists as relevance; image -> image retrieval (one space, no mapping).
    frame = pd.read_csv(shared_data / "iaprtc12" / "TS_vis_vgg128.csv", header=None)
    labels = [tuple(int(v) for v in str(s).split()) for s in frame.iloc[:300, 0]]
    X = frame.iloc[:300, 1:].to_numpy(np.float64)
    expected = reference_map(X, X, labels, labels, "cosine")
    assert math.isclose(retrieval_map(X, X, labels), expected, rel_tol=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_map_exclude_self_matches_leaving_each_query_out(metric: str) -> None:
    rng = np.random.default_rng(26)
    n = 60
    X = rng.standard_normal((n, 5))
    labels = [tuple(rng.choice(8, size=rng.integers(1, 3), replace=False)) for _ in range(n)]
    labels[7] = (99,)  # relevant only to itself: no AP once it is left out
    aps = []
    for i in range(n):  # the slow protocol: one retrieval per query against the other n - 1 items
        others = [j for j in range(n) if j != i]
        if not any(set(labels[i]) & set(labels[j]) for j in others):
            continue
        aps.append(retrieval_map(X[[i, i]], X[others], [labels[i]] * 2, [labels[j] for j in others], metric=metric))
    got = retrieval_map(X, X, labels, metric=metric, block=11, exclude_self=True)
    assert math.isclose(got, float(np.mean(aps)), rel_tol=1e-12)
    assert got < retrieval_map(X, X, labels, metric=metric)  # self at rank 1 inflates the plain mAP
    with pytest.raises(ValueError, match="exclude_self"):
        retrieval_map(X, X[:10], labels, labels[:10], exclude_self=True)
