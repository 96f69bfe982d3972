"""Experiment 1 settings: batched training of the evaluations, the search's scope, paper tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_batched_training import plain_rmsprop_fit

from crossmodal.datasets.experiment1 import with_protocol
from crossmodal.datasets.paired import PairedSet
from crossmodal.experiments import learned_mappings as lm
from crossmodal.mappings import Hyperparams, cross_validate, predict
from crossmodal.tables import table1 as t1


def _set(n: int = 48, protocol: str = "cv", labels: list[tuple[int, ...]] | None = None) -> PairedSet:
    rng = np.random.default_rng(3)
    X = rng.standard_normal((n, 6))
    Y = np.tanh(X @ rng.standard_normal((6, 4)))
    ps = PairedSet(X, Y, [f"k{i}" for i in range(n)], labels, "toy", "toy", "x", "y")
    return with_protocol(ps, name="toy", family="wiki", dataset_label="Toy", split_label="all", protocol=protocol,
                         n_train=n * 3 // 4)


@pytest.mark.parametrize("kind, loss, dropout", [("lin", "mse", 0.0), ("nn", "cosine", 0.25), ("nn-3", "max-margin", 0.0)])
def test_batched_evaluations_equal_training_them_one_by_one(kind, loss, dropout) -> None:
    ps = _set(labels=[(i % 3,) for i in range(48)])
    X, Y = lm.sides(ps, "i2t")
    evals = lm.evaluations(ps, 3, 1, seed=5)
    st = lm.TrainSettings(loss, 0.01, None if kind == "lin" else 8, dropout, 2.0, 4, 8, "cv")
    labels = lm.max_margin_labels(ps)
    pred = lm.train_evaluations(X, Y, evals, kind, st, labels)
    for ev, p, hist in zip(evals, pred.preds, pred.losses):
        # an independent plain torch.optim.RMSprop loop (tests/test_batched_training.py)
        model, ref_loss, _ = plain_rmsprop_fit(X[ev.train], Y[ev.train], kind, st.hidden, st.lr, st.epochs,
                                               st.batch_size, seed=ev.seed, loss=loss, dropout=dropout,
                                               margin=st.margin, labels=None if labels is None else labels[ev.train])
        np.testing.assert_allclose(p, predict(model, X[ev.test]), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(hist, ref_loss, rtol=1e-4)


def test_max_margin_labels_only_for_single_label_items() -> None:
    assert lm.max_margin_labels(_set()) is None  # no labels: every other item is another class
    assert lm.max_margin_labels(_set(labels=[(1, 2)] + [(0,)] * 47)) is None  # multi-label
    np.testing.assert_array_equal(lm.max_margin_labels(_set(labels=[(i % 4,) for i in range(48)])),
                                  [i % 4 for i in range(48)])


def test_search_uses_the_first_evaluations_training_rows_only() -> None:
    ps = _set(protocol="split")
    evals = lm.evaluations(ps, 5, 2, seed=0)
    grid = lm.resolve_grid({"lr": [0.01, 0.001], "hidden": "auto", "dropout": [0.0], "margin": [1.0]}, 8)
    assert grid["hidden"] == (8,)
    res = lm.select_hyperparameters(ps, "t2i", "nn", "mse", grid, evals, 3, 5, 8, 0)
    X, Y = lm.sides(ps, "t2i")
    ref = cross_validate(X[evals[0].train], Y[evals[0].train], "nn", "mse", grid, 3, 5, 8, 0)
    assert res.chosen == ref.chosen and res.chosen["lr"] in (0.01, 0.001) and 1 <= res.chosen["epochs"] <= 5
    st = lm.TrainSettings.from_cv(res.chosen)
    assert (st.lr, st.hidden, st.epochs, st.source) == (res.chosen["lr"], 8, res.chosen["epochs"], "cv")


def test_authors_settings_carry_no_dropout_and_no_hidden_for_lin() -> None:
    hp = Hyperparams(hidden=512, lr=1e-3, epochs=50, batch_size=64, image_class="vgg128")
    assert lm.TrainSettings.from_authors(hp, "lin", "mse").hidden is None
    st = lm.TrainSettings.from_authors(hp, "nn-5", "max-margin", margin=2.5)
    assert (st.hidden, st.dropout, st.margin, st.source) == (512, 0.0, 2.5, "authors")


def test_every_paper_table_setting_has_exactly_one_table() -> None:
    seen = {}
    for metric in ("cosine", "euclidean"):
        for loss in ("mse", "cosine", "max-margin"):
            for mapping in ("lin", "nn", "nn-3", "nn-5"):
                for text in ("glove6b50d", "word2vec"):
                    seen[(metric, loss, mapping, text)] = t1.paper_table(metric, loss, mapping, text)
    assert seen[("cosine", "mse", "nn", "glove6b50d")] == 1 and seen[("euclidean", "mse", "lin", "glove6b50d")] == 9
    assert seen[("euclidean", "max-margin", "nn", "glove6b50d")] == 6 and seen[("cosine", "cosine", "lin", "glove6b50d")] == 7
    assert seen[("cosine", "mse", "nn-5", "glove6b50d")] == 3 and seen[("euclidean", "mse", "nn-3", "glove6b50d")] == 4
    assert seen[("euclidean", "mse", "lin", "word2vec")] == 10 and seen[("cosine", "mse", "nn", "word2vec")] == 11
    assert seen[("cosine", "cosine", "nn-3", "glove6b50d")] == 0  # not in the paper
    numbers = [n for n in seen.values() if n]
    assert sorted(set(numbers)) == [1, 3, 4, 5, 6, 7, 8, 9, 10, 11]


def _long(mapping: str, loss: str, text_feature: str = "glove6b50d") -> pd.DataFrame:
    rows = []
    for direction in ("i2t", "t2i"):
        rows.append({"dataset": "d", "dataset_label": "D (all, 5-fold CV)", "direction": direction, "mapping": mapping,
                     "loss": loss, "image_label": "I", "text_label": "T", "text_feature": text_feature,
                     "metric": "cosine", "k": 10, "self": "include", "mnno_x_fx_mean": 0.5, "mnno_y_fx_mean": 0.2,
                     "p_value": 1e-9})
    return pd.DataFrame(rows)


def test_a_table_whose_settings_did_not_run_is_n_a_with_a_reason() -> None:
    long = t1.adjust_pvalues(_long("lin", "mse"), alpha=0.001)
    table1 = t1.paper_table_wide(long, t1.PAPER_TABLES[1], 10, "include")
    assert table1["I: X,f(X)"].tolist() == ["0.500*", "0.500*"] and (table1["note"] == "").all()
    table3 = t1.paper_table_wide(long, t1.PAPER_TABLES[3], 10, "include")
    assert len(table3) == 4 and set(table3["I: X,f(X)"]) == {"n/a"}
    assert table3["note"].str.contains("needs mappings nn-3, nn-5 with the mse loss").all()
    table11 = t1.paper_table_wide(long, t1.PAPER_TABLES[11], 10, "include")
    assert (table11.drop(columns="note") == "n/a").all().all() and table11["note"].str.startswith("not available").all()
    assert list(table11.index.get_level_values("text features")) == ["word2vec"] * 4


def test_word2vec_rows_go_to_tables_10_and_11_only() -> None:
    long = t1.adjust_pvalues(pd.concat([_long("lin", "mse"), _long("lin", "mse", "word2vec")]), alpha=0.001)
    assert sorted(set(long["paper_table"])) == [1, 11]
    table11 = t1.paper_table_wide(long, t1.PAPER_TABLES[11], 10, "include")
    assert len(table11) == 2 and (table11["note"] == "").all()
    assert len(t1.paper_table_wide(long, t1.PAPER_TABLES[1], 10, "include")) == 2


def test_hyperparameters_table_lists_what_each_setting_used_and_the_search_where_it_ran() -> None:
    long = pd.concat([_long(m, "mse").assign(dataset="d", image_feature="i", hp_source="authors", lr=0.001, hidden=8,
                                             dropout=0.0, margin="", epochs=50, batch_size=64, n_unsteady=1)
                      for m in ("lin", "nn")], ignore_index=True)
    off = t1.hyperparameters_table(long, t1.chosen_table([]))
    assert len(off) == 4 and (off["hp_source"] == "authors").all() and (off["grid"] == "").all()
    chosen = {"dataset": "d", "image_feature": "i", "text_feature": "glove6b50d", "direction": "t2i", "kind": "nn",
              "loss": "mse", "criterion": "mse", "lr": 0.01, "epochs": 3, "val_loss": 1.5, "n_settings": 3,
              "grid": {"lr": [0.01, 0.001]}}
    on = t1.hyperparameters_table(long, t1.chosen_table([chosen]))
    row = on[(on["mapping"] == "nn") & (on["direction"] == "t2i")]
    assert row["val_loss"].item() == 1.5 and row["grid"].item() == '{"lr": [0.01, 0.001]}'
    assert on["val_loss"].isna().sum() == 3  # the other settings were not searched
