"""Table 2 (Experiment 2): Spearman rho of X, f_lin(X) and f_nn(X) per benchmark and similarity.

Significance: the paper marks a mapped cell when its 10 rho values "differ" from the input's
(p < 0.05) without naming the test. We use a two-sided Wilcoxon signed-rank test of the
per-seed differences rho(f(X)) - rho(X), Bonferroni-adjusted over every mapped cell of the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from crossmodal.metrics.significance import bonferroni

MODEL_ORDER = ("f_nn", "f_lin", "input")  # the paper's row order within an embedding


def signed_rank_p(mapped: np.ndarray, reference: float) -> float:
    """Two-sided Wilcoxon signed-rank p of ``mapped - reference``; 1.0 when no draw differs."""
    diff = np.asarray(mapped, dtype=np.float64) - reference
    if not np.any(diff != 0):
        return 1.0
    return float(wilcoxon(diff, alternative="two-sided").pvalue)


def summarise_rhos(long: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (embedding, benchmark, similarity, model): mean, std, p, adjusted p, coverage.

    ``long`` has the columns of ``untrained_mapping_rhos`` plus embedding, embedding_label,
    benchmark, benchmark_label and benchmark_source.
    """
    keys = ["embedding", "benchmark", "similarity"]
    rows = []
    for (emb, bench, sim), cell in long.groupby(keys, sort=False):
        reference = float(cell.loc[cell["model"] == "input", "rho"].iloc[0])
        for model in MODEL_ORDER:
            rhos = cell.loc[cell["model"] == model, "rho"].to_numpy()
            first = cell.iloc[0]
            rows.append(
                {
                    "embedding": emb,
                    "embedding_label": first["embedding_label"],
                    "model": model,
                    "benchmark": bench,
                    "benchmark_label": first["benchmark_label"],
                    "benchmark_source": first["benchmark_source"],
                    "similarity": sim,
                    "rho_mean": float(rhos.mean()),
                    "rho_std": float(rhos.std(ddof=1)) if rhos.size > 1 else 0.0,
                    "n_seeds": int(rhos.size) if model != "input" else 0,
                    "p_value": signed_rank_p(rhos, reference) if model != "input" else np.nan,
                    "n_pairs": int(first["n_pairs"]),
                    "n_dropped": int(first["n_dropped"]),
                }
            )
    out = pd.DataFrame(rows)
    mapped = out["model"] != "input"
    out["p_adjusted"] = np.nan
    out.loc[mapped, "p_adjusted"] = bonferroni(out.loc[mapped, "p_value"].to_numpy())
    out["significant"] = mapped & (out["p_adjusted"] < alpha)
    return out


def row_label(model: str, embedding_label: str) -> str:
    return embedding_label if model == "input" else f"{model}({embedding_label})"


def table2_wide(summary: pd.DataFrame, decimals: int = 3) -> pd.DataFrame:
    """The paper's layout: rows = embedding (f_nn, f_lin, input), columns = benchmark x {cos, eucl}.

    Cells are the mean rho over seeds with ``*`` where the mapped value differs significantly.
    """
    cells = summary.assign(
        row=[row_label(m, e) for m, e in zip(summary["model"], summary["embedding_label"])],
        column=summary["benchmark_label"] + " " + summary["similarity"],
        cell=[
            f"{v:.{decimals}f}" + ("*" if s else "")
            for v, s in zip(summary["rho_mean"], summary["significant"])
        ],
    )
    rows = list(dict.fromkeys(cells["row"]))
    columns = list(dict.fromkeys(cells["column"]))
    wide = cells.pivot(index="row", columns="column", values="cell").reindex(index=rows, columns=columns)
    wide.index.name = "embedding"
    return wide.fillna("n/a")
