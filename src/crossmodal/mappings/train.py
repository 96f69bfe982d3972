"""Training a mapping as in the paper's Supplement A.

Loss ``mse``: the paper's ½‖f(x) − y‖², averaged over the items of a batch (so it is d_y/2
times Keras' per-element MSE; RMSprop divides gradients by their running RMS, which makes
the update almost insensitive to that constant). ``cosine``: 1 − cos(f(x), y), and
``max-margin`` (first violating in-batch candidate, see crossmodal.mappings.losses), also
tested in the paper. Optimiser RMSprop with ρ (torch's ``alpha``) = 0.9 and ε = 1e-8, batch size
64, reshuffled every epoch.

Note: the authors' released TensorFlow code differs from the paper (Adam, batch size 128,
unshuffled batches, truncated-normal init with 0.1 biases); we follow the paper.

Determinism: weights come from ``seed`` (see build_mapping) and the batch order from a
separate generator seeded with ``seed`` too, so lin and nn runs with the same seed see the
same batches; same inputs and seed give bit-identical predictions on the same machine.
Dropout masks and the max-margin candidate order have their own generators (streams of the
same seed, see models.stream_seed), so they do not shift the batch order either.

crossmodal.mappings.batched trains many such models at once and reproduces this function's
results to float tolerance; keep the two in step when changing either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from crossmodal.mappings.losses import LOSSES, LossName, max_margin_per_item
from crossmodal.mappings.models import (
    ORDER_STREAM,
    MappingKind,
    build_mapping,
    stream_seed,
)

RMSPROP_RHO = 0.9
RMSPROP_EPS = 1e-8
DEFAULT_BATCH_SIZE = 64


def _loss_fn(name: LossName) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    # mse/cosine: the original expressions, kept verbatim so old results stay bit-identical.
    if name == "mse":
        return lambda pred, y: 0.5 * ((pred - y) ** 2).sum(dim=1).mean()
    if name == "cosine":
        return lambda pred, y: (1.0 - nn.functional.cosine_similarity(pred, y, dim=1)).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {name!r}")


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


def _mean_loss(model: nn.Module, X: torch.Tensor, Y: torch.Tensor, loss: Callable, batch: int) -> float:
    """Item-weighted mean loss over a whole set, evaluated without gradients."""
    total = 0.0
    with torch.no_grad():
        for s in range(0, X.shape[0], batch):
            total += float(loss(model(X[s : s + batch]), Y[s : s + batch])) * min(batch, X.shape[0] - s)
    return total / X.shape[0]


def validation_max_margin(
    pred: torch.Tensor, y: torch.Tensor, margin: float, labels: torch.Tensor | None = None
) -> float:
    """Mean max-margin loss of a whole set: every other item of the set is a candidate, visited
    in the set's own order (no randomness, so the validation loss is a function of the model)."""
    with torch.no_grad():
        return float(max_margin_per_item(pred, y, margin, None, labels).double().mean())


def _as_labels(labels: np.ndarray | None, n: int, what: str, device: str) -> torch.Tensor | None:
    if labels is None:
        return None
    lab = torch.as_tensor(np.asarray(labels)).to(device)
    if lab.dim() != 1 or lab.shape[0] != n:
        raise ValueError(f"{what} must be 1-d with {n} entries, got shape {tuple(lab.shape)}")
    return lab


def fit_mapping(
    X_train: np.ndarray,
    Y_train: np.ndarray,
    kind: MappingKind,
    hidden: int | None,
    lr: float,
    epochs: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int = 0,
    loss: LossName = "mse",
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
    device: str = "cpu",
    *,
    dropout: float = 0.0,
    margin: float = 1.0,
    labels: np.ndarray | None = None,
    val_labels: np.ndarray | None = None,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> tuple[nn.Module, TrainHistory]:
    """Train f: X -> Y; returns the model (eval mode, on ``device``) and its history.

    ``log`` receives one line per epoch; ``progress`` shows a tqdm bar over epochs.
    ``validation=(X_val, Y_val)`` also records the per-epoch loss on that set (for choosing
    the number of epochs by cross-validation, as in the paper).
    ``kind``: lin, nn, nn-3 or nn-5; ``dropout``: rate after each hidden layer (0 = none).
    ``loss="max-margin"`` uses margin γ = ``margin`` and optional class ``labels`` of the
    training rows (``val_labels`` of the validation rows); see crossmodal.mappings.losses.
    ``on_epoch(epoch, model)`` is called after each epoch (``epoch`` counts from 1), e.g. to
    record learning curves; the model's train/eval mode is restored after it returns. A callback
    that leaves the weights alone and runs the model in eval mode (no dropout masks drawn)
    does not change the trained model.
    """
    X = _as_tensor(X_train, "X_train", device)
    Y = _as_tensor(Y_train, "Y_train", device)
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X_train has {X.shape[0]} rows but Y_train has {Y.shape[0]}")
    if epochs < 0 or batch_size < 1 or lr <= 0:
        raise ValueError("need epochs >= 0, batch_size >= 1 and lr > 0")
    val = None
    if validation is not None:
        val = (_as_tensor(validation[0], "X_val", device), _as_tensor(validation[1], "Y_val", device))
    max_margin = loss == "max-margin"
    if max_margin:
        lab = _as_labels(labels, X.shape[0], "labels", device)
        val_lab = _as_labels(val_labels, val[0].shape[0], "val_labels", device) if val is not None else None
        order_gen = torch.Generator().manual_seed(stream_seed(seed, ORDER_STREAM))
    else:
        loss_fn = _loss_fn(loss)
    model = build_mapping(kind, X.shape[1], Y.shape[1], hidden, seed=seed, dropout=dropout).to(device)
    opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=RMSPROP_RHO, eps=RMSPROP_EPS)
    shuffle_gen = torch.Generator().manual_seed(int(seed))
    config: dict[str, object] = {
        "kind": kind, "hidden": hidden if kind != "lin" else None, "lr": lr, "epochs": epochs,
        "batch_size": batch_size, "seed": seed, "loss": loss, "optimizer": "RMSprop",
        "rho": RMSPROP_RHO, "eps": RMSPROP_EPS, "n_train": int(X.shape[0]), "dropout": dropout,
    }
    if max_margin:
        config["margin"] = margin
    history = TrainHistory(val_loss=[] if val is not None else None, config=config)
    n = X.shape[0]
    bar = tqdm(range(epochs), desc=f"fit {kind}", unit="epoch", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        perm = torch.randperm(n, generator=shuffle_gen).to(device)
        total = 0.0
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            opt.zero_grad(set_to_none=True)
            if max_margin:
                pred = model(X[idx])  # dropout masks are drawn before the candidate order
                order = torch.randperm(idx.shape[0], generator=order_gen).to(device)
                batch_lab = None if lab is None else lab[idx]
                batch_loss = max_margin_per_item(pred, Y[idx], margin, order, batch_lab).mean()
            else:
                batch_loss = loss_fn(model(X[idx]), Y[idx])
            batch_loss.backward()
            opt.step()
            total += float(batch_loss.detach()) * idx.shape[0]
        history.loss.append(total / n)
        line = f"epoch {epoch + 1}/{epochs} {kind} train_{loss}={history.loss[-1]:.6g}"
        if val is not None:
            model.eval()
            if max_margin:
                with torch.no_grad():
                    v = validation_max_margin(model(val[0]), val[1], margin, val_lab)
            else:
                v = _mean_loss(model, val[0], val[1], loss_fn, 4096)
            history.val_loss.append(v)  # type: ignore[union-attr]
            line += f" val_{loss}={history.val_loss[-1]:.6g}"  # type: ignore[index]
        bar.set_postfix_str(f"loss={history.loss[-1]:.4g}")
        if log is not None:
            log(line)
        if on_epoch is not None:
            was_training = model.training
            on_epoch(epoch + 1, model)
            model.train(was_training)
    model.eval()
    return model, history


def predict(model: nn.Module, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """f(X) as a float32 (N, d_out) array, computed in eval mode without gradients."""
    device = next(model.parameters()).device
    Xt = _as_tensor(X, "X", str(device))
    model.eval()
    with torch.no_grad():
        out = [model(Xt[s : s + batch_size]) for s in range(0, Xt.shape[0], batch_size)]
    if not out:
        d_out = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
        return np.zeros((0, d_out), dtype=np.float32)
    return torch.cat(out).cpu().numpy()
