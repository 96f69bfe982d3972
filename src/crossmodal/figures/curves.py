"""Figure 2: learning curves of a mapping, measured in neighbourhoods and in MSE.

For one training run (the first fold or run of an Experiment 1 set) the mapping's predictions
f(X) are scored after every epoch, and before the first (epoch 0, the initial weights), on the
training rows and on the test rows separately:

* ``mnno_fx_y``: mNNO^K(f(X), Y), how much the neighbourhoods of f(X) resemble the targets';
* ``mnno_fx_x``: mNNO^K(f(X), X), how much they still resemble the inputs';
* ``mse``: the per-element mean squared error of f(X) against Y (as in Table 1's long table,
  summed exactly, see :func:`exact_mse`).

Neighbours are found within each split (the train rows among themselves, the test rows among
themselves), by default with cosine distance and each point counted among its own K (the
paper's convention, see crossmodal.measures.nno.self_rule_lists).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crossmodal.datasets.paired import PairedSet
from crossmodal.experiments.learned_mappings import Evaluation, sides
from crossmodal.mappings.batched import BatchedFit, RunSpec, fit_batched
from crossmodal.mappings.hyperparams import resolve_hyperparams
from crossmodal.mappings.train import predict
from crossmodal.metrics.knn import Metric, knn_indices
from crossmodal.measures.nno import mean_nno, overlap_counts
from crossmodal.names import DIRECTION_ARROWS

MEASURES: tuple[str, ...] = ("mnno_fx_y", "mnno_fx_x", "mse")
MEASURE_LABELS: dict[str, str] = {
    "mnno_fx_y": "mNNO$^{{{k}}}$(f(X), Y)",
    "mnno_fx_x": "mNNO$^{{{k}}}$(f(X), X)",
    "mse": "MSE(f(X), Y)",
}
SPLITS: tuple[str, ...] = ("train", "test")
CURVE_COLUMNS: tuple[str, ...] = ("split", "epoch", "measure", "value")


@dataclass(frozen=True)
class SplitReference:
    """The fixed side of one split: its rows, targets and the neighbours of X and Y."""

    X: np.ndarray
    Y: np.ndarray
    nn_x: np.ndarray
    nn_y: np.ndarray


def _reference(
    X: np.ndarray, Y: np.ndarray, k: int, metric: Metric, include_self: bool, device: str = "cpu"
) -> SplitReference:
    return SplitReference(X, Y, knn_indices(X, k, metric, include_self, device=device),
                          knn_indices(Y, k, metric, include_self, device=device))


def exact_mse(pred: np.ndarray, Y: np.ndarray) -> float:
    """Per-element mean squared error (crossmodal.mappings.splits.regression_scores' ``mse``),
    summed exactly (math.fsum): numpy's vectorised float64 sums can differ in the last bit with
    the arrays' memory alignment, which would make the CSV differ between identical runs."""
    P = np.asarray(pred, dtype=np.float64)
    T = np.asarray(Y, dtype=np.float64)
    if P.shape != T.shape or P.ndim != 2 or P.size == 0:
        raise ValueError(f"pred and Y must be equal-shape non-empty 2-d arrays, got {P.shape} and {T.shape}")
    diff = P - T
    return math.fsum((diff * diff).ravel()) / diff.size


def split_measures(
    fx: np.ndarray, ref: SplitReference, k: int, metric: Metric, include_self: bool, device: str = "cpu"
) -> dict[str, float]:
    """The :data:`MEASURES` of predictions ``fx`` of one split's rows."""
    nn_fx = knn_indices(fx, k, metric, include_self, device=device)
    return {
        "mnno_fx_y": mean_nno(overlap_counts(nn_fx, ref.nn_y), k),
        "mnno_fx_x": mean_nno(overlap_counts(nn_fx, ref.nn_x), k),
        "mse": exact_mse(fx, ref.Y),
    }


def learning_curves(
    X: np.ndarray,
    Y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    kind: str = "nn",
    hidden: int | None,
    lr: float,
    epochs: int,
    batch_size: int,
    seed: int,
    k: int = 10,
    metric: Metric = "cosine",
    include_self: bool = True,
    log: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """Train f on the rows ``train`` (crossmodal.mappings.fit_batched, one run, MSE loss) and score
    it on ``train`` and ``test`` at epochs 0..``epochs``; a tidy frame with :data:`CURVE_COLUMNS`.

    The run is trained without padded rows (``pad_to_batch_size=False``), so it is bit-identical
    to training the one model alone with torch.optim.RMSprop. The scoring callback reads a copy
    of the weights and draws nothing from the training's random streams, so the model is the one
    trained without it (and Experiment 1 trains, for the same rows, seed and hyper-parameters).
    """
    refs = {
        "train": _reference(X[train], Y[train], k, metric, include_self, device),
        "test": _reference(X[test], Y[test], k, metric, include_self, device),
    }
    rows: list[dict[str, object]] = []

    def record(epoch: int, fit: BatchedFit) -> None:
        model = fit.model(0)  # eval mode
        for split in SPLITS:
            values = split_measures(predict(model, refs[split].X), refs[split], k, metric, include_self, device)
            rows.extend({"split": split, "epoch": epoch, "measure": m, "value": values[m]} for m in MEASURES)
        if log is not None:
            test = rows[-len(MEASURES):]
            log(f"epoch {epoch}: test " + " ".join(f"{r['measure']}={r['value']:.4f}" for r in test))

    run = RunSpec(np.asarray(train), seed=seed, lr=lr)
    fit_batched(X, Y, [run], kind, hidden if kind != "lin" else None, epochs, batch_size, "mse",
                device=device, pad_to_batch_size=False, on_epoch=record)
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def dataset_curves(
    ps: PairedSet,
    dataset: str,
    directions: Sequence[str],
    ev: Evaluation,
    *,
    overrides: dict[str, object] | None = None,
    kind: str = "nn",
    k: int = 10,
    metric: Metric = "cosine",
    include_self: bool = True,
    log: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """:func:`learning_curves` of one Experiment 1 set per direction, on one fold/run ``ev`` (the
    first), with Experiment 1's hyper-parameters. Columns: dataset, image, text, direction, then
    :data:`CURVE_COLUMNS`, then the labels and settings that produced the numbers."""
    header = ps.experiment1
    frames = []
    for direction in directions:
        X, Y = sides(ps, direction)
        hp = resolve_hyperparams(header.family, direction, kind, ps.image_feature, ps.image_dim, overrides)
        if log is not None:
            log(f"{dataset} {direction} {kind}: {hp}; {len(ev.train)} train, {len(ev.test)} test rows, seed {ev.seed}")
        start = time.perf_counter()
        curves = learning_curves(X, Y, ev.train, ev.test, kind=kind, hidden=hp.hidden, lr=hp.lr, epochs=hp.epochs,
                                 batch_size=hp.batch_size, seed=ev.seed, k=k, metric=metric,
                                 include_self=include_self, log=log, device=device)
        if log is not None:
            log(f"{dataset} {direction}: {time.perf_counter() - start:.1f} s")
        front = {"dataset": dataset, "image": ps.image_feature, "text": ps.text_feature, "direction": direction}
        back = {
            "dataset_label": header.dataset_label, "image_label": header.image_label,
            "text_label": header.text_label, "mapping": kind, "k": k, "metric": metric,
            "self": "include" if include_self else "exclude", "lr": hp.lr,
            "hidden": hp.hidden if kind != "lin" else "", "epochs": hp.epochs, "batch_size": hp.batch_size,
            "seed": ev.seed, "n_train": len(ev.train), "n_test": len(ev.test),
        }
        frames.append(pd.DataFrame({**front, **curves.to_dict("list"), **back}))
    return pd.concat(frames, ignore_index=True)


DIRECTION_COLOURS: dict[str, str] = {"i2t": "#1f77b4", "t2i": "#d62728"}
SPLIT_STYLES: dict[str, str] = {"train": "--", "test": "-"}


def _row_title(block: pd.DataFrame) -> str:
    first = block.iloc[0]
    settings = []
    for direction, d in block.groupby("direction", sort=False):
        r = d.iloc[0]
        hidden = f", hidden {r['hidden']}" if str(r["hidden"]) != "" else ""
        settings.append(f"{DIRECTION_ARROWS.get(direction, direction)}: lr {r['lr']:g}{hidden}")
    return (f"{first['dataset_label']}: {first['image_label']} / {first['text_label']}\n"
            f"{first['mapping']}, {first['n_train']} train / {first['n_test']} test rows, "
            f"{first['epochs']} epochs, batch {first['batch_size']}; " + "; ".join(settings))


def plot_figure2(curves: pd.DataFrame, path: str | Path) -> None:
    """Rows: the (dataset, image, text) blocks of ``curves`` in order; columns: :data:`MEASURES`
    (MSE on a log scale: the two directions' targets differ in scale). Colour: direction; line
    style: split. A PNG whose bytes depend only on the data."""
    from matplotlib.figure import Figure

    keys = list(dict.fromkeys(zip(curves["dataset"], curves["image"], curves["text"])))
    if not keys:
        raise ValueError("no learning curves to plot")
    fig = Figure(figsize=(13, 3.6 * len(keys) + 0.5), dpi=100, layout="constrained")
    rows = np.atleast_1d(fig.subfigures(len(keys), 1))
    for sub, key in zip(rows, keys):
        block = curves[(curves["dataset"] == key[0]) & (curves["image"] == key[1]) & (curves["text"] == key[2])]
        k = int(block["k"].iloc[0])
        axes = sub.subplots(1, len(MEASURES), squeeze=False)[0]
        for ax, measure in zip(axes, MEASURES):
            for (direction, split), d in block[block["measure"] == measure].groupby(["direction", "split"], sort=False):
                d = d.sort_values("epoch")
                ax.plot(d["epoch"], d["value"], SPLIT_STYLES.get(split, ":"),
                        color=DIRECTION_COLOURS.get(direction, "black"), linewidth=1.4,
                        label=f"{DIRECTION_ARROWS.get(direction, direction)} {split}")
            ax.set_title(MEASURE_LABELS[measure].format(k=k), fontsize=10)
            ax.set_xlabel("epoch")
            ax.grid(True, linewidth=0.3)
            if measure == "mse":
                ax.set_yscale("log")
            else:
                ax.set_ylim(0.0, 1.0)
        axes[0].legend(fontsize=8, loc="best")
        sub.suptitle(_row_title(block), fontsize=9)
    metric = curves["metric"].iloc[0]
    self_rule = "self counted" if curves["self"].iloc[0] == "include" else "self excluded"
    fig.suptitle(f"Learning curves of one run (first fold/run); {metric} neighbours within each split, {self_rule}",
                 fontsize=11)
    fig.savefig(path, format="png", metadata={"Software": None})
