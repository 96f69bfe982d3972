"""The paper's remedies as loss terms: the pairwise-similarity (KL) term and the adversarial term.

The toy sets have a Y structure that X determines, so a map can learn it; the terms must raise
mNNO(Y, f(X)) on held-out rows over the same model trained without them (same seed, lr, epochs).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossmodal.mappings.batched import RunSpec, fit_batched
from crossmodal.mappers.terms import AdversarialTerm, NeighbourhoodTerm, similarity_kl_per_item
from crossmodal.experiments.methods import limited_threads
from crossmodal.metrics.nno import mnno


@pytest.fixture(autouse=True)
def _one_thread():
    with limited_threads(1):  # small models: one thread is fastest on a shared machine
        yield


def _kl_reference(f: np.ndarray, y: np.ndarray, tau: float) -> np.ndarray:
    """KL(P_i ‖ Q_i) per row, written out in float64 with explicit loops."""
    def dist(A: np.ndarray, i: int) -> np.ndarray:
        a = A / np.linalg.norm(A, axis=1, keepdims=True)
        s = np.array([a[i] @ a[j] for j in range(len(A)) if j != i]) / tau
        e = np.exp(s - s.max())
        return e / e.sum()

    return np.array([float(np.sum(dist(y, i) * np.log(dist(y, i) / dist(f, i)))) for i in range(len(f))])


def test_similarity_kl_matches_a_written_out_reference_and_ignores_padding() -> None:
    rng = np.random.default_rng(0)
    f, y = rng.standard_normal((7, 4)), rng.standard_normal((7, 5))
    expected = _kl_reference(f, y, 0.3)
    # one run with 7 real rows, padded to 10 with garbage rows that must not matter
    F = np.vstack([f, 50 * rng.standard_normal((3, 4))])[None]
    Y = np.vstack([y, 50 * rng.standard_normal((3, 5))])[None]
    valid = torch.tensor([[True] * 7 + [False] * 3])
    got = similarity_kl_per_item(torch.tensor(F), torch.tensor(Y), valid, 0.3)[0, :7].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    assert (expected > 0).all()


def test_similarity_kl_is_zero_when_f_keeps_ys_directions() -> None:
    rng = np.random.default_rng(1)
    y = torch.tensor(rng.standard_normal((1, 9, 6)))
    scale = torch.tensor(rng.uniform(0.5, 3.0, size=(1, 9, 1)))  # cosine similarities ignore the norms
    kl = similarity_kl_per_item(y * scale, y, torch.ones(1, 9, dtype=torch.bool), 0.1)
    assert float(kl.abs().max()) < 1e-10


@pytest.mark.parametrize("term", [NeighbourhoodTerm(), AdversarialTerm()], ids=lambda t: t.name)
def test_a_term_with_zero_weight_changes_nothing(term: object) -> None:
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((90, 5)).astype(np.float32), rng.standard_normal((90, 3)).astype(np.float32)
    runs = [RunSpec(np.arange(0, 70), seed=4, lr=3e-3), RunSpec(np.arange(20, 90), seed=5, lr=1e-3)]
    plain = fit_batched(X, Y, runs, "nn", 8, 3, 16)
    zero = fit_batched(X, Y, [RunSpec(r.train, seed=r.seed, lr=r.lr, term_params=(0.0,)) for r in runs], "nn", 8, 3, 16,
                       term=term)  # type: ignore[arg-type]
    for a, b in zip(plain.weights + plain.biases, zero.weights + zero.biases):
        assert torch.equal(a, b)


def _clusters(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """X Gaussian; Y = the centre of the cluster X falls in (argmax of 12 random directions, a
    function of X) plus a small linear part: Y's neighbourhoods are learnable from X."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 8))
    k = np.argmax(X @ rng.standard_normal((12, 8)).T, axis=1)
    Y = 3.0 * rng.standard_normal((12, 16))[k] + X @ (0.3 * rng.standard_normal((8, 16)))
    return X.astype(np.float32), Y.astype(np.float32)


def _contaminated(n: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y = μ + Z B with X = Z + small noise; 70 % of the training pairs have their Y shuffled
    among themselves (the test pairs are clean). MSE then shrinks f(X) towards the mean, which
    changes cosine neighbourhoods around the offset μ; Y's spread is what a discriminator sees."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, 6))
    mu = rng.standard_normal(12)
    Y = 2.0 * mu / np.linalg.norm(mu) + Z @ (rng.standard_normal((6, 12)) / np.sqrt(6))
    X = Z + 0.1 * rng.standard_normal((n, 6))
    Y_train = Y.copy()
    bad = rng.choice(n_train, int(0.7 * n_train), replace=False)
    Y_train[bad] = Y[rng.permutation(bad)]
    return X.astype(np.float32), Y_train.astype(np.float32), Y.astype(np.float32)


def _held_out_mnno(X: np.ndarray, Y_fit: np.ndarray, Y_eval: np.ndarray, kind: str, hidden: int | None, seed: int,
                   term: object | None, params: tuple[float, ...]) -> float:
    train, test = np.arange(600), np.arange(600, 900)
    run = RunSpec(train, seed=seed, lr=1e-3, term_params=params)
    fit = fit_batched(X, Y_fit, [run], kind, hidden, 30, 64, term=term)  # type: ignore[arg-type]
    return mnno(Y_eval[test], fit.predict(X[test])[0], 10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_neighbourhood_term_raises_mnno_y_fx(seed: int) -> None:
    X, Y = _clusters(900, seed)
    without = _held_out_mnno(X, Y, Y, "lin", None, seed, None, ())
    with_term = _held_out_mnno(X, Y, Y, "lin", None, seed, NeighbourhoodTerm(), (10.0, 0.1))
    assert with_term > without + 0.03, (without, with_term)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adversarial_term_raises_mnno_y_fx(seed: int) -> None:
    X, Y_train, Y = _contaminated(900, 600, seed)
    without = _held_out_mnno(X, Y_train, Y, "nn", 64, seed, None, ())
    with_term = _held_out_mnno(X, Y_train, Y, "nn", 64, seed, AdversarialTerm(), (3.0, 1e-3))
    assert with_term > without + 0.03, (without, with_term)


def test_adversarial_training_is_deterministic() -> None:
    X, Y_train, Y = _contaminated(900, 600, 0)
    a = _held_out_mnno(X, Y_train, Y, "nn", 64, 0, AdversarialTerm(), (3.0, 1e-3))
    b = _held_out_mnno(X, Y_train, Y, "nn", 64, 0, AdversarialTerm(), (3.0, 1e-3))
    assert a == b
