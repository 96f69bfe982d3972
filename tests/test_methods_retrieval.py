"""Retrieval scores against brute-force float64 references."""

from __future__ import annotations

import numpy as np
import scipy.stats
from sklearn.metrics import average_precision_score

from crossmodal.measures.ranks import average_precisions, csls, mean_average_precision, relevance
from crossmodal.measures.retrieval import cosine_scores, cross_stats
from crossmodal.experiments.methods_measures import retrieval_scores
from crossmodal.metrics.peers import retrieval_map


def test_map_matches_sklearn_per_query() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((40, 60))  # continuous: no ties, where sklearn's tie rule differs
    labels_q = [(int(c),) for c in rng.integers(0, 5, 40)]
    labels_g = [(int(c),) for c in rng.integers(0, 5, 60)]
    rel = relevance(labels_q, labels_g)
    expected = [average_precision_score(rel[i], scores[i]) for i in range(40) if rel[i].any()]
    np.testing.assert_allclose(average_precisions(scores, rel), expected, rtol=1e-12)
    assert mean_average_precision(scores, rel) == np.mean(average_precisions(scores, rel))


def test_multilabel_relevance_means_sharing_a_label() -> None:
    rel = relevance([(1, 2), (3,), (4,)], [(2,), (1, 3), (5,)])
    np.testing.assert_array_equal(rel, [[True, True, False], [False, True, False], [False, False, False]])
    rng = np.random.default_rng(1)
    aps = average_precisions(rng.standard_normal((3, 3)), rel)
    assert len(aps) == 2  # the query without a relevant item is skipped


def test_plain_map_agrees_with_the_metrics_module() -> None:
    rng = np.random.default_rng(2)
    Q, G = rng.standard_normal((50, 8)), rng.standard_normal((50, 8))
    labels = [(int(c),) for c in rng.integers(0, 4, 50)]
    sc = retrieval_scores(Q, G, labels)
    assert abs(sc.map_nn - retrieval_map(Q, G, [lab[0] for lab in labels])) < 1e-12


def test_csls_ranks_recall_and_hubness_against_brute_force() -> None:
    rng = np.random.default_rng(3)
    Q = rng.standard_normal((80, 6))
    G = Q + 0.8 * rng.standard_normal((80, 6))
    k = 10
    S = cosine_scores(Q, G)
    # brute-force CSLS: r_G(q_i) = mean of the k largest s_i., r_Q(g_j) = mean of the k largest s_.j
    r_g = np.sort(S, axis=1)[:, -k:].mean(axis=1)
    r_q = np.sort(S, axis=0)[-k:, :].mean(axis=0)
    C = 2 * S - r_g[:, None] - r_q[None, :]
    st = cross_stats(Q, G, k, k)
    np.testing.assert_allclose(csls(S, st.r_y[:, None], st.r_f[None, :]), C, atol=1e-12)
    rank_csls = 1 + (C > np.diag(C)[:, None]).sum(axis=1)
    rank_nn = 1 + (S > np.diag(S)[:, None]).sum(axis=1)
    n_k = np.bincount(np.argsort(-S, axis=1, kind="stable")[:, :k].ravel(), minlength=80)
    sc = retrieval_scores(Q, G, None, recall_ks=(1, 5), hub_k=k, csls_k=k)
    assert np.isnan(sc.map_nn) and np.isnan(sc.map_csls)
    for K in (1, 5):
        assert sc.recall_nn[K] == np.mean(rank_nn <= K)
        assert sc.recall_csls[K] == np.mean(rank_csls <= K)
    assert abs(sc.hub_skewness - scipy.stats.skew(n_k.astype(float))) < 1e-12
    assert sc.antihub_share == np.mean(n_k == 0)


def test_csls_map_is_the_map_of_the_csls_scores() -> None:
    rng = np.random.default_rng(4)
    Q, G = rng.standard_normal((60, 5)), rng.standard_normal((60, 5))
    labels = [(int(c),) for c in rng.integers(0, 3, 60)]
    st = cross_stats(Q, G, 10, 10)
    expected = mean_average_precision(csls(cosine_scores(Q, G), st.r_y[:, None], st.r_f[None, :]), relevance(labels, labels))
    assert retrieval_scores(Q, G, labels).map_csls == expected
