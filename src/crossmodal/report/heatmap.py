"""Heat-map of mNNO(X, f(X)) - mNNO(Y, f(X)) over every Experiment 1 setting.

Rows: dataset · image feature / text feature · direction; columns: mapping · loss; one panel
per neighbour metric. A positive cell means the mapped vectors f(X) share more of their K
nearest neighbours with their inputs X than with their targets Y (the paper's finding); a
negative one, the reverse. Settings that were not run are grey and marked "–".
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from crossmodal.names import DIRECTION_ARROWS, DIRECTIONS, EXP1_DATASETS, LOSSES, MAPPINGS

METRIC_ORDER = ("cosine", "euclidean")
CELL_COLUMNS = [
    "metric", "row", "column", "dataset", "image_feature", "text_feature", "direction", "mapping", "loss",
    "mnno_x_fx", "mnno_y_fx", "difference",
]  # fmt: skip


def _rank(values: pd.Series, order: tuple[str, ...]) -> pd.Series:
    """Position in ``order``; unknown values after it, in order of first appearance."""
    extra = [v for v in dict.fromkeys(values) if v not in order]
    rank = {v: i for i, v in enumerate((*order, *extra))}
    return values.map(rank)


def row_label(dataset: str, image_feature: str, text_feature: str, direction: str) -> str:
    return f"{dataset} · {image_feature} / {text_feature} · {DIRECTION_ARROWS.get(direction, direction)}"


def column_label(mapping: str, loss: str) -> str:
    return f"{mapping} · {loss}"


def heatmap_cells(long: pd.DataFrame, k: int = 10, self_rule: str = "include") -> pd.DataFrame:
    """One row per (metric, setting) at the given K and self rule, in plotting order.

    ``long`` is ``experiment1_long.csv`` (an older table without ``loss`` is read as MSE).
    ``difference`` = ``mnno_x_fx_mean - mnno_y_fx_mean`` of the same row.
    """
    df = long.copy()
    if "loss" not in df:
        df["loss"] = "mse"
    df = df[(pd.to_numeric(df["k"]) == k) & (df["self"].astype(str) == self_rule)]
    if df.empty:
        raise ValueError(f"no Experiment 1 results with K={k} and self={self_rule}")
    for col in ("dataset", "image_feature", "text_feature", "direction", "mapping", "loss", "metric"):
        df[col] = df[col].astype(str)
    pairs = list(dict.fromkeys(zip(df["image_feature"], df["text_feature"])))
    df = df.assign(
        _d=_rank(df["dataset"], EXP1_DATASETS),
        _p=[pairs.index(p) for p in zip(df["image_feature"], df["text_feature"])],
        _r=_rank(df["direction"], DIRECTIONS),
        _m=_rank(df["mapping"], MAPPINGS),
        _l=_rank(df["loss"], LOSSES),
        _g=_rank(df["metric"], METRIC_ORDER),
    ).sort_values(["_g", "_d", "_p", "_r", "_l", "_m"], kind="stable")
    dup = df.duplicated(["metric", "dataset", "image_feature", "text_feature", "direction", "mapping", "loss"])
    if dup.any():
        raise ValueError(f"{int(dup.sum())} duplicate Experiment 1 settings, e.g. {df[dup].iloc[0].to_dict()}")
    x = df["mnno_x_fx_mean"].astype(float)
    y = df["mnno_y_fx_mean"].astype(float)
    return pd.DataFrame({
        "metric": df["metric"],
        "row": [row_label(*r) for r in zip(df["dataset"], df["image_feature"], df["text_feature"], df["direction"])],
        "column": [column_label(m, lo) for m, lo in zip(df["mapping"], df["loss"])],
        "dataset": df["dataset"], "image_feature": df["image_feature"], "text_feature": df["text_feature"],
        "direction": df["direction"], "mapping": df["mapping"], "loss": df["loss"],
        "mnno_x_fx": x, "mnno_y_fx": y, "difference": x - y,
        "row_order": df["_d"] * 10_000 + df["_p"] * 10 + df["_r"],
        "column_order": df["_l"] * 100 + df["_m"],
    }).reset_index(drop=True)[[*CELL_COLUMNS, "row_order", "column_order"]]  # fmt: skip


def heatmap_matrix(cells: pd.DataFrame, metric: str, rows: list[str], columns: list[str]) -> np.ndarray:
    """The ``rows`` × ``columns`` matrix of differences of one metric (NaN where not run)."""
    sel = cells[cells["metric"] == metric]
    wide = sel.pivot(index="row", columns="column", values="difference")
    return wide.reindex(index=rows, columns=columns).to_numpy(dtype=np.float64)


def heatmap_axes(cells: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Row and column labels in plotting order (the union over metrics)."""
    rows = list(dict.fromkeys(cells.sort_values("row_order", kind="stable")["row"]))
    columns = list(dict.fromkeys(cells.sort_values("column_order", kind="stable")["column"]))
    return rows, columns


def plot_heatmap(
    cells: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    k: int = 10,
    self_rule: str = "include",
    legend: list[str] | None = None,
    dpi: int = 120,
) -> None:
    """Draw the heat-map (Agg, no pyplot state) and save a PNG with reproducible bytes."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    rows, columns = heatmap_axes(cells)
    metrics = [m for m in (*METRIC_ORDER, *sorted(set(cells["metric"]) - set(METRIC_ORDER))) if m in set(cells["metric"])]
    mats = [heatmap_matrix(cells, m, rows, columns) for m in metrics]
    finite = np.concatenate([m[np.isfinite(m)] for m in mats])
    vmax = max(float(np.abs(finite).max()) if finite.size else 0.0, 0.05)
    norm = TwoSlopeNorm(vmin=-vmax, vcenter=0.0, vmax=vmax)

    legend = legend or []
    label_width = 0.065 * max(len(r) for r in rows)
    panel_width = max(0.62 * len(columns), 1.9)  # room for the panel title
    width = label_width + 1.3 + len(metrics) * (panel_width + 0.3)
    if legend:  # the key list starts under the panels and must fit beside the row labels
        width = max(width, label_width + 0.3 + 0.06 * max(len(line) for line in legend))
    panel_height = 1.3 + 0.34 * len(rows)
    legend_height = 0.14 * len(legend) + 0.1 if legend else 0.0
    fig = Figure(figsize=(width, panel_height + legend_height + 0.5), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2 if legend else 1, len(metrics), height_ratios=[panel_height, legend_height] if legend else None)
    axes = [fig.add_subplot(grid[0, 0])]
    axes += [fig.add_subplot(grid[0, j], sharey=axes[0]) for j in range(1, len(metrics))]
    cmap = colormaps["RdBu"].with_extremes(bad="#d9d9d9")  # grey: not run
    image = None
    for j, (ax, metric, mat) in enumerate(zip(axes, metrics, mats)):
        image = ax.imshow(np.ma.masked_invalid(mat), cmap=cmap, norm=norm, aspect="auto")
        for (r, c), v in np.ndenumerate(mat):
            text = "–" if not np.isfinite(v) else f"{v:+.2f}"
            dark = bool(np.isfinite(v) and abs(v) > 0.6 * vmax)
            ax.text(c, r, text, ha="center", va="center", fontsize=7.5, color="white" if dark else "black")
        ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        if j:
            ax.tick_params(left=False, labelleft=False)
        ax.set_title(f"{metric} neighbours", fontsize=10)
        ax.set_xticks(np.arange(-0.5, len(columns)), minor=True)
        ax.set_yticks(np.arange(-0.5, len(rows)), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.0)
        ax.tick_params(which="minor", length=0)
    fig.suptitle(
        f"mNNO$^{{{k}}}$(X, f(X)) − mNNO$^{{{k}}}$(Y, f(X)) on test items, self {'counted' if self_rule == 'include' else 'excluded'}"
        "\n(> 0: f(X) shares more neighbours with X than with Y)",
        fontsize=10,
    )
    bar = fig.colorbar(image, ax=axes, fraction=0.04, pad=0.02, shrink=0.8)
    bar.set_label("difference", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if legend:
        note = fig.add_subplot(grid[1, :])
        note.axis("off")
        note.text(0.0, 1.0, "\n".join(legend), fontsize=7, va="top", ha="left", family="monospace",
                  transform=note.transAxes)  # fmt: skip
    fig.savefig(path, format="png", dpi=dpi, metadata={"Software": None})


def legend_lines(long: pd.DataFrame) -> list[str]:
    """What each key in the row labels stands for, from the long table's honest labels."""
    lines = []
    for key, label in dict.fromkeys(zip(long["dataset"].astype(str), long["dataset_label"].astype(str))):
        lines.append(f"{key}: {label}")
    feats = dict.fromkeys([*zip(long["image_feature"].astype(str), long["image_label"].astype(str)),
                           *zip(long["text_feature"].astype(str), long["text_label"].astype(str))])  # fmt: skip
    lines += [f"{key}: {label}" for key, label in feats]
    return lines
