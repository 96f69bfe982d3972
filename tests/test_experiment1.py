"""Experiment 1 library: protocol, derived self rules, pooling, tables, dataset assembly."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossmodal.datasets.experiment1 import authors_set, wikipedia_set, with_protocol
from crossmodal.datasets.paired import PairedSet
from crossmodal.experiments.learned_mappings import (
    evaluations,
    keys_digest,
    load_splits,
    neighbour_lists,
    pool_per_item,
    save_splits,
    summarise_scores,
    held_out_sets,
)
from crossmodal.measures.nno import nno_of_lists, self_rule_lists
from crossmodal.metrics import knn_indices, nno_per_item
from crossmodal.tables.table1 import adjust_pvalues, table1_wide


def _set(n: int = 30, protocol: str = "cv", n_train: int = 0) -> PairedSet:
    rng = np.random.default_rng(0)
    ps = PairedSet(rng.standard_normal((n, 5)), rng.standard_normal((n, 3)), [f"k{i}" for i in range(n)], None,
                   "toy", "toy", "x", "y")
    return with_protocol(ps, name="toy", family="wiki", dataset_label="Toy", split_label="all",
                         protocol=protocol, n_train=n_train)


def test_include_self_lists_are_derived_from_one_exclude_self_computation() -> None:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 4))
    X[7] = X[3]  # an exact duplicate: self must still come first
    for metric in ("cosine", "euclidean"):
        nn = knn_indices(X, 12, metric)
        for k in (1, 5, 12):
            np.testing.assert_array_equal(self_rule_lists(nn, k, True), knn_indices(X, k, metric, include_self=True))
    Z = rng.standard_normal((60, 3))
    nn, nz = knn_indices(X, 12, "cosine"), knn_indices(Z, 12, "cosine")
    for k in (1, 5, 12):
        assert np.array_equal(nno_of_lists(nn, nz, k, True), nno_per_item(X, Z, k, "cosine", include_self=True))
        assert np.array_equal(nno_of_lists(nn, nz, k, False), nno_per_item(X, Z, k, "cosine"))


def test_protocols_give_folds_or_runs() -> None:
    cv = evaluations(_set(31), n_folds=5, n_runs=9, seed=3)
    assert [e.seed for e in cv] == [3, 4, 5, 6, 7] and [e.test_set for e in cv] == list(range(5))
    assert np.array_equal(np.sort(np.concatenate([e.test for e in cv])), np.arange(31))
    split = evaluations(_set(30, "split", 20), n_folds=5, n_runs=3, seed=0)
    assert len(split) == 3 and {e.test_set for e in split} == {0} and len(held_out_sets(split)) == 1
    assert all(np.array_equal(e.test, np.arange(20, 30)) and len(e.train) == 20 for e in split)
    assert [e.seed for e in split] == [0, 1, 2]


def test_splits_file_gives_back_the_evaluations_only_for_the_same_rows(tmp_path: Path) -> None:
    for ps in (_set(31), _set(30, "split", 20)):
        evals = evaluations(ps, n_folds=5, n_runs=3, seed=7)
        save_splits(evals, keys_digest(ps.keys), str(tmp_path / "s.npz"))
        back = load_splits(str(tmp_path / "s.npz"), ps)
        assert [(e.index, e.test_set, e.seed) for e in back] == [(e.index, e.test_set, e.seed) for e in evals]
        assert all(np.array_equal(a.train, b.train) and np.array_equal(a.test, b.test) for a, b in zip(back, evals))
    other = _set(30, "split", 20).subset(np.arange(30)[::-1])
    with pytest.raises(ValueError, match="made from other rows"):
        load_splits(str(tmp_path / "s.npz"), other)


def test_pooling_concatenates_folds_and_averages_runs() -> None:
    folds = [(0, np.array([1, 2])), (1, np.array([3]))]
    np.testing.assert_array_equal(pool_per_item(folds), [1, 2, 3])
    runs = [(0, np.array([1, 2])), (0, np.array([3, 2]))]
    np.testing.assert_array_equal(pool_per_item(runs), [2, 2])


def test_k_not_below_the_test_set_size_is_a_clear_error() -> None:
    ps = _set(30)
    sets = held_out_sets(evaluations(ps, 3, 1, 0))
    with pytest.raises(ValueError, match=r"toy image: test set 0 \(10 items\), cosine: k=10 is too large for N=10"):
        neighbour_lists(ps.image, sets, 10, where="toy image: ")


def test_summary_p_and_table_stars() -> None:
    per_run = pd.DataFrame({"metric": "cosine", "k": 2, "self": "include", "mnno_x_fx": [0.8, 0.6],
                            "mnno_y_fx": [0.2, 0.4], "mnno_x_y": 0.3, "mse": 1.0, "r2": 0.5})
    items = {("cosine", 2, "include"): {"x_fx": [(0, np.full(50, 2)), (1, np.full(50, 1))],
                                        "y_fx": [(0, np.zeros(50)), (1, np.ones(50))]}}
    s = summarise_scores(per_run, items)
    assert s["n_items_tested"].item() == 100 and s["mnno_x_fx_mean"].item() == pytest.approx(0.7)
    assert s["mnno_x_fx_std"].item() == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert s["p_value"].item() < 1e-6
    labels = {"dataset_label": "Toy (all, 2-fold CV)", "direction": "i2t", "text_label": "T", "image_label": "I",
              "loss": "mse", "text_feature": "t"}
    long = pd.concat([s.assign(**labels, mapping="lin"), s.assign(**labels, mapping="nn", p_value=0.01)],
                     ignore_index=True)
    long = adjust_pvalues(long, alpha=0.001)
    assert long["p_adjusted"].tolist() == pytest.approx([2 * s["p_value"].item(), 0.02])
    wide = table1_wide(long, "cosine", 2, "include")
    assert list(wide.columns) == ["I: X,f(X)", "I: Y,f(X)"]
    assert wide.to_numpy().tolist() == [["0.700*", "0.300"], ["0.700", "0.300"]]


def _write_csv(path: Path, keys: list[str], values: np.ndarray) -> None:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([[k, *map(repr, row)] for k, row in zip(keys, values.tolist())])


def test_authors_release_split_and_cv(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = {"TR": ["1 2", "3", "2", "1"], "TS": ["4", "1 5", "2"]}
    files = {}
    for split, labs in labels.items():
        for mod, d in (("vis", 4), ("lang", 3)):
            files[f"{mod}_{split.lower()}"] = tmp_path / f"{split}_{mod}_x.csv"
            _write_csv(files[f"{mod}_{split.lower()}"], labs, rng.standard_normal((len(labs), d)))
    ps = authors_set("iaprtc", files, "vgg128", "biGRU", name="iaprtc12")
    h = ps.experiment1
    assert (h.protocol, h.n_train, len(ps)) == ("split", 4, 7)
    assert ps.keys[:1] == ["TR:0"] and ps.keys[4] == "TS:0" and h.split_label == "official 4/3 split"
    assert h.image_label == "VGG-128 (authors), 4-d"
    cv = authors_set("iaprtc", {"vis": files["vis_ts"], "lang": files["lang_ts"]}, "vgg128", "biGRU", name="i")
    assert (cv.experiment1.protocol, cv.experiment1.split_label, cv.experiment1.dataset_label) == (
        "cv", "test split", "IAPR TC-12")


@pytest.mark.shared_data
def test_wikipedia_official_split_and_text_feature_hook(shared_data: Path, tmp_path: Path) -> None:
    w = shared_data / "wikipedia"
    args = (w / "raw_features.mat", w / "trainset_txt_img_cat.list", w / "testset_txt_img_cat.list",
            w / "categories.list")
    ps = wikipedia_set(*args, "tfidf1000", name="wikipedia")
    assert (len(ps), ps.experiment1.n_train, ps.image_dim, ps.text_dim) == (2866, 2173, 128, 1000)
    assert ps.experiment1.split_label == "official 2,173/693 split" and ps.experiment1.protocol == "split"
    rng = np.random.default_rng(0)
    tr, te = rng.standard_normal((2173, 6)), rng.standard_normal((693, 6))
    np.savez(tmp_path / "enc.npz", train=tr, test=te)
    hooked = wikipedia_set(*args, "enc", name="wikipedia", text_file=tmp_path / "enc.npz")
    np.testing.assert_array_equal(hooked.image, ps.image)
    np.testing.assert_allclose(hooked.text, np.vstack([tr, te]).astype(np.float32))
    assert hooked.text_feature == "enc"
    with pytest.raises(ValueError, match="not one of the dataset's own"):
        wikipedia_set(*args, "enc", name="wikipedia")
