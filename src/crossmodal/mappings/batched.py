"""The training engine: many mappings of one architecture at once, as one batched tensor program.

This is the only trainer of the package; it trains one model as a stack of one
(``crossmodal.mappings.train.fit_mapping`` is a thin one-run wrapper over :func:`fit_batched`).

Every run m (a :class:`RunSpec`) has its own training rows, seed, learning rate, dropout and
margin; all runs share the kind, the width, the loss, the batch size and the number of epochs.
Their weights are stacked into (M, out, in) tensors and trained with ``torch.baddbmm``, so one
step advances every run by one mini-batch.

What each run m computes is the paper's training of one model (Supplement A), with:

* weights: ``build_mapping(kind, ..., seed=seed)`` of each run, stacked;
* batch order: each run's own ``torch.Generator`` seeded with its seed, one ``randperm`` of its
  training rows per epoch, consecutive slices of ``batch_size`` (the last one partial);
* dropout masks and max-margin candidate orders: the runs' own generators (streams of the
  seed), drawn with the same shapes in the same order as a model built by ``build_mapping``
  (its ``SeededDropout`` layers) draws them;
* RMSprop (ρ = 0.9, ε = 1e-8, no momentum, not centred) written out with a per-run learning
  rate, in torch.optim.RMSprop's operation order.

Unequal training sets: runs with fewer rows finish an epoch in fewer steps. Each epoch has as
many steps as the largest run needs; a run's batch is padded with masked rows, and in steps past
its last batch it is inactive (no parameter or RMSprop-state update), so its trajectory is its
sequential one.

Padding and rounding: masked rows add exact zeros, but they change how the matrix products
block their sums, so they can change the last bits. With ``pad_to_batch_size=True`` (the
default, used by the tables) every step is ``batch_size`` rows wide; with False a step is only
as wide as the most rows any run has in it. A single run trained with False computes, bit for
bit, what one ``build_mapping`` model trained alone with ``torch.optim.RMSprop`` computes
(tests/test_batched_training.py checks this against a plain loop, on the CPU); Figure 2 and
``fit_mapping`` train that way.
Otherwise the equality is to float tolerance.

Extra loss terms (``term``, a :class:`LossTerm`): a per-item term added to the loss of every
training step, e.g. the pairwise-similarity and adversarial terms of ``crossmodal.mappers.terms``.
It is bound once per stack (``term.bind(runs, d_out, device)``) and then called every step with
the stack's predictions, targets and the mask of real rows; its per-run settings travel in
``RunSpec.term_params``. It may keep state of its own (a discriminator) and draw from its own
generators, never from the runs' streams, so without a term nothing changes. The recorded
training loss includes the term; validation losses do not (they stay the named loss).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from crossmodal.devices import resolve_device
from crossmodal.mappings.common import (
    DEFAULT_BATCH_SIZE,
    RMSPROP_EPS,
    RMSPROP_RHO,
    TrainHistory,
    _as_tensor,
)
from crossmodal.mappings.losses import LOSSES, loss_per_item, max_margin_per_item
from crossmodal.mappings.models import (
    DROPOUT_STREAM,
    ORDER_STREAM,
    build_mapping,
    layer_dims,
    stream_seed,
)


@dataclass(frozen=True)
class RunSpec:
    """One model of a batch: training rows (indices into X/Y), seed and its own settings.

    ``val``: rows whose loss is recorded after every epoch (None: no validation loss).
    ``margin`` matters for the max-margin loss only; ``dropout`` not for ``lin``.
    ``term_params``: this run's settings of the extra loss term (see :class:`LossTerm`), e.g.
    (λ, τ); ignored without a term.
    """

    train: np.ndarray
    seed: int = 0
    lr: float = 1e-3
    dropout: float = 0.0
    margin: float = 1.0
    val: np.ndarray | None = None
    term_params: tuple[float, ...] = ()


StepTerm = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class LossTerm(Protocol):
    """An extra per-item loss term: ``bind`` returns the function one stack calls every step,
    ``(pred (M, B, d), y (M, B, d), valid (M, B) bool) -> (M, B)`` per-item values (padding rows
    are zeroed by the engine). ``name`` goes into the fit's config."""

    name: str

    def bind(self, runs: Sequence[RunSpec], d_out: int, device: str) -> StepTerm: ...


@dataclass
class BatchedFit:
    """The trained stack: per layer weights (M, out, in) and biases (M, out), and per-run
    per-epoch losses (``loss`` (M, epochs); ``val_loss`` likewise, NaN for runs without val)."""

    kind: str
    hidden: int | None
    loss_name: str
    batch_size: int
    runs: list[RunSpec]
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    loss: np.ndarray
    val_loss: np.ndarray | None
    config: dict[str, object] = field(default_factory=dict)

    def model(self, m: int) -> nn.Sequential:
        """Run m as an ordinary module (eval mode), usable with ``predict``."""
        run = self.runs[m]
        d_out, d_in = self.weights[-1].shape[1], self.weights[0].shape[2]
        model = build_mapping(self.kind, d_in, d_out, self.hidden, seed=run.seed, dropout=run.dropout)  # type: ignore[arg-type]
        linears = [layer for layer in model if isinstance(layer, nn.Linear)]
        with torch.no_grad():
            for layer, w, b in zip(linears, self.weights, self.biases):
                layer.weight.copy_(w[m].cpu())
                layer.bias.copy_(b[m].cpu())
        return model.to(self.weights[0].device).eval()

    def predict(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """f_m(X) for every run m: a float32 (M, N, d_out) array (eval mode, no dropout)."""
        Xt = _as_tensor(X, "X", str(self.weights[0].device))
        out = []
        with torch.no_grad():
            for s in range(0, Xt.shape[0], batch_size):
                xb = Xt[s : s + batch_size].unsqueeze(0).expand(len(self.runs), -1, -1)
                out.append(_forward(self.weights, self.biases, xb))
        if not out:
            return np.zeros((len(self.runs), 0, self.weights[-1].shape[1]), dtype=np.float32)
        return torch.cat(out, dim=1).cpu().numpy()

    def histories(self) -> list[TrainHistory]:
        """One ``TrainHistory`` per run (what ``fit_mapping`` returns for a single run)."""
        out = []
        for m, run in enumerate(self.runs):
            cfg = dict(self.config, seed=run.seed, lr=run.lr, dropout=run.dropout, n_train=len(run.train))
            if self.loss_name == "max-margin":
                cfg["margin"] = run.margin
            val = None if self.val_loss is None or run.val is None else [float(v) for v in self.val_loss[m]]
            out.append(TrainHistory(loss=[float(v) for v in self.loss[m]], val_loss=val, config=cfg))
        return out


class _StackedLinear(torch.autograd.Function):
    """h @ w[m]ᵀ + b[m] for every run m, with w (M, out, in) as nn.Linear stores it.

    Written out so that the weight gradient comes back in the weight's own row-major layout
    (δᵀ h, as nn.Linear computes it); autograd's bmm backward would return it transposed,
    and the optimizer would then have to re-lay it out every step.

    A stack of one (M = 1) runs nn.Linear's own 2-d products (addmm / mm). PyTorch's CPU
    (b)addbmm computes a batch of one with those same products, except for tiny ones (fewer than
    400 multiply-adds), which it computes with a kernel of its own that rounds differently; the
    2-d calls make a single run equal to the plain nn.Linear model at every size.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(h, w)
        if w.shape[0] == 1:
            return torch.addmm(b[0], h[0], w[0].t()).unsqueeze(0)
        return torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:  # type: ignore[override]
        h, w = ctx.saved_tensors
        if w.shape[0] == 1:
            grad_h = grad[0].mm(w[0]).unsqueeze(0) if ctx.needs_input_grad[0] else None
            return grad_h, grad[0].t().mm(h[0]).unsqueeze(0), grad.sum(dim=1)
        grad_h = torch.bmm(grad, w) if ctx.needs_input_grad[0] else None
        return grad_h, torch.bmm(grad.transpose(1, 2), h), grad.sum(dim=1)


def _forward(
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    h: torch.Tensor,
    dropout: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Stacked MLP: baddbmm per layer, ReLU (then ``dropout(layer, h)``) after hidden layers."""
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        h = _StackedLinear.apply(h, w, b)
        if i < last:
            h = torch.relu(h)
            if dropout is not None:
                h = dropout(i, h)
    return h


# Elements per batch of the optimizer step's five passes (1 MiB per float32 array). Whole-tensor
# passes stream the tens of MB of a wide/deep stack through main memory five times; small
# batches pay Python and dispatch per batch. On the 2-core dev VM 1 << 18 beat 1 << 16 by
# ~20 % on the mirror run's nn stacks (benchmarks/bench_rmsprop.py, benchmarks/README.md).
RMSPROP_CHUNK = 1 << 18

# Parameters per stack (16 MiB float32). A stack's parameters, gradients and RMSprop state are
# all touched every step; keeping them near cache size made 60 runs of a 3-layer, 512-wide
# network ~15 % faster on the 2-core dev VM (benchmarks/README.md) and changed no result.
MAX_STACK_ELEMENTS = 1 << 22


def rmsprop_step(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    square_avg: Sequence[torch.Tensor],
    lr: torch.Tensor,
    active: torch.Tensor | None = None,
    alpha: float = RMSPROP_RHO,
    eps: float = RMSPROP_EPS,
    chunk: int = RMSPROP_CHUNK,
) -> None:
    """In place, per run m (leading dim): torch.optim.RMSprop's update with lr[m].

    sq ← α·sq + (1 − α)·g²;  p ← p + (−lr)·g / (√sq + ε), with torch.optim.RMSprop's own ops
    (mul_, addcmul_, sqrt, add_, addcdiv_), so the result is bit for bit its result.
    Runs with ``active[m]`` False are left untouched (parameters and state), as if they had not
    taken the step. ``params`` and ``square_avg`` must be contiguous; ``grads`` must have the
    parameters' shapes.

    The tensors are cut into pieces of at most ``chunk`` elements (all runs of a column range
    when they share a learning rate, else one run's), and the update runs over about ``chunk``
    elements at a time, each op as one ``torch._foreach_*`` call over those pieces: the pieces
    stay in cache between the five passes, and small models pay five calls, not five per piece.
    The update is elementwise, so none of this changes the result.
    """
    lrs = [float(v) for v in lr.tolist()]  # float32 values, exactly as a float32 tensor holds them
    M = len(lrs)
    runs = list(range(M)) if active is None else torch.nonzero(active.cpu()).flatten().tolist()
    if not runs:
        return
    shared = len({lrs[m] for m in runs}) == 1
    rows = [slice(runs[0], runs[-1] + 1)] if shared and runs == list(range(runs[0], runs[-1] + 1)) else \
        [slice(m, m + 1) for m in runs]
    pieces: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]] = []
    with torch.no_grad():
        for p, g, sq in zip(params, grads, square_avg):
            p2, g2, sq2 = p.view(M, -1), g.reshape(M, -1), sq.view(M, -1)
            for r in rows:
                n_rows = r.stop - r.start
                width = max(1, chunk // n_rows)
                for c in range(0, p2.shape[1], width):
                    cols = slice(c, c + width)
                    pieces.append((p2[r, cols], g2[r, cols], sq2[r, cols], -lrs[r.start]))
        batch: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]] = []
        size = 0
        for piece in pieces:
            batch.append(piece)
            size += piece[0].numel()
            if size >= chunk:
                _rmsprop_update(batch, alpha, eps)
                batch, size = [], 0
        if batch:
            _rmsprop_update(batch, alpha, eps)


def _rmsprop_update(pieces: Sequence[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]], alpha: float,
                    eps: float) -> None:
    """(p, g, sq, −lr) pieces: torch.optim.RMSprop's single-tensor update, op for op."""
    p, g, sq, neg_lr = (list(t) for t in zip(*pieces))
    torch._foreach_mul_(sq, alpha)
    torch._foreach_addcmul_(sq, g, g, value=1 - alpha)
    avg = torch._foreach_sqrt(sq)
    torch._foreach_add_(avg, eps)
    torch._foreach_addcdiv_(p, g, avg, neg_lr)


def _rows_of(T: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """``T[rows]`` for (M, B) row indices: (M, B, d). index_select copies the same rows ~4x
    faster than advanced indexing on the CPU (a (5, 64) gather of 1,000-d rows: 56 vs 249 µs)."""
    return T.index_select(0, rows.reshape(-1)).view(*rows.shape, T.shape[1])


def _epoch_schedule(
    perms: Sequence[torch.Tensor], batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows, valid), both (steps, M, batch_size): run m's epoch order cut into batches and
    padded with row 0 / False, steps = the most batches any run needs."""
    steps = max(math.ceil(len(p) / batch_size) for p in perms)
    rows = torch.zeros(len(perms), steps * batch_size, dtype=torch.long)
    valid = torch.zeros(len(perms), steps * batch_size, dtype=torch.bool)
    for m, p in enumerate(perms):
        rows[m, : len(p)] = p
        valid[m, : len(p)] = True
    shape = (len(perms), steps, batch_size)
    return rows.view(shape).transpose(0, 1), valid.view(shape).transpose(0, 1)


def _check_runs(runs: Sequence[RunSpec], n: int, kind: str) -> None:
    if not runs:
        raise ValueError("need at least one run")
    for i, r in enumerate(runs):
        t = np.asarray(r.train)
        if t.ndim != 1 or len(t) == 0 or t.min() < 0 or t.max() >= n:
            raise ValueError(f"run {i}: train must be non-empty 1-d row indices in [0, {n})")
        if r.val is not None and (len(r.val) == 0 or np.min(r.val) < 0 or np.max(r.val) >= n):
            raise ValueError(f"run {i}: val must be non-empty row indices in [0, {n})")
        if r.lr <= 0 or not 0.0 <= r.dropout < 1.0:
            raise ValueError(f"run {i}: need lr > 0 and 0 <= dropout < 1")
        if r.dropout and kind == "lin":
            raise ValueError(f"run {i}: dropout acts on hidden layers; 'lin' has none")


def fit_batched(
    X: np.ndarray,
    Y: np.ndarray,
    runs: Sequence[RunSpec],
    kind: str,
    hidden: int | None,
    epochs: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    loss: str = "mse",
    labels: np.ndarray | None = None,
    device: str = "cpu",
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    val_loss: str | None = None,
    max_stack: int = MAX_STACK_ELEMENTS,
    *,
    pad_to_batch_size: bool = True,
    on_epoch: Callable[[int, BatchedFit], None] | None = None,
    term: LossTerm | None = None,
) -> BatchedFit:
    """Train ``len(runs)`` mappings of ``kind``/``hidden`` on rows of (X, Y) at once.

    Run m is the model ``build_mapping(kind, d_x, d_y, hidden, seed=r.seed, dropout=r.dropout)``
    trained on the rows ``r.train`` with RMSprop at ``r.lr`` for ``epochs`` epochs of
    ``batch_size`` (see the module docstring), its per-epoch mean training ``loss`` and, with
    ``r.val``, its per-epoch ``val_loss`` on those rows recorded.
    ``labels`` (one per row of X, max-margin only): None = every other item is another class.
    ``val_loss``: the loss recorded on the validation rows; None = the training loss.
    ``max_stack``: the most parameters trained in one stack; larger batches of runs are
    trained as consecutive groups (the runs are independent, so grouping does not change them).
    ``pad_to_batch_size``: see the module docstring (False: a single run is bit-identical to
    training it alone with torch.optim.RMSprop).
    ``on_epoch(epoch, fit)``: called with epoch 0 (the initial weights) and after every epoch
    (1..``epochs``), with the stack as it is then (``loss``/``val_loss`` hold the epochs so far).
    ``fit`` shares the weights being trained: read it (``fit.model(m)``, ``fit.predict``), do
    not modify it. It draws nothing from the runs' random streams, so it does not change the
    training. Needs the runs to fit in one stack (``max_stack``).
    ``term``: an extra per-item loss term (module docstring), added to ``loss`` in training.
    """
    val_name = loss if val_loss is None else val_loss
    if loss not in LOSSES or val_name not in LOSSES:
        raise ValueError(f"loss and val_loss must be one of {LOSSES}, got {loss!r} and {val_loss!r}")
    if epochs < 0 or batch_size < 1:
        raise ValueError("need epochs >= 0 and batch_size >= 1")
    device = str(resolve_device(device))  # "auto" resolved; "cuda" without a GPU is a clear error
    Xt, Yt = _as_tensor(X, "X", device), _as_tensor(Y, "Y", device)
    if Xt.shape[0] != Yt.shape[0]:
        raise ValueError(f"X has {Xt.shape[0]} rows but Y has {Yt.shape[0]}")
    runs = list(runs)
    _check_runs(runs, Xt.shape[0], kind)
    per_run = sum(a * b + b for a, b in layer_dims(kind, Xt.shape[1], Yt.shape[1], hidden))  # validates kind/hidden
    group = max(1, max_stack // per_run)
    if len(runs) > group:
        if on_epoch is not None:
            raise ValueError(f"on_epoch needs the runs in one stack: {len(runs)} runs of {per_run} parameters "
                             f"exceed max_stack={max_stack}")
        parts = [fit_batched(X, Y, runs[i : i + group], kind, hidden, epochs, batch_size, loss, labels, device,
                             progress, log, val_loss, max_stack, pad_to_batch_size=pad_to_batch_size, term=term)
                 for i in range(0, len(runs), group)]
        return _concatenate(parts, runs)
    M = len(runs)
    lab = None if labels is None or "max-margin" not in (loss, val_name) else torch.as_tensor(np.asarray(labels)).to(device)
    if lab is not None and (lab.dim() != 1 or lab.shape[0] != Xt.shape[0]):
        raise ValueError(f"labels must be 1-d with {Xt.shape[0]} entries")

    # The very same initial weights as the sequential runs: build each and stack.
    inits = [build_mapping(kind, Xt.shape[1], Yt.shape[1], hidden, seed=r.seed) for r in runs]  # type: ignore[arg-type]
    linears = [[layer for layer in mdl if isinstance(layer, nn.Linear)] for mdl in inits]
    W = [torch.stack([lin[i].weight.detach() for lin in linears]).to(device).requires_grad_() for i in range(len(linears[0]))]
    B = [torch.stack([lin[i].bias.detach() for lin in linears]).to(device).requires_grad_() for i in range(len(linears[0]))]
    del inits, linears
    params = [t for pair in zip(W, B) for t in pair]
    square_avg = [torch.zeros_like(p) for p in params]
    lr = torch.tensor([r.lr for r in runs], dtype=torch.float32, device=device)
    margin = torch.tensor([r.margin for r in runs], dtype=torch.float32, device=device)

    train_rows = [torch.as_tensor(np.asarray(r.train, dtype=np.int64)) for r in runs]
    shuffle = [torch.Generator().manual_seed(int(r.seed)) for r in runs]
    drop_gen = [torch.Generator().manual_seed(stream_seed(r.seed, DROPOUT_STREAM)) if r.dropout else None for r in runs]
    order_gen = [torch.Generator().manual_seed(stream_seed(r.seed, ORDER_STREAM)) for r in runs] if loss == "max-margin" else []
    any_dropout = any(r.dropout for r in runs)
    keep_scale = torch.tensor([1.0 - r.dropout for r in runs], dtype=torch.float32, device=device).view(M, 1, 1)

    has_val = [r.val is not None for r in runs]
    loss_hist = np.zeros((M, epochs), dtype=np.float64)
    val_hist = np.full((M, epochs), np.nan) if any(has_val) else None
    n_train = torch.tensor([len(t) for t in train_rows], dtype=torch.float64, device=device)
    hidden_out = hidden if kind != "lin" else None
    config: dict[str, object] = {
        "kind": kind, "hidden": hidden_out, "epochs": epochs, "batch_size": batch_size,
        "loss": loss, "val_loss": val_name, "optimizer": "RMSprop", "rho": RMSPROP_RHO, "eps": RMSPROP_EPS,
    }
    term_fn = None
    if term is not None:
        config["term"] = term.name
        term_fn = term.bind(runs, Yt.shape[1], device)

    def snapshot(done: int) -> BatchedFit:
        return BatchedFit(
            kind=kind, hidden=hidden_out, loss_name=loss, batch_size=batch_size, runs=runs,
            weights=[w.detach() for w in W], biases=[b.detach() for b in B], loss=loss_hist[:, :done],
            val_loss=None if val_hist is None else val_hist[:, :done], config=config,
        )

    if on_epoch is not None:
        on_epoch(0, snapshot(0))
    bar = tqdm(range(epochs), desc=f"fit {M}x{kind}", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        perms = [t[torch.randperm(len(t), generator=g)] for t, g in zip(train_rows, shuffle)]
        rows_all, valid_all = _epoch_schedule(perms, batch_size)
        rows_all, valid_dev = rows_all.to(device), valid_all.to(device)
        total = torch.zeros(M, dtype=torch.float64, device=device)
        for s in range(rows_all.shape[0]):
            rows, valid, valid_cpu = rows_all[s], valid_dev[s], valid_all[s]
            counts_cpu = valid_cpu.sum(dim=1)
            if not pad_to_batch_size:  # each run's rows are a prefix of its slot: cut the common padding
                width = int(counts_cpu.max())
                rows, valid, valid_cpu = rows[:, :width], valid[:, :width], valid_cpu[:, :width]
            width = rows.shape[1]
            counts = counts_cpu.to(device)
            xb, yb = _rows_of(Xt, rows), _rows_of(Yt, rows)

            drop_fn = None
            if any_dropout:
                drop_fn = _dropout_fn(runs, drop_gen, counts_cpu, keep_scale, device)
            pred = _forward(W, B, xb, drop_fn)
            if loss == "max-margin":
                order = _candidate_orders(order_gen, counts_cpu, width).to(device)
                per = max_margin_per_item(pred, yb, margin, order, None if lab is None else lab[rows], valid)
            else:
                per = loss_per_item(loss, pred, yb)
            if term_fn is not None:
                per = per + term_fn(pred, yb, valid)
            per = torch.where(valid, per, torch.zeros_like(per))
            run_loss = per.sum(dim=1) / counts.clamp_min(1)
            grads = torch.autograd.grad(run_loss.sum(), params)
            full = bool((counts_cpu == width).all())
            rmsprop_step(params, grads, square_avg, lr, None if full else counts > 0)
            total += run_loss.detach().double() * counts
        loss_hist[:, epoch] = (total / n_train).cpu().numpy()
        if val_hist is not None:
            val_hist[:, epoch] = _validation_losses(W, B, Xt, Yt, runs, val_name, lab, device)
        bar.set_postfix_str(f"mean loss={loss_hist[:, epoch].mean():.4g}")
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs} {M}x{kind} mean train_{loss}={loss_hist[:, epoch].mean():.6g}")
        if on_epoch is not None:
            on_epoch(epoch + 1, snapshot(epoch + 1))
    return snapshot(epochs)


def _concatenate(parts: Sequence[BatchedFit], runs: Sequence[RunSpec]) -> BatchedFit:
    """One BatchedFit from the fits of consecutive groups of ``runs``."""
    first = parts[0]
    vals = [p.val_loss if p.val_loss is not None else np.full(p.loss.shape, np.nan) for p in parts]
    any_val = any(p.val_loss is not None for p in parts)
    return BatchedFit(
        kind=first.kind, hidden=first.hidden, loss_name=first.loss_name, batch_size=first.batch_size, runs=list(runs),
        weights=[torch.cat(ws) for ws in zip(*(p.weights for p in parts))],
        biases=[torch.cat(bs) for bs in zip(*(p.biases for p in parts))],
        loss=np.concatenate([p.loss for p in parts]), val_loss=np.concatenate(vals) if any_val else None,
        config=first.config,
    )


def _dropout_fn(
    runs: Sequence[RunSpec],
    gens: Sequence[torch.Generator | None],
    counts: torch.Tensor,
    keep_scale: torch.Tensor,
    device: str,
) -> Callable[[int, torch.Tensor], torch.Tensor]:
    """Per-layer dropout for one step: run m's mask is ``rand((count_m, width), gen_m) >= p_m``
    (SeededDropout's draw); runs without dropout and padding rows keep everything."""

    def apply(_layer: int, h: torch.Tensor) -> torch.Tensor:
        keep = torch.ones(h.shape, dtype=h.dtype)
        for m, (r, g) in enumerate(zip(runs, gens)):
            if g is not None:
                c = int(counts[m])
                keep[m, :c] = (torch.rand((c, h.shape[2]), generator=g) >= r.dropout).to(h.dtype)
        return h * keep.to(device) / keep_scale

    return apply


def _candidate_orders(gens: Sequence[torch.Generator], counts: torch.Tensor, width: int) -> torch.Tensor:
    """(M, width): run m's candidate order ``randperm(count_m, gen_m)``, then its padding slots."""
    out = torch.empty(len(gens), width, dtype=torch.long)
    for m, g in enumerate(gens):
        c = int(counts[m])
        out[m, :c] = torch.randperm(c, generator=g)
        out[m, c:] = torch.arange(c, width)
    return out


def _validation_losses(
    W: Sequence[torch.Tensor],
    B: Sequence[torch.Tensor],
    Xt: torch.Tensor,
    Yt: torch.Tensor,
    runs: Sequence[RunSpec],
    loss: str,
    lab: torch.Tensor | None,
    device: str,
) -> np.ndarray:
    """Mean loss of every run on its validation rows (NaN without); eval mode, no gradients.

    Max-margin: all other validation items are candidates, in their given order (no
    randomness, so the validation loss is a function of the model)."""
    M = len(runs)
    out = np.full(M, np.nan)
    which = [m for m, r in enumerate(runs) if r.val is not None]
    width = max(len(runs[m].val) for m in which)  # type: ignore[arg-type]
    rows = torch.zeros(M, width, dtype=torch.long)
    valid = torch.zeros(M, width, dtype=torch.bool)
    for m in which:
        v = torch.as_tensor(np.asarray(runs[m].val, dtype=np.int64))
        rows[m, : len(v)] = v
        valid[m, : len(v)] = True
    rows, valid = rows.to(device), valid.to(device)
    with torch.no_grad():
        pred = _forward([w.detach() for w in W], [b.detach() for b in B], _rows_of(Xt, rows))
        if loss == "max-margin":
            # one run at a time: the candidate matrix is (n_val, n_val) per run
            for m in which:
                n = int(valid[m].sum())
                lab_m = None if lab is None else lab[rows[m, :n]]
                out[m] = float(max_margin_per_item(pred[m, :n], Yt[rows[m, :n]], runs[m].margin, None, lab_m).double().mean())
        else:
            per = loss_per_item(loss, pred, _rows_of(Yt, rows)).double()
            per = torch.where(valid, per, torch.zeros_like(per))
            means = (per.sum(dim=1) / valid.sum(dim=1).clamp_min(1)).cpu().numpy()
            out[which] = means[which]
    return out
