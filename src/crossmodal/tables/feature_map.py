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
:func:`crossmodal.metrics.peers.retrieval_map`.

The paper's numbers live in ``workflow/resources/paper_feature_map.csv`` (columns dataset,
feature, paper_map, source), not in code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from crossmodal.metrics.peers import LabelSets, retrieval_map

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
    n = X.shape[0]
    if n < 2:
        raise ValueError("leave-query-out mAP needs at least 2 items")
    keep = np.ones(n, dtype=bool)
    total, count = 0.0, 0
    for i in range(n):
        keep[i] = False
        db_labels = [labels[j] for j in np.flatnonzero(keep)]
        try:
            # retrieval_map wants >= 2 queries: the query twice gives its own AP as the mean
            ap = retrieval_map(X[[i, i]], X[keep], [labels[i], labels[i]], db_labels, metric=metric)
        except ValueError as exc:  # the query has no relevant item: no AP (as retrieval_map does)
            if "no query has a relevant" not in str(exc):
                raise
            ap = None
        keep[i] = True
        if ap is not None:
            total += ap
            count += 1
    if count == 0:
        raise ValueError("no query has a relevant database item")
    return total / count


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
