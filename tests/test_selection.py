"""CV hyper-parameter selection and the steady-decrease check of training losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_batched_training import plain_rmsprop_fit

from crossmodal.mappings import (
    PAPER_GRID,
    best_epoch,
    check_steady_decrease,
    choose_setting,
    cross_validate,
    fit_mapping,
    flag_histories,
    grid_settings,
    kfold_indices,
)


def test_grid_settings_follow_the_paper_grid() -> None:
    nn = grid_settings("nn", "mse")
    assert len(nn) == 3 * 5 * 4 and nn["margin"].isna().all()
    assert set(nn["hidden"]) == set(PAPER_GRID["hidden"]) and set(nn["dropout"]) == {0.0, 0.25, 0.5, 0.75}
    mm = grid_settings("nn-5", "max-margin")
    assert len(mm) == 3 * 5 * 4 * 5 and set(mm["margin"]) == {1.0, 2.5, 5.0, 7.5, 10.0}
    lin = grid_settings("lin", "max-margin")
    assert len(lin) == 3 * 5 and lin["hidden"].isna().all() and (lin["dropout"] == 0).all()
    assert list(nn["setting"]) == list(range(len(nn)))
    assert len({tuple(r) for r in nn[["lr", "hidden", "dropout"]].itertuples(index=False)}) == len(nn)


def test_best_epoch_and_setting_choice() -> None:
    assert best_epoch(np.array([3.0, 2.0, 1.0, 1.0, 2.0])) == 3  # earliest of the tied minima
    assert best_epoch(np.array([np.nan, 5.0, 4.0])) == 3
    with pytest.raises(ValueError):
        best_epoch(np.array([np.nan, np.nan]))
    import pandas as pd

    assert choose_setting(pd.DataFrame({"val_loss": [2.0, np.nan, 1.0, 1.0]})) == 2


def test_cross_validate_matches_sequential_cv() -> None:
    """The CV table, epoch and choice equal an independent loop over settings and folds with
    the textbook RMSprop loop of test_batched_training (mean validation loss over folds per epoch, its
    argmin, the best setting)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 6)).astype(np.float32)
    Y = np.tanh(X @ rng.standard_normal((6, 4))).astype(np.float32)
    grid = {"lr": (1e-2, 1e-4), "hidden": (8, 16), "dropout": (0.0, 0.5), "margin": (1.0,)}
    epochs, folds = 5, 3
    res = cross_validate(X, Y, "nn", "mse", grid, n_folds=folds, max_epochs=epochs, batch_size=16, seed=7)

    ref = []
    for h, lr, d in itertools.product(grid["hidden"], grid["lr"], grid["dropout"]):
        curves = [plain_rmsprop_fit(X[tr], Y[tr], "nn", h, lr, epochs, 16, seed=7 + f, validation=(X[te], Y[te]),
                                    dropout=d)[2] for f, (tr, te) in enumerate(kfold_indices(90, folds, 7))]
        mean = np.mean(curves, axis=0)
        ref.append((h, lr, d, int(np.argmin(mean)) + 1, mean.min()))
    table = res.settings
    assert [(int(r.hidden), r.lr, r.dropout) for r in table.itertuples()] == [r[:3] for r in ref]
    assert list(table["epochs"]) == [r[3] for r in ref]
    np.testing.assert_allclose(table["val_loss"], [r[4] for r in ref], rtol=1e-4)
    best = min(ref, key=lambda r: r[4])
    assert (res.chosen["hidden"], res.chosen["lr"], res.chosen["dropout"], res.chosen["epochs"]) == best[:4]
    assert len(res.runs) == len(table) * folds and len(res.curves) == len(table) * folds * epochs
    assert res.chosen_frame().shape[0] == 1 and res.chosen["margin"] is None


def test_cross_validate_max_margin_chooses_a_margin() -> None:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((60, 5)).astype(np.float32)
    Y = (X @ rng.standard_normal((5, 3))).astype(np.float32)
    grid = {"lr": (1e-2,), "hidden": (8,), "dropout": (0.0,), "margin": (1.0, 5.0)}
    res = cross_validate(X, Y, "lin", "max-margin", grid, n_folds=2, max_epochs=3, batch_size=16)
    assert list(res.settings["margin"]) == [1.0, 5.0] and res.chosen["margin"] in (1.0, 5.0)
    by_cos = cross_validate(X, Y, "lin", "max-margin", grid, n_folds=2, max_epochs=3, batch_size=16, criterion="cosine")
    assert by_cos.chosen["criterion"] == "cosine"
    # same training, another validation measure
    np.testing.assert_array_equal(res.curves["loss"], by_cos.curves["loss"])
    assert not np.allclose(res.curves["val_loss"], by_cos.curves["val_loss"])


# ---------------------------------------------------------------------- steady decrease


def test_steady_decrease_rule() -> None:
    smooth = 1.0 / np.arange(1, 31)
    assert check_steady_decrease(smooth).steady
    wiggles = smooth * (1 + 0.005 * (-1) ** np.arange(30))  # rises below 1%: tolerated
    assert check_steady_decrease(wiggles).steady and check_steady_decrease(wiggles).n_rises == 0

    def with_jumps(k: int) -> np.ndarray:
        loss = smooth.copy()
        for t in range(3, 3 + 3 * k, 3):
            loss[t] = loss[t - 1] * 1.05  # a 5% rise
        return loss

    ok, bad = check_steady_decrease(with_jumps(2)), check_steady_decrease(with_jumps(4))
    assert ok.steady and ok.n_rises == 2  # 2/29 ≤ 10%
    assert not bad.steady and bad.n_rises == 4 and "rise" in bad.reason  # 4/29 > 10%
    up = check_steady_decrease(np.linspace(1.0, 2.0, 20))
    assert not up.steady and up.reason == "no overall decrease"
    assert not check_steady_decrease([1.0, np.nan, 0.5]).steady
    assert check_steady_decrease([1.0]).reason == "too short to judge"
    # smoothing: one bad last epoch does not decide when the window is wide enough
    tail = np.r_[np.linspace(1.0, 0.5, 19), 1.01]
    assert check_steady_decrease(tail, window_frac=0.2).steady  # w = 4: mean of the last 4 < first 4
    assert not check_steady_decrease(tail, window_frac=0.05).steady  # w = 1: 1.01 > 1.0
    df = flag_histories([smooth, np.linspace(1.0, 2.0, 20)])
    assert list(df["steady"]) == [True, False]


def test_flags_a_real_unstable_run() -> None:
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 8)).astype(np.float32)
    Y = (X @ rng.standard_normal((8, 5))).astype(np.float32)
    good = fit_mapping(X, Y, "lin", None, 3e-3, 20, seed=0)[1].loss
    wild = fit_mapping(X, Y, "lin", None, 1.0, 20, seed=0)[1].loss  # RMSprop steps of ~1 per weight
    assert check_steady_decrease(good).steady
    assert not check_steady_decrease(wild).steady
