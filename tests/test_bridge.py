"""``crossmodal.bridge``: every measure against an independent computation on small data with
ties and duplicated rows.

References written here: float64 brute-force neighbours (``reference_knn``: numpy lexsort,
lower index first), NNO as Python set intersections, chance from its formula, scipy.stats for
the signed-rank test and the skewness, CSLS and N_k straight from their formulas, sklearn for
MSE/R², ridge and CCA.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.stats
from sklearn.cross_decomposition import CCA
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV
from test_metrics_knn import reference_knn

import crossmodal
from crossmodal.mappers.closed_form import fit_procrustes, fit_ridge, ridge_alphas
from crossmodal.mappings.splits import kfold_indices
from crossmodal.measures import nno as M
from crossmodal.measures.retrieval import cross_stats

FAST = {"n_permutations": 0, "n_bootstrap": 0}


# ---------------------------------------------------------------------------- reference code


def unit(A: np.ndarray) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    return A / np.sqrt((A * A).sum(axis=1))[:, None]


def ref_scores(F: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """s_ij = cos(f_i, y_j), pair by pair in float64."""
    return (unit(F)[:, None, :] * unit(Y)[None, :, :]).sum(axis=-1)


def ref_nno(A: np.ndarray, B: np.ndarray, k: int, metric: str, include_self: bool) -> np.ndarray:
    na, nb = reference_knn(A, k, metric, include_self), reference_knn(B, k, metric, include_self)
    return np.array([len(set(a) & set(b)) for a, b in zip(na.tolist(), nb.tolist())])


def ref_top(S_row: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, ties to the lower index."""
    return np.lexsort((np.arange(len(S_row)), -S_row))[:k]


def ref_cross(F: np.ndarray, Y: np.ndarray, hub_k: int = 10, csls_k: int = 10) -> dict[str, np.ndarray]:
    S = ref_scores(F, Y)
    n = len(F)
    rank_nn = np.array([1 + sum(S[i, j] > S[i, i] for j in range(n)) for i in range(n)])
    r_y = np.array([np.mean(S[i, ref_top(S[i], csls_k)]) for i in range(n)])
    r_f = np.array([np.mean(S[ref_top(S[:, j], csls_k), j]) for j in range(n)])
    csls = np.array([[2 * S[i, j] - r_y[i] - r_f[j] for j in range(n)] for i in range(n)])
    rank_csls = np.array([1 + sum(csls[i, j] > csls[i, i] for j in range(n)) for i in range(n)])
    n_k = np.zeros(n, dtype=int)
    for i in range(n):
        for j in ref_top(S[i], hub_k):
            n_k[j] += 1
    return {"rank_nn": rank_nn, "rank_csls": rank_csls, "r_y": r_y, "r_f": r_f, "n_k": n_k}


def tied_data(seed: int = 3, n: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, Y, F with duplicated rows, F rows equal to Y rows, and lattice values (exact ties)."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, 4)).astype(np.float64)
    X[~X.any(axis=1), 0] = 1.0
    X[5:9] = X[2]  # duplicated rows
    Y = rng.standard_normal((n, 5))
    Y[20:24] = Y[1]
    Y[30] = 3.0 * Y[31]  # cosine-equal, not bitwise equal
    F = Y + 0.7 * rng.standard_normal((n, 5))
    F[40:45] = Y[40:45]  # exact answers
    F[50:53] = F[49]  # a duplicated query
    F[10:14] = Y[1]  # queries equal to a duplicated gallery item
    return X, Y, F


# ------------------------------------------------------------------------- measures, given F


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("include_self", [False, True])
def test_given_f_every_measure_matches_reference(metric: str, include_self: bool) -> None:
    X, Y, F = tied_data()
    n = len(X)
    ks = [7, 3]
    res = crossmodal.bridge(X, Y, F, k=ks, metric=metric, include_self=include_self, n_permutations=0,
                            n_bootstrap=0, curve=True)
    assert res.n == n and res.k == 7 and res.metric == metric and res.include_self is include_self
    for K in ks:
        x_f, y_f, x_y = (ref_nno(X, F, K, metric, include_self), ref_nno(Y, F, K, metric, include_self),
                         ref_nno(X, Y, K, metric, include_self))
        by = res.by_k[K]
        assert by.mnno_x_f == x_f.sum() / (K * n)
        assert by.mnno_y_f == y_f.sum() / (K * n)
        assert by.mnno_x_y == x_y.sum() / (K * n)
        np.testing.assert_array_equal(res.per_item.nno[K]["x_f"], x_f)
        expected_chance = (1 + (K - 1) ** 2 / (n - 1)) / K if include_self else K / (n - 1)
        assert by.chance == pytest.approx(expected_chance, rel=1e-12)
        assert by.p_paired == pytest.approx(scipy.stats.wilcoxon(x_f, y_f).pvalue, rel=1e-12)
    assert (res.mnno_x_f, res.chance) == (res.by_k[7].mnno_x_f, res.by_k[7].chance)
    # the curve: every K from 1 to n - 1
    c = res.curve
    assert c is not None and list(c.k) == list(range(1, n))
    for K in (1, 2, 11, n - 1):
        assert c.y_f[K - 1] == pytest.approx(ref_nno(Y, F, K, metric, include_self).sum() / (K * n), abs=1e-15)
    # retrieval (cosine, whatever the metric), CSLS, hubness, regression
    ref = ref_cross(F, Y)
    np.testing.assert_array_equal(res.per_item.rank_nn, ref["rank_nn"])
    np.testing.assert_array_equal(res.per_item.rank_csls, ref["rank_csls"])
    np.testing.assert_array_equal(res.per_item.n_k, ref["n_k"])
    for name, ranks in (("nn", ref["rank_nn"]), ("csls", ref["rank_csls"])):
        r = res.retrieval[name]
        assert (r.r1, r.r5, r.r10) == tuple(float(np.mean(ranks <= t)) for t in (1, 5, 10))
        assert r.mrr == pytest.approx(np.mean(1.0 / ranks), rel=1e-12)
    assert res.hubness.k == 10
    assert res.hubness.k_skewness == pytest.approx(scipy.stats.skew(ref["n_k"]), rel=1e-12)
    assert res.hubness.antihub_share == np.mean(ref["n_k"] == 0)
    assert res.mse == pytest.approx(mean_squared_error(Y, F), rel=1e-12)
    assert res.r2 == pytest.approx(r2_score(Y, F), rel=1e-12)


def test_cross_stats_ties_and_fallback_paths() -> None:
    """Blocks smaller than N, a lattice full of exact ties (many rows need the full re-score),
    and r values, against the formulas."""
    rng = np.random.default_rng(8)
    F = rng.integers(0, 3, size=(150, 3)).astype(np.float64)
    Y = rng.integers(0, 3, size=(150, 3)).astype(np.float64)
    F[~F.any(axis=1), 0] = 1.0
    Y[~Y.any(axis=1), 1] = 1.0
    for hub_k, csls_k in ((10, 10), (3, 7)):
        got = cross_stats(F, Y, hub_k, csls_k, block=32)
        ref = ref_cross(F, Y, hub_k, csls_k)
        for name in ("rank_nn", "rank_csls", "n_k"):
            np.testing.assert_array_equal(getattr(got, name), ref[name], err_msg=name)
        np.testing.assert_allclose(got.r_y, ref["r_y"], rtol=0, atol=1e-15)
        np.testing.assert_allclose(got.r_f, ref["r_f"], rtol=0, atol=1e-15)


def test_overlap_curve_equals_per_k_overlaps() -> None:
    X, Y, _ = tied_data(5)
    nx, ny = reference_knn(X, 40, "cosine", False), reference_knn(Y, 40, "cosine", False)
    for include_self in (False, True):
        curve = M.overlap_curve(nx, ny, 40, include_self)
        for K in range(1, 41):
            np.testing.assert_array_equal(curve[:, K - 1], ref_nno(X, Y, K, "cosine", include_self), err_msg=str(K))


# ------------------------------------------------------------------------------- statistics


def test_permutation_null_matches_recomputed_neighbours() -> None:
    """Tie-free data: shuffling the pairing and recomputing Y's neighbours from scratch (the
    reference) gives the same null as relabelling Y's neighbour lists (ours)."""
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((50, 4)), rng.standard_normal((50, 3))
    Y[:, 0] += X[:, 0]  # some shared structure
    K, B, seed = 5, 40, 123
    for include_self in (False, True):
        res = crossmodal.bridge(X, Y, X @ rng.standard_normal((4, 3)), k=K, include_self=include_self,
                                n_permutations=B, n_bootstrap=0, seed=seed)
        draw = np.random.default_rng(seed)
        null = np.array([ref_nno(X, Y[draw.permutation(50)], K, "cosine", include_self).sum() for _ in range(B)])
        observed = ref_nno(X, Y, K, "cosine", include_self).sum()
        assert res.p_permutation_x_y == (1 + (null >= observed).sum()) / (1 + B)
        assert 0 < res.p_permutation_x_y <= 1


def test_permutation_null_with_duplicates_and_chance_formula() -> None:
    """With tied neighbours the null is defined on Y's neighbour sets relabelled by the
    shuffle; the reference does that with sets. The null's mean is the chance formula."""
    X, Y, _ = tied_data(7)
    n, K, B = len(X), 6, 300
    for include_self in (False, True):
        nx = reference_knn(X, K, "cosine", include_self)
        ny = reference_knn(Y, K, "cosine", include_self)
        ours = M.permutation_null([(nx, ny)], K, B, np.random.default_rng(5))
        draw = np.random.default_rng(5)
        ref = []
        for _ in range(B):
            perm = draw.permutation(n)
            inverse = {int(j): i for i, j in enumerate(perm)}
            ref.append(sum(len(set(nx[i]) & {inverse[int(j)] for j in ny[perm[i]]}) for i in range(n)))
        np.testing.assert_array_equal(ours, ref)
        chance = (1 + (K - 1) ** 2 / (n - 1)) / K if include_self else K / (n - 1)
        assert np.mean(ours) / (K * n) == pytest.approx(chance, rel=0.05)


def test_bootstrap_intervals_against_an_independent_resampling() -> None:
    X, Y, F = tied_data(9, n=80)
    K = 5
    res = crossmodal.bridge(X, Y, F, k=K, n_permutations=0, n_bootstrap=2000, seed=1)
    per = {p: ref_nno(A, B, K, "cosine", False) / K for p, (A, B) in
           {"mnno_x_f": (X, F), "mnno_y_f": (Y, F), "mnno_x_y": (X, Y)}.items()}
    per["mnno_y_f_minus_x_f"] = per["mnno_y_f"] - per["mnno_x_f"]
    draw = np.random.default_rng(999)  # another stream: agreement up to Monte-Carlo error
    idx = draw.integers(0, 80, size=(4000, 80))
    for name, values in per.items():
        lo, hi = np.percentile(values[idx].mean(axis=1), [2.5, 97.5])
        got_lo, got_hi = res.ci[name]
        width = hi - lo
        assert abs(got_lo - lo) < 0.15 * width and abs(got_hi - hi) < 0.15 * width, name
        assert got_lo <= values.mean() <= got_hi


# ----------------------------------------------------------------------- mappers and protocol


def test_ridge_matches_sklearn_and_grid_search() -> None:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((120, 8)) * np.array([1, 2, 3, 4, 5, 6, 7, 50])
    Y = X @ rng.standard_normal((8, 3)) + 5.0 * rng.standard_normal((120, 3)) + 7.0
    W, b, alpha, _ = fit_ridge(X, Y, inner_folds=5, seed=4)
    alphas = ridge_alphas(X)
    search = GridSearchCV(Ridge(), {"alpha": alphas}, cv=kfold_indices(120, 5, 4), scoring="neg_mean_squared_error")
    search.fit(X, Y)
    assert alpha == search.best_params_["alpha"]
    sk = Ridge(alpha=alpha).fit(X, Y)
    np.testing.assert_allclose(W, sk.coef_.T, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b, sk.intercept_, rtol=1e-8, atol=1e-10)


def test_procrustes_against_svd_formula_and_unequal_dims() -> None:
    rng = np.random.default_rng(6)
    X = rng.standard_normal((50, 4))
    Q = np.linalg.qr(rng.standard_normal((4, 4)))[0]
    Y = 2.5 * X @ Q + 1.0
    R, s, mx, my = fit_procrustes(X, Y)
    U, sig, Vt = np.linalg.svd((X - X.mean(0)).T @ (Y - Y.mean(0)))
    np.testing.assert_allclose(R, U @ Vt, atol=1e-10)
    assert s == pytest.approx(sig.sum() / ((X - X.mean(0)) ** 2).sum())
    np.testing.assert_allclose(s * (X - mx) @ R + my, Y, atol=1e-9)
    with pytest.raises(ValueError, match="same dimension"):
        crossmodal.bridge(X, Y[:, :3], mapper="procrustes", k=3, **FAST)


def test_cv_protocol_each_fold_its_own_universe() -> None:
    """mapper=ridge under 5-fold CV equals: sklearn Ridge with the chosen alpha per fold,
    brute-force neighbours within each held-out fold, pooled over folds."""
    rng = np.random.default_rng(12)
    n = 100
    X = rng.standard_normal((n, 6))
    Y = X @ rng.standard_normal((6, 4)) + 0.8 * rng.standard_normal((n, 4))
    res = crossmodal.bridge(X, Y, mapper="ridge", k=4, seed=3, **FAST)
    folds = kfold_indices(n, 5, 3)
    alphas = [f["alpha"] for f in res.setup["mapper_details"]["folds"]]
    totals = {"x_f": 0, "y_f": 0, "x_y": 0}
    ranks = np.zeros(n, dtype=int)
    for f, ((tr, te), a) in enumerate(zip(folds, alphas)):
        Fte = Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te])
        totals["x_f"] += ref_nno(X[te], Fte, 4, "cosine", False).sum()
        totals["y_f"] += ref_nno(Y[te], Fte, 4, "cosine", False).sum()
        totals["x_y"] += ref_nno(X[te], Y[te], 4, "cosine", False).sum()
        ranks[te] = ref_cross(Fte, Y[te])["rank_nn"]
        np.testing.assert_array_equal(res.per_item.fold[te], np.full(len(te), f))
    assert (res.mnno_x_f, res.mnno_y_f, res.mnno_x_y) == tuple(totals[p] / (4 * n) for p in ("x_f", "y_f", "x_y"))
    np.testing.assert_array_equal(res.per_item.rank_nn, ranks)
    assert res.chance == pytest.approx(4 / 19)  # every fold has 20 items


def test_cca_mapper_is_sklearn_cca_prediction() -> None:
    rng = np.random.default_rng(13)
    n = 60
    X = rng.standard_normal((n, 5))
    Y = np.tanh(X[:, :3]) + 0.3 * rng.standard_normal((n, 3))
    res = crossmodal.bridge(X, Y, mapper="cca-predict", k=3, n_folds=3, seed=0, mapper_options={"n_components": 2}, **FAST)
    total = 0
    for tr, te in kfold_indices(n, 3, 0):
        Fte = CCA(n_components=2, scale=True, max_iter=500).fit(X[tr], Y[tr]).predict(X[te])
        total += ref_nno(Y[te], Fte, 3, "cosine", False).sum()
    assert res.mnno_y_f == total / (3 * n)


def test_paper_lin_mapper_trains_as_experiment1() -> None:
    from crossmodal.mappings.batched import RunSpec, fit_batched
    from crossmodal.mappings.hyperparams import resolve_hyperparams
    from crossmodal.mappings.train import predict

    rng = np.random.default_rng(14)
    n = 60
    X = rng.standard_normal((n, 6)).astype(np.float32)
    Y = (X @ rng.standard_normal((6, 4))).astype(np.float32)
    res = crossmodal.bridge(X, Y, mapper="lin", k=3, seed=2, mapper_options={"epochs": 3}, **FAST)
    hp = resolve_hyperparams("iaprtc", "i2t", "lin", "user", image_dim=6)
    assert res.setup["mapper_details"]["lr"] == hp.lr and res.setup["mapper_details"]["epochs"] == 3
    splits = kfold_indices(n, 5, 2)
    fit = fit_batched(X, Y, [RunSpec(tr, seed=2 + f, lr=hp.lr) for f, (tr, _) in enumerate(splits)], "lin", None, 3, 64)
    total = sum(ref_nno(Y[te], predict(fit.model(f), X[te]), 3, "cosine", False).sum()
                for f, (_, te) in enumerate(splits))
    assert res.mnno_y_f == total / (3 * n)


# ------------------------------------------------------------------ determinism and errors


def test_same_seed_same_json_other_seed_other_folds() -> None:
    rng = np.random.default_rng(15)
    X, Y = rng.standard_normal((90, 5)), rng.standard_normal((90, 4))
    a = crossmodal.bridge(X, Y, k=[5, 3], seed=7, n_permutations=50, n_bootstrap=100)
    b = crossmodal.bridge(X, Y, k=[5, 3], seed=7, n_permutations=50, n_bootstrap=100)
    c = crossmodal.bridge(X, Y, k=[5, 3], seed=8, n_permutations=50, n_bootstrap=100)
    assert json.dumps(a.to_dict()) == json.dumps(b.to_dict())
    assert not np.array_equal(a.per_item.fold, c.per_item.fold)


def test_json_keys_are_the_documented_ones() -> None:
    X, Y, F = tied_data()
    d = crossmodal.bridge(X, Y, F, k=[5, 10], n_permutations=20, n_bootstrap=50).to_dict()
    assert list(d) == ["n", "k", "metric", "include_self", "mnno_x_f", "mnno_y_f", "mnno_x_y", "chance", "p_paired",
                       "p_permutation_x_y", "ci", "retrieval", "hubness", "mse", "r2", "verdict", "by_k", "setup"]
    assert set(d["ci"]) == {"mnno_x_f", "mnno_y_f", "mnno_x_y", "mnno_y_f_minus_x_f"}
    assert all(len(v) == 2 and v[0] <= v[1] for v in d["ci"].values())
    assert set(d["retrieval"]) == {"nn", "csls"} and set(d["retrieval"]["nn"]) == {"r1", "r5", "r10", "mrr"}
    assert set(d["hubness"]) == {"k_skewness", "antihub_share"}
    assert list(d["by_k"]) == ["5", "10"] and d["k"] == 5 and d["by_k"]["5"]["mnno_x_f"] == d["mnno_x_f"]
    json.dumps(d, allow_nan=False)


def test_verdict_sentences() -> None:
    from crossmodal.bridging.result import verdict

    assert verdict(0.27, 0.10, 1e-9, 0.003) == (
        "f(X) keeps the neighbourhoods of X (mNNO 0.27) more than it takes on those of Y (0.10); "
        "paired p < 1e-6; chance 0.003.")
    assert verdict(0.1, 0.3, 0.002, 0.01).startswith("f(X) takes on the neighbourhoods of Y (mNNO 0.30)")
    assert "no closer" in verdict(0.2, 0.21, 0.4, 0.01) and "p = 0.4" in verdict(0.2, 0.21, 0.4, 0.01)


def test_bad_inputs_raise_one_clear_error() -> None:
    rng = np.random.default_rng(16)
    X, Y = rng.standard_normal((30, 4)), rng.standard_normal((30, 3))
    F = rng.standard_normal((30, 3))
    bad_f = F.copy()
    bad_f[7, 1] = np.inf
    zero_y = Y.copy()
    zero_y[4] = 0
    cases = [
        (dict(X=X, Y=Y, F=bad_f), "NaN or Inf values (first bad row: 7)"),
        (dict(X=X, Y=zero_y, F=F), "zero vector (first at row 4)"),
        (dict(X=X, Y=Y, F=F[:, :2]), "must be in Y's space"),
        (dict(X=X, Y=Y[:29], F=None), "rows"),
        (dict(X=X, Y=Y, F=F, k=30), "K=30 is too large"),
        (dict(X=X, Y=Y, F=None, k=6), "K=6 is too large"),  # 5 folds of 6 items
        (dict(X=X, Y=Y, F=None, mapper="svm"), "unknown mapper"),
        (dict(X=X, Y=Y, F=F, k=0), "positive integer"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=None) as err:
            crossmodal.bridge(**{"k": 3, **kwargs}, **FAST)
        assert message in str(err.value) and "\n" not in str(err.value), (message, str(err.value))


@pytest.mark.shared_data
def test_iapr_given_f_against_brute_force(shared_data) -> None:
    from test_metrics_knn import load_real, order_from_distances, real_reference_distances

    root = str(shared_data)
    X, Y = load_real(root, "vgg128"), load_real(root, "biGRU")
    F = Ridge(alpha=1.0).fit(X, Y).predict(X)
    res = crossmodal.bridge(X, Y, F, k=10, **FAST)
    ox = order_from_distances(real_reference_distances(root, "vgg128", "cosine"), False)[:, :10]
    oy = order_from_distances(real_reference_distances(root, "biGRU", "cosine"), False)[:, :10]
    assert res.mnno_x_y == sum(len(set(a) & set(b)) for a, b in zip(ox.tolist(), oy.tolist())) / (10 * len(X))
    S = ref_scores(F, Y)
    ranks = 1 + (S > np.diag(S)[:, None]).sum(axis=1)
    np.testing.assert_array_equal(res.per_item.rank_nn, ranks)
