"""Randomly initialised, never trained mappings (paper §3.2 / §4.2.2, Experiment 2).

- f_lin(x) = W0·x + b0
- f_nn(x)  = W1·tanh(W0·x + b0) + b1
with every W ~ Uniform[-1, 1] and every b = 0. The paper gives the output size (2,048) but not
f_nn's hidden width, which is therefore a parameter.
"""

from __future__ import annotations

import numpy as np
import torch

UNTRAINED_MODELS = ("f_lin", "f_nn")


def _uniform(gen: torch.Generator, rows: int, cols: int) -> torch.Tensor:
    # float64 keeps the mapped similarities free of rounding noise that would blur small rho gaps.
    return torch.rand(rows, cols, generator=gen, dtype=torch.float64) * 2.0 - 1.0


def untrained_weights(
    model: str, d_in: int, d_out: int, hidden: int, seed: int
) -> list[torch.Tensor]:
    """The weight matrices of one random draw of ``model``; the biases are zero, so omitted.

    Each (model, seed) has its own generator, so a draw does not depend on which other
    models or seeds are run alongside it.
    """
    if model not in UNTRAINED_MODELS:
        raise ValueError(f"unknown untrained model {model!r}; expected one of {UNTRAINED_MODELS}")
    gen = torch.Generator().manual_seed(int(seed) * 2 + UNTRAINED_MODELS.index(model))
    if model == "f_lin":
        return [_uniform(gen, d_out, d_in)]
    return [_uniform(gen, hidden, d_in), _uniform(gen, d_out, hidden)]


def apply_untrained(weights: list[torch.Tensor], X: np.ndarray) -> np.ndarray:
    """Map the rows of ``X`` through the network given by ``weights`` (1 matrix: linear, 2: tanh MLP)."""
    z = torch.as_tensor(np.asarray(X, dtype=np.float64))
    z = z @ weights[0].T
    if len(weights) == 2:
        z = torch.tanh(z) @ weights[1].T
    return z.numpy()
