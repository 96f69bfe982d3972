"""Losses: mse / cosine per item, and max-margin against a hand-written per-sample loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from crossmodal.mappings import loss_per_item, max_margin_per_item


def _data(b: int = 12, d: int = 5, seed: int = 0, spread: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(b, d, generator=g, dtype=torch.float64)
    pred = y + spread * torch.randn(b, d, generator=g, dtype=torch.float64)
    return pred, y


def _loop_max_margin(pred, y, margin, order, labels=None, valid=None):
    """Reference: for each item i, walk the candidates in ``order``; skip i itself, padding and
    same-label items; the first with a positive hinge gives the loss; none gives 0.
    Returns (losses, chosen j or -1)."""
    P, T = np.asarray(pred, dtype=np.float64), np.asarray(y, dtype=np.float64)
    b = len(P)
    losses, chosen = np.zeros(b), np.full(b, -1)
    for i in range(b):
        pos = np.sqrt(((P[i] - T[i]) ** 2).sum())
        for j in order:
            if j == i or (valid is not None and not valid[j]) or (labels is not None and labels[j] == labels[i]):
                continue
            hinge = margin + pos - np.sqrt(((P[j] - T[i]) ** 2).sum())
            if hinge > 0:
                losses[i], chosen[i] = hinge, j
                break
    return losses, chosen


def test_mse_and_cosine_per_item() -> None:
    pred, y = _data()
    P, T = pred.numpy(), y.numpy()
    np.testing.assert_allclose(loss_per_item("mse", pred, y).numpy(), 0.5 * ((P - T) ** 2).sum(1), rtol=1e-12)
    cos = (P * T).sum(1) / np.linalg.norm(P, axis=1) / np.linalg.norm(T, axis=1)
    np.testing.assert_allclose(loss_per_item("cosine", pred, y).numpy(), 1 - cos, rtol=1e-10)
    with pytest.raises(ValueError):
        loss_per_item("hinge", pred, y)


@pytest.mark.parametrize("margin", [0.5, 2.5, 10.0])
@pytest.mark.parametrize("use_labels", [False, True])
def test_max_margin_matches_per_sample_loop(margin: float, use_labels: bool) -> None:
    pred, y = _data(b=16, seed=int(margin * 10) + use_labels)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([0, 1, 2, 3] * 4) if use_labels else None
    got = max_margin_per_item(pred, y, margin, order, labels)
    ref, chosen = _loop_max_margin(pred, y, margin, order.tolist(), None if labels is None else labels.tolist())
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10, atol=1e-12)
    # the cases are exercised: violators exist, and at small γ the loop skips non-violating
    # candidates (chosen != first eligible) or finds none (chosen = -1)
    assert (chosen >= 0).any()
    first = [next(j for j in order.tolist() if j != i and (labels is None or labels[j] != labels[i])) for i in range(16)]
    if margin < 10:
        assert (chosen != np.array(first)).any()


def test_max_margin_gradient_flows_into_both_items() -> None:
    pred, y = _data(b=10, seed=7)
    order = torch.randperm(10, generator=torch.Generator().manual_seed(1))
    p1 = pred.clone().requires_grad_()
    max_margin_per_item(p1, y, 2.0, order).mean().backward()
    _, chosen = _loop_max_margin(pred, y, 2.0, order.tolist())
    # reference gradient: the chosen hinges written out per sample
    p2 = pred.clone().requires_grad_()
    terms = [2.0 + (p2[i] - y[i]).norm() - (p2[j] - y[i]).norm() if j >= 0 else p2.sum() * 0 for i, j in enumerate(chosen)]
    torch.stack([torch.clamp_min(t, 0.0) for t in terms]).mean().backward()
    np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert (p1.grad.abs().sum(1) > 0).sum() >= 2


def test_max_margin_no_violation_is_zero_and_identity_order() -> None:
    y = torch.eye(6, dtype=torch.float64) * 100.0  # far apart targets
    pred = y.clone()  # perfect predictions: hinge = γ + 0 − 100·√2 < 0 for every candidate
    assert max_margin_per_item(pred, y, 10.0).abs().max() == 0
    pred, y = _data(b=9, seed=2)
    ref, _ = _loop_max_margin(pred, y, 1.0, list(range(9)))
    np.testing.assert_allclose(max_margin_per_item(pred, y, 1.0).numpy(), ref, rtol=1e-10)


def test_max_margin_stacked_models_with_padding_and_per_model_margin() -> None:
    """(M, B, d) with a per-model γ, per-model orders and padded rows = the loop per model."""
    m, b = 3, 8
    preds, ys = zip(*[_data(b=b, seed=s) for s in range(m)])
    pred, y = torch.stack(preds), torch.stack(ys)
    margins = torch.tensor([1.0, 2.5, 5.0], dtype=torch.float64)
    gens = [torch.Generator().manual_seed(10 + k) for k in range(m)]
    counts = [8, 5, 6]
    order = torch.stack([torch.cat([torch.randperm(c, generator=g), torch.arange(c, b)]) for c, g in zip(counts, gens)])
    valid = torch.arange(b)[None, :] < torch.tensor(counts)[:, None]
    got = max_margin_per_item(pred, y, margins, order, None, valid)
    for k in range(m):
        c = counts[k]
        ref, _ = _loop_max_margin(pred[k, :c], y[k, :c], float(margins[k]), order[k, :c].tolist())
        np.testing.assert_allclose(got[k, :c].numpy(), ref, rtol=1e-10, atol=1e-12)
