"""Experiment 1 tables in the paper's layout: Table 1 and Tables 3–11 of the Supplement.

Rows: dataset × direction × mapping × text features; for each image-feature set two columns,
``X,f(X)`` and ``Y,f(X)`` (mean mNNO^K over folds/runs). Which settings a table holds is data
(:data:`PAPER_TABLES`): its neighbour metric, loss, mappings and whether its text features are
word2vec (Tables 10/11) or not (all others). A table whose settings were not run is still
written, each of its expected rows "n/a" with the reason in ``note``.

Significance: the pooled per-item NNO(X, f(X)) and NNO(Y, f(X)) differ by a two-sided Wilcoxon
rank-sum test (crossmodal.metrics.significance), Bonferroni-adjusted over the cells of one
printed table (same table, K and self rule); ``*`` goes on the larger value of the pair, as in
the paper (where it is always X,f(X)).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from crossmodal.metrics.significance import bonferroni
from crossmodal.names import DIRECTION_LABELS, PAPER_TABLES, TableSpec

TABLE_GROUP = ["paper_table", "k", "self"]


IMAGENET_DATASETS = ("imagenet1k_concepts", "imagenet_authors")


def is_word2vec(text_feature: str) -> bool:
    """Whether a text feature key names word2vec vectors (e.g. the authors' ``word2vec``)."""
    return "word2vec" in text_feature.lower() or text_feature.lower().startswith("w2v")


def paper_table(metric: str, loss: str, mapping: str, text_feature: str) -> int:
    """The paper table a cell belongs to; 0 when the paper prints no such setting."""
    w2v = is_word2vec(text_feature)
    for spec in PAPER_TABLES.values():
        if spec.metric == metric and spec.loss == loss and mapping in spec.mappings and spec.word2vec == w2v:
            return spec.number
    return 0


def with_paper_table(long: pd.DataFrame) -> pd.DataFrame:
    """Add ``paper_table`` (0 = a setting the paper does not print)."""
    out = long.copy()
    out["paper_table"] = [paper_table(m, l, mp, str(t)) for m, l, mp, t in
                          zip(out["metric"], out["loss"], out["mapping"], out["text_feature"])]
    return out
ROW_KEYS = ["dataset_label", "direction_label", "mapping", "text_label"]


def adjust_pvalues(long: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Add ``paper_table``, ``p_adjusted`` (Bonferroni within each table × K × self rule) and
    ``significant``. Settings outside the paper's tables (table 0) are grouped by metric and loss."""
    out = with_paper_table(long) if "paper_table" not in long else long.copy()
    group = out["paper_table"].astype(str).where(out["paper_table"] != 0, "0/" + out["metric"] + "/" + out["loss"])
    out["_group"] = group
    out["p_adjusted"] = np.nan
    for _, idx in out.groupby(["_group", "k", "self"], sort=False).groups.items():
        out.loc[idx, "p_adjusted"] = bonferroni(out.loc[idx, "p_value"].to_numpy(dtype=np.float64))
    out["significant"] = out["p_adjusted"] < alpha
    return out.drop(columns="_group")


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


WORD2VEC_MISSING = (
    "not available: no ImageNet set with word2vec text vectors was run (word2vec GoogleNews-300d and the "
    "authors' ImageNet release are neither installable from PyPI nor in the mirror); provide the release and "
    "set experiment1.datasets.imagenet_authors (folder, text_features: [word2vec])"
)
PAPER_IMAGE_COLUMNS = ("ResNet", "VGG-128")


def _not_available(rows: list[dict[str, str]], columns: list[str], note: str) -> pd.DataFrame:
    index = ["dataset", "direction", "mapping", "text features"]
    frame = pd.DataFrame(rows, columns=index).drop_duplicates()
    for c in columns:
        frame[c] = "n/a"
    frame["note"] = note
    return frame.set_index(index)


def paper_table_wide(long: pd.DataFrame, spec: TableSpec, k: int, self_rule: str, decimals: int = 3) -> pd.DataFrame:
    """One paper table (``spec``) at K and a self rule, with a ``note`` column. ``long`` must
    carry ``paper_table`` (:func:`adjust_pvalues`). When none of its settings were run, every
    expected row is "n/a" and ``note`` says why; nothing is filled in from another setting."""
    sel = long[(long["paper_table"] == spec.number) & (long["k"] == k) & (long["self"] == self_rule)]
    if not sel.empty:
        wide = table1_wide(sel, spec.metric, k, self_rule, decimals)
        wide["note"] = ""
        return wide
    directions = [DIRECTION_LABELS[d] for d in dict.fromkeys(long["direction"])] or list(DIRECTION_LABELS.values())
    if spec.word2vec:
        rows = [{"dataset": "ImageNet", "direction": d, "mapping": m, "text features": "word2vec"}
                for d in directions for m in spec.mappings]
        columns = [f"{c}: {side}" for c in PAPER_IMAGE_COLUMNS for side in ("X,f(X)", "Y,f(X)")]
        return _not_available(rows, columns, WORD2VEC_MISSING)
    base = long[~long["text_feature"].astype(str).map(is_word2vec)]
    rows = [{"dataset": r.dataset_label, "direction": DIRECTION_LABELS[r.direction], "mapping": m,
             "text features": r.text_label} for r in base.itertuples() for m in spec.mappings]
    columns = [f"{c}: {side}" for c in dict.fromkeys(base["image_label"]) for side in ("X,f(X)", "Y,f(X)")]
    note = (f"not run: table {spec.number} needs mappings {', '.join(spec.mappings)} with the {spec.loss} loss "
            "(config experiment1.mappings / losses / settings)")
    return _not_available(rows, columns, note)


CHOSEN_COLUMNS = ["dataset", "image_feature", "text_feature", "direction", "kind", "loss", "criterion", "lr", "hidden",
                  "dropout", "margin", "epochs", "val_loss", "val_loss_std", "n_unsteady", "n_settings", "n_folds",
                  "max_epochs", "batch_size", "seed", "grid"]


def chosen_table(chosen: list[dict[str, object]]) -> pd.DataFrame:
    """The CV-chosen hyper-parameters, one row per setting (``kind`` = mapping); the grid as JSON."""
    import json

    rows = [{**c, "grid": json.dumps(c.get("grid"), sort_keys=True)} for c in chosen]
    return pd.DataFrame(rows, columns=CHOSEN_COLUMNS).rename(columns={"kind": "mapping", "n_unsteady": "cv_runs_unsteady"})


def checks_table(checks: list[tuple[dict[str, str], pd.DataFrame]]) -> pd.DataFrame:
    """Every training run's loss-decrease check, with the job's identifying columns first."""
    frames = [frame.assign(**job)[[*job, *frame.columns]] for job, frame in checks]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


JOB_KEYS = ["dataset", "image_feature", "text_feature", "direction", "mapping", "loss"]
USED_COLUMNS = ["hp_source", "lr", "hidden", "dropout", "margin", "epochs", "batch_size", "n_unsteady"]
SEARCH_COLUMNS = ["criterion", "val_loss", "val_loss_std", "cv_runs_unsteady", "n_settings", "n_folds", "max_epochs", "grid"]


def hyperparameters_table(long: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """The hyper-parameters every setting was trained with (from the long table: searched or
    the authors'), plus the search's details (criterion, validation loss, grid) where it ran."""
    used = long[JOB_KEYS + USED_COLUMNS].drop_duplicates(JOB_KEYS).reset_index(drop=True)
    if chosen.empty:
        return used.assign(**{c: "" for c in SEARCH_COLUMNS})
    search = chosen[JOB_KEYS + SEARCH_COLUMNS].astype({k: str for k in JOB_KEYS})
    return used.astype({k: str for k in JOB_KEYS}).merge(search, on=JOB_KEYS, how="left", validate="one_to_one")
