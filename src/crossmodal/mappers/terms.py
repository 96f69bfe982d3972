"""The paper's two proposed remedies as extra loss terms of a regression map f: X -> Y, for the
batched engine (``crossmodal.mappings.batched.fit_batched(..., term=...)``).

Both are per-item terms over one mini-batch of one run (shapes (M, B, d): M stacked runs, B rows);
padding rows (``valid`` False) are never candidates, so a padded step equals an unpadded one.

* :class:`NeighbourhoodTerm` (pairwise similarities in the loss): with cosine similarities
  s^Y_ij = ŷ_i·ŷ_j and s^F_ij = f̂_i·f̂_j over the other real rows j of the batch,
  P_i = softmax_j(s^Y_ij / τ), Q_i = softmax_j(s^F_ij / τ), and the term of item i is
  λ · KL(P_i ‖ Q_i). It is zero exactly when f(X)'s in-batch similarity distribution of every
  item equals Y's. ``term_params = (λ, τ)``.
* :class:`AdversarialTerm` (a discriminator, as MUSE's adversarial mapping, Conneau et al. 2018):
  a discriminator D (one hidden LeakyReLU(0.2) layer) is trained to tell y (label 1 − s) from
  f(x) (label s, smoothing s = 0.1) with binary cross-entropy; the term of item i is
  λ · (−log σ(D(f(x_i)))), i.e. f is rewarded when D takes f(x_i) for a sample of Y. Every
  step first updates D (``dis_steps`` RMSprop steps on the batch, f(x) detached), then returns
  the term under the updated D. ``term_params = (λ, lr_D)``. Differences from MUSE: D is one
  256-wide layer without input dropout, f is not orthogonalised, and D is trained on the paired
  batch (MUSE draws unpaired words); the supervised loss stays, the term is added to it.

D's weights are Glorot-uniform from the run's own stream (``stream_seed(seed, ADVERSARY_STREAM)``)
and live only for the fit; they never touch the runs' batch-order, dropout or margin streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from crossmodal.mappings.batched import RunSpec, StepTerm, rmsprop_step
from crossmodal.mappings.models import stream_seed

# Each term's ``RunSpec.term_params``, in order (their grids: crossmodal.mappers.remedies).
TERM_PARAM_NAMES: dict[str, tuple[str, ...]] = {"adversarial": ("lambda", "lr_d"), "neighbourhood": ("lambda", "tau")}
ADVERSARY_STREAM = 3  # after models.DROPOUT_STREAM (1) and ORDER_STREAM (2)
_MASKED = -1e9  # logit of a non-candidate: exp underflows to exactly 0, and no inf/NaN appears


def _run_params(runs: Sequence[RunSpec], defaults: tuple[float, ...], device: str) -> torch.Tensor:
    """(len(defaults), M) float32: each run's ``term_params``, missing entries from ``defaults``."""
    rows = []
    for r in runs:
        p = tuple(r.term_params) + defaults[len(r.term_params):]
        if len(p) != len(defaults):
            raise ValueError(f"term_params {r.term_params!r}: expected at most {len(defaults)} values")
        rows.append(p)
    return torch.tensor(rows, dtype=torch.float32, device=device).T.contiguous()


def candidate_mask(valid: torch.Tensor) -> torch.Tensor:
    """(M, B, B): j is a candidate neighbour of i when j is a real row and j != i."""
    b = valid.shape[-1]
    eye = torch.eye(b, dtype=torch.bool, device=valid.device)
    return valid[:, None, :] & ~eye[None]


def similarity_kl_per_item(pred: torch.Tensor, y: torch.Tensor, valid: torch.Tensor,
                           tau: torch.Tensor | float) -> torch.Tensor:
    """KL(P_i ‖ Q_i) per item (M, B): P from Y's and Q from pred's in-batch cosine similarities
    over the other real rows, both at temperature ``tau`` (a number or one per run, (M,)).
    Rows with no candidate (a batch of one) get 0."""
    t = torch.as_tensor(tau, dtype=pred.dtype, device=pred.device).reshape(-1, 1, 1)
    fn, yn = F.normalize(pred, dim=-1), F.normalize(y, dim=-1)
    cand = candidate_mask(valid)
    s_f = torch.bmm(fn, fn.transpose(1, 2)) / t
    with torch.no_grad():
        s_y = torch.bmm(yn, yn.transpose(1, 2)) / t
        log_p = torch.log_softmax(s_y.masked_fill(~cand, _MASKED), dim=-1)
    log_q = torch.log_softmax(s_f.masked_fill(~cand, _MASKED), dim=-1)
    # Non-candidates have P = 0 exactly; where() keeps them out even if a log were -inf.
    kl = torch.where(cand, log_p.exp() * (log_p - log_q), torch.zeros_like(log_q))
    return kl.sum(dim=-1)


@dataclass(frozen=True)
class NeighbourhoodTerm:
    """λ · KL between Y's and f(X)'s in-batch similarity distributions; ``term_params = (λ, τ)``."""

    name: str = "neighbourhood"
    default_lambda: float = 1.0
    default_tau: float = 0.1

    def bind(self, runs: Sequence[RunSpec], d_out: int, device: str) -> StepTerm:
        lam, tau = _run_params(runs, (self.default_lambda, self.default_tau), device)

        def term(pred: torch.Tensor, y: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
            return lam[:, None] * similarity_kl_per_item(pred, y, valid, tau)

        return term


def _stacked_mlp(h: torch.Tensor, weights: Sequence[torch.Tensor], biases: Sequence[torch.Tensor]) -> torch.Tensor:
    """(M, B, d) -> (M, B, out): baddbmm per layer, LeakyReLU(0.2) between layers."""
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if i < len(weights) - 1:
            h = F.leaky_relu(h, 0.2)
    return h


def discriminator_weights(seeds: Sequence[int], dims: Sequence[int], device: str) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Stacked Glorot-uniform weights (zero biases) of the discriminators of runs with ``seeds``."""
    per_run = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(stream_seed(seed, ADVERSARY_STREAM))
        layers = []
        for a, b in zip(dims[:-1], dims[1:]):
            w = torch.empty(b, a)
            nn.init.xavier_uniform_(w, generator=gen)
            layers.append(w)
        per_run.append(layers)
    weights = [torch.stack([run[i] for run in per_run]).to(device).requires_grad_() for i in range(len(dims) - 1)]
    biases = [torch.zeros(len(seeds), b, device=device, requires_grad=True) for b in dims[1:]]
    return weights, biases


def masked_mean(per: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(M,) mean of ``per`` (M, B) over the real rows of each run (0 for a run without any)."""
    per = torch.where(valid, per, torch.zeros_like(per))
    return per.sum(dim=1) / valid.sum(dim=1).clamp_min(1)


@dataclass(frozen=True)
class AdversarialTerm:
    """λ · (−log σ(D(f(x)))) with D trained alongside to separate Y from f(X) (module docstring);
    ``term_params = (λ, lr_D)``."""

    name: str = "adversarial"
    hidden: int = 256
    smoothing: float = 0.1
    dis_steps: int = 1
    default_lambda: float = 1.0
    default_lr: float = 1e-3

    def bind(self, runs: Sequence[RunSpec], d_out: int, device: str) -> StepTerm:
        lam, lr_d = _run_params(runs, (self.default_lambda, self.default_lr), device)
        W, B = discriminator_weights([r.seed for r in runs], (d_out, self.hidden, 1), device)
        params = [t for pair in zip(W, B) for t in pair]
        square_avg = [torch.zeros_like(p) for p in params]
        s = self.smoothing

        def logits(h: torch.Tensor) -> torch.Tensor:
            return _stacked_mlp(h, W, B).squeeze(-1)

        def term(pred: torch.Tensor, y: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
            active = valid.any(dim=1)
            fake = pred.detach()
            for _ in range(self.dis_steps):
                lf, ly = logits(fake), logits(y)
                d_loss = (masked_mean(F.binary_cross_entropy_with_logits(ly, torch.full_like(ly, 1 - s), reduction="none"), valid)
                          + masked_mean(F.binary_cross_entropy_with_logits(lf, torch.full_like(lf, s), reduction="none"), valid))
                grads = torch.autograd.grad(d_loss.sum(), params)
                rmsprop_step(params, [g.contiguous() for g in grads], square_avg, lr_d, active)
            return lam[:, None] * F.softplus(-logits(pred))  # −log σ(D(f(x)))

        return term
