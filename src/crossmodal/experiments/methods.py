"""``evaluate_methods`` (Tables 13 and 14): every registered mapping asked for (``crossmodal.mappers``)
on one dataset's official split, through the mNNO lens and by
retrieval, with its CV-chosen hyper-parameters. A workflow script calls it once per dataset and
writes the three tables.

Protocol: hyper-parameters by CV on the training rows only (each mapping's ``select``:
``crossmodal.mappers.regression``, ``crossmodal.mappers.shared``, or the generic search of
``crossmodal.mappers.fitting``), a final fit on all training rows, and every measure on the test
rows (neighbourhoods within the test set, the test set as the retrieval gallery).
Regression maps are fitted per direction (i2t: X = images, Y = texts; t2i the reverse) and
retrieve in their direction (i2t gives I->T). A shared-space method is fitted once (g on images,
h on texts) and gives both retrieval directions; its mNNO rows are reported for each direction
(i2t: X = images, F = g(X), Y-role h(texts); t2i: X = texts, F = h(X), Y-role g(images)).

Determinism: every random choice comes from ``seed`` (folds, initial weights, batch order, the
bootstrap), and the work runs with ``threads`` (default 1) torch and BLAS threads, so a rerun on the
same machine writes byte-identical CSVs (the tables hold no timings). ``device`` is used by the
regression maps (the batched engine); the shared-space methods are small and run on the CPU.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crossmodal.datasets.paired import PairedSet
from crossmodal.experiments import methods_measures as measures
from crossmodal.experiments.learned_mappings import sides
from crossmodal.experiments.methods_measures import retrieval_scores
from crossmodal.mappers.fitting import SelectContext, select
from crossmodal.mappers.registry import get, table_names
from crossmodal.mappings.splits import regression_scores
from crossmodal.names import DIRECTION_LABELS, DIRECTIONS

# The ``family`` column of the tables: where a mapping's neighbourhoods live.
FAMILY = {"Y": "regression", "shared": "shared"}
ID_COLUMNS = ["dataset", "image_feature", "text_feature", "method", "family"]
MNNO_COLUMNS = [*ID_COLUMNS, "direction", "y_role", "metric", "k", "self", "n_test", "mnno_x_fx", "mnno_y_fx", "mnno_x_y",
                "mnno_y_hy", "mnno_rawy_fx", "diff", "diff_ci_lo", "diff_ci_hi", "p_rank_sum", "p_paired", "chance", "mse", "r2"]
RETRIEVAL_COLUMNS = [*ID_COLUMNS, "direction", "query", "scoring", "map", "n_queries", "hub_k", "hub_skewness",
                     "antihub_share", "csls_k"]
HP_COLUMNS = [*ID_COLUMNS, "direction", "hp_source", "chosen", "criterion", "cv_score", "cv_score_std", "n_settings",
              "n_folds", "grid"]


@contextlib.contextmanager
def limited_threads(n: int) -> Iterator[None]:
    """torch and BLAS limited to ``n`` threads (restored afterwards): small models on a shared
    2-core machine run far faster single-threaded, and results then do not depend on the core count."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)


def dataset_name(ps: PairedSet) -> str:
    return str(ps.meta.get("source") or ps.name.split("/")[0])


def _retrieval_rows(ids: dict[str, object], direction: str, query: str, Q: np.ndarray, G: np.ndarray,
                    labels: list[tuple[int, ...]] | None, recall_ks: Sequence[int], hub_k: int, csls_k: int) -> list[dict[str, object]]:
    sc = retrieval_scores(Q, G, labels, recall_ks=recall_ks, hub_k=hub_k, csls_k=csls_k)
    rows = []
    for scoring, m, rec in (("cosine", sc.map_nn, sc.recall_nn), ("csls", sc.map_csls, sc.recall_csls)):
        rows.append({**ids, "direction": direction, "query": query, "scoring": scoring, "map": m,
                     **{f"r{k}": v for k, v in rec.items()}, "n_queries": sc.n_queries, "hub_k": sc.hub_k,
                     "hub_skewness": sc.hub_skewness, "antihub_share": sc.antihub_share, "csls_k": sc.csls_k})
    return rows


def _hp_row(ids: dict[str, object], direction: str, sel: Any, n_folds: int) -> dict[str, object]:
    """The chosen setting of one fitted mapping, its CV score and the searched grid."""
    return {**ids, "direction": direction, "hp_source": "cv", "chosen": json.dumps(sel.chosen, sort_keys=True, default=str),
            "criterion": sel.criterion, "cv_score": sel.cv_score, "cv_score_std": sel.cv_score_std,
            "n_settings": len(sel.table), "n_folds": n_folds, "grid": sel.grid}


def evaluate_methods(
    train: PairedSet,
    test: PairedSet,
    methods: Sequence[str] | None = None,
    directions: Sequence[str] = DIRECTIONS,
    ks: Sequence[int] = (10,),
    seed: int = 0,
    device: str = "cpu",
    *,
    n_folds: int = 3,
    max_epochs: int = 50,
    metrics: Sequence[str] = ("cosine",),
    self_rules: Sequence[str] = measures.SELF_RULES,
    recall_ks: Sequence[int] = (1, 5, 10),
    hub_k: int = 10,
    csls_k: int = 10,
    n_bootstrap: int = 1000,
    threads: int = 1,
    log: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(mNNO rows, retrieval rows, hyper-parameter rows) of ``methods`` (default: every registered
    mapping with ``in_tables``) on (train, test).

    mNNO rows: one per (method, direction, metric, K, self rule), columns ``MNNO_COLUMNS``
    (``crossmodal.experiments.methods_measures``; ``mnno_y_fx`` is the pair in the paper's "Y, f(X)" role,
    named by ``y_role``). Retrieval rows: one per (method, query direction, scoring), columns
    ``RETRIEVAL_COLUMNS`` + ``r{K}`` (``crossmodal.experiments.methods_measures``; mAP is NaN without labels).
    Hyper-parameter rows: one per fitted method (and direction for regression maps), the chosen
    values and the grid as JSON. ``classifier`` is skipped (logged) when the data has no labels.
    """
    say = log or (lambda _msg: None)
    labels = test.labels
    cache: dict[Any, Any] = {}
    mnno_rows: list[dict[str, object]] = []
    ret_rows: list[dict[str, object]] = []
    hp_rows: list[dict[str, object]] = []
    measure_kw: dict[str, Any] = {"metrics": metrics, "self_rules": self_rules, "n_bootstrap": n_bootstrap, "seed": seed}
    ident = {"dataset": dataset_name(train), "image_feature": train.image_feature, "text_feature": train.text_feature}
    with limited_threads(threads):
        for method in (table_names() if methods is None else methods):
            t0 = time.perf_counter()
            spec = get(method)
            ids = {**ident, "method": spec.name, "family": FAMILY[spec.space]}
            if spec.needs_labels and train.labels is None:
                say(f"{method}: skipped, {ident['dataset']} has no labels")
                continue
            if spec.space == "Y":  # fitted per direction, retrieving in its direction
                for direction in directions:
                    X, Y = sides(train, direction)
                    Xt, Yt = sides(test, direction)
                    ctx = SelectContext(n_folds, max_epochs, seed, device, direction, cache, say)
                    sel = select(spec, X, Y, train.labels, ctx)
                    F = sel.fitted.map_x(Xt)
                    reg = regression_scores(F, Yt)
                    for row in measures.regression_rows(Xt, Yt, F, ks, **measure_kw):
                        mnno_rows.append({**ids, "direction": direction, **row, "mse": reg["mse"], "r2": reg["r2"]})
                    ret_rows += _retrieval_rows(ids, direction, DIRECTION_LABELS[direction], F, Yt, labels,
                                                recall_ks, hub_k, csls_k)
                    hp_rows.append(_hp_row(ids, direction, sel, n_folds))
            else:  # one shared space, both retrieval directions
                ctx = SelectContext(n_folds, max_epochs, seed, "cpu", "both", cache, say)
                sel = select(spec, train.image, train.text, train.labels, ctx)
                gx, hy = sel.fitted.map_x(test.image), sel.fitted.map_y(test.text)
                for direction in directions:
                    X, Y, F, T = (test.image, test.text, gx, hy) if direction == "i2t" else (test.text, test.image, hy, gx)
                    for row in measures.shared_rows(X, Y, F, T, ks, **measure_kw):
                        mnno_rows.append({**ids, "direction": direction, **row})
                ret_rows += _retrieval_rows(ids, "both", "I->T", gx, hy, labels, recall_ks, hub_k, csls_k)
                ret_rows += _retrieval_rows(ids, "both", "T->I", hy, gx, labels, recall_ks, hub_k, csls_k)
                hp_rows.append(_hp_row(ids, "both", sel, n_folds))
            say(f"{method}: done in {time.perf_counter() - t0:.1f}s")
    recall_cols = [f"r{k}" for k in recall_ks]
    ret_cols = RETRIEVAL_COLUMNS[:RETRIEVAL_COLUMNS.index("map") + 1] + recall_cols + RETRIEVAL_COLUMNS[RETRIEVAL_COLUMNS.index("map") + 1:]
    return (pd.DataFrame(mnno_rows).reindex(columns=MNNO_COLUMNS), pd.DataFrame(ret_rows).reindex(columns=ret_cols),
            pd.DataFrame(hp_rows).reindex(columns=HP_COLUMNS))
