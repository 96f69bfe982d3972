"""Sanity check of the features: class-based retrieval mAP per dataset x feature set, ours
beside the paper's (Supplement B).

Paper, Supplement B: "we verify that the extracted text and image features are indeed
informative and useful by computing their mean average precision (mAP) in retrieval
(considering that a document B is relevant for document A if A and B share at least one class
label)". It does not say which split, query or database set, or distance. Our protocol
(``feature_map``): within-modality retrieval on the **test split**, every test item is a
query against the test database **with the query itself left out** (``leave_query_out=True``;
including it would give each query a free relevant hit at rank 1), cosine distance, AP over the
full ranking, relevance = sharing at least one label (Wikipedia: the category; IAPR TC-12: the
label-id sets), averaged over queries with at least one relevant item. The mAP itself is
:func:`crossmodal.measures.retrieval.retrieval_map`.

The paper's numbers live in ``workflow/resources/paper_feature_map.csv`` (columns dataset,
feature, paper_map, source), not in code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from crossmodal.measures.ranks import LabelSets
from crossmodal.measures.retrieval import retrieval_map

REPORT_COLUMNS = ["dataset", "feature", "features_used", "modality", "relevance", "paper_map", "our_map", "n_items",
                  "protocol", "status"]

PAPER_CSV = Path(__file__).resolve().parents[3] / "workflow" / "resources" / "paper_feature_map.csv"
COLUMNS = ["dataset", "feature", "paper_map", "our_map", "n_items", "protocol"]


def feature_map(
    features: object,
    labels: LabelSets,
    *,
    leave_query_out: bool = True,
    metric: str = "cosine",
) -> float:
    """Within-set class-based retrieval mAP (every item queries the others)."""
    X = np.asarray(features, dtype=np.float64)
    labels = list(labels)
    if X.ndim != 2 or X.shape[0] != len(labels):
        raise ValueError(f"features of shape {X.shape} for {len(labels)} labels")
    if not leave_query_out:
        return retrieval_map(X, X, labels, metric=metric)
    if X.shape[0] < 2:
        raise ValueError("leave-query-out mAP needs at least 2 items")
    return retrieval_map(X, X, labels, metric=metric, exclude_self=True)


def read_paper_values(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The paper's mAPs (dataset, feature, paper_map, source)."""
    path = PAPER_CSV if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"paper mAP table not found at {path}")
    df = pd.read_csv(path)
    missing = {"dataset", "feature", "paper_map"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    if df.duplicated(["dataset", "feature"]).any():
        raise ValueError(f"{path}: duplicate (dataset, feature) rows")
    return df


def feature_map_table(
    ours: Mapping[tuple[str, str], float] | pd.DataFrame,
    paper_csv: str | os.PathLike[str] | None = None,
    protocol: str = "test split, leave query out, cosine",
    n_items: Mapping[tuple[str, str], int] | None = None,
    dataset_order: Sequence[str] = ("wikipedia", "iaprtc12"),
) -> pd.DataFrame:
    """One row per dataset x feature: paper mAP (NaN where the paper has none) beside ours (NaN
    where we have none).

    ``ours``: ``{(dataset, feature): mAP}`` or a frame with columns dataset, feature, our_map.
    """
    if isinstance(ours, pd.DataFrame):
        our_df = ours[["dataset", "feature", "our_map"]].copy()
    else:
        our_df = pd.DataFrame([(d, f, float(v)) for (d, f), v in ours.items()], columns=["dataset", "feature", "our_map"])
    paper = read_paper_values(paper_csv)[["dataset", "feature", "paper_map"]]
    df = paper.merge(our_df, on=["dataset", "feature"], how="outer")
    df["n_items"] = [np.nan if n_items is None else n_items.get((d, f), np.nan) for d, f in zip(df["dataset"], df["feature"])]
    df["protocol"] = protocol
    rank = {d: i for i, d in enumerate(dataset_order)}
    paper_rank = {(d, f): i for i, (d, f) in enumerate(zip(paper["dataset"], paper["feature"]))}
    df["_d"] = df["dataset"].map(lambda d: rank.get(d, len(rank)))
    df["_f"] = [paper_rank.get((d, f), len(paper_rank)) for d, f in zip(df["dataset"], df["feature"])]
    df = df.sort_values(["_d", "dataset", "_f", "feature"], kind="stable").drop(columns=["_d", "_f"])
    return df[COLUMNS].reset_index(drop=True)


# ------------------------------------------------------------------ the workflow's table (rule feature_map)


def _row_matrix(row: Mapping[str, object], files: Mapping[str, str]) -> tuple[np.ndarray, list]:
    """The test-split matrix and per-item labels of one planned row.

    ``reader``: ``wikipedia`` (``feature`` is the dataset's sift128 / lda10 / tfidf1000 from
    raw_features.mat, or ``text_file`` names an input with a ``test`` matrix in list order;
    relevance = the category) or ``authors_csv`` (the authors' released CSV named by ``csv``;
    relevance = sharing a label id).
    """
    if row["reader"] == "wikipedia":
        from crossmodal.datasets.wikipedia import IMAGE_FEATURE, TEXT_VARIABLES, load_wikipedia_split

        key = str(row["key"])
        own_text = key if key in TEXT_VARIABLES else "lda10"
        ps = load_wikipedia_split(files["wikipedia_mat"], files["wikipedia_test_list"], files["wikipedia_categories"],
                                  "test", own_text)  # type: ignore[arg-type]
        if key == IMAGE_FEATURE:
            return ps.image, list(ps.labels)
        if key in TEXT_VARIABLES:
            return ps.text, list(ps.labels)
        with np.load(files[str(row["text_file"])], allow_pickle=False) as npz:
            X = np.asarray(npz["test"])
        if X.shape[0] != len(ps):
            raise ValueError(f"{files[str(row['text_file'])]}: {X.shape[0]} test rows, the test list has {len(ps)}")
        return X, list(ps.labels)
    if row["reader"] == "authors_csv":
        from crossmodal.datasets.authors_csv import parse_label_ids, read_authors_csv

        path = files[str(row["csv"])]
        keys, X = read_authors_csv(path)
        return X, [parse_label_ids(k, where=f"{path} row {i + 1}") for i, k in enumerate(keys)]
    raise ValueError(f"unknown feature-map reader {row['reader']!r}")


def feature_map_report(
    plan: Sequence[Mapping[str, object]],
    files: Mapping[str, str],
    paper_csv: str | os.PathLike[str] | None = None,
    dataset_order: Sequence[str] = ("wikipedia", "iaprtc12"),
    log=None,
) -> pd.DataFrame:
    """The feature sanity-check table: every planned row, ours beside the paper's.

    ``plan``: one mapping per row with ``dataset``, ``feature`` (the paper's name where it has
    one: biGRU, ResNet, VGG-128), ``features_used`` (what we really used), ``modality``,
    ``relevance`` and either ``reason`` (the row is unavailable: it is kept with that reason
    and no mAP, never silently left out) or a reader (see ``_row_matrix``). Paper rows that no
    plan row names are added as "not computed". ``files``: input role -> path.
    """
    rows = []
    for row in plan:
        out = {k: row.get(k, "") for k in ("dataset", "feature", "features_used", "modality", "relevance")}
        if row.get("reason"):
            rows.append({**out, "our_map": np.nan, "n_items": np.nan, "status": f"unavailable: {row['reason']}"})
            continue
        X, labels = _row_matrix(row, files)
        m = feature_map(X, labels)
        if log is not None:
            log(f"{row['dataset']} {row['feature']} ({row['features_used']}): mAP {m:.4f} over {len(labels)} items")
        rows.append({**out, "our_map": m, "n_items": len(labels), "status": "computed"})
    ours = pd.DataFrame(rows, columns=[c for c in REPORT_COLUMNS if c not in ("paper_map", "protocol")])
    paper = read_paper_values(paper_csv)[["dataset", "feature", "paper_map"]]
    df = ours.merge(paper, on=["dataset", "feature"], how="left")
    planned = set(zip(ours["dataset"], ours["feature"]))
    extra = paper[[(d, f) not in planned for d, f in zip(paper["dataset"], paper["feature"])]].copy()
    extra["status"] = "not computed: no plan row for this paper feature"
    df = pd.concat([df, extra], ignore_index=True)
    df["protocol"] = "test split, each item queries the others (query left out), cosine, AP over the full ranking"
    rank = {d: i for i, d in enumerate(dataset_order)}
    df["_d"] = df["dataset"].map(lambda d: rank.get(d, len(rank)))
    df = df.sort_values(["_d", "dataset"], kind="stable").drop(columns=["_d"])
    df["n_items"] = df["n_items"].astype("Int64")  # empty where unavailable, never "693.0"
    df["our_map"] = df["our_map"].astype(float).round(4)
    return df[REPORT_COLUMNS].reset_index(drop=True)
