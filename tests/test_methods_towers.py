"""The torch two-tower methods: VSE++'s loss by hand, the deep CCA objective, and each method on
synthetic data where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossmodal.measures.ranks import mean_average_precision, relevance
from crossmodal.measures.retrieval import cosine_scores, paired_mrr
from crossmodal.mappers.cca_fit import canonical_correlations, fit_ridge_cca
from crossmodal.experiments.methods import limited_threads
from crossmodal.mappers.towers_fit import _fit_classifier, _fit_corr_ae, _fit_vse, hardest_negative_loss, total_correlation


@pytest.fixture(autouse=True)
def _one_thread():
    with limited_threads(1):
        yield


def base_of(name: str, given: dict) -> dict:
    """A two-tower base setting completed with the registered defaults (epochs are variants)."""
    from crossmodal.mappers.registry import get

    return {k: v for k, v in get(name).resolve_params(given).items() if k != "epochs"}


def test_hardest_negative_loss_by_hand() -> None:
    S = torch.tensor([[0.9, 0.3, 0.8],
                      [0.1, 0.5, 0.2],
                      [0.4, 0.7, 0.6]])
    # margin 0.2; item i: [0.2 - s_ii + max_{j≠i} s_ij]+ + [0.2 - s_ii + max_{j≠i} s_ji]+
    # item 0: texts 0.3, 0.8 -> 0.2 - 0.9 + 0.8 = 0.1;  images 0.1, 0.4 -> 0.2 - 0.9 + 0.4 < 0 -> 0
    # item 1: texts 0.1, 0.2 -> 0.2 - 0.5 + 0.2 < 0 -> 0; images 0.3, 0.7 -> 0.2 - 0.5 + 0.7 = 0.4
    # item 2: texts 0.4, 0.7 -> 0.2 - 0.6 + 0.7 = 0.3;    images 0.8, 0.2 -> 0.2 - 0.6 + 0.8 = 0.4
    expected = torch.tensor([0.1, 0.4, 0.3 + 0.4])
    torch.testing.assert_close(hardest_negative_loss(S, 0.2), expected)


def test_total_correlation_is_the_sum_of_canonical_correlations() -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 4))
    Y = X[:, :3] @ rng.standard_normal((3, 3)) + rng.standard_normal((500, 3))
    _, corr = fit_ridge_cca(X, Y, 3)
    got = float(total_correlation(torch.tensor(X), torch.tensor(Y), r=0.0))
    assert abs(got - corr.sum()) < 1e-8


def _blobs(n: int, seed: int, n_classes: int = 4) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """Separable classes: class means far apart (in X and, independently, in Y) plus unit noise."""
    rng = np.random.default_rng(seed)
    c = rng.integers(0, n_classes, n)
    mx, my = 6 * rng.standard_normal((n_classes, 10)), 6 * rng.standard_normal((n_classes, 7))
    X = mx[c] + rng.standard_normal((n, 10))
    Y = my[c] + rng.standard_normal((n, 7))
    return X, Y, [(int(v),) for v in c]


def test_classifier_proxy_on_separable_classes() -> None:
    X, Y, labels = _blobs(600, 1)
    train, test = np.arange(400), np.arange(400, 600)
    space = _fit_classifier(X[train], Y[train], [labels[i] for i in train], base_of("classifier", {"lr": 1e-2}), [{"epochs": 30}], seed=0)[0]
    gx, hy = space.map_x(X[test]), space.map_y(Y[test])
    truth = np.array([labels[i][0] for i in test])
    assert np.allclose(gx.sum(axis=1), 1.0) and (gx >= 0).all()  # class probabilities
    assert np.mean(gx.argmax(axis=1) == truth) > 0.97 and np.mean(hy.argmax(axis=1) == truth) > 0.97
    rel = relevance([labels[i] for i in test], [labels[i] for i in test])
    assert mean_average_precision(cosine_scores(gx, hy), rel) > 0.95


def test_classifier_proxy_multilabel_gives_independent_probabilities() -> None:
    X, Y, labels = _blobs(300, 2)
    multi = [(lab[0], 9) if i % 2 else lab for i, lab in enumerate(labels)]  # label 9 on every other item
    space = _fit_classifier(X, Y, multi, base_of("classifier", {}), [{"epochs": 5}], seed=0)[0]
    p = space.map_x(X[:10])
    assert p.shape == (10, 5) and ((p > 0) & (p < 1)).all() and not np.allclose(p.sum(axis=1), 1.0)


def _shared_latent(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X and Y are different noisy linear views of one 4-d latent."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 4))
    X = Z @ rng.standard_normal((4, 12)) + 0.2 * rng.standard_normal((n, 12))
    Y = Z @ rng.standard_normal((4, 9)) + 0.2 * rng.standard_normal((n, 9))
    return X, Y


def test_corr_ae_reconstructs_and_aligns_codes() -> None:
    X, Y = _shared_latent(900, 3)
    train, test = slice(0, 700), slice(700, 900)
    base = {"hidden": 64, "code": 8, "lr": 3e-3}
    with_corr = _fit_corr_ae(X[train], Y[train], None, base_of("corr-ae", {**base, "alpha": 0.5}), [{"epochs": 40}], seed=0)[0]
    no_corr = _fit_corr_ae(X[train], Y[train], None, base_of("corr-ae", {**base, "alpha": 0.0}), [{"epochs": 40}], seed=0)[0]
    # the codes carry the views: training reconstruction far below the variance (1 per column)
    assert with_corr.details["train_reconstruction_mse"] < 0.3
    # the correspondence term is what makes g(x_i) and h(y_i) land together
    mrr_with = paired_mrr(with_corr.map_x(X[test]), with_corr.map_y(Y[test]))
    mrr_without = paired_mrr(no_corr.map_x(X[test]), no_corr.map_y(Y[test]))
    assert mrr_with > 0.3 and mrr_with > 5 * mrr_without, (mrr_with, mrr_without)


def test_vse_learns_a_joint_space() -> None:
    X, Y = _shared_latent(900, 4)
    train, test = slice(0, 700), slice(700, 900)
    spaces = _fit_vse(X[train], Y[train], None, base_of("vse++", {"hidden": 64, "dim": 16, "lr": 3e-3}), [{"epochs": 1}, {"epochs": 30}], seed=0)
    early, late = (paired_mrr(s.map_x(X[test]), s.map_y(Y[test])) for s in spaces)
    assert late > 0.3 and late > early + 0.1, (early, late)
    corr = canonical_correlations(spaces[1].map_x(X[test]), spaces[1].map_y(Y[test]))
    assert np.nanmean(np.abs(corr)) > 0.5
