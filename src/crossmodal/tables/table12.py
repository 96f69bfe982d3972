"""Table 12 (paper Supplement): Experiment 2 with word2vec and VGG-128, in Table 2's layout.

Each of the paper's two embeddings is a *slot* that the config fills with an embedding of this
project (a word-vector key or a visual embedding name) or leaves unavailable. A filled slot's
rows are computed exactly like Table 2's (``crossmodal.tables.table2``) and labelled with that
embedding's own label; the ``paper_row`` column says which printed row they stand beside. An
unavailable slot keeps its three rows under the paper's names with every cell "n/a" and the
reason in ``note`` -- never left out, and nothing else is shown under the paper's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossmodal.names import TABLE12_PAPER_SLOTS
from crossmodal.tables.table2 import MODEL_ORDER, SUMMARY_COLUMNS, row_label, summarise_rhos, table2_wide

# As crossmodal.experiments.similarity.SIMILARITIES, not imported: the tables env has no gensim/torch.
SIMILARITIES = ("cos", "eucl")
PAPER_SLOTS = TABLE12_PAPER_SLOTS  # the paper's Table 12 embeddings, in its row order: (slot key, printed name)


@dataclass(frozen=True)
class Slot:
    """One of the paper's embeddings: filled by ``embedding`` or unavailable for ``reason``."""

    slot: str
    paper_label: str
    embedding: str | None
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.embedding is None) == (not self.reason):
            raise ValueError(f"slot {self.slot}: give an embedding or a reason, not both or neither")


@dataclass(frozen=True)
class BenchmarkColumn:
    key: str
    label: str
    source: str


def _columns(benchmarks: Sequence[BenchmarkColumn]) -> list[str]:
    return [f"{b.label} {s}" for b in benchmarks for s in SIMILARITIES]


def _unavailable_long(slot: Slot, benchmarks: Sequence[BenchmarkColumn]) -> pd.DataFrame:
    rows = [
        {
            "embedding": "",
            "embedding_label": "",  # nothing was used; paper_row names the paper's row
            "model": model,
            "benchmark": b.key,
            "benchmark_label": b.label,
            "benchmark_source": b.source,
            "similarity": sim,
            "rho_mean": np.nan,
            "rho_std": np.nan,
            "n_seeds": 0,
            "p_value": np.nan,
            "n_pairs": 0,
            "n_dropped": 0,
            "p_adjusted": np.nan,
            "significant": False,
            "available": False,
            "reason": slot.reason,
        }
        for b in benchmarks
        for sim in SIMILARITIES
        for model in MODEL_ORDER
    ]
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def table12(
    long: pd.DataFrame | None,
    slots: Sequence[Slot],
    benchmarks: Sequence[BenchmarkColumn],
    alpha: float = 0.05,
    decimals: int = 3,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(wide, long) Table 12 from the rho files of the filled slots (``long``, as ``read_rhos``).

    wide: index ``embedding`` (row label), then ``paper_row``, one column per benchmark x
    similarity, and ``note``. long: ``slot``, ``paper_row`` and the columns of Table 2's long
    table (``available``, ``reason`` included). Significance is Bonferroni-adjusted over the
    mapped cells of this table.
    """
    if not benchmarks:
        raise ValueError("Table 12 needs at least one benchmark")
    filled = list(dict.fromkeys(s.embedding for s in slots if s.embedding is not None))
    summary = None
    if filled:
        if long is None:
            raise ValueError(f"no rho files given for the configured embeddings {filled}")
        missing = [e for e in filled if e not in set(long["embedding"])]
        if missing:
            raise ValueError(f"no rho files for the configured embeddings {missing}")
        summary = summarise_rhos(long[long["embedding"].isin(filled)], alpha=alpha)
    columns = _columns(benchmarks)
    wides, longs = [], []
    for slot in slots:
        if slot.embedding is None:
            part = _unavailable_long(slot, benchmarks)
            index = pd.Index([row_label(m, slot.paper_label) for m in MODEL_ORDER], name="embedding")
            wide = pd.DataFrame("n/a", index=index, columns=columns)
            wide["note"] = slot.reason
        else:
            assert summary is not None
            part = summary[summary["embedding"] == slot.embedding]
            part = part[part["benchmark"].isin([b.key for b in benchmarks])]
            if part.empty:
                raise ValueError(f"slot {slot.slot}: {slot.embedding} has no rho on the benchmarks {[b.key for b in benchmarks]}")
            wide = table2_wide(part, decimals=decimals, note=True).reindex(columns=[*columns, "note"]).fillna("n/a")
            label = str(part["embedding_label"].iloc[0])
            stand_in = (
                f"{label} in the paper's {slot.paper_label} rows "
                f"(experiment2.table12.{slot.slot}: {slot.embedding}); not {slot.paper_label}"
            )
            wide["note"] = [stand_in + (f"; {n}" if n else "") for n in wide["note"]]
        wide.insert(0, "paper_row", [row_label(m, slot.paper_label) for m in MODEL_ORDER])
        wides.append(wide)
        part = part.copy()
        part.insert(0, "paper_row", [row_label(m, slot.paper_label) for m in part["model"]])
        part.insert(0, "slot", slot.slot)
        longs.append(part)
    return pd.concat(wides), pd.concat(longs, ignore_index=True)
