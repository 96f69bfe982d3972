"""The paper's cross-modal mappings f: X -> Y (Collell & Moens 2018, Sect. 3 and Supplement C.1.1).

lin:  f(x) = W0 x + b0
nn:   f(x) = W1 ReLU(W0 x + b0) + b1   (ReLU: Supplement A)
nn-3, nn-5: 3 and 5 hidden ReLU layers, all of the same width ``hidden``.

Dropout (Supplement A explores {0.25, 0.5, 0.75}) follows the authors' release: it acts on the
output of every hidden ReLU layer, so ``lin`` has none. With ``dropout=0`` no dropout layer is
built at all, so those models are exactly the ones this module has always built.

Initialisation follows the paper's Keras defaults (Glorot-uniform weights, zero biases) and
draws from an explicit torch.Generator, so a seed fixes the weights without touching torch's
global RNG. Dropout masks come from their own generator (:func:`stream_seed` of the seed,
stream ``DROPOUT_STREAM``), drawn on the CPU so a seed gives the same masks on any device.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import nn

from crossmodal.mappers.paper import HIDDEN_LAYERS
from crossmodal.names import MAPPINGS

MappingKind = str  # one of ALL_KINDS
ALL_KINDS: tuple[str, ...] = MAPPINGS  # the paper's maps, as registered in crossmodal.mappers.paper

# Independent random streams derived from one user seed (see stream_seed).
DROPOUT_STREAM = 1
ORDER_STREAM = 2  # max-margin candidate order


def stream_seed(seed: int, stream: int) -> int:
    """A seed for random stream ``stream`` of run ``seed``, decorrelated from ``seed`` itself
    (which already seeds the weights and the batch order)."""
    return int(np.random.SeedSequence([int(seed), int(stream)]).generate_state(1, np.uint32)[0])


def n_hidden_layers(kind: str) -> int:
    """Number of hidden layers of a mapping kind (lin 0, nn 1, nn-3 3, nn-5 5)."""
    if kind not in ALL_KINDS:
        raise ValueError(f"kind must be one of {ALL_KINDS}, got {kind!r}")
    return HIDDEN_LAYERS[kind]


def layer_dims(kind: str, d_in: int, d_out: int, hidden: int | None) -> list[tuple[int, int]]:
    """(in, out) of each Linear layer, in order."""
    depth = n_hidden_layers(kind)
    if depth == 0:
        return [(d_in, d_out)]
    if hidden is None or hidden < 1:
        raise ValueError(f"kind {kind!r} needs a positive number of hidden units, got {hidden!r}")
    widths = [d_in] + [hidden] * depth + [d_out]
    return list(itertools.pairwise(widths))


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from an explicit CPU generator.

    Training mode: x * keep / (1 − p) with keep = (U[0, 1) >= p), U drawn as
    ``torch.rand(x.shape, generator=g)``; eval mode: identity. The batched trainer draws the
    same U per model, so both give the same masks.
    """

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p!r}")
        self.p = float(p)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = (torch.rand(x.shape, generator=self.generator) >= self.p).to(device=x.device, dtype=x.dtype)
        return x * keep / (1.0 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _init_linear(layer: nn.Linear, generator: torch.Generator) -> None:
    nn.init.xavier_uniform_(layer.weight, generator=generator)
    nn.init.zeros_(layer.bias)


def build_mapping(
    kind: MappingKind, d_in: int, d_out: int, hidden: int | None = None, *, seed: int = 0, dropout: float = 0.0
) -> nn.Sequential:
    """A float32 mapping of ``kind`` (see :data:`ALL_KINDS`); ``hidden`` (d_h) is required
    for every kind but ``lin``. ``dropout`` > 0 adds a :class:`SeededDropout` after each hidden
    ReLU (not allowed for ``lin``, which has no hidden layer).

    The weights are a deterministic function of (kind, dims, hidden, seed), independent of
    ``dropout``; the Linear layers are initialised in order from one generator.
    """
    if kind not in ALL_KINDS:
        raise ValueError(f"kind must be one of {ALL_KINDS}, got {kind!r}")
    dims = layer_dims(kind, d_in, d_out, hidden)
    if dropout and kind == "lin":
        raise ValueError("dropout acts on hidden layers; 'lin' has none")
    drop_gen = torch.Generator().manual_seed(stream_seed(seed, DROPOUT_STREAM)) if dropout else None
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(dims):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 1:
            layers.append(nn.ReLU())
            if drop_gen is not None:
                layers.append(SeededDropout(dropout, drop_gen))  # one generator: masks drawn in layer order
    model = nn.Sequential(*layers).to(torch.float32)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, nn.Linear):
                _init_linear(layer, gen)
    return model
