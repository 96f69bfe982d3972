"""Training losses of the paper (Sect. 3), per item, for one model or a stack of models.

mse:        ½‖f(x) − y‖²
cosine:     1 − cos(f(x), y)
max-margin: max{0, γ + ‖f(x) − y‖ − ‖f(x̃) − y‖}, x̃ of a different class than (x, y), the
            *first* x̃ that violates the constraint (Lazaridou et al. 2015; Weston et al. 2011).

How max-margin is applied here (the paper leaves the mechanics open):

* Candidates x̃ for item i are the other items of the same mini-batch (for validation: of the
  whole validation set). With ``labels`` only items of another label qualify; without labels
  every other item counts as a different class (word-level ImageNet has one item per class).
* The candidates are visited in a fixed random order per batch, ``order``: one permutation of
  the batch positions, shared by all items of the batch (the trainers draw it from the run's
  own generator, stream ``ORDER_STREAM``; validation uses the identity order).
* "First violating" = the first candidate in that order whose hinge γ + ‖f(x_i) − y_i‖ −
  ‖f(x̃) − y_i‖ is positive; the item's loss is that hinge. If none violates, the term is 0.
* The choice of x̃ is made without gradients, from float64 distances (so a float32 rounding
  difference between two implementations cannot flip it except at exact ties); the loss then
  flows into both f(x_i) and f(x̃).

Shapes: ``pred`` and ``y`` are (B, d) for one model or (M, B, d) for a stack of M models.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

LossName = Literal["mse", "cosine", "max-margin"]
LOSSES: tuple[str, ...] = ("mse", "cosine", "max-margin")


def mse_per_item(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """½‖pred − y‖² over the last dimension."""
    return 0.5 * ((pred - y) ** 2).sum(dim=-1)


def cosine_per_item(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """1 − cos(pred, y) over the last dimension (torch's eps-guarded cosine)."""
    return 1.0 - nn.functional.cosine_similarity(pred, y, dim=-1)


def _first_true(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(position of the first True along the last dim, whether there is one)."""
    # argmax returns the first maximal index, so on 0/1 values it finds the first 1.
    return torch.argmax(mask.to(torch.uint8), dim=-1), mask.any(dim=-1)


def max_margin_per_item(
    pred: torch.Tensor,
    y: torch.Tensor,
    margin: float | torch.Tensor,
    order: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-item max-margin loss with the first violating candidate (see the module docstring).

    ``margin``: γ, a number or one value per model (shape (M,)). ``order``: the candidate
    order, a permutation of range(B) (shape (B,) or (M, B)); None = identity. ``labels``:
    class labels (shape (B,) or (M, B)); None = every other item is a different class.
    ``valid``: optional (B,) / (M, B) mask of real rows (padding rows are never candidates).
    """
    squeeze = pred.dim() == 2
    if squeeze:
        pred, y = pred.unsqueeze(0), y.unsqueeze(0)
        order = None if order is None else order.unsqueeze(0)
        labels = None if labels is None else labels.unsqueeze(0)
        valid = None if valid is None else valid.unsqueeze(0)
    m, b, _ = pred.shape
    gamma = torch.as_tensor(margin, dtype=pred.dtype, device=pred.device).reshape(-1, 1)  # (M or 1, 1)
    pos = torch.linalg.vector_norm(pred - y, dim=-1)  # (M, B): ‖f(x_i) − y_i‖
    with torch.no_grad():
        p64, y64 = pred.detach().double(), y.detach().double()
        # dist[m, i, j] = ‖f(x_j) − y_i‖, in float64 to make the choice robust to rounding
        sq = (y64**2).sum(-1)[:, :, None] + (p64**2).sum(-1)[:, None, :] - 2.0 * torch.bmm(y64, p64.transpose(1, 2))
        dist = sq.clamp_min(0.0).sqrt()
        hinge64 = gamma.double()[:, :, None] + pos.detach().double()[:, :, None] - dist
        cand = ~torch.eye(b, dtype=torch.bool, device=pred.device).unsqueeze(0)  # j != i
        if labels is not None:
            cand = cand & (labels[:, :, None] != labels[:, None, :])
        if valid is not None:
            cand = cand & valid[:, None, :]
        violating = cand & (hinge64 > 0)
        if order is None:
            order = torch.arange(b, device=pred.device).expand(m, b)
        order = order.expand(m, b)
        in_order = torch.gather(violating, 2, order[:, None, :].expand(m, b, b))
        first, found = _first_true(in_order)
        chosen = torch.gather(order, 1, first)  # (M, B): index j of the chosen candidate
    neg = torch.linalg.vector_norm(torch.gather(pred, 1, chosen[:, :, None].expand_as(pred)) - y, dim=-1)
    loss = torch.where(found, torch.clamp_min(gamma + pos - neg, 0.0), torch.zeros_like(pos))
    return loss.squeeze(0) if squeeze else loss


def loss_per_item(
    name: str,
    pred: torch.Tensor,
    y: torch.Tensor,
    margin: float | torch.Tensor = 1.0,
    order: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-item loss ``name`` (one of :data:`LOSSES`); the extra arguments matter for max-margin only."""
    if name == "mse":
        return mse_per_item(pred, y)
    if name == "cosine":
        return cosine_per_item(pred, y)
    if name == "max-margin":
        return max_margin_per_item(pred, y, margin, order, labels, valid)
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")
