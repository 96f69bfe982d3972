"""Batched training (fit_batched) reproduces fit_mapping run by run, to float tolerance."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossmodal.mappings import (
    RunSpec,
    build_mapping,
    fit_batched,
    fit_mapping,
    kfold_indices,
    predict,
    rmsprop_step,
)

RTOL = 2e-5  # relative to the largest |value|: float32 rounding differences after a few epochs


def _problem(n: int = 101, dx: int = 9, dy: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dx)).astype(np.float32)
    Y = np.tanh(X @ rng.standard_normal((dx, dy))).astype(np.float32)
    return X, Y


def _close(a: np.ndarray, b: np.ndarray, rtol: float = RTOL) -> None:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    scale = max(np.abs(b).max(), 1e-12)
    assert np.abs(a - b).max() <= rtol * scale, f"max diff {np.abs(a - b).max():.3g} vs scale {scale:.3g}"


def _mixed_runs(n: int, kind: str) -> list[RunSpec]:
    """Different seeds, lrs, dropouts, margins, CV folds of unequal size (34/33/34 test rows),
    a subset needing one batch fewer per epoch, and one run without validation."""
    folds = kfold_indices(n, 3, seed=5)
    drop = kind != "lin"
    runs = [
        RunSpec(tr, seed=11 + f, lr=lr, dropout=0.25 if (drop and f == 1) else 0.0, margin=1.0 + 2 * f, val=te)
        for f, (tr, te) in enumerate(folds)
        for lr in (1e-2, 1e-3)
    ]
    runs.append(RunSpec(np.arange(0, 48), seed=3, lr=3e-3, dropout=0.5 if drop else 0.0, margin=2.5))  # 3 batches of 16
    return runs


def _sequential(X, Y, run: RunSpec, kind, hidden, epochs, bs, loss, labels=None):
    val = None if run.val is None else (X[run.val], Y[run.val])
    return fit_mapping(
        X[run.train], Y[run.train], kind, hidden, run.lr, epochs, bs, seed=run.seed, loss=loss, validation=val,
        dropout=run.dropout, margin=run.margin, labels=None if labels is None else labels[run.train],
        val_labels=None if labels is None or run.val is None else labels[run.val],
    )


@pytest.mark.parametrize("loss", ["mse", "cosine", "max-margin"])
@pytest.mark.parametrize("kind,hidden", [("lin", None), ("nn", 16), ("nn-3", 8)])
def test_batched_equals_sequential(kind: str, hidden: int | None, loss: str) -> None:
    X, Y = _problem()
    runs = _mixed_runs(len(X), kind)
    epochs, bs = 4, 16  # train sizes 67/68 -> 5 steps per epoch, the subset of 48 -> 3
    fit = fit_batched(X, Y, runs, kind, hidden, epochs, bs, loss)
    P = fit.predict(X)
    assert P.shape == (len(runs), len(X), Y.shape[1]) and fit.loss.shape == (len(runs), epochs)
    for m, run in enumerate(runs):
        model, hist = _sequential(X, Y, run, kind, hidden, epochs, bs, loss)
        _close(P[m], predict(model, X))
        _close(fit.loss[m], hist.loss)
        if run.val is None:
            assert np.isnan(fit.val_loss[m]).all()
        else:
            _close(fit.val_loss[m], hist.val_loss)
        np.testing.assert_array_equal(predict(fit.model(m), X), P[m])
        assert fit.histories()[m].config["lr"] == run.lr
    # the runs really differ (a batch that trained all runs alike would not pass the above anyway)
    assert np.abs(P[0] - P[1]).max() > 1e-3


def test_batched_max_margin_with_labels() -> None:
    X, Y = _problem(n=80, seed=1)
    labels = np.arange(80) % 5
    runs = [RunSpec(tr, seed=f, lr=1e-2, margin=2.0, val=te) for f, (tr, te) in enumerate(kfold_indices(80, 2, seed=0))]
    fit = fit_batched(X, Y, runs, "nn", 12, 3, 16, "max-margin", labels=labels)
    unlabelled = fit_batched(X, Y, runs, "nn", 12, 3, 16, "max-margin")
    assert np.abs(fit.loss - unlabelled.loss).max() > 1e-6  # the labels change which candidates count
    for m, run in enumerate(runs):
        model, hist = _sequential(X, Y, run, "nn", 12, 3, 16, "max-margin", labels)
        _close(fit.predict(X)[m], predict(model, X))
        _close(fit.val_loss[m], hist.val_loss)


def test_batched_is_deterministic_and_runs_do_not_interact() -> None:
    X, Y = _problem()
    runs = _mixed_runs(len(X), "nn")
    a = fit_batched(X, Y, runs, "nn", 16, 3, 16, "mse")
    b = fit_batched(X, Y, runs, "nn", 16, 3, 16, "mse")
    np.testing.assert_array_equal(a.predict(X), b.predict(X))  # same seeds: bit-identical
    alone = fit_batched(X, Y, runs[2:3], "nn", 16, 3, 16, "mse")
    _close(alone.predict(X)[0], a.predict(X)[2])
    reseeded = fit_batched(X, Y, [RunSpec(runs[2].train, seed=99, lr=runs[2].lr, val=runs[2].val)], "nn", 16, 3, 16)
    assert np.abs(reseeded.predict(X)[0] - a.predict(X)[2]).max() > 1e-3


@pytest.mark.parametrize("chunk", [3, 1 << 16])  # many in-cache passes per tensor, or one
def test_rmsprop_step_matches_torch_optimizer(chunk: int) -> None:
    """Several steps with per-model lr and an inactive model = torch.optim.RMSprop per model."""
    g = torch.Generator().manual_seed(0)
    lrs = [1e-2, 1e-3, 1e-4]
    p = torch.randn(3, 4, 5, generator=g)
    sq = torch.zeros_like(p)
    refs = [p[m].clone().requires_grad_() for m in range(3)]
    opts = [torch.optim.RMSprop([r], lr=lr, alpha=0.9, eps=1e-8) for r, lr in zip(refs, lrs)]
    for step in range(5):
        grad = torch.randn(3, 4, 5, generator=g)
        active = torch.tensor([True, step % 2 == 0, True])
        rmsprop_step([p], [grad.clone()], [sq], torch.tensor(lrs), active, chunk=chunk)  # grads are scratch
        for m in range(3):
            if active[m]:
                refs[m].grad = grad[m].clone()
                opts[m].step()
    for m in range(3):
        torch.testing.assert_close(p[m], refs[m].detach(), rtol=1e-6, atol=1e-7)


def test_deep_kinds_and_dropout_models() -> None:
    for kind, depth in (("nn-3", 3), ("nn-5", 5)):
        shapes = [tuple(q.shape) for q in build_mapping(kind, 7, 4, 10).parameters()]  # type: ignore[arg-type]
        assert shapes == [(10, 7), (10,)] + [(10, 10), (10,)] * (depth - 1) + [(4, 10), (4,)]
    plain, dropped = build_mapping("nn-3", 7, 4, 10, seed=2), build_mapping("nn-3", 7, 4, 10, seed=2, dropout=0.5)
    assert sum(type(m).__name__ == "SeededDropout" for m in dropped) == 3
    for a, b in zip(plain.parameters(), dropped.parameters()):  # dropout does not change the init
        assert torch.equal(a, b)
    with pytest.raises(ValueError):
        build_mapping("lin", 7, 4, dropout=0.5)
    X, Y = _problem(n=60)
    runs = [predict(fit_mapping(X, Y, "nn", 16, 1e-2, 3, 16, seed=4, dropout=d)[0], X) for d in (0.5, 0.5, 0.0)]
    np.testing.assert_array_equal(runs[0], runs[1])  # dropout masks come from the seed
    assert np.abs(runs[0] - runs[2]).max() > 1e-3


def test_batched_rejects_bad_runs() -> None:
    X, Y = _problem(n=20)
    with pytest.raises(ValueError):
        fit_batched(X, Y, [RunSpec(np.arange(10), dropout=0.5)], "lin", None, 1)
    with pytest.raises(ValueError):
        fit_batched(X, Y, [RunSpec(np.arange(25))], "nn", 4, 1)
    with pytest.raises(ValueError):
        fit_batched(X, Y, [RunSpec(np.arange(10))], "nn", 4, 1, loss="hinge")


def test_training_in_groups_equals_one_stack() -> None:
    """A max_stack that splits the runs into groups of 2 (and a last one of 1) changes nothing."""
    X, Y = _problem()
    runs = _mixed_runs(len(X), "nn")
    one = fit_batched(X, Y, runs, "nn", 16, 3, 16, "cosine")
    per_run = 9 * 16 + 16 + 16 * 6 + 6
    grouped = fit_batched(X, Y, runs, "nn", 16, 3, 16, "cosine", max_stack=2 * per_run)
    assert len(grouped.runs) == len(runs) and grouped.weights[0].shape == one.weights[0].shape
    _close(grouped.predict(X), one.predict(X), rtol=1e-6)
    _close(grouped.loss, one.loss, rtol=1e-6)
    np.testing.assert_array_equal(np.isnan(grouped.val_loss), np.isnan(one.val_loss))
    _close(np.nan_to_num(grouped.val_loss), np.nan_to_num(one.val_loss), rtol=1e-6)
