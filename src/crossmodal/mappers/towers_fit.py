"""Two-tower shared-space methods trained with torch: deep CCA, a correspondence autoencoder,
classifier-as-proxy and VSE++.

Why not ``crossmodal.mappings.batched.fit_batched``: that engine trains one MLP f: X -> Y
against a fixed target with a per-item loss. These methods train two networks at once (g on X,
h on Y, and for Corr-AE two decoders) under batch-level objectives (a canonical correlation,
hardest negatives over the batch), so they share this small trainer instead:

* weights: Glorot-uniform, zero biases, from ``torch.Generator().manual_seed(seed)`` in layer
  order (g, then h, then the decoders);
* Adam (torch defaults β = (0.9, 0.999), ε = 1e-8) at ``lr``; each epoch one ``randperm`` of the rows
  from a generator seeded with ``seed + 1``, cut into ⌈n / batch_size⌉ near-equal batches (so
  no batch is tiny, which a covariance estimate would not survive);
* inputs standardised with the training rows' statistics (``shared.Standardiser``);
* ``variants`` (one per entry, e.g. ``{"epochs": 50}``): the networks are read at those epochs
  of one training run.

Methods (g: X -> Z, h: Y -> Z):

* ``dcca`` (Andrew et al. 2013): g, h MLPs (one hidden ReLU layer of ``hidden`` units, output
  ``out``); the loss is minus the sum of the ``out`` canonical correlations of the batch outputs
  (covariances ridge-regularised by ``r`` = 1e-4, in float64). The shared space is then a linear
  CCA (cca-zoo) of the training outputs, as in the paper. ``hidden=None`` makes g and h linear,
  and then the objective is linear CCA's (the test checks they agree).
* ``corr-ae`` (Feng et al. 2014, correspondence autoencoder): encoders g, h to a ``code``-wide
  code and decoders back; loss (1 − α)(‖x − x̂‖² + ‖y − ŷ‖²)/d + α ‖ĝ(x) − ĥ(y)‖², with the
  codes unit-normalised in the correspondence term (deviation from the paper, whose plain L2
  term is minimised by shrinking both codes while the decoders grow); Z = the codes.
* ``classifier`` (classifier as a proxy, the "semantic matching" of Rasiwasia et al. 2010): g, h
  predict the categories: softmax + cross-entropy when every item has one label, independent
  sigmoids + binary cross-entropy for multi-label data (IAPR TC-12); Z = the predicted class
  probabilities. Needs labels.
* ``vse++`` (Faghri et al. 2018): g, h to a ``dim``-wide unit sphere; per item i of a batch,
  [α − s_ii + max_{j≠i} s_ij]₊ + [α − s_ii + max_{j≠i} s_ji]₊ with s = cosine similarity (the
  hardest negative text for image i and the hardest negative image for text i), averaged over
  the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from crossmodal.mappers.cca_fit import fit_ridge_cca
from crossmodal.mappers.fitting import Labels
from crossmodal.mappers.registry import Params
from crossmodal.mappers.shared import SharedFit, SharedSpace, Standardiser, label_matrix, single_label


def mlp(d_in: int, hidden: int | None, d_out: int, gen: torch.Generator) -> nn.Sequential:
    """Linear (``hidden`` None) or Linear-ReLU-Linear, Glorot-uniform weights from ``gen``."""
    dims = [d_in, d_out] if hidden is None else [d_in, int(hidden), d_out]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        lin = nn.Linear(a, b)
        with torch.no_grad():
            nn.init.xavier_uniform_(lin.weight, generator=gen)
            nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def batches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """One epoch: a random permutation cut into ⌈n / batch_size⌉ near-equal batches."""
    perm = torch.randperm(n, generator=gen)
    return list(torch.tensor_split(perm, max(1, -(-n // batch_size))))


def train(modules: Sequence[nn.Module], loss_fn: Callable[[torch.Tensor], torch.Tensor], n: int, *,
          epochs: Sequence[int], batch_size: int, lr: float, seed: int, weight_decay: float = 0.0,
          at_epoch: Callable[[int], None]) -> list[float]:
    """Adam on ``loss_fn(batch rows)`` for max(epochs) epochs; ``at_epoch(e)`` after each e in
    ``epochs`` (modules in eval mode while it runs). Returns the mean loss per epoch."""
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(int(seed) + 1)
    history = []
    for epoch in range(1, max(epochs) + 1):
        for m in modules:
            m.train()
        total = 0.0
        for rows in batches(n, batch_size, gen):
            loss = loss_fn(rows)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(rows)
        history.append(total / n)
        if epoch in epochs:
            for m in modules:
                m.eval()
            at_epoch(epoch)
    return history


def _tensor(A: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(A, dtype=np.float32))


def _apply(module: nn.Module, st: Standardiser) -> Callable[[np.ndarray], np.ndarray]:
    """A frozen copy of ``module`` as a numpy function of raw rows."""
    import copy

    frozen = copy.deepcopy(module).eval()

    def f(A: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return frozen(_tensor(st(A))).double().numpy()

    return f


# ----------------------------------------------------------------------------------- DCCA


def inv_sqrt(S: torch.Tensor) -> torch.Tensor:
    """S^-½ of a symmetric positive definite matrix."""
    w, V = torch.linalg.eigh(S)
    return (V * w.clamp_min(1e-12).rsqrt()) @ V.T


def total_correlation(H1: torch.Tensor, H2: torch.Tensor, r: float = 1e-4) -> torch.Tensor:
    """Sum of the canonical correlations of two batches of outputs (Andrew et al. 2013), float64:
    the trace norm of Σ11^-½ Σ12 Σ22^-½ with Σvv + r I."""
    H1, H2 = H1.double(), H2.double()
    n = H1.shape[0]
    A, B = H1 - H1.mean(dim=0), H2 - H2.mean(dim=0)
    S11 = A.T @ A / (n - 1) + r * torch.eye(A.shape[1], dtype=A.dtype)
    S22 = B.T @ B / (n - 1) + r * torch.eye(B.shape[1], dtype=B.dtype)
    T = inv_sqrt(S11) @ (A.T @ B / (n - 1)) @ inv_sqrt(S22)
    return torch.linalg.svdvals(T).sum()


def _two_towers(X: np.ndarray, Y: np.ndarray, hidden: int | None, out: int, seed: int) -> tuple[
        Standardiser, Standardiser, torch.Tensor, torch.Tensor, torch.Generator, nn.Module, nn.Module]:
    """Both sides standardised and as tensors, and one MLP per side (g on X, h on Y) drawn from one
    generator seeded with ``seed``; the generator is returned for any further networks."""
    sx, sy = Standardiser.fit(X), Standardiser.fit(Y)
    gen = torch.Generator().manual_seed(int(seed))
    g, h = mlp(X.shape[1], hidden, out, gen), mlp(Y.shape[1], hidden, out, gen)
    return sx, sy, _tensor(sx(X)), _tensor(sy(Y)), gen, g, h


def _fit_dcca(X: np.ndarray, Y: np.ndarray, labels: Labels, base: Params, variants: Sequence[Params], seed: int) -> list[SharedSpace]:
    p = base
    epochs = [int(v["epochs"]) for v in variants]
    sx, sy, Xt, Yt, gen, g, h = _two_towers(X, Y, p["hidden"], p["out"], seed)
    spaces: dict[int, SharedSpace] = {}

    def snapshot(epoch: int) -> None:
        gx, hy = _apply(g, sx), _apply(h, sy)
        # the final linear CCA of the training outputs aligns their coordinates
        cca, corr = fit_ridge_cca(gx(X), hy(Y), p["out"], 0.0)
        spaces[epoch] = SharedSpace(lambda A: cca.map_x(gx(A)), lambda B: cca.map_y(hy(B)),
                                    {"epochs": epoch, "train_correlation_sum": float(corr.sum())})

    train([g, h], lambda rows: -total_correlation(g(Xt[rows]), h(Yt[rows]), p["r"]), len(X),
          epochs=epochs, batch_size=p["batch_size"], lr=p["lr"], seed=seed, at_epoch=snapshot)
    return [spaces[e] for e in epochs]


# -------------------------------------------------------------------------------- Corr-AE


def corr_ae_loss(x: torch.Tensor, y: torch.Tensor, x_hat: torch.Tensor, y_hat: torch.Tensor,
                 gx: torch.Tensor, hy: torch.Tensor, alpha: float) -> torch.Tensor:
    """(1 − α)(mean ‖x − x̂‖²/d_x + mean ‖y − ŷ‖²/d_y) + α mean ‖ĝ − ĥ‖² (unit-normalised codes)."""
    rec = F.mse_loss(x_hat, x) + F.mse_loss(y_hat, y)
    corr = ((F.normalize(gx, dim=1) - F.normalize(hy, dim=1)) ** 2).sum(dim=1).mean()
    return (1.0 - alpha) * rec + alpha * corr


def _fit_corr_ae(X: np.ndarray, Y: np.ndarray, labels: Labels, base: Params, variants: Sequence[Params], seed: int) -> list[SharedSpace]:
    p = base
    epochs = [int(v["epochs"]) for v in variants]
    sx, sy, Xt, Yt, gen, g, h = _two_towers(X, Y, p["hidden"], p["code"], seed)
    dg, dh = mlp(p["code"], p["hidden"], X.shape[1], gen), mlp(p["code"], p["hidden"], Y.shape[1], gen)
    spaces: dict[int, SharedSpace] = {}

    def loss(rows: torch.Tensor) -> torch.Tensor:
        x, y = Xt[rows], Yt[rows]
        cx, cy = g(x), h(y)
        return corr_ae_loss(x, y, dg(cx), dh(cy), cx, cy, p["alpha"])

    def snapshot(epoch: int) -> None:
        with torch.no_grad():
            rec = float(F.mse_loss(dg(g(Xt)), Xt) + F.mse_loss(dh(h(Yt)), Yt))
        spaces[epoch] = SharedSpace(_apply(g, sx), _apply(h, sy), {"epochs": epoch, "train_reconstruction_mse": rec})

    train([g, h, dg, dh], loss, len(X), epochs=epochs, batch_size=p["batch_size"], lr=p["lr"], seed=seed, at_epoch=snapshot)
    return [spaces[e] for e in epochs]


# ----------------------------------------------------------------------------- classifier


def _fit_classifier(X: np.ndarray, Y: np.ndarray, labels: Labels, base: Params, variants: Sequence[Params], seed: int) -> list[SharedSpace]:
    if labels is None:
        raise ValueError("classifier-as-proxy needs labels")
    p = base
    epochs = [int(v["epochs"]) for v in variants]
    T, classes = label_matrix(labels)
    multi = not single_label(labels)
    sx, sy, Xt, Yt, _, g, h = _two_towers(X, Y, p["hidden"], len(classes), seed)
    Tt = torch.from_numpy(T)
    target = Tt if multi else Tt.argmax(dim=1)
    criterion = F.binary_cross_entropy_with_logits if multi else F.cross_entropy
    squash = torch.sigmoid if multi else (lambda z: torch.softmax(z, dim=1))
    spaces: dict[int, SharedSpace] = {}

    def probabilities(net: nn.Module, st: Standardiser) -> Callable[[np.ndarray], np.ndarray]:
        logits = _apply(net, st)
        return lambda A: squash(torch.from_numpy(logits(A))).numpy()

    def snapshot(epoch: int) -> None:
        spaces[epoch] = SharedSpace(probabilities(g, sx), probabilities(h, sy),
                                    {"epochs": epoch, "classes": len(classes), "multi_label": multi})

    train([g, h], lambda rows: criterion(g(Xt[rows]), target[rows]) + criterion(h(Yt[rows]), target[rows]), len(X),
          epochs=epochs, batch_size=p["batch_size"], lr=p["lr"], seed=seed, weight_decay=p["weight_decay"], at_epoch=snapshot)
    return [spaces[e] for e in epochs]


# ---------------------------------------------------------------------------------- VSE++


def hardest_negative_loss(S: torch.Tensor, margin: float) -> torch.Tensor:
    """Per item i of a (B, B) similarity matrix (row = image i, column = text j):
    [α − s_ii + max_{j≠i} s_ij]₊ + [α − s_ii + max_{j≠i} s_ji]₊ (VSE++'s max of hinges)."""
    pos = S.diagonal()
    off = S.masked_fill(torch.eye(S.shape[0], dtype=torch.bool), float("-inf"))
    hardest_text, hardest_image = off.max(dim=1).values, off.max(dim=0).values
    return F.relu(margin - pos + hardest_text) + F.relu(margin - pos + hardest_image)


def _fit_vse(X: np.ndarray, Y: np.ndarray, labels: Labels, base: Params, variants: Sequence[Params], seed: int) -> list[SharedSpace]:
    p = base
    epochs = [int(v["epochs"]) for v in variants]
    sx, sy, Xt, Yt, gen, g, h = _two_towers(X, Y, p["hidden"], p["dim"], seed)
    spaces: dict[int, SharedSpace] = {}

    def loss(rows: torch.Tensor) -> torch.Tensor:
        a, b = F.normalize(g(Xt[rows]), dim=1), F.normalize(h(Yt[rows]), dim=1)
        return hardest_negative_loss(a @ b.T, p["margin"]).mean()

    def snapshot(epoch: int) -> None:
        spaces[epoch] = SharedSpace(_apply(g, sx), _apply(h, sy), {"epochs": epoch})

    train([g, h], loss, len(X), epochs=epochs, batch_size=p["batch_size"], lr=p["lr"], seed=seed, at_epoch=snapshot)
    return [spaces[e] for e in epochs]


# The implementations the registrations in crossmodal.mappers.towers name (grids and defaults live there).
DCCA = SharedFit(_fit_dcca, variant_keys=("epochs",))
CORR_AE = SharedFit(_fit_corr_ae, variant_keys=("epochs",))
CLASSIFIER = SharedFit(_fit_classifier, variant_keys=("epochs",))
VSE = SharedFit(_fit_vse, variant_keys=("epochs",))
