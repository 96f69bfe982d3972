"""Mappings: models, training, determinism, CV folds, regression scores, hyperparameter table."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossmodal.datasets.experiment1 import with_protocol
from crossmodal.datasets.paired import PairedSet
from crossmodal.experiments.learned_mappings import (
    evaluations,
    neighbour_lists,
    score_evaluations,
    held_out_sets,
    TrainSettings,
    train_evaluations,
)
from crossmodal.mappings import (
    DEFAULTS,
    Hyperparams,
    build_mapping,
    fit_mapping,
    kfold_indices,
    predict,
    regression_scores,
    resolve_hyperparams,
)
from crossmodal.metrics import mnno


def _linear_problem(n: int = 500, dx: int = 20, dy: int = 30, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dx)).astype(np.float32)
    A = rng.standard_normal((dy, dx)) / np.sqrt(dx)
    return X, (X.astype(np.float64) @ A.T).astype(np.float32)


def _euclid(Z: np.ndarray) -> np.ndarray:
    """Brute-force float64 pairwise distances, self excluded."""
    Z = Z.astype(np.float64)
    d = np.sqrt(np.maximum(((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1), 0.0))
    np.fill_diagonal(d, np.inf)
    return d


def test_lin_learns_exact_linear_map_and_its_neighbourhoods() -> None:
    X, Y = _linear_problem()
    lines: list[str] = []
    model, hist = fit_mapping(X, Y, "lin", None, lr=3e-4, epochs=600, seed=1, log=lines.append)
    P = predict(model, X)
    assert P.shape == Y.shape and P.dtype == np.float32
    assert len(hist.loss) == len(lines) == 600 and lines[-1].startswith("epoch 600/600")
    assert hist.loss[-1] < 1e-3 * hist.loss[0]
    scores = regression_scores(P, Y)
    assert scores["mse"] < 1e-4 * Y.var()

    k = 10
    dY, dP = _euclid(Y), _euclid(P)
    nnY = np.argsort(dY, axis=1, kind="stable")[:, :k]
    nnP = np.argsort(dP, axis=1, kind="stable")[:, :k]
    same = np.array([set(a) == set(b) for a, b in zip(nnY, nnP)])
    # Each prediction is within eps of its target, so every distance moves by at most 2*eps:
    # items whose k-th and (k+1)-th neighbour distances in Y differ by more than 4*eps must
    # have exactly Y's neighbour set. Other items may only differ by near-ties.
    eps = np.linalg.norm(P.astype(np.float64) - Y, axis=1).max()
    sorted_d = np.sort(dY, axis=1)
    separated = sorted_d[:, k] - sorted_d[:, k - 1] > 4 * eps
    assert separated.mean() > 0.3  # the exact check below covers a large share of items
    assert same[separated].all()
    assert same.mean() > 0.98
    # The same in the paper's measure: f(X) has Y's neighbourhoods, mNNO(Y, f(X)) -> 1.
    assert mnno(Y, P, k, "euclidean") > 0.99 and mnno(Y, P, k, "cosine") > 0.99


def test_experiment1_lin_bridges_an_exact_linear_map_on_test_folds() -> None:
    """Experiment 1's own path (CV folds, cached neighbours, derived self rules) on Y = A·X:
    trained on other folds, f(X) of each test fold has Y's neighbourhoods (mNNO(Y, f(X)) -> 1)."""
    X, Y = _linear_problem(n=300, dx=20, dy=30, seed=2)
    ps = with_protocol(PairedSet(X, Y, [str(i) for i in range(len(X))], None, "toy", "Y = A X", "x", "y"),
                       name="toy", family="imagenet", dataset_label="toy", split_label="all", protocol="cv")
    evals = evaluations(ps, n_folds=3, n_runs=1, seed=0)
    settings = TrainSettings(loss="mse", lr=3e-3, hidden=None, dropout=0.0, margin=1.0, epochs=100, batch_size=64,
                             source="authors")
    pred = train_evaluations(X, Y, evals, "lin", settings)
    sets = held_out_sets(evals)
    nn_x, nn_y = neighbour_lists(X, sets, 10), neighbour_lists(Y, sets, 10)
    runs = [(ev.index, ev.test_set, ev.test, p) for ev, p in zip(evals, pred.preds)]
    per_run, _ = score_evaluations(Y, runs, nn_x, nn_y, [10])
    assert (per_run["mnno_y_fx"] > 0.95).all() and (per_run["r2"] > 0.999).all()
    # The cached, derived numbers are mnno() on the raw test vectors, under both self rules.
    ev, fx = evals[0], pred.preds[0]
    for rule, include in (("include", True), ("exclude", False)):
        row = per_run[(per_run["evaluation"] == 0) & (per_run["metric"] == "cosine") & (per_run["self"] == rule)]
        assert row["mnno_y_fx"].item() == mnno(Y[ev.test], fx, 10, "cosine", include_self=include)
        assert row["mnno_x_fx"].item() == mnno(X[ev.test], fx, 10, "cosine", include_self=include)


def test_training_is_deterministic_and_seed_dependent() -> None:
    X, Y = _linear_problem(n=200, dx=8, dy=6)
    runs = [predict(fit_mapping(X, Y, "nn", 16, lr=1e-3, epochs=5, seed=s)[0], X) for s in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0], runs[1])  # bit-identical
    assert not np.array_equal(runs[0], runs[2])


def test_nn_shapes_and_training_decreases_loss() -> None:
    model = build_mapping("nn", 12, 5, 32, seed=0)
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert shapes == [(32, 12), (32,), (5, 32), (5,)]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert tuple(p.shape for p in build_mapping("lin", 12, 5).parameters()) == ((5, 12), (5,))
    rng = np.random.default_rng(3)
    X = rng.standard_normal((130, 12)).astype(np.float32)  # not a multiple of 64: a partial batch
    Y = np.tanh(X[:, :5] * X[:, 5:10]).astype(np.float32)
    model, hist = fit_mapping(X, Y, "nn", 32, lr=1e-3, epochs=30, seed=0, validation=(X[:20], Y[:20]))
    assert predict(model, X).shape == (130, 5)
    assert predict(model, X[:0]).shape == (0, 5)
    assert hist.loss[-1] < hist.loss[0] and len(hist.val_loss) == 30
    assert hist.config["hidden"] == 32 and hist.config["batch_size"] == 64
    with pytest.raises(ValueError):
        build_mapping("nn", 3, 3, None)
    with pytest.raises(ValueError):
        build_mapping("mlp", 3, 3, 4)


def test_epoch_loss_is_half_squared_norm() -> None:
    """history.loss[0] with lr ~ 0 equals mean 0.5*||f(x)-y||^2 of the initial model."""
    X, Y = _linear_problem(n=100, dx=4, dy=3)
    init = predict(build_mapping("lin", 4, 3, seed=5), X)
    _, hist = fit_mapping(X, Y, "lin", None, lr=1e-30, epochs=1, seed=5)
    ref = 0.5 * ((init.astype(np.float64) - Y) ** 2).sum(axis=1).mean()
    assert hist.loss[0] == pytest.approx(ref, rel=1e-5)
    assert regression_scores(init, Y)["loss"] == pytest.approx(ref, rel=1e-9)


def test_r2_and_mse_match_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((50, 4))
    Y[:, 3] = 2.0  # constant column: sklearn's force_finite convention
    P = Y + 0.3 * rng.standard_normal(Y.shape)
    s = regression_scores(P, Y)
    assert s["r2"] == pytest.approx(metrics.r2_score(Y, P), rel=1e-12)
    assert s["mse"] == pytest.approx(metrics.mean_squared_error(Y, P), rel=1e-12)
    P[:, 3] = 2.0
    assert regression_scores(P, Y)["r2"] == pytest.approx(metrics.r2_score(Y, P), rel=1e-12)


def test_kfold_partitions() -> None:
    n, k = 103, 5
    folds = kfold_indices(n, k, seed=4)
    assert len(folds) == k
    tests = [te for _, te in folds]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(n))  # disjoint and covering
    assert max(map(len, tests)) - min(map(len, tests)) <= 1
    for tr, te in folds:
        assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == n
    again = kfold_indices(n, k, seed=4)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = kfold_indices(n, k, seed=5)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))
    with pytest.raises(ValueError):
        kfold_indices(3, 5)


TOY_TABLE = {
    "epochs": 7,
    "batch_size": 64,
    "hidden": {"d": {"vgg128": 11, "resnet": 22}},
    "lr": {"d": {"i2t": {"lin/vgg128": 0.5, "nn": 0.25, "*": 0.125}, "t2i": {"*": 0.0625}}},
    "image_feature_class": {"vgg128": "vgg128", "resnet": "resnet", "named_big": "vgg128"},
    "vgg_like_max_dim": 256,
    "dataset_aliases": {"d": "d", "dee": "d"},
}


def test_hyperparam_lookup_order_and_feature_rule() -> None:
    def hp(direction, kind, feat, dim=None, **kw):
        return resolve_hyperparams("dee", direction, kind, feat, dim, table=TOY_TABLE, **kw)

    assert (hp("i2t", "lin", "vgg128").lr, hp("i2t", "lin", "resnet").lr) == (0.5, 0.125)
    assert hp("i2t", "nn", "vgg128").lr == 0.25 and hp("t2i", "lin", "vgg128").lr == 0.0625
    assert hp("i2t", "nn", "resnet").hidden == 22 and hp("i2t", "nn", "resnet").epochs == 7
    # explicit names beat the dimensionality rule; unknown names fall back to it
    assert hp("i2t", "nn", "named_big", 4096).image_class == "vgg128"
    assert hp("i2t", "nn", "new", 256).image_class == "vgg128"
    assert hp("i2t", "nn", "new", 257).image_class == "resnet"
    with pytest.raises(ValueError, match="image_dim"):
        hp("i2t", "nn", "new")
    over = hp("i2t", "lin", "vgg128", overrides={"epochs": 3, "lr": {"d": {"i2t": {"lin/vgg128": 0.01}}}})
    assert (over.epochs, over.lr) == (3, 0.01)
    assert hp("i2t", "nn", "vgg128").lr == 0.25  # overrides do not leak into the table
    with pytest.raises(ValueError):
        resolve_hyperparams("nope", "i2t", "lin", "vgg128", table=TOY_TABLE)


def test_default_table_is_complete() -> None:
    """Every dataset/direction/kind/feature class of the real table resolves to a value."""
    for ds in set(DEFAULTS["dataset_aliases"].values()):
        for direction in ("i2t", "t2i"):
            for kind in ("lin", "nn"):
                for feat in ("vgg128", "resnet", "sift128", "efficientnet_lite0_fc"):
                    h = resolve_hyperparams(ds, direction, kind, feat)
                    assert h.lr > 0 and h.hidden > 0 and h.epochs > 0
    assert resolve_hyperparams("wikipedia", "i2t", "nn", "sift128").image_class == "vgg128"
    assert resolve_hyperparams("imagenet1k_concepts", "t2i", "nn", "efficientnet_lite0_fc").image_class == "resnet"
