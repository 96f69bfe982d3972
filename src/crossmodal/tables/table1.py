"""Table 1 (Experiment 1, cosine neighbours) and Table 9 (Euclidean), in the paper's layout.

Rows: dataset × direction × mapping × text features; for each image-feature set two columns,
``X,f(X)`` and ``Y,f(X)`` (mean mNNO^K over folds/runs). Significance: the pooled per-item
NNO(X, f(X)) and NNO(Y, f(X)) differ by a two-sided Wilcoxon rank-sum test
(crossmodal.metrics.significance), Bonferroni-adjusted over the cells of one printed table
(one metric, K and self rule); ``*`` goes on the larger value of the pair, as in the paper
(where it is always X,f(X)).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossmodal.experiments.learned_mappings import DIRECTION_LABELS
from crossmodal.metrics.significance import bonferroni

TABLE_GROUP = ["metric", "k", "self"]
ROW_KEYS = ["dataset_label", "direction_label", "mapping", "text_label"]


def adjust_pvalues(long: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Add ``p_adjusted`` (Bonferroni within each metric × K × self rule) and ``significant``."""
    out = long.copy()
    out["p_adjusted"] = np.nan
    for _, idx in out.groupby(TABLE_GROUP, sort=False).groups.items():
        out.loc[idx, "p_adjusted"] = bonferroni(out.loc[idx, "p_value"].to_numpy(dtype=np.float64))
    out["significant"] = out["p_adjusted"] < alpha
    return out


def _cell(value: float, star: bool, decimals: int) -> str:
    return f"{value:.{decimals}f}" + ("*" if star else "")


def table1_wide(long: pd.DataFrame, metric: str, k: int, self_rule: str, decimals: int = 3) -> pd.DataFrame:
    """The paper's layout for one metric, K and self rule; rows and columns in input order."""
    sel = long[(long["metric"] == metric) & (long["k"] == k) & (long["self"] == self_rule)]
    if sel.empty:
        raise ValueError(f"no scores for metric={metric}, k={k}, self={self_rule}")
    records = []
    for _, r in sel.iterrows():
        x, y = float(r["mnno_x_fx_mean"]), float(r["mnno_y_fx_mean"])
        sig = bool(r["significant"])
        row = {"dataset": r["dataset_label"], "direction": DIRECTION_LABELS[r["direction"]],
               "mapping": r["mapping"], "text features": r["text_label"]}
        records.append({**row, "column": f"{r['image_label']}: X,f(X)", "cell": _cell(x, sig and x >= y, decimals)})
        records.append({**row, "column": f"{r['image_label']}: Y,f(X)", "cell": _cell(y, sig and y > x, decimals)})
    cells = pd.DataFrame(records)
    index = ["dataset", "direction", "mapping", "text features"]
    rows = list(dict.fromkeys(map(tuple, cells[index].to_numpy().tolist())))
    columns = list(dict.fromkeys(cells["column"]))
    wide = cells.pivot_table(index=index, columns="column", values="cell", aggfunc="first", sort=False)
    wide = wide.reindex(index=pd.MultiIndex.from_tuples(rows, names=index), columns=columns)
    wide.columns.name = None
    return wide.fillna("n/a")


def order_long(long: pd.DataFrame, datasets: list[str], directions: list[str], mappings: list[str]) -> pd.DataFrame:
    """Rows sorted as the table prints them: config order of datasets, directions, mappings."""
    key = {
        "dataset": {d: i for i, d in enumerate(datasets)},
        "direction": {d: i for i, d in enumerate(directions)},
        "mapping": {m: i for i, m in enumerate(mappings)},
    }
    out = long.copy()
    for col, rank in key.items():
        out[f"_{col}"] = out[col].map(rank)
    out = out.sort_values([f"_{c}" for c in key], kind="stable")  # features keep their input order
    return out.drop(columns=[f"_{c}" for c in key]).reset_index(drop=True)
