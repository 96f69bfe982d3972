"""CCA, kernel CCA and deep CCA on data with a planted answer."""

from __future__ import annotations

import numpy as np
import pytest

from crossmodal.mappers.cca_fit import canonical_correlations, fit_ridge_cca, kcca_from_views, kernel_view
from crossmodal.experiments.methods import limited_threads
from crossmodal.mappers.shared import Standardiser
from crossmodal.mappers.towers_fit import _fit_dcca

RHO = (0.9, 0.6)


@pytest.fixture(autouse=True)
def _one_thread():
    with limited_threads(1):
        yield


def base_of(name: str, given: dict) -> dict:
    """A two-tower base setting completed with the registered defaults (epochs are variants)."""
    from crossmodal.mappers.registry import get

    return {k: v for k, v in get(name).resolve_params(given).items() if k != "epochs"}


def planted(n: int, seed: int = 0, dx: int = 6, dy: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X = [z, noise] A, Y = [ρ z + √(1 − ρ²) e, noise] B with independent standard normal z, e and
    noise, A and B random: the population canonical correlations are exactly RHO (then 0), and
    the canonical variates of X are z (up to sign)."""
    rng = np.random.default_rng(seed)
    rho = np.asarray(RHO)
    Z = rng.standard_normal((n, len(rho)))
    zy = rho * Z + np.sqrt(1 - rho**2) * rng.standard_normal((n, len(rho)))
    X = np.hstack([Z, rng.standard_normal((n, dx - len(rho)))]) @ rng.standard_normal((dx, dx))
    Y = np.hstack([zy, rng.standard_normal((n, dy - len(rho)))]) @ rng.standard_normal((dy, dy))
    return X, Y, Z


def test_cca_recovers_the_planted_correlations_and_subspace() -> None:
    X, Y, Z = planted(6000)
    train, test = slice(0, 5000), slice(5000, 6000)
    space, corr_train = fit_ridge_cca(X[train], Y[train], 2)
    corr_test = canonical_correlations(space.map_x(X[test]), space.map_y(Y[test]))
    # sampling error of a canonical correlation ≈ (1 − ρ²)/√n: < 0.02 at n = 1000
    np.testing.assert_allclose(np.abs(corr_train), RHO, atol=0.02)
    np.testing.assert_allclose(np.abs(corr_test), RHO, atol=0.04)
    # the X variates are the planted z (sign free): near-perfect correlation with them
    gx = space.map_x(X[test])
    for k in range(2):
        assert abs(np.corrcoef(gx[:, k], Z[test, k])[0, 1]) > 0.98
    # the variates are uncorrelated with unit variance on the training rows (c = 0)
    G = space.map_x(X[train])
    np.testing.assert_allclose(np.cov(G.T), np.eye(2), atol=1e-8)


def test_kcca_with_a_linear_kernel_is_cca() -> None:
    X, Y, _ = planted(300, seed=1)
    vx, vy = kernel_view(X, "linear"), kernel_view(Y, "linear")
    kspace, s = kcca_from_views(vx, vy, 4, 0.0)
    cspace, corr = fit_ridge_cca(X, Y, 4)
    np.testing.assert_allclose(s, corr, rtol=1e-8)
    new = np.random.default_rng(2).standard_normal((20, X.shape[1]))
    a, b = kspace.map_x(new), cspace.map_x(new)
    np.testing.assert_allclose(np.abs(a), np.abs(b), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(np.sign(a[0]) * a, np.sign(b[0]) * b, rtol=1e-6, atol=1e-9)  # one sign per component


def test_kcca_equals_cca_zoo_kcca() -> None:
    """Our eigenbasis solution against the library's generalised eigenproblem, RBF kernel, c > 0."""
    from cca_zoo.nonparametric import KCCA

    X, Y, _ = planted(150, seed=3)
    vx, vy = kernel_view(X, "rbf", 1.0), kernel_view(Y, "rbf", 0.5)
    ours, _ = kcca_from_views(vx, vy, 3, 0.3)
    sx, sy = Standardiser.fit(X), Standardiser.fit(Y)
    ref = KCCA(n_components=3, kernel="rbf", gamma=[vx.gamma, vy.gamma], shrinkage=0.3).fit([sx(X), sy(Y)])
    new_x, new_y = X[:40] + 0.1, Y[:40] - 0.1
    za, zb = ref.transform([sx(new_x), sy(new_y)])
    a, b = ours.map_x(new_x), ours.map_y(new_y)
    np.testing.assert_allclose(np.abs(a), np.abs(za), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(np.abs(b), np.abs(zb), rtol=1e-5, atol=1e-8)


def test_rbf_kcca_finds_a_nonlinear_relation_cca_misses() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(-2, 2, size=(600, 1))
    y = x**2 + 0.1 * rng.standard_normal((600, 1))  # uncorrelated with x, but a function of it
    X, Y = np.hstack([x, rng.standard_normal((600, 1))]), np.hstack([y, rng.standard_normal((600, 1))])
    train, test = slice(0, 400), slice(400, 600)
    cca, _ = fit_ridge_cca(X[train], Y[train], 1)
    kspace, _ = kcca_from_views(kernel_view(X[train], "rbf"), kernel_view(Y[train], "rbf"), 1, 0.1)
    c_lin = abs(canonical_correlations(cca.map_x(X[test]), cca.map_y(Y[test]))[0])
    c_rbf = abs(canonical_correlations(kspace.map_x(X[test]), kspace.map_y(Y[test]))[0])
    assert c_lin < 0.3 and c_rbf > 0.8, (c_lin, c_rbf)


def test_deep_cca_with_linear_towers_matches_cca() -> None:
    """With linear g, h the deep CCA objective is linear CCA's: the sum of the top canonical
    correlations, which CCA maximises exactly. Training must get there (and cannot exceed it)."""
    X, Y, _ = planted(4000, seed=5)
    train, test = slice(0, 3000), slice(3000, 4000)
    cca, corr = fit_ridge_cca(X[train], Y[train], 2)
    space = _fit_dcca(X[train], Y[train], None, base_of("dcca", {"hidden": None, "out": 2, "lr": 1e-2}), [{"epochs": 100}], seed=0)[0]
    total = space.details["train_correlation_sum"]
    assert 0.99 * corr.sum() <= total <= corr.sum() + 1e-9, (total, corr.sum())
    deep_test = np.abs(canonical_correlations(space.map_x(X[test]), space.map_y(Y[test])))
    cca_test = np.abs(canonical_correlations(cca.map_x(X[test]), cca.map_y(Y[test])))
    np.testing.assert_allclose(deep_test, cca_test, atol=0.02)
