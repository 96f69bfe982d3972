"""Word-similarity benchmarks: parsing the released files and the catalogue of known benchmarks.

Files come in slightly different shapes (tabs or spaces, CRLF endings, ``#`` comment headers in
gensim's copies, a blank last line in SemSim/VisSim, no final newline in SimVerb); the parser
accepts all of them and rejects anything else with the offending line number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Benchmark:
    """A word-similarity benchmark: its display name and the sources that can provide it."""

    key: str
    label: str
    kind: str  # "semantic similarity", "relatedness" or "visual similarity" (paper §4.2.1)
    mirror_source: str | None  # registry entry of the full release (mirror or network)
    package_source: str | None  # registry entry of a copy bundled in an installed package


# The paper's six benchmarks (§4.2.1) in its Table 2 column order, plus gensim's bundled copies.
BENCHMARKS: dict[str, Benchmark] = {
    b.key: b
    for b in [
        Benchmark("ws353", "WS-353", "relatedness", "wordsim_ws353_all", "gensim_wordsim353"),
        Benchmark("men", "MEN", "relatedness", "wordsim_men", None),
        Benchmark("semsim", "SemSim", "semantic similarity", "wordsim_semsim", None),
        Benchmark("vissim", "VisSim", "visual similarity", "wordsim_vissim", None),
        Benchmark("simlex999", "SimLex-999", "semantic similarity", "wordsim_simlex999", "gensim_simlex999"),
        Benchmark("simverb3500", "SimVerb-3500", "semantic similarity", "wordsim_simverb3500", None),
    ]
}
PAPER_BENCHMARKS: tuple[str, ...] = tuple(BENCHMARKS)
# What a fresh machine has without any mirror: the copies inside gensim.
PACKAGE_BENCHMARKS: tuple[str, ...] = tuple(k for k, b in BENCHMARKS.items() if b.package_source)

_SPLIT = re.compile(r"[\t ]+")


def read_wordsim(path: str | Path) -> pd.DataFrame:
    """Parse a ``word1 word2 score`` file into a DataFrame with columns word1, word2, score.

    Lines that are empty or start with ``#`` are skipped; any other line must have exactly
    three fields with a numeric score, otherwise ``ValueError`` names the file and line.
    """
    path = Path(path)
    rows: list[tuple[str, str, float]] = []
    # splitlines() handles CRLF and a missing final newline alike.
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = _SPLIT.split(text)
        if len(fields) != 3:
            raise ValueError(f"{path}:{lineno}: expected 'word1 word2 score', got {line!r}")
        try:
            score = float(fields[2])
        except ValueError:
            raise ValueError(f"{path}:{lineno}: score {fields[2]!r} is not a number") from None
        rows.append((fields[0], fields[1], score))
    if not rows:
        raise ValueError(f"{path}: no word pairs found")
    return pd.DataFrame(rows, columns=["word1", "word2", "score"])
