"""Experiment 2: do untrained networks keep the semantic structure of word vectors?

For one embedding and one word-similarity benchmark, score every in-vocabulary pair by the
cosine and the Euclidean similarity of X, f_lin(X) and f_nn(X), and correlate the scores with
the human ratings (Spearman rho), once per random parameter draw.

A benchmark that the vocabulary covers too thinly (fewer than ``min_pairs`` pairs with both
words) gets no rho at all: its rows carry NaN and a ``reason`` instead, so that tables can show
"n/a" with the cause rather than a correlation over a handful of pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors
from scipy.stats import spearmanr

from crossmodal.features.word_vectors import lookup_word
from crossmodal.mappings.untrained import UNTRAINED_MODELS, apply_untrained, untrained_weights

SIMILARITIES = ("cos", "eucl")


@dataclass(frozen=True)
class PairCoverage:
    """Which benchmark pairs have both words in the vocabulary."""

    index1: np.ndarray  # row of word1 in the benchmark's vocabulary matrix, per kept pair
    index2: np.ndarray
    scores: np.ndarray  # human ratings of the kept pairs
    vectors: np.ndarray  # (n_words, d) vectors of the distinct words of the kept pairs
    n_pairs: int
    n_dropped: int


def _covered(kv: KeyedVectors, pairs: pd.DataFrame) -> tuple[list[str | None], list[str | None], np.ndarray]:
    key1 = [lookup_word(kv, w) for w in pairs["word1"]]
    key2 = [lookup_word(kv, w) for w in pairs["word2"]]
    keep = np.array([a is not None and b is not None for a, b in zip(key1, key2)], dtype=bool)
    return key1, key2, keep


def count_covered(kv: KeyedVectors, pairs: pd.DataFrame) -> int:
    """How many benchmark pairs have both words in ``kv`` (the pairs ``cover_pairs`` keeps)."""
    return int(_covered(kv, pairs)[2].sum())


def cover_pairs(kv: KeyedVectors, pairs: pd.DataFrame) -> PairCoverage:
    """Keep the pairs whose two words are in ``kv`` (see ``lookup_word``); drop the rest."""
    key1, key2, keep = _covered(kv, pairs)
    if not keep.any():
        raise ValueError(
            f"no benchmark pair has both words in the vocabulary ({len(pairs)} pairs, all OOV)"
        )
    kept1 = [k for k, m in zip(key1, keep) if m]
    kept2 = [k for k, m in zip(key2, keep) if m]
    words = sorted(set(kept1) | set(kept2))
    row = {w: i for i, w in enumerate(words)}
    return PairCoverage(
        index1=np.array([row[w] for w in kept1]),
        index2=np.array([row[w] for w in kept2]),
        scores=pairs["score"].to_numpy(dtype=np.float64)[keep],
        vectors=np.stack([kv[w] for w in words]).astype(np.float64),
        n_pairs=int(keep.sum()),
        n_dropped=int((~keep).sum()),
    )


def pair_similarities(Z: np.ndarray, i1: np.ndarray, i2: np.ndarray, similarity: str) -> np.ndarray:
    """cos: z1·z2 / (|z1| |z2|); eucl: 1 / (1 + |z1 - z2|) (paper §4.2.4)."""
    a, b = Z[i1], Z[i2]
    if similarity == "cos":
        return _cosines(a, b, np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    if similarity == "eucl":
        return _euclidean_similarities(a, b)
    raise ValueError(f"unknown similarity {similarity!r}; expected one of {SIMILARITIES}")


def similarity_scores(Z: np.ndarray, i1: np.ndarray, i2: np.ndarray) -> dict[str, np.ndarray]:
    """Both similarities of :func:`pair_similarities`, gathering the pairs' rows once.

    The norms are taken once per row of ``Z``: a row's norm is the same reduction over the same
    numbers wherever the row sits, so the values are :func:`pair_similarities`', bit for bit.
    """
    Z = np.ascontiguousarray(Z)
    row_norms = np.linalg.norm(Z, axis=1)
    a, b = Z[i1], Z[i2]
    return {"cos": _cosines(a, b, row_norms[i1] * row_norms[i2]), "eucl": _euclidean_similarities(a, b)}


def _cosines(a: np.ndarray, b: np.ndarray, norms: np.ndarray) -> np.ndarray:
    if np.any(norms == 0):
        raise ValueError("zero vector under cosine similarity")
    return np.einsum("ij,ij->i", a, b) / norms


def _euclidean_similarities(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.linalg.norm(a - b, axis=1))


def spearman_rhos(Z: np.ndarray, cov: PairCoverage) -> dict[str, float]:
    """Spearman rho of each similarity of ``Z`` against the human ratings."""
    return _rhos(similarity_scores(Z, cov.index1, cov.index2), cov.scores)


def _rhos(similarities: dict[str, np.ndarray], scores: np.ndarray) -> dict[str, float]:
    return {s: float(spearmanr(similarities[s], scores).statistic) for s in SIMILARITIES}


def low_coverage_reason(n_pairs: int, n_total: int, min_pairs: int) -> str:
    return f"{n_pairs} of {n_total} pairs covered by the vocabulary (< {min_pairs}): no rho computed"


def untrained_mapping_rhos(
    kv: KeyedVectors,
    pairs: pd.DataFrame,
    n_seeds: int,
    output_dim: int,
    hidden_dim: int,
    min_pairs: int | None = None,
) -> pd.DataFrame:
    """Long table of rho for X (model ``input``) and for f_lin/f_nn over ``n_seeds`` draws.

    Columns: model, seed (-1 for the input), similarity, rho, n_pairs, n_dropped, reason.
    ``reason`` is "" for computed rows. With ``min_pairs``, a benchmark with fewer covered pairs
    gives one row per (model, similarity) with seed -1, rho NaN and the reason; without it, a
    benchmark with no covered pair is an error.
    """
    return untrained_mapping_rhos_of_benchmarks(kv, [pairs], n_seeds, output_dim, hidden_dim, min_pairs)[0]


def untrained_mapping_rhos_of_benchmarks(
    kv: KeyedVectors,
    benchmarks: Sequence[pd.DataFrame],
    n_seeds: int,
    output_dim: int,
    hidden_dim: int,
    min_pairs: int | None = None,
) -> list[pd.DataFrame]:
    """:func:`untrained_mapping_rhos` of each benchmark, with each network drawn once for all.

    Each benchmark's vectors are still mapped on their own, so every table is the one
    :func:`untrained_mapping_rhos` gives for that benchmark alone; benchmarks that rate the same
    word pairs (SemSim and VisSim do) share their similarities.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    if min_pairs is not None and min_pairs < 1:
        raise ValueError(f"min_pairs must be >= 1, got {min_pairs}")
    thin: dict[int, pd.DataFrame] = {}
    covered: dict[int, PairCoverage] = {}
    for b, pairs in enumerate(benchmarks):
        if min_pairs is not None and (n_pairs := count_covered(kv, pairs)) < min_pairs:
            nan_rows = [(m, -1, s, np.nan) for m in ("input", *UNTRAINED_MODELS) for s in SIMILARITIES]
            thin[b] = _rho_table(nan_rows, n_pairs, len(pairs) - n_pairs, low_coverage_reason(n_pairs, len(pairs), min_pairs))
        else:
            covered[b] = cover_pairs(kv, pairs)
    same_as = {b: next(c for c in covered if _same_pairs(covered[c], cov)) for b, cov in covered.items()}
    rows: dict[int, list[tuple[str, int, str, float]]] = {b: [] for b in covered}
    draws = [("input", -1)] + [(model, seed) for model in UNTRAINED_MODELS for seed in range(n_seeds)]
    for model, seed in draws:  # one network in memory at a time
        weights = None if model == "input" else untrained_weights(model, kv.vector_size, output_dim, hidden_dim, seed)
        sims: dict[int, dict[str, np.ndarray]] = {}
        for b, cov in covered.items():
            if same_as[b] not in sims:
                Z = cov.vectors if weights is None else apply_untrained(weights, cov.vectors)
                sims[same_as[b]] = similarity_scores(Z, cov.index1, cov.index2)
            rows[b] += [(model, seed, s, r) for s, r in _rhos(sims[same_as[b]], cov.scores).items()]
    return [thin[b] if b in thin else _rho_table(rows[b], covered[b].n_pairs, covered[b].n_dropped, "")
            for b in range(len(benchmarks))]


def _same_pairs(a: PairCoverage, b: PairCoverage) -> bool:
    return all(np.array_equal(x, y) for x, y in ((a.index1, b.index1), (a.index2, b.index2), (a.vectors, b.vectors)))


def _rho_table(rows: Sequence[tuple[str, int, str, float]], n_pairs: int, n_dropped: int, reason: str) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["model", "seed", "similarity", "rho"])
    out["n_pairs"] = n_pairs
    out["n_dropped"] = n_dropped
    out["reason"] = reason
    return out
