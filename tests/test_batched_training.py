"""fit_batched, the package's one training engine, against a plain torch.optim.RMSprop loop.

``plain_rmsprop_fit`` below is an independent, straightforward implementation of the paper's
training (one model, nn.Linear layers, torch.optim.RMSprop, one randperm per epoch): a single
run trained without padded rows equals it bit for bit; runs of a stack (padded batches,
unequal training sets) equal it to float tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from crossmodal.mappings import (
    RunSpec,
    build_mapping,
    fit_batched,
    fit_mapping,
    kfold_indices,
    max_margin_per_item,
    predict,
    rmsprop_step,
)
from crossmodal.mappings.models import ORDER_STREAM, stream_seed


def plain_rmsprop_fit(
    X: np.ndarray,
    Y: np.ndarray,
    kind: str,
    hidden: int | None,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    loss: str = "mse",
    dropout: float = 0.0,
    margin: float = 1.0,
    labels: np.ndarray | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    val_labels: np.ndarray | None = None,
) -> tuple[nn.Module, list[float], list[float] | None]:
    """One model trained the textbook way: ``build_mapping``'s initial weights (and its seeded
    dropout layers), torch.optim.RMSprop(ρ = 0.9, ε = 1e-8), each epoch the rows in the order of
    ``randperm(n)`` from a generator seeded with ``seed``, cut into consecutive batches (the last
    one short), the batch loss the mean of the per-item losses; max-margin's candidate order is a
    ``randperm`` of the batch from the seed's ORDER stream, drawn after the forward pass.
    Returns (model in eval mode, per-epoch mean training loss, per-epoch validation loss
    (float64 mean over the validation items) or None)."""
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    Yt = torch.from_numpy(np.ascontiguousarray(Y, dtype=np.float32))
    lab = None if labels is None else torch.as_tensor(np.asarray(labels))
    model = build_mapping(kind, Xt.shape[1], Yt.shape[1], hidden, seed=seed, dropout=dropout)  # type: ignore[arg-type]
    opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=0.9, eps=1e-8)
    shuffle = torch.Generator().manual_seed(seed)
    order_gen = torch.Generator().manual_seed(stream_seed(seed, ORDER_STREAM))

    def batch_loss(pred: torch.Tensor, y: torch.Tensor, order=None, batch_labels=None) -> torch.Tensor:
        if loss == "mse":
            return 0.5 * ((pred - y) ** 2).sum(dim=1)
        if loss == "cosine":
            return 1.0 - nn.functional.cosine_similarity(pred, y, dim=1)
        return max_margin_per_item(pred, y, margin, order, batch_labels)

    losses: list[float] = []
    val_losses: list[float] | None = None if validation is None else []
    n = Xt.shape[0]
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=shuffle)
        total = 0.0
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            opt.zero_grad()
            pred = model(Xt[idx])
            order = torch.randperm(len(idx), generator=order_gen) if loss == "max-margin" else None
            value = batch_loss(pred, Yt[idx], order, None if lab is None else lab[idx]).mean()
            value.backward()
            opt.step()
            total += float(value.detach()) * len(idx)
        losses.append(total / n)
        if validation is not None:
            model.eval()
            with torch.no_grad():
                Xv, Yv = (torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for a in validation)
                vl = None if val_labels is None else torch.as_tensor(np.asarray(val_labels))
                val_losses.append(float(batch_loss(model(Xv), Yv, None, vl).double().mean()))  # type: ignore[union-attr]
    return model.eval(), losses, val_losses


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
    return plain_rmsprop_fit(
        X[run.train], Y[run.train], kind, hidden, run.lr, epochs, bs, seed=run.seed, loss=loss, dropout=run.dropout,
        margin=run.margin, labels=None if labels is None else labels[run.train], validation=val,
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
        model, hist, val_hist = _sequential(X, Y, run, kind, hidden, epochs, bs, loss)
        _close(P[m], predict(model, X))
        _close(fit.loss[m], hist)
        if run.val is None:
            assert np.isnan(fit.val_loss[m]).all()
        else:
            _close(fit.val_loss[m], val_hist)
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
        model, _, val_hist = _sequential(X, Y, run, "nn", 12, 3, 16, "max-margin", labels)
        _close(fit.predict(X)[m], predict(model, X))
        _close(fit.val_loss[m], val_hist)


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


@pytest.mark.parametrize("chunk", [3, 7, 1 << 16])  # many in-cache passes per tensor, or one
@pytest.mark.parametrize("lrs", [[1e-2, 1e-3, 1e-4], [1e-3, 1e-3, 1e-3]])  # per-run, or shared
def test_rmsprop_step_is_torch_optimizer_bit_for_bit(chunk: int, lrs: list[float]) -> None:
    """Several steps with an inactive model = torch.optim.RMSprop per model, bit for bit."""
    g = torch.Generator().manual_seed(0)
    shapes = [(3, 4, 5), (3, 4)]  # a weight and a bias stack
    ps = [torch.randn(*s, generator=g) for s in shapes]
    sqs = [torch.zeros_like(p) for p in ps]
    refs = [[p[m].clone().requires_grad_() for p in ps] for m in range(3)]
    lr32 = torch.tensor(lrs)  # the engine's float32 learning rates; the reference gets the same values
    opts = [torch.optim.RMSprop(r, lr=float(lr32[m]), alpha=0.9, eps=1e-8, foreach=False) for m, r in enumerate(refs)]
    for step in range(5):
        grads = [torch.randn(*s, generator=g) for s in shapes]
        active = torch.tensor([True, step % 2 == 0, True])
        rmsprop_step(ps, [gr.clone() for gr in grads], sqs, lr32, active, chunk=chunk)
        for m in range(3):
            if active[m]:
                for r, gr in zip(refs[m], grads):
                    r.grad = gr[m].clone()
                opts[m].step()
    for m in range(3):
        for p, r in zip(ps, refs[m]):
            assert torch.equal(p[m], r.detach())


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


# ------------------------------------------------------------------ one run: bit for bit


@pytest.mark.parametrize("loss", ["mse", "cosine", "max-margin"])
@pytest.mark.parametrize("kind,hidden,dropout", [("lin", None, 0.0), ("nn", 16, 0.0), ("nn", 16, 0.25), ("nn-3", 8, 0.0)])
def test_one_run_without_padding_is_the_plain_loop_bit_for_bit(kind: str, hidden: int | None, dropout: float,
                                                               loss: str) -> None:
    """A stack of one with ``pad_to_batch_size=False`` is exactly the plain torch.optim loop:
    same per-epoch losses and predictions to the last bit, short last batches included."""
    X, Y = _problem()
    train, val = np.arange(0, 75), np.arange(75, 101)  # 75 = 4 batches of 16 and one of 11
    labels = np.arange(len(X)) % 4 if loss == "max-margin" else None
    run = RunSpec(train, seed=6, lr=3e-3, dropout=dropout, margin=1.5, val=val)
    fit = fit_batched(X, Y, [run], kind, hidden, 4, 16, loss, labels, pad_to_batch_size=False)
    model, hist, val_hist = _sequential(X, Y, run, kind, hidden, 4, 16, loss, labels)
    assert fit.loss[0].tolist() == hist  # exact
    np.testing.assert_array_equal(predict(fit.model(0), X), predict(model, X))
    _close(fit.val_loss[0], val_hist)  # the stacked forward pass may round differently: float tolerance
    # the default (batches padded to batch_size) is the same training up to float rounding
    padded = fit_batched(X, Y, [run], kind, hidden, 4, 16, loss, labels)
    _close(padded.predict(X), fit.predict(X))
    _close(padded.loss, fit.loss)


def test_fit_mapping_is_one_unpadded_run_of_the_engine() -> None:
    """fit_mapping (the one-model interface) = the plain loop, bit for bit, with its history,
    validation losses, log lines and per-epoch callback."""
    X, Y = _problem(n=90, seed=2)
    lines: list[str] = []
    seen: list[tuple[int, bool, np.ndarray]] = []

    def callback(epoch: int, model: nn.Module) -> None:
        seen.append((epoch, model.training, predict(model, X)))

    model, hist = fit_mapping(X[:70], Y[:70], "nn", 12, 1e-2, 3, 16, seed=4, dropout=0.25,
                              validation=(X[70:], Y[70:]), log=lines.append, on_epoch=callback)
    ref, ref_loss, ref_val = plain_rmsprop_fit(X[:70], Y[:70], "nn", 12, 1e-2, 3, 16, 4, dropout=0.25,
                                               validation=(X[70:], Y[70:]))
    assert hist.loss == ref_loss
    np.testing.assert_array_equal(predict(model, X), predict(ref, X))
    assert not model.training
    _close(hist.val_loss, ref_val)
    assert [line.split(" train_")[0] for line in lines] == [f"epoch {e}/3 nn" for e in (1, 2, 3)]
    assert [e for e, _, _ in seen] == [1, 2, 3] and all(training for _, training, _ in seen)
    np.testing.assert_array_equal(seen[-1][2], predict(model, X))  # the callback saw the epoch's weights
    assert hist.config["lr"] == 1e-2 and hist.config["n_train"] == 70 and hist.config["dropout"] == 0.25
    with pytest.raises(ValueError):
        fit_mapping(X[:70], Y[:60], "lin", None, 1e-2, 1)
    with pytest.raises(ValueError):
        fit_mapping(X, Y, "lin", None, 0.0, 1)


def test_on_epoch_sees_every_epoch_and_changes_nothing() -> None:
    X, Y = _problem()
    runs = _mixed_runs(len(X), "nn")
    plain = fit_batched(X, Y, runs, "nn", 16, 3, 16, "mse")
    seen: list[tuple[int, tuple[int, ...], np.ndarray]] = []

    def callback(epoch: int, fit) -> None:
        seen.append((epoch, fit.loss.shape, fit.predict(X)))
        fit.model(3)  # builds a model (draws from its own generators only)

    watched = fit_batched(X, Y, runs, "nn", 16, 3, 16, "mse", on_epoch=callback)
    assert [e for e, _, _ in seen] == [0, 1, 2, 3]
    assert [shape for _, shape, _ in seen] == [(len(runs), e) for e in range(4)]
    np.testing.assert_array_equal(watched.predict(X), plain.predict(X))
    np.testing.assert_array_equal(watched.loss, plain.loss)
    np.testing.assert_array_equal(seen[-1][2], plain.predict(X))
    initial = np.stack([predict(build_mapping("nn", 9, 6, 16, seed=r.seed), X) for r in runs])
    np.testing.assert_array_equal(seen[0][2], initial)  # epoch 0: the initial weights, stacked
    with pytest.raises(ValueError, match="one stack"):
        fit_batched(X, Y, runs, "nn", 16, 1, 16, "mse", max_stack=1000, on_epoch=callback)


def test_unpadded_stack_of_unequal_runs_equals_the_plain_loop() -> None:
    """Without padding to batch_size, a step is as wide as its widest run; shorter runs are
    still masked, and each run is its own plain training (to float tolerance)."""
    X, Y = _problem()
    runs = _mixed_runs(len(X), "nn")
    fit = fit_batched(X, Y, runs, "nn", 16, 3, 16, "max-margin", pad_to_batch_size=False)
    for m, run in enumerate(runs):
        model, hist, val_hist = _sequential(X, Y, run, "nn", 16, 3, 16, "max-margin")
        _close(fit.predict(X)[m], predict(model, X))
        _close(fit.loss[m], hist)
        if run.val is not None:
            _close(fit.val_loss[m], val_hist)
