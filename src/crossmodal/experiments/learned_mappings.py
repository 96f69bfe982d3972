"""Experiment 1 (paper §4.1, §5.1): does a trained mapping f: X -> Y bridge the modalities?

On the test items of an Experiment 1 set (crossmodal.datasets.experiment1) we train ``lin`` /
``nn`` maps and compare the neighbourhoods of f(X) with those of X and of Y:
mNNO(X, f(X)), mNNO(Y, f(X)), mNNO(X, Y), plus MSE and R² of f(X) against Y.

Protocol (``evaluations``): a ``cv`` set is evaluated by k-fold CV (each fold one evaluation,
seed = base seed + fold); a ``split`` set by ``n_runs`` runs on its fixed train/test split
(seed = base seed + run). Each evaluation's *test set* is numbered; CV has one per fold, a split
one in all, so neighbours of X and Y are computed once per test set.

Self-inclusion: neighbour lists are computed once without self, with K_max columns. The
include-self list for K is [i] followed by the first K − 1 exclude-self neighbours, which is
exactly what ``knn_indices(..., include_self=True)`` returns (the authors' convention, used by
the published numbers); the exclude-self list for K is the first K columns. Per-item NNO, mNNO
and the rank-sum test are ``crossmodal.measures``'.

Per-item pooling for the significance test (``pool_per_item``): per-item NNO values are averaged
over the evaluations that share a test set, then concatenated over test sets. Under CV every item
is tested exactly once, so this is a concatenation over folds (N = all items); under a split it
is the per-item mean over the runs (N = test items).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from crossmodal.datasets.paired import PairedSet
from crossmodal.mappings.diagnostics import check_steady_decrease
from crossmodal.mappings.hyperparams import Hyperparams
from crossmodal.mappings.selection import CVResult, cross_validate
from crossmodal.mappings.splits import kfold_indices, regression_scores
from crossmodal.mappings.batched import RunSpec, fit_batched
from crossmodal.mappings.train import predict
from crossmodal.measures.nno import mean_nno, nno_of_lists
from crossmodal.metrics.knn import METRICS, knn_indices
from crossmodal.names import DIRECTIONS

SELF_RULES: tuple[str, ...] = ("include", "exclude")
MEASURES: tuple[str, ...] = ("mnno_x_fx", "mnno_y_fx", "mnno_x_y", "mse", "r2")


@dataclass(frozen=True)
class Evaluation:
    """One fold (CV) or run (split): which rows train, which test, and the seed."""

    index: int
    test_set: int  # number of the distinct test set (CV: the fold; split: always 0)
    train: np.ndarray
    test: np.ndarray
    seed: int


def evaluations(ps: PairedSet, n_folds: int, n_runs: int, seed: int) -> list[Evaluation]:
    """The folds or runs of an Experiment 1 set, from its header's protocol."""
    header, n = ps.experiment1, len(ps)
    if header.protocol == "cv":
        return [Evaluation(i, i, tr, te, seed + i) for i, (tr, te) in enumerate(kfold_indices(n, n_folds, seed))]
    if n_runs < 1:
        raise ValueError(f"n_runs must be at least 1, got {n_runs}")
    train, test = np.arange(header.n_train, dtype=np.int64), np.arange(header.n_train, n, dtype=np.int64)
    return [Evaluation(r, 0, train, test, seed + r) for r in range(n_runs)]


def save_splits(evals: Sequence[Evaluation], digest: str, path: str) -> None:
    """The evaluations of one dataset as one .npz, written once and read by every step that needs them."""
    arrays: dict[str, np.ndarray] = {
        "keys_digest": np.array(digest),
        "test_set": np.array([ev.test_set for ev in evals], dtype=np.int64),
        "seed": np.array([ev.seed for ev in evals], dtype=np.int64),
    }
    for ev in evals:
        arrays[f"train_{ev.index}"], arrays[f"test_{ev.index}"] = ev.train, ev.test
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_splits(path: str, ps: PairedSet) -> list[Evaluation]:
    """The evaluations :func:`save_splits` wrote, after checking they were made for ``ps``'s rows."""
    with np.load(path, allow_pickle=False) as npz:
        check_same_rows(ps, str(npz["keys_digest"]))
        return [Evaluation(i, int(t), npz[f"train_{i}"], npz[f"test_{i}"], int(seed))
                for i, (t, seed) in enumerate(zip(npz["test_set"], npz["seed"]))]


def repetition_label(protocol: str, n: int) -> str:
    """"5-fold CV" or "5 runs"."""
    return f"{n}-fold CV" if protocol == "cv" else f"{n} run{'s' if n != 1 else ''}"


def sides(ps: PairedSet, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): image -> text for ``i2t``, text -> image for ``t2i``."""
    if direction == "i2t":
        return ps.image, ps.text
    if direction == "t2i":
        return ps.text, ps.image
    raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")


def keys_digest(keys: Sequence[str]) -> str:
    """A short fingerprint of the row order, stored with cached neighbours and predictions."""
    import hashlib

    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------ neighbours


def held_out_sets(evals: Sequence[Evaluation]) -> dict[int, np.ndarray]:
    """test-set number -> its row indices."""
    out: dict[int, np.ndarray] = {}
    for ev in evals:
        out.setdefault(ev.test_set, ev.test)
    return out


def neighbour_lists(
    features: np.ndarray,
    sets: dict[int, np.ndarray],
    k_max: int,
    metrics: Sequence[str] = METRICS,
    where: str = "",
    device: str = "cpu",
) -> dict[str, np.ndarray]:
    """Exclude-self K_max-NN of the rows of each test set, within that set, per metric.

    Keys ``test_{t}`` (row indices) and ``{metric}_{t}`` ((n_t, K_max) positions within the set).
    K_max >= n_t is the metrics' ValueError, prefixed with ``where`` and the test set.
    """
    out: dict[str, np.ndarray] = {}
    for t, rows in sets.items():
        out[f"test_{t}"] = rows
        for metric in metrics:
            try:
                out[f"{metric}_{t}"] = knn_indices(features[rows], k_max, metric, device=device)  # type: ignore[arg-type]
            except ValueError as err:
                raise ValueError(f"{where}test set {t} ({len(rows)} items), {metric}: {err}") from None
    return out


# -------------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainSettings:
    """Everything one Experiment 1 training job needs besides the data.

    ``source``: where the values came from, "cv" (chosen by cross-validation on training rows,
    crossmodal.mappings.selection) or "authors" (crossmodal.mappings.hyperparams.DEFAULTS).
    ``hidden`` is None for ``lin``; ``dropout`` 0 for ``lin``; ``margin`` used by max-margin only.
    """

    loss: str
    lr: float
    hidden: int | None
    dropout: float
    margin: float
    epochs: int
    batch_size: int
    source: str

    @classmethod
    def from_authors(cls, hp: Hyperparams, kind: str, loss: str, margin: float = 1.0) -> TrainSettings:
        """The authors' defaults: no dropout, their lr/hidden/epochs (margin: the caller's)."""
        return cls(loss, hp.lr, None if kind == "lin" else hp.hidden, 0.0, margin, hp.epochs, hp.batch_size, "authors")

    @classmethod
    def from_cv(cls, chosen: Mapping[str, Any]) -> TrainSettings:
        """The values chosen by ``cross_validate`` (its ``chosen`` dict, read back from JSON)."""
        margin = chosen.get("margin")
        hidden = chosen.get("hidden")
        return cls(str(chosen["loss"]), float(chosen["lr"]), None if hidden is None else int(hidden),
                   float(chosen["dropout"]), 1.0 if margin is None else float(margin),
                   int(chosen["epochs"]), int(chosen["batch_size"]), "cv")


@dataclass(frozen=True)
class PredictionsHeader:
    """What a predictions file says about the job that wrote it."""

    n_evaluations: int
    protocol: str
    settings: TrainSettings
    direction: str
    mapping: str
    keys_digest: str
    n_unsteady: int  # runs whose training loss did not decrease steadily (crossmodal.mappings.diagnostics)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PredictionsHeader:
        fields = json.loads(text)
        return cls(**{**fields, "settings": TrainSettings(**fields["settings"])})


@dataclass(frozen=True)
class Predictions:
    """f(X) on each evaluation's test rows."""

    evals: list[Evaluation]
    preds: list[np.ndarray]
    losses: list[list[float]]  # per evaluation, per epoch


def max_margin_labels(ps: PairedSet) -> np.ndarray | None:
    """Class labels for the max-margin negatives: one label per item when every item has
    exactly one (Wikipedia's categories); None otherwise, i.e. every other item counts as a
    different class (word-level ImageNet: one item per class; IAPR TC-12: multi-label, where
    "a different class" has no single meaning)."""
    if ps.labels is None or any(len(lab) != 1 for lab in ps.labels):
        return None
    return np.array([lab[0] for lab in ps.labels], dtype=np.int64)


def train_evaluations(
    X: np.ndarray,
    Y: np.ndarray,
    evals: Sequence[Evaluation],
    kind: str,
    settings: TrainSettings,
    labels: np.ndarray | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
    device: str = "cpu",
) -> Predictions:
    """Train one map per evaluation on its training rows, all at once as one batched program
    (crossmodal.mappings.batched: equal to training them one by one); predict each test set."""
    runs = [RunSpec(ev.train, seed=ev.seed, lr=settings.lr, dropout=settings.dropout, margin=settings.margin)
            for ev in evals]
    if log is not None:
        log(f"{len(runs)} evaluations of {kind}/{settings.loss} trained together: {settings}")
    fit = fit_batched(X, Y, runs, kind, settings.hidden, settings.epochs, settings.batch_size, settings.loss,
                      labels, device=device, progress=progress, log=log)
    preds = [predict(fit.model(m), X[ev.test]) for m, ev in enumerate(evals)]
    losses = [[float(v) for v in fit.loss[m]] for m in range(len(evals))]
    return Predictions(list(evals), preds, losses)


def save_predictions(pred: Predictions, path: str, header: PredictionsHeader) -> None:
    """One .npz: per evaluation its test rows, f(X) and epoch losses, plus a JSON header."""
    arrays: dict[str, np.ndarray] = {"header": np.array(header.to_json())}
    for ev, p, loss in zip(pred.evals, pred.preds, pred.losses):
        arrays[f"test_{ev.index}"] = ev.test
        arrays[f"test_set_{ev.index}"] = np.array(ev.test_set)
        arrays[f"pred_{ev.index}"] = p
        arrays[f"loss_{ev.index}"] = np.asarray(loss, dtype=np.float64)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_predictions(path: str) -> tuple[PredictionsHeader, list[tuple[int, int, np.ndarray, np.ndarray]]]:
    """(header, [(evaluation, test set, test rows, f(X))])."""
    with np.load(path, allow_pickle=False) as npz:
        header = PredictionsHeader.from_json(str(npz["header"][()]))
        runs = [(i, int(npz[f"test_set_{i}"]), npz[f"test_{i}"], npz[f"pred_{i}"]) for i in range(header.n_evaluations)]
    return header, runs


# --------------------------------------------------------------------------------- scoring


def score_evaluations(
    Y: np.ndarray,
    runs: Sequence[tuple[int, int, np.ndarray, np.ndarray]],
    nn_x: dict[str, np.ndarray],
    nn_y: dict[str, np.ndarray],
    ks: Sequence[int],
    metrics: Sequence[str] = METRICS,
    device: str = "cpu",
) -> tuple[pd.DataFrame, dict[tuple[str, int, str], dict[str, list[tuple[int, np.ndarray]]]]]:
    """Per-evaluation scores and per-item NNO values.

    ``runs``: (evaluation, test set, test rows, f(X) of those rows); ``nn_x``/``nn_y``: the
    cached exclude-self neighbour lists of X and Y (see :func:`neighbour_lists`).
    Returns one row per (evaluation, metric, K, self rule) with the measures of ``MEASURES``
    and n_test, and {(metric, K, self rule): {"x_fx"/"y_fx": [(test set, per-item NNO)]}}.
    """
    rows = []
    items: dict[tuple[str, int, str], dict[str, list[tuple[int, np.ndarray]]]] = {}
    k_max = max(ks)
    for index, t, test, fx in runs:
        if not np.array_equal(nn_x[f"test_{t}"], test) or not np.array_equal(nn_y[f"test_{t}"], test):
            raise ValueError(f"evaluation {index}: its test rows differ from the cached neighbours' test set {t}")
        reg = regression_scores(fx, Y[test])
        for metric in metrics:
            nn_fx = knn_indices(fx, k_max, metric, device=device)  # type: ignore[arg-type]
            nx, ny = nn_x[f"{metric}_{t}"], nn_y[f"{metric}_{t}"]
            for k in ks:
                for rule in SELF_RULES:
                    inc = rule == "include"
                    x_fx, y_fx = nno_of_lists(nx, nn_fx, k, inc), nno_of_lists(ny, nn_fx, k, inc)
                    x_y = nno_of_lists(nx, ny, k, inc)
                    rows.append({"evaluation": index, "test_set": t, "metric": metric, "k": k, "self": rule,
                                 "mnno_x_fx": mean_nno(x_fx, k), "mnno_y_fx": mean_nno(y_fx, k),
                                 "mnno_x_y": mean_nno(x_y, k), "mse": reg["mse"], "r2": reg["r2"],
                                 "n_test": len(test)})
                    cell = items.setdefault((metric, k, rule), {"x_fx": [], "y_fx": []})
                    cell["x_fx"].append((t, x_fx))
                    cell["y_fx"].append((t, y_fx))
    return pd.DataFrame(rows), items


def pool_per_item(values: Sequence[tuple[int, np.ndarray]]) -> np.ndarray:
    """Per-item NNO pooled over evaluations: mean within a test set, concatenated over test sets."""
    by_set: dict[int, list[np.ndarray]] = {}
    for t, v in values:
        by_set.setdefault(t, []).append(np.asarray(v, dtype=np.float64))
    return np.concatenate([np.mean(np.stack(by_set[t]), axis=0) for t in sorted(by_set)])


def summarise_scores(
    per_run: pd.DataFrame, items: dict[tuple[str, int, str], dict[str, list[tuple[int, np.ndarray]]]]
) -> pd.DataFrame:
    """One row per (metric, K, self rule): mean and std (ddof = 1) over evaluations of every
    measure, the unadjusted rank-sum p of pooled per-item NNO(X, f(X)) vs NNO(Y, f(X)), and N."""
    from crossmodal.measures.significance import rank_sum_test  # scipy.stats: 0.7 s that training jobs skip

    rows = []
    for (metric, k, rule), cell in per_run.groupby(["metric", "k", "self"], sort=False):
        x = pool_per_item(items[(metric, k, rule)]["x_fx"])
        y = pool_per_item(items[(metric, k, rule)]["y_fx"])
        row: dict[str, object] = {"metric": metric, "k": int(k), "self": rule, "n_evaluations": len(cell),
                                  "n_items_tested": len(x)}
        for m in MEASURES:
            v = cell[m].to_numpy(dtype=np.float64)
            row[f"{m}_mean"] = float(v.mean())
            row[f"{m}_std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        row["p_value"] = rank_sum_test(x, y).pvalue
        rows.append(row)
    return pd.DataFrame(rows)


def check_same_rows(ps: PairedSet, *digests: str) -> None:
    """Cached neighbours and predictions must come from a set with the same row order."""
    mine = keys_digest(ps.keys)
    for d in digests:
        if d != mine:
            raise ValueError(f"{ps.name}: cached neighbours/predictions were made from other rows ({d} != {mine})")


def label_columns(ps: PairedSet, dataset: str, direction: str, mapping: str, header: PredictionsHeader) -> dict[str, object]:
    """The identifying columns of a summary row; ``dataset_label`` says exactly what was used,
    e.g. "IAPR TC-12 (test split, 5-fold CV)"; the settings and ``n_unsteady`` come from the
    predictions file's ``header``."""
    h, st, n_eval = ps.experiment1, header.settings, header.n_evaluations
    return {
        "dataset": dataset,
        "dataset_label": f"{h.dataset_label} ({h.split_label}, {repetition_label(h.protocol, n_eval)})",
        "direction": direction,
        "mapping": mapping,
        "loss": st.loss,
        "image_feature": ps.image_feature,
        "image_label": h.image_label,
        "text_feature": ps.text_feature,
        "text_label": h.text_label,
        "protocol": h.protocol,
        "n_items": len(ps),
        "n_train": h.n_train if h.protocol == "split" else len(ps) - len(ps) // n_eval,
        "hp_source": st.source,
        "lr": st.lr,
        "hidden": "" if st.hidden is None else st.hidden,
        "dropout": st.dropout,
        "margin": st.margin if st.loss == "max-margin" else "",
        "epochs": st.epochs,
        "batch_size": st.batch_size,
        "n_unsteady": header.n_unsteady,
    }


# ------------------------------------------------------------------- hyper-parameter search


def resolve_grid(grid: Mapping[str, Any], authors_hidden: int) -> dict[str, tuple[float, ...]]:
    """A config grid (lists of values, validated by the schema) with ``hidden: auto`` replaced by
    the authors' width for this job."""
    out = {k: tuple(v) for k, v in grid.items() if k != "hidden"}
    hidden = grid["hidden"]
    out["hidden"] = (authors_hidden,) if hidden == "auto" else tuple(int(h) for h in hidden)
    return out


def select_hyperparameters(
    ps: PairedSet,
    direction: str,
    kind: str,
    loss: str,
    grid: Mapping[str, Sequence[float]],
    evals: Sequence[Evaluation],
    n_folds: int,
    max_epochs: int,
    batch_size: int,
    seed: int,
    criterion: str | None = None,
    log: Callable[[str], None] | None = None,
    device: str = "cpu",
) -> CVResult:
    """k-fold CV on the training rows of the first evaluation (see README: for a split that is
    the official training set; for a CV-protocol set it is the first outer fold's training rows,
    whose choice is then used for every outer fold)."""
    X, Y = sides(ps, direction)
    train = evals[0].train
    labels = max_margin_labels(ps)
    return cross_validate(X[train], Y[train], kind, loss, grid, n_folds, max_epochs, batch_size, seed,
                          labels=None if labels is None else labels[train], criterion=criterion, log=log, device=device)


def loss_checks(pred: Predictions) -> pd.DataFrame:
    """One row per evaluation: does its training loss decrease steadily (paper, Supplement A)?"""
    rows = []
    for ev, hist in zip(pred.evals, pred.losses):
        chk = check_steady_decrease(hist)
        rows.append({"evaluation": ev.index, "seed": ev.seed, "steady": chk.steady, "reason": chk.reason,
                     "loss_start": chk.start, "loss_end": chk.end, "rise_frac": chk.rise_frac})
    return pd.DataFrame(rows)
