"""Load an embedding matrix from a file, and pair two of them by key or by row order.

Formats, chosen by suffix:

* ``.npy``: a 2-D numeric array, rows unkeyed.
* ``.csv`` / ``.tsv``: no header; column 1 is either a key, a label field or data
  (``first_column``; ``auto`` takes it as data when every value is a number, else as key).
  The paper's released CSVs (e.g. IAPR TC-12 ``TS_vis_vgg128.csv``) hold label ids in
  column 1: those are not keys, so load them with ``first_column="label"``.
* ``.txt`` / ``.vec`` / ``.w2v``: word2vec text format (header line ``N d``);
  ``.bin``: word2vec binary. Read with gensim ``KeyedVectors``; words are the keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

FirstColumn = Literal["auto", "key", "label", "data"]
FIRST_COLUMN_CHOICES: tuple[str, ...] = ("auto", "key", "label", "data")
WORD2VEC_TEXT = (".txt", ".vec", ".w2v")
WORD2VEC_BINARY = (".bin",)


@dataclass(frozen=True)
class EmbeddingTable:
    """Rows of vectors, with their keys when the file has them (None: pair by row order)."""

    vectors: np.ndarray
    keys: list[str] | None
    path: Path


@dataclass(frozen=True)
class Paired:
    """Two row-aligned matrices and how they were aligned."""

    a: np.ndarray
    b: np.ndarray
    by: Literal["keys", "row order"]
    matched: int
    dropped_a: int
    dropped_b: int


def _numeric(frame: pd.DataFrame, path: Path, first_col: int) -> np.ndarray:
    """The frame as float64, or ValueError naming the first cell that is not a number."""
    values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values)  # text, empty cells and "nan" alike: NaN is never valid input
    if bad.any():
        row, col = np.argwhere(bad)[0]
        cell = frame.iat[row, col]
        raise ValueError(f"{path}: row {row + 1} column {col + first_col} is not a number: {cell!r}")
    return values


def _check_unique(keys: list[str], path: Path) -> None:
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            raise ValueError(
                f"{path}: duplicate key {key!r} (rows {seen[key] + 1} and {i + 1}); "
                "if column 1 holds labels rather than keys, use first_column='label' (--first-column label)"
            )
        seen[key] = i


def _all_numbers(column: pd.Series) -> bool:
    return bool(pd.to_numeric(column, errors="coerce").notna().all())


def load_delimited(path: Path, sep: str, first_column: FirstColumn) -> EmbeddingTable:
    frame = pd.read_csv(path, sep=sep, header=None, dtype=str, na_filter=False, skipinitialspace=True)
    if frame.shape[1] < 2 and first_column != "data":
        raise ValueError(f"{path}: needs a first column and at least one value column")
    mode = first_column
    if mode == "auto":
        mode = "data" if _all_numbers(frame.iloc[:, 0]) else "key"
    if mode == "data":
        return EmbeddingTable(_numeric(frame, path, 1), None, path)
    vectors = _numeric(frame.iloc[:, 1:], path, 2)
    if mode == "label":
        return EmbeddingTable(vectors, None, path)
    keys = frame.iloc[:, 0].str.strip().tolist()
    _check_unique(keys, path)
    return EmbeddingTable(vectors, keys, path)


def load_word2vec(path: Path, binary: bool) -> EmbeddingTable:
    from gensim.models import KeyedVectors

    try:
        kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    except (ValueError, EOFError, UnicodeDecodeError, IndexError) as err:
        kind = "binary" if binary else "text"
        raise ValueError(f"{path}: not a readable word2vec {kind} file ({err})") from None
    return EmbeddingTable(np.asarray(kv.vectors, dtype=np.float64), list(kv.index_to_key), path)


def load_embeddings(path: str | os.PathLike[str], first_column: FirstColumn = "auto") -> EmbeddingTable:
    """Read one embedding file (format by suffix, see the module docstring)."""
    p = Path(path)
    if first_column not in FIRST_COLUMN_CHOICES:
        raise ValueError(f"first_column must be one of {', '.join(FIRST_COLUMN_CHOICES)}, got {first_column!r}")
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"{p}: not a readable .npy array ({err})") from None
        if arr.ndim != 2:
            raise ValueError(f"{p}: expected a 2-D array, got shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"{p}: expected numbers, got dtype {arr.dtype}")
        return EmbeddingTable(arr.astype(np.float64), None, p)
    if suffix in (".csv", ".tsv"):
        try:
            return load_delimited(p, "," if suffix == ".csv" else "\t", first_column)
        except pd.errors.ParserError as err:
            raise ValueError(f"{p}: cannot parse ({str(err).strip()})") from None
        except pd.errors.EmptyDataError:
            raise ValueError(f"{p}: file is empty") from None
    if suffix in WORD2VEC_TEXT + WORD2VEC_BINARY:
        return load_word2vec(p, binary=suffix in WORD2VEC_BINARY)
    raise ValueError(f"{p}: unknown file type {suffix!r}; use .npy, .csv, .tsv, word2vec .txt/.vec or .bin")


def pair_tables(a: EmbeddingTable, b: EmbeddingTable) -> Paired:
    """Align two tables: by shared keys (in a's order) when both have keys, else by row order."""
    if a.keys is not None and b.keys is not None:
        index_b = {key: i for i, key in enumerate(b.keys)}
        rows_a = [i for i, key in enumerate(a.keys) if key in index_b]
        if not rows_a:
            raise ValueError(f"{a.path} and {b.path} share no keys")
        rows_b = [index_b[a.keys[i]] for i in rows_a]
        m = len(rows_a)
        return Paired(a.vectors[rows_a], b.vectors[rows_b], "keys", m, len(a.keys) - m, len(b.keys) - m)
    na, nb = a.vectors.shape[0], b.vectors.shape[0]
    if na != nb:
        raise ValueError(f"different row counts: {a.path} has {na}, {b.path} has {nb} (rows pair by order)")
    return Paired(a.vectors, b.vectors, "row order", na, 0, 0)
