"""evaluate_methods: the three tables, their invariants, and byte-identical reruns."""

from __future__ import annotations

import numpy as np
import pytest

from crossmodal.datasets.paired import PairedSet
from crossmodal.experiments.methods import HP_COLUMNS, MNNO_COLUMNS, evaluate_methods
from crossmodal.metrics.nno import mnno

METHODS = ["lin", "nn-nbr", "cca", "classifier"]


def _paired(n: int, seed: int, labelled: bool = True) -> PairedSet:
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 3, n)
    Z = rng.standard_normal((n, 3)) + 2 * np.eye(3)[c]
    image = np.abs(Z @ rng.standard_normal((3, 12)) + 0.3 * rng.standard_normal((n, 12)))
    text = Z @ rng.standard_normal((3, 6)) + 0.3 * rng.standard_normal((n, 6))
    return PairedSet(image, text, [f"{seed}-{i}" for i in range(n)], [(int(v),) for v in c] if labelled else None,
                     f"toy/{seed}", "synthetic paired set", "img", "txt", meta={"source": "toy"})


@pytest.fixture(scope="module")
def tables():
    train, test = _paired(240, 0), _paired(120, 1)
    first = evaluate_methods(train, test, METHODS, ks=(5, 10), seed=3, n_bootstrap=200)
    second = evaluate_methods(train, test, METHODS, ks=(5, 10), seed=3, n_bootstrap=200)
    return train, test, first, second


def test_reruns_write_byte_identical_csvs(tables) -> None:
    _, _, first, second = tables
    for a, b in zip(first, second):
        assert a.to_csv(index=False) == b.to_csv(index=False)


def test_mnno_table_shape_roles_and_invariants(tables) -> None:
    _, test, (m, _, _), _ = tables
    assert list(m.columns) == MNNO_COLUMNS
    # 4 methods x 2 directions x 2 K x 2 self rules (one metric)
    assert len(m) == 4 * 2 * 2 * 2
    assert set(m[m.family == "regression"].y_role) == {"Y"} and set(m[m.family == "shared"].y_role) == {"h(Y)"}
    np.testing.assert_allclose(m["diff"], m.mnno_y_fx - m.mnno_x_fx, atol=1e-12)
    assert ((m.diff_ci_lo <= m["diff"] + 1e-12) & (m["diff"] <= m.diff_ci_hi + 1e-12)).all()
    assert m.p_rank_sum.between(0, 1).all() and m.p_paired.between(0, 1).all()
    # mNNO(X, Y) is a property of the test rows, the same for every method, and equals the metric
    for (direction, k, rule), cell in m.groupby(["direction", "k", "self"]):
        X, Y = (test.image, test.text) if direction == "i2t" else (test.text, test.image)
        assert np.allclose(cell.mnno_x_y, mnno(X, Y, int(k), "cosine", include_self=rule == "include"))
    # a shared space's Y-role pair is symmetric: (h(texts), g(images)) in i2t is (g, h) in t2i
    shared = m[m.family == "shared"].set_index(["method", "k", "self", "direction"])
    for method in ("cca", "classifier"):
        for k in (5, 10):
            for rule in ("include", "exclude"):
                assert shared.loc[(method, k, rule, "i2t"), "mnno_y_fx"] == shared.loc[(method, k, rule, "t2i"), "mnno_y_fx"]
    assert m[m.family == "regression"].mse.notna().all() and m[m.family == "shared"].mse.isna().all()


def test_retrieval_and_hyperparameter_tables(tables) -> None:
    _, _, (_, r, h), _ = tables
    # regression: one query direction per map direction; shared: both from one fit; x 2 scorings
    assert len(r) == 2 * 2 * 2 + 2 * 2 * 2
    assert set(r[r.family == "regression"]["query"]) == {"I->T", "T->I"}
    assert r["map"].between(0, 1).all() and r.r10.between(0, 1).all()
    assert (r.groupby(["method", "query"]).hub_skewness.nunique() == 1).all()  # hubness does not depend on CSLS
    assert list(h.columns) == HP_COLUMNS
    assert len(h) == 2 * 2 + 2 and (h.hp_source == "cv").all()


def test_classifier_is_skipped_without_labels() -> None:
    train, test = _paired(90, 2, labelled=False), _paired(60, 3, labelled=False)
    m, r, h = evaluate_methods(train, test, ["cca", "classifier"], ks=(5,), n_bootstrap=50)
    assert set(m.method) == {"cca"} and r["map"].isna().all() and list(h.method) == ["cca"]
