"""knn_indices against independent references.

The float64 brute-force reference computes every distance in float64, rounds it to the tie
grid of ``knn_indices`` (cosine distance to a multiple of 2**-32, squared euclidean distance to
32 significant bits, halves upwards) and sorts each row with numpy ``lexsort`` on (index,
rounded distance), i.e. ties go to the lower index. With ``include_self=True`` the point
itself gets distance -inf (always first), without it +inf (never within the first N - 1).
(It rounds float64 values, the code under test the exact ones; they can differ only for a
distance within ~1e-16 relative of a grid midpoint, which the seeded data here do not hold.)

The exact reference works on integer data with Python integers and Fractions: cosine by the
exact signed squared cosine, euclidean by the exact integer squared distance, no grid at all;
its data have distinct distances far more than a grid cell apart.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
import torch

from crossmodal.metrics import knn_indices

GRID_BITS = 32  # the documented tie grid of knn_indices


def on_grid(D: np.ndarray, metric: str) -> np.ndarray:
    """Distances rounded to the tie grid (half up): absolute 2**-32 for cosine, 32 significant
    bits for the squared euclidean distance."""
    if metric == "cosine":
        return np.floor(D * 2.0**GRID_BITS + 0.5) / 2.0**GRID_BITS
    m, e = np.frexp(D)  # D = m 2**e with 0.5 <= m < 1: m 2**32 has 32 bits before the point
    return np.ldexp(np.floor(np.ldexp(m, GRID_BITS) + 0.5), e - GRID_BITS)


def reference_distances(X: np.ndarray, metric: str) -> np.ndarray:
    """(N, N) float64 distances on the tie grid: 1 - x̂_i.x̂_j (cosine), squared euclidean."""
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
    return on_grid(D, metric)


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


# ----------------------------------------------------------- exact ties: Fraction reference


def lattice_with_copies(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Integer lattice points in half units (int64), a fifth of them permuted copies and a
    fifth scaled copies (x 0.5, 2, 3, 2.5) of others: mathematically equal distances
    everywhere, which float64 computes with different rounding."""
    H = 2 * rng.integers(-2, 3, size=(n, d))
    H[~H.any(axis=1), 0] = 2  # no zero vectors under cosine
    m = n // 5
    H[n - 2 * m : n - m] = H[:m][:, rng.permutation(d)]
    H[n - m :] = H[m : 2 * m] * rng.choice([1, 4, 6, 5], size=(m, 1)) // 2
    return H


def exact_order(H: np.ndarray, metric: str, include_self: bool) -> np.ndarray:
    """Rows of integer data sorted by their exact distance, then index (no grid).

    Cosine: by the signed squared cosine sign(p) p^2 / (|x_i|^2 |x_j|^2), largest first;
    euclidean: by the integer squared distance."""
    rows = [[int(v) for v in r] for r in H]
    sq = [sum(v * v for v in r) for r in rows]
    order = []
    for i, x in enumerate(rows):
        keys = []
        for j, y in enumerate(rows):
            p = sum(a * b for a, b in zip(x, y, strict=True))
            key = Fraction(-p * abs(p), sq[i] * sq[j]) if metric == "cosine" else Fraction(sq[i] + sq[j] - 2 * p)
            keys.append((key, j))
        keys.sort()
        assert_distinct_values_far_apart([key for key, j in keys if j != i], metric)
        others = [j for _, j in keys if j != i]
        order.append([i, *others] if include_self else others)
    return np.array(order)


def assert_distinct_values_far_apart(keys: list[Fraction], metric: str) -> None:
    """The reference has no grid; it agrees with one only if distinct distances are more than
    a grid cell apart. Check it for the data rather than assume it."""
    if metric == "cosine":
        values = sorted({1.0 + float(np.sign(-k) * np.sqrt(float(abs(k)))) for k in set(keys)})
        assert min(np.diff(values), default=1.0) > 1e-6
    else:
        assert min(b - a for a, b in zip(sorted(set(keys)), sorted(set(keys))[1:], strict=False)) >= 1


@functools.lru_cache(maxsize=None)
def lattice_case(seed: int, n: int, d: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(half-unit integers H, exact order without self) for a seeded lattice set."""
    H = lattice_with_copies(np.random.default_rng(seed), n, d)
    return H, exact_order(H, metric, include_self=False)


LATTICE_SCALES = (0.5, 3.0**17 / 2)  # x = H * scale; the second makes float64 sums round


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("scale", LATTICE_SCALES)
def test_lattice_with_copies_matches_exact_fraction_reference(metric: str, scale: float) -> None:
    H, order = lattice_case(20, 300, 4, metric)
    X = H * scale  # exact: at most 33 significant bits
    order_self = np.hstack([np.arange(len(H))[:, None], order[:, :-1]])
    for k in (1, 5, 10, 40):
        np.testing.assert_array_equal(knn_indices(X, k, metric, tile=64), order[:, :k], err_msg=f"k={k}")
        np.testing.assert_array_equal(knn_indices(X, k, metric, True, tile=64), order_self[:, :k])
    np.testing.assert_array_equal(knn_indices(X.astype(np.float32), 10, metric), order[:, :10])


def four_squares(n: int) -> tuple[int, int, int, int]:
    """Some a, b, c, e >= 0 with a^2 + b^2 + c^2 + e^2 = n (Lagrange; a small search)."""
    if n and n % 4 == 0:  # a multiple of 8 needs all four even: search the quarter
        return tuple(2 * v for v in four_squares(n // 4))  # type: ignore[return-value]
    for a in range(math.isqrt(n), -1, -1):
        for b in range(math.isqrt(n - a * a), -1, -1):
            r = n - a * a - b * b
            if 2 * b * b < r:
                break
            for c in range(math.isqrt(r), -1, -1):
                e = math.isqrt(r - c * c)
                if c * c + e * e == r:
                    return a, b, c, e
                if 2 * c * c < r:
                    break
    raise AssertionError(n)


def test_cosine_grid_midpoints_are_settled_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # Row 0 is e1; point t has cosine distance exactly t / 2**33 from it (a vector of integer
    # length 2**33), so odd t sit exactly on a grid midpoint (t / 2 + 1/2 is an integer) and
    # round up: t = 2m+1 and t = 2m+2 share a cell and tie, t = 2m is one cell nearer.
    import crossmodal.metrics.knn.grid as knn_grid  # pair_cells looks the exact cells up here

    h, m = 2**33, 2**20
    ts = [2 * m + 3, 2 * m + 2, 2 * m + 1, 2 * m, 2 * m + 1]  # index order differs from distance order
    rows = [[1, 0, 0, 0, 0]]
    rows += [[h - t, *four_squares(t * (2 * h - t))] for t in ts]
    rows += [[-1, 1, k, 0, 0] for k in range(6)]  # far away (cosine distance > 1)
    X = np.array(rows, dtype=np.float64)
    assert all(sum(v * v for v in map(int, r)) == h * h for r in rows[1:6])  # exact construction

    def cell(t: int) -> int:  # floor(D 2**32 + 1/2) with D = t / 2**33, in Fractions
        return math.floor(Fraction(t, 2) + Fraction(1, 2))

    expected = sorted(range(1, 6), key=lambda j: (cell(ts[j - 1]), j))
    calls = []
    exact_cell = knn_grid._exact_cosine_cell
    monkeypatch.setattr(knn_grid, "_exact_cosine_cell", lambda *a: calls.append(a) or exact_cell(*a))
    got = knn_indices(X, 5, "cosine")
    assert got[0].tolist() == expected == [4, 2, 3, 5, 1]
    assert calls  # the float64 bounds straddled a midpoint: the exact path decided


def test_euclidean_grid_midpoints_are_settled_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # From the origin, squared distances 2**32 + 1 (a midpoint of the 32-significant-bit grid,
    # rounds up) and 2**32 + 2 share a cell; 2**32 is one cell nearer; 2**32 + 3 rounds up to
    # 2**32 + 4, the next cell.
    import crossmodal.metrics.knn.grid as knn_grid

    q = 2**32
    squares = [q + 3, q + 2, q + 1, q, q + 1]  # index order differs from distance order
    rows = [[0, 0, 0, 0, 0]] + [[2**16, *four_squares(sq - q)] for sq in squares]
    rows += [[2**20, k, 0, 0, 0] for k in range(6)]  # far away
    X = np.array(rows, dtype=np.float64)

    def cell(sq: int) -> Fraction:  # rounded to 32 significant bits, half up, in Fractions
        e = sq.bit_length() - 32
        return math.floor(Fraction(sq, 2**e) + Fraction(1, 2)) * Fraction(2**e)

    expected = sorted(range(1, 6), key=lambda j: (cell(squares[j - 1]), j))
    calls = []
    exact_cell = knn_grid._exact_euclidean_cell
    monkeypatch.setattr(knn_grid, "_exact_euclidean_cell", lambda *a: calls.append(a) or exact_cell(*a))
    assert knn_indices(X, 5, "euclidean")[0].tolist() == expected == [4, 2, 3, 5, 1]
    assert calls


def test_float_pattern_is_the_ieee_bit_pattern() -> None:
    # The exact euclidean cell rounds this extension of the float64 bit pattern to the reals.
    from crossmodal.metrics.knn.grid import _float_pattern

    rng = np.random.default_rng(8)
    edges = [0.0, 5e-324, 2.0**-1022, 0.75 * 2.0**-1022, 1.0, np.finfo(np.float64).max]
    values = np.r_[edges, np.ldexp(rng.random(50), rng.integers(-1074, 1023, 50))]
    for v in values:
        assert _float_pattern(Fraction(float(v))) == int(np.float64(v).view(np.uint64)), v
    a, b = 1.0, float(np.nextafter(1.0, 2.0))
    assert _float_pattern((Fraction(a) + Fraction(b)) / 2) == int(np.float64(a).view(np.uint64)) + Fraction(1, 2)


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


@pytest.mark.parametrize("blas", ["numpy", "torch"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_either_tile_blas_matches_reference(monkeypatch: pytest.MonkeyPatch, blas: str, metric: str) -> None:
    import crossmodal.metrics.knn.devices as knn_devices  # _numpy_blas looks _tile_blas up here

    monkeypatch.setattr(knn_devices, "_tile_blas", lambda: blas)
    rng = np.random.default_rng(6)
    X = with_duplicates(rng, 500, 40)
    order = reference_order(X, metric, False)
    threads = torch.get_num_threads()
    try:
        for t in (1, 2):  # the single-thread loop and the task runner's workers
            torch.set_num_threads(t)
            np.testing.assert_array_equal(knn_indices(X, 12, metric, tile=160), order[:, :12])
    finally:
        torch.set_num_threads(threads)


def test_tile_plan_covers_every_pair_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import crossmodal.metrics.knn.tiles as knn_tiles

    monkeypatch.setattr(knn_tiles, "_MIN_TILE_WORK", 0)  # split diagonal blocks down to kk
    for n, tile, kk in ((1000, 256, 5), (1000, 1000, 40), (333, 64, 3), (70, 2048, 10)):
        tile, n_pad = knn_tiles._blocking(n, tile, kk)
        seen = np.zeros((n_pad, n_pad), dtype=np.int64)
        for s, h, t, w in knn_tiles._tile_plan(n_pad, tile, 8, kk):
            assert h % 32 == 0 and w % 32 == 0 and t >= s
            seen[s : s + h, t : t + w] += 1
            if s != t:
                seen[t : t + w, s : s + h] += 1  # an off-diagonal tile serves its columns too
        np.testing.assert_array_equal(seen, 1)


def test_deeply_split_diagonal_blocks_match_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    import crossmodal.metrics.knn.tiles as knn_tiles

    monkeypatch.setattr(knn_tiles, "_MIN_TILE_WORK", 0)
    rng = np.random.default_rng(9)
    X = with_duplicates(rng, 700, 24)
    for metric in ("cosine", "euclidean"):
        order = reference_order(X, metric, False)
        for k in (1, 10, 30):
            np.testing.assert_array_equal(knn_indices(X, k, metric, tile=350), order[:, :k])


def test_worker_threads_leave_no_trace_and_pass_errors_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import crossmodal.metrics.knn.tiles as knn_tiles  # _symmetric_topk looks _select_tile up here

    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    X = np.random.default_rng(10).standard_normal((500, 8))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)  # the CPU tile runner needs two or more
        blas_before = blas_threads()
        knn_indices(X, 5, tile=64)
        seen = []
        probe = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        probe.start()
        probe.join()
        assert torch.get_num_threads() == 2 and seen == [2]
        assert blas_threads() == blas_before  # numpy's BLAS was limited to one thread only inside

        def broken(*args: object) -> None:
            raise RuntimeError("selection failed")

        monkeypatch.setattr(knn_tiles, "_select_tile", broken)
        with pytest.raises(RuntimeError, match="selection failed"):
            knn_indices(X, 5, tile=64)
    finally:
        torch.set_num_threads(threads)


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


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_errors_name_the_first_bad_row_across_chunks(metric: str) -> None:
    # Rows are prepared in chunks of 2**20 / d rows, in parallel: the first bad row still wins.
    X = np.ones((3000, 1024), dtype=np.float32)
    X[2500, 7] = np.nan
    X[1500, 3] = np.inf
    with pytest.raises(ValueError, match=r"NaN or Inf.*row: 1500"):
        knn_indices(X, 3, metric)
    if metric == "cosine":
        Z = np.ones((3000, 1024), dtype=np.float32)
        Z[2600] = 0.0
        Z[1100] = 0.0
        with pytest.raises(ValueError, match=r"zero vector.*row 1100"):
            knn_indices(Z, 3, metric)


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


# ------------------------------------------------- int8 tiles (CPUs with AMX int8, issue 15)


def skip_without_exact_int8_gemm() -> None:
    import crossmodal.metrics.knn.int8 as knn_int8

    if not knn_int8._int8_gemm_exact():
        pytest.skip("torch._int_mm is unavailable or not exact on this CPU")


@pytest.fixture
def int8_tiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Cosine tiles forced onto the int8 path at any d and any bound; returns a list that
    grows by one per knn_indices call that took it (so a test can tell it really did)."""
    import crossmodal.metrics.knn.int8 as knn_int8
    import crossmodal.metrics.knn.search as knn_search  # _tile_operands looks the int8 names up here

    skip_without_exact_int8_gemm()
    taken: list[int] = []
    build = knn_int8._int8_cosine_operands

    def counted(*args: object) -> object:
        taken.append(1)
        return build(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(knn_search, "_int8_tiles", lambda dev, d: d <= knn_int8._INT8_MAX_D)
    monkeypatch.setattr(knn_search, "_INT8_EPS_RATIO", math.inf)
    monkeypatch.setattr(knn_search, "_int8_cosine_operands", counted)
    return taken


def spiky_and_sparse(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Rows unlike Gaussian ones: ReLU-sparse non-negative rows, a near one-hot row (the
    largest entry sets the shared int8 scale), tiny and huge rows, and copies."""
    X = np.maximum(rng.standard_normal((n, d)), 0.0)
    X[:, 0] += 1e-3  # no zero rows
    X[5] = 1e-3
    X[5, 7] = 1.0  # near one-hot
    X[6] *= 1e-150  # beyond float32's range both ways
    X[7] *= 1e150
    X[8:12] = X[6]  # copies of the tiny row
    X[12] = X[20][::-1]  # a permuted copy
    return X


@pytest.mark.parametrize("kind", ["gaussian", "duplicates", "spiky", "lattice"])
def test_int8_scores_lie_within_their_bound(kind: str) -> None:
    import crossmodal.metrics.knn.int8 as knn_int8

    skip_without_exact_int8_gemm()
    rng = np.random.default_rng(11)
    X = {
        "gaussian": lambda: rng.standard_normal((300, 200)),
        "duplicates": lambda: with_duplicates(rng, 300, 200),
        "spiky": lambda: spiky_and_sparse(rng, 300, 200),
        "lattice": lambda: lattice_with_copies(rng, 300, 6).astype(np.float64),
    }[kind]()
    _, scores_of, eps = knn_int8._int8_cosine_operands(X, "X", 320)
    S = torch.empty(320, 320)
    with torch.inference_mode():
        scores_of(slice(0, 320), slice(0, 320), S)
    U = X / np.sqrt((X * X).sum(axis=1))[:, None]  # float64: error ~1e-16, far below eps
    err = np.abs(S.numpy()[:300, :300].astype(np.float64) - U @ U.T)
    assert (err <= eps[:, None]).all(), float((err / eps[:, None]).max())
    assert (S.numpy()[300:] == 0).all() and (S.numpy()[:, 300:] == 0).all()  # zero padding rows
    rows = torch.as_tensor([3, 299, 0, 3])  # gathered rows (the fallback's path) score the same
    got = torch.empty(4, 300)
    with torch.inference_mode():
        scores_of(rows, slice(0, 300), got)
    np.testing.assert_array_equal(got.numpy(), S.numpy()[rows.numpy(), :300])


def test_int8_tiles_match_references(int8_tiles: list[int]) -> None:
    rng = np.random.default_rng(12)
    X = with_duplicates(rng, 400, 48)
    order = reference_order(X, "cosine", False)
    order_self = reference_order(X, "cosine", True)
    H, exact = lattice_case(20, 300, 4, "cosine")
    threads = torch.get_num_threads()
    try:
        for t in (1, 2):  # the single-thread loop and the task runner's workers
            torch.set_num_threads(t)
            for k in (1, 10, 25):
                np.testing.assert_array_equal(knn_indices(X, k, tile=96), order[:, :k], err_msg=f"k={k}")
                # margin 1: many rows end inside a near-tie run and take the full fallback
                np.testing.assert_array_equal(knn_indices(H * 0.5, k, tile=64, margin=1), exact[:, :k])
            np.testing.assert_array_equal(knn_indices(X, 7, include_self=True, tile=96), order_self[:, :7])
    finally:
        torch.set_num_threads(threads)
    S = spiky_and_sparse(rng, 400, 64)
    np.testing.assert_array_equal(knn_indices(S, 10, tile=96), reference_knn(S, 10, "cosine", False))
    S32 = np.delete(S, range(6, 12), axis=0).astype(np.float32)  # rows 6-11 overflow float32
    np.testing.assert_array_equal(knn_indices(S32, 10), knn_indices(S32.astype(np.float64), 10))
    assert len(int8_tiles) == 2 * (3 * 2 + 1) + 3


def test_int8_gemm_check_refuses_a_saturating_or_missing_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    import crossmodal.metrics.knn.int8 as knn_int8

    check = knn_int8._int8_gemm_exact.__wrapped__

    def saturating(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # sums clamped to int16
        return (a.long() @ b.long()).clamp(-(2**15), 2**15 - 1).int()

    monkeypatch.setattr(torch, "_int_mm", saturating)
    assert not check()

    def missing(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("Could not run 'aten::_int_mm' with arguments from the 'CPU' backend")

    monkeypatch.setattr(torch, "_int_mm", missing)
    assert not check()
    monkeypatch.setattr(torch, "_int_mm", lambda a, b: (a.long() @ b.long()).int())
    assert check()  # an exact kernel passes


def test_default_tiles_at_high_d_match_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    # d = 1,024: on CPUs with AMX int8 the default path takes the int8 tiles (checked), elsewhere
    # the float32 ones; the result is the reference's either way.
    import crossmodal.metrics.knn.int8 as knn_int8
    import crossmodal.metrics.knn.search as knn_search  # knn_indices looks _tile_operands up here

    taken: list[int] = []
    build = knn_search._tile_operands

    def noted(*args: object) -> object:
        out = build(*args)  # type: ignore[arg-type]
        taken.append(isinstance(out[1], knn_int8._Int8Scores))
        return out

    monkeypatch.setattr(knn_search, "_tile_operands", noted)
    X = with_duplicates(np.random.default_rng(13), 700, 1024)
    np.testing.assert_array_equal(knn_indices(X, 10, tile=256), reference_knn(X, 10, "cosine", False))
    assert taken == [knn_int8._int8_tiles(torch.device("cpu"), 1024)]
