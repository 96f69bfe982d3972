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

The training itself is crossmodal.mappings.batched.fit_batched, the package's one engine:
:func:`fit_mapping` trains one model as a stack of one, with no padded rows in the last batch
(so it is bit-identical to a plain torch.optim.RMSprop loop over the same batches).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from crossmodal.mappings.batched import BatchedFit, RunSpec, fit_batched
from crossmodal.mappings.common import DEFAULT_BATCH_SIZE, TrainHistory, _as_tensor
from crossmodal.mappings.losses import LossName
from crossmodal.mappings.models import MappingKind


def _matrix(a: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-d, got shape {arr.shape}")
    return arr


def _label_column(labels: np.ndarray | None, n: int, what: str) -> np.ndarray | None:
    if labels is None:
        return None
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"{what} must be 1-d with {n} entries, got shape {lab.shape}")
    return lab


def _one_label_column(train: np.ndarray | None, val: np.ndarray | None, n: int, n_val: int) -> np.ndarray | None:
    """fit_batched's one label per row of [train; val]. A side without labels gets labels that
    occur nowhere else (every other item is another class, as with no labels at all)."""
    if train is None and val is None:
        return None
    given = [a for a in (train, val) if a is not None]
    fresh = np.concatenate(given).max() + 1 + np.arange(n + n_val)
    return np.concatenate([train if train is not None else fresh[:n], val if val is not None else fresh[n:]])


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

    One run of crossmodal.mappings.batched.fit_batched (``pad_to_batch_size=False``).
    ``log`` receives one line per epoch; ``progress`` shows a tqdm bar over epochs.
    ``validation=(X_val, Y_val)`` also records the per-epoch loss on that set (for choosing
    the number of epochs by cross-validation, as in the paper).
    ``kind``: lin, nn, nn-3 or nn-5; ``dropout``: rate after each hidden layer (0 = none).
    ``loss="max-margin"`` uses margin γ = ``margin`` and optional class ``labels`` of the
    training rows (``val_labels`` of the validation rows); see crossmodal.mappings.losses.
    ``on_epoch(epoch, model)`` is called after each epoch (``epoch`` counts from 1), e.g. to
    record learning curves, with a copy of the model as it is then, in training mode; the
    callback cannot change the training.
    """
    X, Y = _matrix(X_train, "X_train"), _matrix(Y_train, "Y_train")
    n = X.shape[0]
    if Y.shape[0] != n:
        raise ValueError(f"X_train has {n} rows but Y_train has {Y.shape[0]}")
    if epochs < 0 or batch_size < 1 or lr <= 0:
        raise ValueError("need epochs >= 0, batch_size >= 1 and lr > 0")
    max_margin = loss == "max-margin"
    lab = _label_column(labels, n, "labels") if max_margin else None
    val_rows = None
    if validation is not None:
        X_val, Y_val = _matrix(validation[0], "X_val"), _matrix(validation[1], "Y_val")
        if X_val.shape[0] != Y_val.shape[0] or X_val.shape[1] != X.shape[1] or Y_val.shape[1] != Y.shape[1]:
            raise ValueError(f"validation shapes {X_val.shape}, {Y_val.shape} do not fit {X.shape}, {Y.shape}")
        val_lab = _label_column(val_labels, X_val.shape[0], "val_labels") if max_margin else None
        lab = _one_label_column(lab, val_lab, n, X_val.shape[0])
        val_rows = np.arange(n, n + X_val.shape[0])
        X, Y = np.concatenate([X, X_val]), np.concatenate([Y, Y_val])
    run = RunSpec(np.arange(n), seed=seed, lr=lr, dropout=dropout, margin=margin, val=val_rows)

    def epoch_done(epoch: int, fit: BatchedFit) -> None:
        if epoch == 0:
            return
        if log is not None:
            line = f"epoch {epoch}/{epochs} {kind} train_{loss}={fit.loss[0, epoch - 1]:.6g}"
            if val_rows is not None:
                line += f" val_{loss}={fit.val_loss[0, epoch - 1]:.6g}"
            log(line)
        if on_epoch is not None:
            on_epoch(epoch, fit.model(0).train())

    fit = fit_batched(X, Y, [run], kind, hidden if kind != "lin" else None, epochs, batch_size, loss, lab, device,
                      progress, pad_to_batch_size=False,
                      on_epoch=epoch_done if log is not None or on_epoch is not None else None)
    history = fit.histories()[0]
    history.config = {k: v for k, v in history.config.items() if k != "val_loss"}
    return fit.model(0), history


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
