"""What the training engine (crossmodal.mappings.batched) and its one-run wrapper
(crossmodal.mappings.train) share: the paper's RMSprop settings and batch size, the per-run
:class:`TrainHistory`, and the checked conversion of an input matrix to a tensor.

It sits below both, so imports go one way: train -> batched -> common.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

RMSPROP_RHO = 0.9
RMSPROP_EPS = 1e-8
DEFAULT_BATCH_SIZE = 64


def _as_tensor(a: np.ndarray, what: str, device: str) -> torch.Tensor:
    arr = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-d, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} has non-finite values")
    return torch.from_numpy(arr).to(device)


@dataclass
class TrainHistory:
    """Per-epoch mean training loss (and validation loss when a validation set was given)."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] | None = None
    config: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
