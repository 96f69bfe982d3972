"""The paper's two cross-modal mappings f: X -> Y (Collell & Moens 2018, Sect. 3).

lin: f(x) = W0 x + b0
nn:  f(x) = W1 ReLU(W0 x + b0) + b1   (ReLU: Supplement A)

Initialisation follows the paper's Keras defaults (Glorot-uniform weights, zero biases) and
draws from an explicit torch.Generator, so a seed fixes the weights without touching torch's
global RNG.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

MappingKind = Literal["lin", "nn"]
KINDS: tuple[str, ...] = ("lin", "nn")


def _init_linear(layer: nn.Linear, generator: torch.Generator) -> None:
    nn.init.xavier_uniform_(layer.weight, generator=generator)
    nn.init.zeros_(layer.bias)


def build_mapping(
    kind: MappingKind, d_in: int, d_out: int, hidden: int | None = None, *, seed: int = 0
) -> nn.Sequential:
    """A float32 ``lin`` or ``nn`` mapping; ``hidden`` (d_h) is required for ``nn`` only.

    The weights are a deterministic function of (kind, dims, hidden, seed).
    """
    if kind == "lin":
        layers: list[nn.Module] = [nn.Linear(d_in, d_out)]
    elif kind == "nn":
        if hidden is None or hidden < 1:
            raise ValueError(f"kind 'nn' needs a positive number of hidden units, got {hidden!r}")
        layers = [nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out)]
    else:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    model = nn.Sequential(*layers).to(torch.float32)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                _init_linear(layer, gen)
    return model
