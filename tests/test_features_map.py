"""Feature sanity-check table: leave-query-out class mAP and the paper-vs-ours table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossmodal.metrics.peers import retrieval_map
from crossmodal.tables.feature_map import (
    PAPER_CSV,
    feature_map,
    feature_map_table,
    read_paper_values,
)


def _ap(rel: list[bool]) -> float:
    hits, s = 0, 0.0
    for r, ok in enumerate(rel, start=1):
        if ok:
            hits += 1
            s += hits / r
    return s / hits


def test_leave_query_out_by_hand():
    X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    labels = [1, 2, 1, 2]
    # cosine ranking with the query left out, computed by hand:
    # q0: [1 (lab 2), 3 (2), 2 (1)] -> relevant at rank 3;  q1: [0 (1), 3 (2), 2 (1)] -> rank 2
    # q2: [3 (2), 1 (2), 0 (1)] -> rank 3;  q3: [2 (1), 1 (2), 0 (1)] -> rank 2
    expected = np.mean([_ap([False, False, True]), _ap([False, True, False]), _ap([False, False, True]), _ap([False, True, False])])
    assert feature_map(X, labels) == pytest.approx(expected)
    assert feature_map(X, labels, leave_query_out=False) == pytest.approx(retrieval_map(X, X, labels))
    # multi-label relevance (sharing at least one label); a query with no relevant item is skipped
    sets = [(1, 5), (5,), (2,), (3,)]
    assert feature_map(X, sets) == pytest.approx(np.mean([_ap([True, False, False]), _ap([True, False, False])]))


def test_paper_csv_and_table(tmp_path):
    paper = read_paper_values()
    assert PAPER_CSV.name == "paper_feature_map.csv"
    assert len(paper) == 6
    got = {(r.dataset, r.feature): r.paper_map for r in paper.itertuples()}
    assert got[("wikipedia", "biGRU")] == 0.77 and got[("iaprtc12", "VGG-128")] == 0.46
    ours = {("wikipedia", "biGRU"): 0.6, ("wikipedia", "LDA-10"): 0.55, ("iaprtc12", "VGG-128"): 0.45}
    t = feature_map_table(ours, n_items={("wikipedia", "biGRU"): 693})
    assert list(t.columns) == ["dataset", "feature", "paper_map", "our_map", "n_items", "protocol"]
    assert len(t) == 7 and list(t["dataset"][:4]) == ["wikipedia"] * 4
    row = t.set_index(["dataset", "feature"])
    assert row.loc[("wikipedia", "biGRU"), "our_map"] == 0.6 and row.loc[("wikipedia", "biGRU"), "n_items"] == 693
    assert np.isnan(row.loc[("wikipedia", "LDA-10"), "paper_map"])
    assert np.isnan(row.loc[("wikipedia", "ResNet"), "our_map"])
    t2 = feature_map_table(pd.DataFrame({"dataset": ["wikipedia"], "feature": ["biGRU"], "our_map": [0.5]}))
    assert t2.set_index(["dataset", "feature"]).loc[("wikipedia", "biGRU"), "our_map"] == 0.5
    bad = tmp_path / "p.csv"
    bad.write_text("dataset,feature\nwikipedia,biGRU\n")
    with pytest.raises(ValueError, match="paper_map"):
        read_paper_values(bad)
    with pytest.raises(FileNotFoundError):
        read_paper_values(tmp_path / "missing.csv")


@pytest.mark.shared_data
def test_authors_iapr_features_subset(shared_data):
    """The authors' released IAPR test-split features are far above chance under label-set relevance."""
    rows = pd.read_csv(shared_data / "iaprtc12" / "TS_vis_vgg128.csv", header=None, nrows=150)
    labels = [tuple(int(v) for v in str(s).split()) for s in rows[0]]
    X = rows.iloc[:, 1:].to_numpy(float)
    m = feature_map(X, labels)
    perm = np.random.default_rng(0).permutation(len(labels))
    chance = feature_map(X, [labels[i] for i in perm])
    assert m > chance + 0.05
