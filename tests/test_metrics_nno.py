"""NNO / mNNO against set intersections of the float64 brute-force neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics_knn import (
    LATTICE_SCALES,
    lattice_case,
    load_real,
    order_from_distances,
    real_reference_distances,
    reference_knn,
    with_duplicates,
)

from crossmodal.metrics import knn_indices, mnno, nno_per_item


def reference_nno(V: np.ndarray, Z: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    nv = reference_knn(V, k, metric, include_self)
    nz = reference_knn(Z, k, metric, include_self)
    return np.array([len(set(a) & set(b)) for a, b in zip(nv.tolist(), nz.tolist(), strict=True)])


def test_paper_worked_example() -> None:
    # §3.1: NN3(v_cat) = {dog, tiger, lion}, NN3(z_cat) = {mouse, tiger, lion} -> NNO3 = 2.
    cat, dog, tiger, lion, mouse = range(5)
    nn_v = np.array([[dog, tiger, lion], [cat, tiger, lion], [cat, dog, lion], [cat, dog, tiger], [cat, dog, tiger]])
    nn_z = np.array([[mouse, tiger, lion], [cat, tiger, lion], [cat, dog, lion], [cat, dog, tiger], [cat, dog, tiger]])
    assert nno_per_item(nn_v, nn_z, k=3)[cat] == 2


def test_paper_worked_example_from_vectors() -> None:
    # The same neighbourhoods from points on a line (euclidean), so knn_indices is exercised.
    #              cat   dog   tiger  lion  mouse
    V = np.array([[0.0], [1.0], [-1.1], [1.2], [-5.0]])
    Z = np.array([[0.0], [9.0], [1.0], [-1.1], [1.2]])
    assert set(knn_indices(V, 3, "euclidean")[0]) == {1, 2, 3}
    assert set(knn_indices(Z, 3, "euclidean")[0]) == {4, 2, 3}
    assert nno_per_item(V, Z, 3, "euclidean")[0] == 2


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("include_self", [False, True])
def test_matches_reference_on_random_and_duplicates(metric: str, include_self: bool) -> None:
    rng = np.random.default_rng(11)
    V = with_duplicates(rng, 300, 12)
    Z = V[:, :6] @ rng.standard_normal((6, 20)) + 0.3 * rng.standard_normal((300, 20))  # related, other dim
    for k in (1, 5, 10):
        expected = reference_nno(V, Z, k, metric, include_self)
        np.testing.assert_array_equal(nno_per_item(V, Z, k, metric, include_self), expected)
        assert mnno(V, Z, k, metric, include_self) == expected.sum() / (k * len(V))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("include_self", [False, True])
def test_lattice_mnno_matches_exact_fraction_reference(metric: str, include_self: bool) -> None:
    # Integer lattices with permuted and scaled copies: equal distances everywhere; the
    # expected overlaps come from exact (Fraction) neighbour orders, never from float64.
    HV, ov = lattice_case(21, 300, 4, metric)
    HZ, oz = lattice_case(22, 300, 6, metric)
    if include_self:
        ov = np.hstack([np.arange(300)[:, None], ov[:, :-1]])
        oz = np.hstack([np.arange(300)[:, None], oz[:, :-1]])
    for scale in LATTICE_SCALES:
        V, Z = HV * scale, HZ * scale
        for k in (1, 5, 10):
            expected = np.array([len(set(a) & set(b)) for a, b in zip(ov[:, :k].tolist(), oz[:, :k].tolist())])
            np.testing.assert_array_equal(nno_per_item(V, Z, k, metric, include_self), expected)
            assert mnno(V, Z, k, metric, include_self) == expected.sum() / (k * 300)


def test_precomputed_neighbours_are_reused() -> None:
    rng = np.random.default_rng(12)
    V, Z = rng.standard_normal((200, 8)), rng.standard_normal((200, 5))
    wide_v = knn_indices(V, 25)
    wide_z = knn_indices(Z, 25)
    for k in (3, 10, 25):
        direct = mnno(V, Z, k)
        assert mnno(wide_v, wide_z, k) == direct  # first k columns of a wider array
        assert mnno(V, wide_z, k) == direct  # features on one side, neighbours on the other
    with_self = knn_indices(V, 10, include_self=True)
    assert mnno(with_self, knn_indices(Z, 10, include_self=True), 10, include_self=True) == mnno(
        V, Z, 10, include_self=True
    )


def test_identity_and_invariances() -> None:
    rng = np.random.default_rng(13)
    V = rng.standard_normal((150, 10))
    assert mnno(V, V, 10) == 1.0
    assert mnno(V, 3.0 * V, 10, "cosine") == 1.0  # cosine ignores scale
    assert mnno(V, V + 100.0, 10, "euclidean") == 1.0  # euclidean ignores translation
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    assert mnno(V, V @ Q, 10, "euclidean") == 1.0  # and rotation


def test_self_rule_relation() -> None:
    # Self first: NN^K with self = {i} ∪ NN^(K-1) without self, so the overlaps are related.
    rng = np.random.default_rng(14)
    V, Z = rng.standard_normal((250, 6)), rng.standard_normal((250, 9))
    for k in (2, 10):
        with_self = nno_per_item(V, Z, k, include_self=True)
        without = nno_per_item(V, Z, k - 1, include_self=False)
        np.testing.assert_array_equal(with_self, without + 1)


@pytest.mark.parametrize(
    ("V", "Z", "kwargs", "pattern"),
    [
        (np.ones((5, 2)), np.ones((6, 2)), {}, r"same number of rows.*5 and 6"),
        (np.eye(5), np.r_[np.eye(5)[:4], [[0, np.nan, 0, 0, 0]]], {"k": 2}, r"Z.*NaN or Inf.*row: 4"),
        (np.eye(5), np.eye(5), {"k": 5}, r"too large"),
        (np.eye(5), np.eye(5), {"k": 0}, r"at least 1"),
        (np.eye(5), np.eye(5), {"metric": "dot"}, r"unknown metric"),
        (np.r_[np.eye(4), np.zeros((1, 4))], np.eye(5), {"k": 2}, r"V.*zero vector.*row 4"),
        (np.zeros((1, 3)), np.zeros((1, 3)), {"k": 1}, r"1 row"),
    ],
)
def test_errors(V: np.ndarray, Z: np.ndarray, kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        mnno(V, Z, **kwargs)


def test_precomputed_neighbour_errors() -> None:
    rng = np.random.default_rng(15)
    X = rng.standard_normal((20, 3))
    nn = knn_indices(X, 4)
    with pytest.raises(ValueError, match="fewer than k=5"):
        mnno(nn, nn, 5)
    with pytest.raises(ValueError, match="contains itself"):
        mnno(knn_indices(X, 4, include_self=True), nn, 4)
    with pytest.raises(ValueError, match="lacks itself"):
        mnno(nn, nn, 4, include_self=True)
    bad = nn.copy()
    bad[7, 1] = 20
    with pytest.raises(ValueError, match="outside 0..19.*row: 7"):
        mnno(bad, nn, 4)
    counts = rng.integers(0, 2, size=(20, 6))  # integer *features* by mistake
    with pytest.raises(ValueError, match="repeats a neighbour index"):
        mnno(counts, X, 4)


def test_deterministic() -> None:
    rng = np.random.default_rng(16)
    V, Z = with_duplicates(rng, 300, 7), rng.standard_normal((300, 4))
    np.testing.assert_array_equal(nno_per_item(V, Z, 10), nno_per_item(V.copy(), Z.copy(), 10))


@pytest.mark.shared_data
@pytest.mark.parametrize("include_self", [False, True])
def test_iapr_mnno_matches_reference(shared_data, include_self: bool) -> None:
    root = str(shared_data)
    V, Z = load_real(root, "vgg128"), load_real(root, "biGRU")
    ov = order_from_distances(real_reference_distances(root, "vgg128", "cosine"), include_self)[:, :10]
    oz = order_from_distances(real_reference_distances(root, "biGRU", "cosine"), include_self)[:, :10]
    expected = sum(len(set(a) & set(b)) for a, b in zip(ov.tolist(), oz.tolist(), strict=True)) / (10 * len(V))
    assert mnno(V, Z, 10, "cosine", include_self) == expected


@pytest.mark.shared_data
def test_wikipedia_mnno_matches_reference(shared_data) -> None:
    root = str(shared_data)
    V, Z = load_real(root, "sift_te"), load_real(root, "lda_te")
    for metric in ("cosine", "euclidean"):
        ov = order_from_distances(real_reference_distances(root, "sift_te", metric), False)[:, :10]
        oz = order_from_distances(real_reference_distances(root, "lda_te", metric), False)[:, :10]
        expected = [len(set(a) & set(b)) for a, b in zip(ov.tolist(), oz.tolist(), strict=True)]
        np.testing.assert_array_equal(nno_per_item(V, Z, 10, metric), expected)
