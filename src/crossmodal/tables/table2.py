"""Table 2 (Experiment 2): Spearman rho of X, f_lin(X) and f_nn(X) per benchmark and similarity.

Significance: the paper marks a mapped cell when its 10 rho values "differ" from the input's
(p < 0.05) without naming the test. We use a two-sided Wilcoxon signed-rank test of the
per-seed differences rho(f(X)) - rho(X), Bonferroni-adjusted over every mapped cell of the table.

Availability: a (embedding, benchmark) whose rho file carries a ``reason`` (too few pairs
covered, see ``crossmodal.experiments.similarity``) has no numbers; its cells are "n/a", they
do not count in the Bonferroni adjustment, and the wide table gains a ``note`` column giving the
reason per row.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import numpy as np
import pandas as pd

from crossmodal.measures.significance import bonferroni, paired_p

MODEL_ORDER = ("f_nn", "f_lin", "input")  # the paper's row order within an embedding


def signed_rank_p(mapped: np.ndarray, reference: float) -> float:
    """Two-sided Wilcoxon signed-rank p of ``mapped - reference``; 1.0 when no draw differs
    (``crossmodal.measures.significance.paired_p`` of each draw against the reference)."""
    x = np.asarray(mapped, dtype=np.float64)
    return paired_p(x, np.full(x.shape, reference, dtype=np.float64))


def read_rhos(paths: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Concatenate per-benchmark rho files (``experiment2_rhos`` outputs).

    Labels are read as written (a word like "NA" stays a string); an empty ``rho`` is NaN
    (a benchmark with too few pairs) and a file without a ``reason`` column has every row
    computed.
    """
    frames = [pd.read_csv(p, keep_default_na=False, na_values={"rho": [""]}) for p in paths]
    if not frames:
        raise ValueError("no Experiment 2 rho files given")
    long = pd.concat(frames, ignore_index=True)
    if "reason" not in long:
        long["reason"] = ""
    long["rho"] = long["rho"].astype(np.float64)
    long["reason"] = long["reason"].astype(str)
    return long


SUMMARY_COLUMNS = [
    "embedding", "embedding_label", "model", "benchmark", "benchmark_label", "benchmark_source", "similarity",
    "rho_mean", "rho_std", "n_seeds", "p_value", "n_pairs", "n_dropped", "p_adjusted", "significant",
    "available", "reason",
]  # fmt: skip


def summarise_rhos(long: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (embedding, benchmark, similarity, model): mean, std, p, adjusted p, coverage.

    ``long`` has the columns of ``untrained_mapping_rhos`` plus embedding, embedding_label,
    benchmark, benchmark_label and benchmark_source. A cell with a non-empty ``reason`` is not
    available: NaN numbers, no test, left out of the Bonferroni adjustment.
    """
    if "reason" not in long:
        long = long.assign(reason="")
    keys = ["embedding", "benchmark", "similarity"]
    rows = []
    for (emb, bench, sim), cell in long.groupby(keys, sort=False):
        first = cell.iloc[0]
        reason = str(first["reason"])
        reference = np.nan if reason else float(cell.loc[cell["model"] == "input", "rho"].iloc[0])
        for model in MODEL_ORDER:
            rhos = cell.loc[cell["model"] == model, "rho"].to_numpy(dtype=np.float64)
            tested = model != "input" and not reason
            rows.append(
                {
                    "embedding": emb,
                    "embedding_label": first["embedding_label"],
                    "model": model,
                    "benchmark": bench,
                    "benchmark_label": first["benchmark_label"],
                    "benchmark_source": first["benchmark_source"],
                    "similarity": sim,
                    "rho_mean": np.nan if reason else float(rhos.mean()),
                    "rho_std": np.nan if reason else (float(rhos.std(ddof=1)) if rhos.size > 1 else 0.0),
                    "n_seeds": int(rhos.size) if tested else 0,
                    "p_value": signed_rank_p(rhos, reference) if tested else np.nan,
                    "n_pairs": int(first["n_pairs"]),
                    "n_dropped": int(first["n_dropped"]),
                    "available": not reason,
                    "reason": reason,
                }
            )
    out = pd.DataFrame(rows)
    tested = (out["model"] != "input") & out["available"]
    out["p_adjusted"] = np.nan
    out.loc[tested, "p_adjusted"] = bonferroni(out.loc[tested, "p_value"].to_numpy())
    out["significant"] = tested & (out["p_adjusted"] < alpha)
    return out[SUMMARY_COLUMNS]


def row_label(model: str, embedding_label: str) -> str:
    return embedding_label if model == "input" else f"{model}({embedding_label})"


def row_notes(summary: pd.DataFrame) -> dict[str, str]:
    """Row label -> "<benchmark>: <reason>; ..." for the unavailable benchmarks of that row."""
    notes: dict[str, list[str]] = {}
    for m, e, b, r in zip(summary["model"], summary["embedding_label"], summary["benchmark_label"], summary["reason"]):
        row = notes.setdefault(row_label(m, e), [])
        if r and f"{b}: {r}" not in row:
            row.append(f"{b}: {r}")
    return {row: "; ".join(parts) for row, parts in notes.items()}


def table2_wide(summary: pd.DataFrame, decimals: int = 3, note: bool | None = None) -> pd.DataFrame:
    """The paper's layout: rows = embedding (f_nn, f_lin, input), columns = benchmark x {cos, eucl}.

    Cells are the mean rho over seeds with ``*`` where the mapped value differs significantly,
    "n/a" where the cell is not available. ``note`` (default: only when some cell is not
    available) adds a last column with each row's reasons.
    """
    if "reason" not in summary:
        summary = summary.assign(reason="")
    cells = summary.assign(
        row=[row_label(m, e) for m, e in zip(summary["model"], summary["embedding_label"])],
        column=summary["benchmark_label"] + " " + summary["similarity"],
        cell=[
            "n/a" if r else f"{v:.{decimals}f}" + ("*" if s else "")
            for v, s, r in zip(summary["rho_mean"], summary["significant"], summary["reason"])
        ],
    )
    rows = list(dict.fromkeys(cells["row"]))
    columns = list(dict.fromkeys(cells["column"]))
    wide = cells.pivot(index="row", columns="column", values="cell").reindex(index=rows, columns=columns)
    wide.index.name = "embedding"
    wide.columns.name = None
    wide = wide.fillna("n/a")
    if note is None:
        note = bool((summary["reason"] != "").any())
    if note:
        notes = row_notes(summary)
        wide["note"] = [notes.get(row, "") for row in wide.index]
    return wide
