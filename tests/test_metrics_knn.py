"""knn_indices against an independent float64 brute-force reference.

The reference sorts every row's float64 distances with numpy ``lexsort`` on (index,
distance), i.e. ties go to the lower index. With ``include_self=True`` the point itself gets
distance -inf (always first), without it +inf (never within the first N - 1).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import torch

from crossmodal.metrics import knn_indices


def reference_distances(X: np.ndarray, metric: str) -> np.ndarray:
    """(N, N) float64 distances, pair by pair: 1 - x̂_i.x̂_j (cosine), squared euclidean."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    F = X / np.sqrt((X * X).sum(axis=1))[:, None] if metric == "cosine" else X
    D = np.empty((n, n))
    step = max(1, (1 << 22) // (n * X.shape[1]))
    for s in range(0, n, step):
        rows = slice(s, min(s + step, n))
        if metric == "cosine":
            D[rows] = 1.0 - (F[None, :, :] * F[rows, None, :]).sum(axis=-1)
        else:
            diff = F[None, :, :] - F[rows, None, :]
            D[rows] = (diff * diff).sum(axis=-1)
    return D


def order_from_distances(D: np.ndarray, include_self: bool) -> np.ndarray:
    """Each row sorted by (distance, index); self at -inf (first) or +inf (last)."""
    D = D.copy()
    np.fill_diagonal(D, -np.inf if include_self else np.inf)
    idx = np.arange(len(D))
    return np.stack([np.lexsort((idx, row)) for row in D])


def reference_order(X: np.ndarray, metric: str, include_self: bool) -> np.ndarray:
    return order_from_distances(reference_distances(X, metric), include_self)


def reference_knn(X: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    return reference_order(X, metric, include_self)[:, :k]


def with_duplicates(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    X = rng.standard_normal((n, d))
    X[10:25] = X[3]  # 16 copies of row 3: more than k, so ties decide membership
    X[40] = X[41] = X[n - 1]  # copies after and before the original
    X[60:63] = 2.5 * X[7]  # cosine-equal to row 7, not bitwise equal
    return X


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("include_self", [False, True])
def test_random_and_duplicates_match_reference(metric: str, include_self: bool) -> None:
    rng = np.random.default_rng(1)
    for X in (rng.standard_normal((400, 16)), with_duplicates(rng, 400, 16)):
        order = reference_order(X, metric, include_self)
        for k in (1, 2, 10, 25):
            got = knn_indices(X, k, metric, include_self, tile=96)  # many tiles, ragged last
            np.testing.assert_array_equal(got, order[:, :k], err_msg=f"k={k}")


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_massive_ties_on_integer_lattice(metric: str) -> None:
    # Values in {0,1,2}: distances repeat exactly across many distinct points, and the tie
    # bands are far wider than the extra candidates kept, so the fallback path runs too.
    rng = np.random.default_rng(2)
    X = rng.integers(0, 3, size=(500, 3)).astype(np.float64)
    X[X.sum(axis=1) == 0, 0] = 1.0  # no zero vectors under cosine
    order = reference_order(X, metric, False)
    for k in (1, 5, 30):
        np.testing.assert_array_equal(knn_indices(X, k, metric, tile=128), order[:, :k])
    order_self = reference_order(X, metric, True)
    np.testing.assert_array_equal(knn_indices(X, 7, metric, True, tile=128), order_self[:, :7])


def test_all_points_identical() -> None:
    X = np.ones((30, 4))
    for metric in ("cosine", "euclidean"):
        np.testing.assert_array_equal(knn_indices(X, 5, metric), reference_knn(X, 5, metric, False))
        np.testing.assert_array_equal(knn_indices(X, 5, metric, True), reference_knn(X, 5, metric, True))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_extreme_k_and_tiny_sets(metric: str) -> None:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 3))
    np.testing.assert_array_equal(knn_indices(X, 8, metric), reference_knn(X, 8, metric, False))
    np.testing.assert_array_equal(knn_indices(X, 9, metric, True), reference_knn(X, 9, metric, True))
    np.testing.assert_array_equal(knn_indices(X, 1, metric, True), np.arange(9)[:, None])
    two = rng.standard_normal((2, 5))
    np.testing.assert_array_equal(knn_indices(two, 1, metric), [[1], [0]])


def test_large_offset_and_scale_euclidean() -> None:
    # Far from the origin and tiny spread: float32 of the raw data would lose all digits.
    rng = np.random.default_rng(4)
    X = 1e6 + 1e-3 * rng.standard_normal((300, 8))
    np.testing.assert_array_equal(knn_indices(X, 10, "euclidean", tile=64), reference_knn(X, 10, "euclidean", False))


def test_independent_of_tile_margin_threads_and_dtype() -> None:
    rng = np.random.default_rng(5)
    X = with_duplicates(rng, 600, 32)
    expected = knn_indices(X, 10)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = knn_indices(X, 10, tile=100, margin=1)
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(single, expected)
    np.testing.assert_array_equal(knn_indices(X, 10, tile=5000, margin=50), expected)
    np.testing.assert_array_equal(knn_indices(X.astype(np.float32).astype(np.float64), 10),
                                  knn_indices(X.astype(np.float32), 10))
    np.testing.assert_array_equal(knn_indices(X, 10), expected)  # repeatable


def test_output_type_and_sorted_nearest_first() -> None:
    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 6))
    got = knn_indices(X, 12, "euclidean")
    assert got.dtype == np.int64 and got.shape == (200, 12)
    d = ((X[:, None, :] - X[got]) ** 2).sum(-1)
    assert (np.diff(d, axis=1) >= 0).all()


# ------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("X", "k", "kwargs", "pattern"),
    [
        (np.r_[np.ones((3, 2)), [[np.nan, 1.0]], np.ones((2, 2))], 2, {}, r"NaN or Inf.*row: 3"),
        (np.r_[np.ones((5, 2)), [[1.0, np.inf]]], 2, {}, r"NaN or Inf.*row: 5"),
        (np.ones((1, 3)), 1, {"include_self": True}, r"1 row"),
        (np.ones(5), 1, {}, r"2-D"),
        (np.eye(4), 0, {}, r"at least 1"),
        (np.eye(4), 4, {}, r"too large.*N=4"),
        (np.eye(4), 5, {"include_self": True}, r"too large.*N=4"),
        (np.eye(4), 2.0, {}, r"integer"),
        (np.r_[np.eye(3), np.zeros((1, 3))], 2, {}, r"zero vector.*row 3"),
        (np.eye(4), 2, {"metric": "manhattan"}, r"unknown metric"),
    ],
)
def test_errors_name_the_problem(X: np.ndarray, k: object, kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        knn_indices(X, k, **kwargs)


def test_zero_vector_is_fine_under_euclidean_and_k_equal_n_with_self() -> None:
    X = np.r_[np.eye(3), np.zeros((1, 3))]
    np.testing.assert_array_equal(knn_indices(X, 3, "euclidean"), reference_knn(X, 3, "euclidean", False))
    np.testing.assert_array_equal(knn_indices(X, 4, "euclidean", True), reference_knn(X, 4, "euclidean", True))


# --------------------------------------------------------------------------------- real data

# (folder, file or .mat key); the Wikipedia train split (2,173 rows) runs with -m slow.
REAL_SETS = {
    "vgg128": ("iaprtc12", "TS_vis_vgg128.csv"),
    "biGRU": ("iaprtc12", "TS_lang_biGRU.csv"),
    "sift_te": ("wikipedia", "I_te"),  # 128-d SIFT bag of visual words
    "lda_te": ("wikipedia", "T_te"),  # 10-d LDA topic proportions
    "sift_tr": ("wikipedia", "I_tr"),
    "lda_tr": ("wikipedia", "T_tr"),
}


@functools.lru_cache(maxsize=None)
def load_real(root: str, name: str) -> np.ndarray:
    folder, item = REAL_SETS[name]
    if folder == "iaprtc12":
        frame = pd.read_csv(Path(root) / folder / item, header=None)
        return frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    return np.asarray(scipy.io.loadmat(Path(root) / folder / "raw_features.mat")[item], dtype=np.float64)


@functools.lru_cache(maxsize=None)
def real_reference_distances(root: str, name: str, metric: str) -> np.ndarray:
    """Cached: the IAPR references are shared with the NNO and CLI tests."""
    return reference_distances(load_real(root, name), metric)


def check_real(root: str, name: str, metric: str) -> None:
    X = load_real(root, name)
    D = real_reference_distances(root, name, metric)
    for include_self in (False, True):
        order = order_from_distances(D, include_self)
        for k in (1, 10, 50):
            got = knn_indices(X, k, metric, include_self)
            np.testing.assert_array_equal(got, order[:, :k], err_msg=f"{name} {metric} self={include_self} k={k}")


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["vgg128", "biGRU", "sift_te", "lda_te"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_real_features_match_reference(shared_data, name: str, metric: str) -> None:
    check_real(str(shared_data), name, metric)


@pytest.mark.shared_data
def test_iapr_text_has_duplicate_rows(shared_data) -> None:
    # The duplicate-tie rule is exercised on real data only if the duplicates are there.
    X = load_real(str(shared_data), "biGRU")
    assert len(np.unique(X, axis=0)) < len(X)


@pytest.mark.slow
@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["sift_tr", "lda_tr"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_real_train_split_matches_reference(shared_data, name: str, metric: str) -> None:
    check_real(str(shared_data), name, metric)


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_larger_random_set_high_dim(metric: str) -> None:
    rng = np.random.default_rng(7)
    X = with_duplicates(rng, 3000, 512)
    order = reference_order(X, metric, False)
    np.testing.assert_array_equal(knn_indices(X, 10, metric, tile=700), order[:, :10])
