"""Figures 1 and 2: the toy manifold and its random image, the learning curves, the PNGs.

References are recomputed here independently (brute-force float64 neighbours in numpy, the
network's formula by hand, a permutation estimate of chance); only small synthetic data is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_batched_training import plain_rmsprop_fit

from crossmodal.datasets.paired import DatasetHeader, PairedSet
from crossmodal.experiments.learned_mappings import evaluations
from crossmodal.figures.curves import (
    CURVE_COLUMNS,
    MEASURES,
    _reference,
    dataset_curves,
    learning_curves,
    plot_figure2,
    split_measures,
)
from crossmodal.figures.toy import (
    chance_mnno,
    class_separation,
    figure1_table,
    plot_figure1,
    random_map,
    toy_manifold,
    toy_summary,
)
from crossmodal.mappings.models import build_mapping
from crossmodal.mappings.train import fit_mapping, predict
from crossmodal.mappings.untrained import untrained_weights

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------ independent references


def brute_knn_with_self(V: np.ndarray, k: int, metric: str) -> np.ndarray:
    """Each row: itself, then its k - 1 nearest other rows (float64, ties to the lower index)."""
    V = np.asarray(V, dtype=np.float64)
    if metric == "cosine":
        U = V / np.linalg.norm(V, axis=1, keepdims=True)
        D = 1.0 - U @ U.T
    else:
        D = ((V[:, None, :] - V[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(D, -np.inf)
    return np.argsort(D, axis=1, kind="stable")[:, :k]


def brute_mnno(A: np.ndarray, B: np.ndarray, k: int, metric: str) -> float:
    na, nb = brute_knn_with_self(A, k, metric), brute_knn_with_self(B, k, metric)
    return sum(len(set(a) & set(b)) for a, b in zip(na, nb)) / (k * len(A))


def pairwise(P: np.ndarray) -> np.ndarray:
    return np.sqrt(((P[:, None, :] - P[None, :, :]) ** 2).sum(axis=2))


# ------------------------------------------------------------------------------------- Figure 1


def test_toy_manifold_has_three_separated_classes():
    toy = toy_manifold(n_per_class=40, noise=0.03, seed=0)
    assert toy.points.shape == (120, 2) and sorted(np.unique(toy.classes)) == [0, 1, 2]
    assert np.bincount(toy.classes).tolist() == [40, 40, 40]
    D = pairwise(toy.points)
    same = toy.classes[:, None] == toy.classes[None, :]
    between = D[~same].min()
    within = np.where(same & ~np.eye(len(D), dtype=bool), D, np.inf).min(axis=1).max()
    assert between > within  # every point is closer to some point of its class than any class is to another
    sep = class_separation(toy.points, toy.classes)
    assert sep.separated and sep.min_between == pytest.approx(between) and sep.max_within_nn == pytest.approx(within)


def test_toy_manifold_is_a_function_of_its_seed():
    a, b, c = toy_manifold(30, seed=3), toy_manifold(30, seed=3), toy_manifold(30, seed=4)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.classes, b.classes)
    assert not np.array_equal(a.points, c.points)


def test_random_map_is_the_untrained_tanh_network():
    toy = toy_manifold(20, seed=1)
    W0, W1 = (w.numpy() for w in untrained_weights("f_nn", 2, 2, 8, seed=5))
    expected = np.tanh(toy.points @ W0.T) @ W1.T
    np.testing.assert_allclose(random_map(toy.points, hidden=8, seed=5), expected, rtol=1e-12, atol=1e-12)


def test_random_map_is_lipschitz_continuous():
    """|f(x) - f(x')| <= |W1| |W0| |x - x'| (tanh is 1-Lipschitz), checked on nearby point pairs."""
    toy = toy_manifold(50, seed=2)
    W0, W1 = (w.numpy() for w in untrained_weights("f_nn", 2, 2, 16, seed=0))
    lipschitz = np.linalg.norm(W1, 2) * np.linalg.norm(W0, 2)
    rng = np.random.default_rng(0)
    moved = toy.points + rng.normal(0, 1e-3, toy.points.shape)
    step_in = np.linalg.norm(moved - toy.points, axis=1)
    step_out = np.linalg.norm(random_map(moved, 16, 0) - random_map(toy.points, 16, 0), axis=1)
    assert (step_out <= lipschitz * step_in * (1 + 1e-9)).all()


def test_random_network_keeps_neighbourhoods_above_chance():
    toy = toy_manifold(60, seed=0)
    mapped = random_map(toy.points, hidden=16, seed=0)
    summary = toy_summary(toy.points, mapped, toy.classes, k=10, metric="euclidean")
    assert summary.mnno == pytest.approx(brute_mnno(toy.points, mapped, 10, "euclidean"))
    # Chance: the same mapped points, paired with the inputs at random.
    rng = np.random.default_rng(1)
    shuffled = [brute_mnno(toy.points, mapped[rng.permutation(len(mapped))], 10, "euclidean") for _ in range(5)]
    chance = float(np.mean(shuffled))
    assert summary.chance == pytest.approx(chance, abs=0.03)  # the closed form agrees with the estimate
    assert summary.mnno > 3 * chance
    assert chance_mnno(len(mapped), 10) == summary.chance


def test_class_purity_and_separation_of_the_summary():
    toy = toy_manifold(40, seed=0)
    mapped = random_map(toy.points, hidden=16, seed=0)
    s = toy_summary(toy.points, mapped, toy.classes, k=5)
    nn = brute_knn_with_self(mapped, 6, "euclidean")[:, 1:]  # the 5 nearest others
    assert s.purity_mapped == pytest.approx((toy.classes[nn] == toy.classes[:, None]).mean())
    assert s.separation_input.separated
    assert s.as_dict()["separation_mapped"]["ratio"] == pytest.approx(s.separation_mapped.ratio)


def test_figure1_png_is_byte_identical_for_the_same_seed(tmp_path):
    def draw(seed: int, name: str) -> bytes:
        toy = toy_manifold(30, seed=seed)
        mapped = random_map(toy.points, hidden=16, seed=seed)
        plot_figure1(toy, mapped, toy_summary(toy.points, mapped, toy.classes), tmp_path / name, hidden=16)
        return (tmp_path / name).read_bytes()

    first, second, other = draw(0, "a.png"), draw(0, "b.png"), draw(1, "c.png")
    assert first.startswith(PNG_MAGIC) and first == second and first != other
    assert b"matplotlib" not in first.lower()  # no software stamp


def test_figure1_table_holds_every_point():
    toy = toy_manifold(10, seed=0)
    mapped = random_map(toy.points, 16, 0)
    table = figure1_table(toy, mapped)
    assert table.columns.tolist() == ["class", "x", "y", "fx", "fy"]
    assert np.array_equal(table[["x", "y"]].to_numpy(), toy.points)
    assert np.array_equal(table[["fx", "fy"]].to_numpy(), mapped)


# --------------------------------------------------------------------------- fit_mapping on_epoch


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 8)).astype(np.float32)
    Y = (np.tanh(X @ rng.normal(size=(8, 5))) + 0.3 * rng.normal(size=(70, 5))).astype(np.float32)
    train, test = np.arange(50), np.arange(50, 70)
    return X, Y, train, test


@pytest.mark.parametrize("dropout", [0.0, 0.25])
def test_on_epoch_callback_leaves_training_unchanged(synthetic, dropout):
    X, Y, train, _ = synthetic
    args = (X[train], Y[train], "nn", 16, 1e-3, 4, 16)
    plain, plain_hist = fit_mapping(*args, seed=3, dropout=dropout)
    seen: list[tuple[int, bool]] = []

    def callback(epoch: int, model: torch.nn.Module) -> None:
        seen.append((epoch, model.training))
        predict(model, X)  # switches to eval mode

    watched, watched_hist = fit_mapping(*args, seed=3, dropout=dropout, on_epoch=callback)
    assert [e for e, _ in seen] == [1, 2, 3, 4]
    assert all(training for _, training in seen)  # each call finds the model as training left it
    assert watched_hist.loss == plain_hist.loss
    assert np.array_equal(predict(watched, X), predict(plain, X))
    assert not watched.training


# ------------------------------------------------------------------------------------ Figure 2


def _measures(P: np.ndarray, X: np.ndarray, Y: np.ndarray, k: int) -> dict[str, float]:
    P64, Y64 = P.astype(np.float64), Y.astype(np.float64)
    return {
        "mnno_fx_y": brute_mnno(P, Y, k, "cosine"),
        "mnno_fx_x": brute_mnno(P, X, k, "cosine"),
        "mse": float(((P64 - Y64) ** 2).mean()),
    }


def _values(curves: pd.DataFrame, split: str, epoch: int) -> dict[str, float]:
    sel = curves[(curves["split"] == split) & (curves["epoch"] == epoch)]
    return dict(zip(sel["measure"], sel["value"]))


@pytest.fixture(scope="module")
def curves(synthetic):
    X, Y, train, test = synthetic
    return learning_curves(X, Y, train, test, hidden=16, lr=1e-3, epochs=5, batch_size=16, seed=7, k=5)


def test_curves_are_tidy_and_complete(curves):
    assert tuple(curves.columns) == CURVE_COLUMNS
    assert len(curves) == 6 * 2 * len(MEASURES)  # epochs 0..5, two splits
    assert sorted(curves["epoch"].unique()) == list(range(6))
    assert set(curves["split"]) == {"train", "test"} and set(curves["measure"]) == set(MEASURES)
    mnno = curves[curves["measure"] != "mse"]["value"]
    assert ((mnno >= 0) & (mnno <= 1)).all()


def test_last_epoch_equals_an_independent_recomputation(synthetic, curves):
    X, Y, train, test = synthetic
    model, _, _ = plain_rmsprop_fit(X[train], Y[train], "nn", 16, 1e-3, 5, 16, seed=7)
    for split, rows in (("train", train), ("test", test)):
        expected = _measures(predict(model, X[rows]), X[rows], Y[rows], 5)
        got = _values(curves, split, 5)
        assert got["mnno_fx_y"] == pytest.approx(expected["mnno_fx_y"], abs=1e-12)
        assert got["mnno_fx_x"] == pytest.approx(expected["mnno_fx_x"], abs=1e-12)
        assert got["mse"] == pytest.approx(expected["mse"], rel=1e-12)


@pytest.mark.parametrize("kind,hidden", [("nn", 16), ("lin", None)])
def test_every_epoch_is_the_plain_torch_optim_training_bit_for_bit(synthetic, kind, hidden):
    """The curves come from the batched engine; each epoch's numbers are exactly those of the
    model a plain torch.optim.RMSprop loop has after that many epochs (50 train rows: batches
    of 16, 16, 16 and 2), so Figure 2 did not move when its training changed engines."""
    X, Y, train, test = synthetic
    got = learning_curves(X, Y, train, test, kind=kind, hidden=hidden, lr=1e-3, epochs=3, batch_size=16, seed=7, k=5)
    for epoch in range(4):
        if epoch == 0:
            model = build_mapping(kind, X.shape[1], Y.shape[1], hidden, seed=7)
        else:
            model, _, _ = plain_rmsprop_fit(X[train], Y[train], kind, hidden, 1e-3, epoch, 16, seed=7)
        for split, rows in (("train", train), ("test", test)):
            ref = _reference(X[rows], Y[rows], 5, "cosine", True)
            assert _values(got, split, epoch) == split_measures(predict(model, X[rows]), ref, 5, "cosine", True)


def test_epoch_zero_is_the_untrained_model(synthetic, curves):
    X, Y, train, test = synthetic
    model = build_mapping("nn", X.shape[1], Y.shape[1], 16, seed=7)
    for split, rows in (("train", train), ("test", test)):
        expected = _measures(predict(model, X[rows]), X[rows], Y[rows], 5)
        got = _values(curves, split, 0)
        for m in MEASURES:
            assert got[m] == pytest.approx(expected[m], rel=1e-12, abs=1e-12)
    # Training moved the fit: the train MSE after 5 epochs is below the initial one.
    assert _values(curves, "train", 5)["mse"] < _values(curves, "train", 0)["mse"]


def _paired_set(n: int = 60) -> PairedSet:
    rng = np.random.default_rng(1)
    image = rng.normal(size=(n, 12))
    text = np.tanh(image[:, :6]) + 0.2 * rng.normal(size=(n, 6))
    header = DatasetHeader(protocol="cv", n_train=0, family="iaprtc", dataset_label="Toy set", split_label="all rows",
                           image_label="toy image, 12-d", text_label="toy text, 6-d")
    return PairedSet(image, text, [f"item{i}" for i in range(n)], None, "toy", "synthetic pairs", "toyimg", "toytxt",
                     header=header)


def test_dataset_curves_use_the_first_fold_and_label_the_rows():
    ps = _paired_set()
    overrides = {"epochs": 2, "hidden": {"iaprtc": {"vgg128": 8}}}
    ev = evaluations(ps, 5, 1, 0)[0]
    out = dataset_curves(ps, "toy", ["i2t", "t2i"], ev, overrides=overrides, k=4)
    assert list(out.columns[:8]) == ["dataset", "image", "text", "direction", *CURVE_COLUMNS]
    assert len(out) == 2 * 3 * 2 * len(MEASURES)
    assert set(out["direction"]) == {"i2t", "t2i"} and set(out["dataset_label"]) == {"Toy set"}
    assert set(out["n_train"]) == {len(ev.train)} and set(out["n_test"]) == {len(ev.test)}
    assert set(out["hidden"]) == {8} and set(out["epochs"]) == {2} and set(out["seed"]) == {ev.seed}
    # t2i maps text -> image: its last test epoch is the same run trained directly.
    model, _, _ = plain_rmsprop_fit(ps.text[ev.train], ps.image[ev.train], "nn", 8,
                                    float(out[out.direction == "t2i"]["lr"].iloc[0]), 2, 64, seed=ev.seed)
    expected = _measures(predict(model, ps.text[ev.test]), ps.text[ev.test], ps.image[ev.test], 4)
    got = _values(out[out["direction"] == "t2i"], "test", 2)
    assert got["mnno_fx_y"] == pytest.approx(expected["mnno_fx_y"], abs=1e-12)
    assert got["mse"] == pytest.approx(expected["mse"], rel=1e-12)


def test_figure2_png_is_byte_identical(tmp_path):
    ps = _paired_set(40)
    out = dataset_curves(ps, "toy", ["i2t"], evaluations(ps, 4, 1, 0)[0],
                         overrides={"epochs": 1, "hidden": {"iaprtc": {"vgg128": 8}}}, k=4)
    plot_figure2(out, tmp_path / "a.png")
    plot_figure2(out, tmp_path / "b.png")
    first = (tmp_path / "a.png").read_bytes()
    assert first.startswith(PNG_MAGIC) and first == (tmp_path / "b.png").read_bytes()
    with pytest.raises(ValueError, match="no learning curves"):
        plot_figure2(out.iloc[0:0], tmp_path / "c.png")
