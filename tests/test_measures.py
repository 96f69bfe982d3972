"""crossmodal.measures against independent references, and the one-definition rule.

(a) References written here: float64 brute force (Python loops, sets, sorted with explicit keys)
for NNO from neighbour lists, the gallery ordering, AP, ranks, CSLS, R@K, MRR and N_k, on small
random data with hand-made ties; scipy for the tests and the chance level.
(b) ``ast`` over src/crossmodal: each measure is defined once, in ``crossmodal/measures``, and the
old copies' names are gone.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.stats

from crossmodal.measures import nno as N
from crossmodal.measures import ranks as R
from crossmodal.measures import significance as S
from crossmodal.measures.retrieval import cosine_scores, cross_stats, paired_mrr, recall_at_k, retrieval_map

SRC = Path(__file__).resolve().parents[1] / "src" / "crossmodal"


# ----------------------------------------------------------------------------- references


def unit(A: np.ndarray) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    return A / np.sqrt((A * A).sum(axis=1))[:, None]


def pair_score(a: np.ndarray, b: np.ndarray) -> float:
    """The canonical float64 cosine of one pair: sum of the products of the unit rows."""
    return float((a / np.sqrt((a * a).sum()) * (b / np.sqrt((b * b).sum()))).sum())


def ref_scores(Q: np.ndarray, G: np.ndarray) -> np.ndarray:
    return np.array([[pair_score(q, g) for g in G] for q in Q])


def ref_exclude_lists(X: np.ndarray, k: int) -> np.ndarray:
    """Exclude-self cosine neighbours by brute force, ties to the lower index."""
    S_ = ref_scores(X, X)
    return np.array([[j for j in sorted(range(len(X)), key=lambda j: (-S_[i, j], j)) if j != i][:k]
                     for i in range(len(X))])


def tied_points(seed: int, n: int = 40, d: int = 3) -> np.ndarray:
    """Small integer points: many equal cosines, and exact duplicate rows."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, size=(n, d)).astype(np.float64)
    X[~X.any(axis=1), 0] = 1.0
    X[7] = X[3]
    X[20] = X[3]
    return X


# ---------------------------------------------------------------------------- (a) NNO


@pytest.mark.parametrize("include_self", [False, True])
def test_nno_from_lists_against_set_intersections(include_self: bool) -> None:
    X, Y = tied_points(1), tied_points(2)
    nx, ny = ref_exclude_lists(X, 12), ref_exclude_lists(Y, 12)
    n = len(X)
    curve = N.overlap_curve(nx, ny, 12, include_self)
    for k in (1, 4, 12):
        own = (lambda i: {i}) if include_self else (lambda i: set())
        lx = [own(i) | set(nx[i, : k - include_self].tolist()) for i in range(n)]
        ly = [own(i) | set(ny[i, : k - include_self].tolist()) for i in range(n)]
        assert all(len(s) == k for s in lx + ly)
        expected = np.array([len(a & b) for a, b in zip(lx, ly)])
        got = N.nno_of_lists(nx, ny, k, include_self)
        np.testing.assert_array_equal(got, expected)
        lists = N.self_rule_lists(nx, k, include_self)
        assert [set(r) for r in lists.tolist()] == lx
        np.testing.assert_array_equal(N.overlap_counts(lists, N.self_rule_lists(ny, k, include_self)), expected)
        np.testing.assert_array_equal(curve[:, k - 1], expected)
        assert N.mean_nno(got, k) == sum(expected.tolist()) / (k * n)


def test_nno_rejects_bad_lists() -> None:
    nn = ref_exclude_lists(tied_points(3), 5)
    with pytest.raises(ValueError, match="fewer than k=6"):
        N.nno_of_lists(nn, nn, 6, False)
    bad = nn.copy()
    bad[4, 1] = bad[4, 0]
    with pytest.raises(ValueError, match="repeats"):
        N.nno_of_lists(bad, nn, 5, False)
    with pytest.raises(ValueError, match="contains itself"):
        N.nno_of_lists(N.self_rule_lists(nn, 5, True), nn, 5, False)
    with pytest.raises(ValueError, match="positive integer"):
        N.nno_of_lists(nn, nn, 0, True)


@pytest.mark.parametrize("include_self", [False, True])
def test_chance_is_the_hypergeometric_mean(include_self: bool) -> None:
    """Independent lists: the overlap of the K (K-1 with self) random others out of n - 1 is
    hypergeometric; chance = E[NNO] / K."""
    for n, k in ((11, 3), (50, 10), (200, 1)):
        m = k - 1 if include_self else k
        mean = (float(scipy.stats.hypergeom(n - 1, m, m).mean()) if m else 0.0) + (1 if include_self else 0)
        assert N.chance(k, n, include_self) == pytest.approx(mean / k, rel=1e-14)


def test_permutation_null_relabels_y_lists() -> None:
    X, Y = tied_points(4), tied_points(5)
    k = 4
    nx, ny = ref_exclude_lists(X, k), ref_exclude_lists(Y, k)
    null = N.permutation_null([(nx, ny)], k, 30, np.random.default_rng(9))
    draw = np.random.default_rng(9)
    for b in range(30):
        perm = draw.permutation(len(X))
        inverse = {int(j): i for i, j in enumerate(perm)}
        ref = sum(len(set(nx[i].tolist()) & {inverse[int(j)] for j in ny[perm[i]]}) for i in range(len(X)))
        assert null[b] == ref


# ------------------------------------------------------------------------ (a) retrieval


@pytest.fixture(scope="module")
def retrieval_case() -> tuple[np.ndarray, np.ndarray]:
    """Paired Q, G with hand-made ties: G[7] = G[3] (so query 7's true partner ties with item 3,
    a lower index, and query 3's with item 7), and an integer lattice full of equal cosines."""
    rng = np.random.default_rng(10)
    Q = rng.integers(-2, 3, size=(36, 3)).astype(np.float64)
    G = Q + rng.integers(-1, 2, size=(36, 3))
    for A in (Q, G):
        A[~A.any(axis=1), 1] = 1.0
    G[7] = G[3]
    return Q, G


def ref_top(values: list[float], k: int) -> list[int]:
    return sorted(range(len(values)), key=lambda j: (-values[j], j))[:k]


def test_ranks_csls_recall_mrr_and_hubness_against_brute_force(retrieval_case) -> None:
    Q, G = retrieval_case
    n, k = len(Q), 5
    Sr = ref_scores(Q, G)
    rank_nn = [1 + sum(Sr[i, j] > Sr[i, i] for j in range(n)) for i in range(n)]
    r_y = [float(np.mean([Sr[i, j] for j in ref_top(list(Sr[i]), k)])) for i in range(n)]
    r_f = [float(np.mean([Sr[i, j] for i in ref_top(list(Sr[:, j]), k)])) for j in range(n)]
    C = [[2 * Sr[i, j] - r_y[i] - r_f[j] for j in range(n)] for i in range(n)]
    rank_csls = [1 + sum(C[i][j] > C[i][i] for j in range(n)) for i in range(n)]
    n_k = np.bincount([j for i in range(n) for j in ref_top(list(Sr[i]), k)], minlength=n)
    assert Sr[7, 3] == Sr[7, 7] and Sr[3, 7] == Sr[3, 3]  # the hand-made ties: equal scores do not push down

    st = cross_stats(Q, G, k, k, block=32)
    np.testing.assert_array_equal(st.rank_nn, rank_nn)
    np.testing.assert_array_equal(st.rank_csls, rank_csls)
    np.testing.assert_array_equal(st.n_k, n_k)
    np.testing.assert_allclose(st.r_y, r_y, rtol=0, atol=1e-15)
    np.testing.assert_allclose(st.r_f, r_f, rtol=0, atol=1e-15)
    np.testing.assert_allclose(R.csls(cosine_scores(Q, G), st.r_y[:, None], st.r_f[None, :]), C, rtol=0, atol=1e-14)

    ranks = np.array(rank_nn)
    summary = R.rank_summary(ranks)
    for K in (1, 5, 10):
        assert summary[f"r{K}"] == sum(r <= K for r in rank_nn) / n
    assert summary["mrr"] == pytest.approx(sum(1 / r for r in rank_nn) / n, rel=1e-15)
    assert paired_mrr(Q, G) == pytest.approx(
        0.5 * (sum(1 / r for r in rank_nn) / n
               + sum(1 / (1 + sum(Sr[j, i] > Sr[i, i] for j in range(n))) for i in range(n)) / n), rel=1e-15)
    skew, antihub = R.hubness(n_k)
    assert skew == pytest.approx(scipy.stats.skew(n_k.astype(np.float64)), rel=1e-12)
    assert antihub == np.mean(n_k == 0)


def ref_ap(scores: list[float], relevant: list[bool], first_copy: list[int]) -> float | None:
    order = sorted(range(len(scores)), key=lambda j: (-scores[first_copy[j]], j))
    hits, total = 0, 0.0
    for r, j in enumerate(order, start=1):
        if relevant[j]:
            hits += 1
            total += hits / r
    return total / hits if hits else None


def test_gallery_order_and_map_against_brute_force(retrieval_case) -> None:
    Q, G = retrieval_case
    rng = np.random.default_rng(11)
    labels = [tuple(int(v) for v in rng.choice(5, size=rng.integers(1, 3), replace=False)) for _ in range(len(Q))]
    labels[2] = (99,)  # no relevant gallery item: no AP
    rel = R.relevance(labels, labels)
    assert rel.tolist() == [[bool(set(a) & set(b)) for b in labels] for a in labels]
    S_ = cosine_scores(Q, G)
    rep = R.duplicate_representative(G)
    first_copy = [min(j for j in range(len(G)) if np.array_equal(G[j], G[i])) for i in range(len(G))]
    assert rep.tolist() == first_copy
    order = R.gallery_order(S_, rep)
    for i in range(len(Q)):
        assert order[i].tolist() == sorted(range(len(G)), key=lambda j: (-S_[i, first_copy[j]], j))
    assert all((order[i] == 3).argmax() < (order[i] == 7).argmax() for i in range(len(Q)))  # duplicates: lower first
    expected = [ap for i in range(len(Q)) if (ap := ref_ap(list(S_[i]), list(rel[i]), first_copy)) is not None]
    np.testing.assert_allclose(R.average_precisions(S_, rel, rep), expected, rtol=1e-13)
    assert R.mean_average_precision(S_, rel, rep) == pytest.approx(float(np.mean(expected)), rel=1e-13)
    # the features-level entry, blocks and within-set leave-query-out, same ordering
    assert retrieval_map(Q, G, labels, block=5) == pytest.approx(float(np.mean(expected)), rel=1e-13)
    # The ordering is by the float64 GEMM scores (``cosine_scores``), not the pairwise canonical
    # ones: on this lattice, equal cosines of non-identical rows can differ in the last bit.
    SG = cosine_scores(G, G)
    loo = []
    for i in range(len(G)):
        others = [j for j in range(len(G)) if j != i]
        sc = [SG[i, j] for j in others]
        rep_o = [others.index(min(j for j in others if np.array_equal(G[j], G[o]))) for o in others]
        ap = ref_ap(sc, [bool(set(labels[i]) & set(labels[j])) for j in others], rep_o)
        if ap is not None:
            loo.append(ap)
    assert retrieval_map(G, G, labels, exclude_self=True, block=7) == pytest.approx(float(np.mean(loo)), rel=1e-12)
    # R@K of the ordering: the partner among the first K (a tie with a lower index pushes it out)
    for K in (1, 3):
        hits = [i in R.gallery_order(S_[i : i + 1], rep)[0, :K].tolist() for i in range(len(Q))]
        assert recall_at_k(Q, G, K, block=4) == sum(hits) / len(Q)


# ---------------------------------------------------------------------- (a) significance


def test_tests_against_scipy() -> None:
    rng = np.random.default_rng(12)
    x, y = rng.integers(0, 6, 80), rng.integers(1, 7, 80)
    ref = scipy.stats.mannwhitneyu(x.astype(float), y.astype(float), alternative="two-sided", method="asymptotic")
    res = S.rank_sum_test(x, y)
    assert (res.statistic, res.pvalue) == (float(ref.statistic), float(ref.pvalue))
    assert S.paired_p(x, y) == float(scipy.stats.wilcoxon(x - y).pvalue)
    assert S.paired_p(x, x.copy()) == 1.0
    np.testing.assert_array_equal(S.bonferroni([0.01, 0.2, 0.6]), [0.01 * 3, 0.2 * 3, 1.0])
    null = np.array([3, 5, 5, 9, 1])
    assert S.permutation_p(5, null) == (1 + 3) / (1 + 5)


def test_bootstrap_ci_against_explicit_resamples() -> None:
    rng = np.random.default_rng(13)
    per = rng.integers(0, 4, size=(30, 2)).astype(np.float64)
    got = S.bootstrap_ci(per, 400, 0.9, np.random.default_rng(5))
    idx = np.random.default_rng(5).integers(0, 30, size=(400, 30))
    means = np.array([[per[row, c].mean() for c in range(2)] for row in idx])
    for c in range(2):
        lo, hi = np.quantile(means[:, c], [0.05, 0.95])
        assert got[c, 0] == pytest.approx(lo, rel=1e-14) and got[c, 1] == pytest.approx(hi, rel=1e-14)


# ------------------------------------------------------------------ (b) one definition each


#: Each measure's one definition: function name -> the module file (relative to src/crossmodal).
DEFINED_ONCE = {
    # NNO from neighbour lists, the self rule, mNNO, chance, curve, permutation null
    "overlap_counts": "measures/nno.py",
    "nno_of_lists": "measures/nno.py",
    "self_rule_lists": "measures/nno.py",
    "check_lists": "measures/nno.py",
    "mean_nno": "measures/nno.py",
    "chance": "measures/nno.py",
    "overlap_curve": "measures/nno.py",
    "permutation_null": "measures/nno.py",
    # CSLS, gallery ordering, AP, R@K, MRR, hubness
    "csls": "measures/ranks.py",
    "gallery_order": "measures/ranks.py",
    "duplicate_representative": "measures/ranks.py",
    "relevance": "measures/ranks.py",
    "average_precisions": "measures/ranks.py",
    "mean_average_precision": "measures/ranks.py",
    "recall_at": "measures/ranks.py",
    "mean_reciprocal_rank": "measures/ranks.py",
    "hubness": "measures/ranks.py",
    # the exact ranks of the true partners (plain and CSLS), N_k; retrieval of feature sets
    "cross_stats": "measures/retrieval.py",
    "cosine_scores": "measures/retrieval.py",
    "retrieval_map": "measures/retrieval.py",
    "recall_at_k": "measures/retrieval.py",
    "paired_mrr": "measures/retrieval.py",
    # significance
    "rank_sum_test": "measures/significance.py",
    "bonferroni": "measures/significance.py",
    "paired_p": "measures/significance.py",
    "permutation_p": "measures/significance.py",
    "bootstrap_ci": "measures/significance.py",
}
#: The names of the copies this package replaced; none may be defined anywhere again.
GONE = {"nno", "nno_for_k", "lists_for_k", "with_self", "_mean_overlap", "_check_neighbours", "csls_scores",
        "_rank_database", "_duplicate_representative", "_label_matrices", "_as_label_sets", "true_partner_ranks",
        "_retrieval"}


def _definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.setdefault(node.name, []).append(path.relative_to(SRC).as_posix())
    return found


def test_each_measure_is_defined_once_in_the_measures_package() -> None:
    defs = _definitions()
    wrong = {name: defs.get(name, []) for name, where in DEFINED_ONCE.items() if defs.get(name, []) != [where]}
    assert not wrong, f"measures defined elsewhere, twice or not at all: {wrong}"
    back = {name: defs[name] for name in GONE if name in defs}
    assert not back, f"old copies of measures are back: {back}"


def test_no_other_module_defines_list_overlap_csls_or_ranks() -> None:
    """Outside crossmodal/measures no function computes a list overlap, CSLS or retrieval ranks
    (by name: the features-level ``nno_per_item`` / ``mnno`` and the row builders call the measures)."""
    allowed = {"nno_per_item", "mnno", "validation_mnno", "chance_mnno", "mnno_rows", "signed_rank_p",
               "_add_mnno_arguments", "_run_mnno", "_key_overlap_error", "_rank"}
    suspicious = []
    for name, files in _definitions().items():
        low = name.lower()
        if name in allowed or not any(t in low for t in ("nno", "overlap", "csls", "rank", "mrr", "precision")):
            continue
        suspicious += [f"{f}: {name}" for f in files if not f.startswith("measures/")]
    assert not suspicious, suspicious


def test_measures_modules_stay_torch_free_but_retrieval() -> None:
    for path in sorted((SRC / "measures").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        mods |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        froms = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        if path.name == "retrieval.py":
            assert "torch" in mods
            continue
        assert "torch" not in mods, path.name
        assert not any(m.startswith(("crossmodal.metrics", "crossmodal.bridging", "crossmodal.experiments",
                                     "crossmodal.methods")) for m in froms), (path.name, froms)
