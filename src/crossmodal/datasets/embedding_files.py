"""Load an embedding matrix from a file, and pair two or three of them by key or by row order.

Formats, chosen by suffix (``FILE:NAME`` picks one array of an ``.npz`` or one variable of a
``.mat`` that holds several):

* ``.npy``: a 2-D numeric array, rows unkeyed; memory-mapped (``mmap_mode="r"``), so a large
  file is read only where it is used.
* ``.npz``: one 2-D numeric array of the archive (``FILE:ARRAY`` when it holds several).
* ``.csv`` / ``.tsv``: column 1 is either a key, a label field or data (``first_column``;
  ``auto`` takes it as data when every value is a number, else as key). A first row whose
  value cells are all non-numbers is a header and is skipped. The paper's released CSVs (e.g.
  IAPR TC-12 ``TS_vis_vgg128.csv``) hold label ids in column 1: those are not keys, so load
  them with ``first_column="label"``.
* ``.txt`` / ``.vec`` / ``.w2v``: word vectors as text, one ``word v1 … vd`` line per word.
  With a ``N d`` header line (word2vec text, fastText ``.vec``) it is read with gensim; without
  one (GloVe) by pandas' C parser. Words are the keys.
* ``.bin``: word2vec binary (gensim); words are the keys.
* ``.parquet``: one list-of-floats column (the vectors) or several numeric columns (one per
  dimension), and optionally one string column (the keys); read with pyarrow, memory-mapped.
* ``.mat``: MATLAB v5/v7 (scipy.io.loadmat; ``FILE:VAR`` when it holds several 2-D
  variables; sparse matrices are made dense). v7.3 files are HDF5 and are refused with a
  message saying how to convert them.

Every table is checked as it is read: NaN or Inf values, ragged rows and duplicate keys stop
with a one-line ValueError naming the file and the first bad row. Vectors keep the file's
float dtype (float32 stays float32; integers become float64).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from crossmodal.datasets.formats import (  # noqa: F401  (re-exported: the readers' facts)
    FIRST_COLUMN_CHOICES,
    FORMATS_HELP,
    MIN_KEY_OVERLAP,
    SELECTABLE,
    SUFFIXES,
    WORD2VEC_BINARY,
    WORD2VEC_TEXT,
    FirstColumn,
)


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


@dataclass(frozen=True)
class PairedMany:
    """Row-aligned matrices (in the order given), their shared keys (None: row order) and the
    rows each file lost to the pairing."""

    arrays: tuple[np.ndarray, ...]
    keys: list[str] | None
    by: Literal["keys", "row order"]
    matched: int
    dropped: tuple[int, ...]


def _numeric(frame: pd.DataFrame, path: Path, first_col: int, first_row: int = 1) -> np.ndarray:
    """The frame as float64, or ValueError naming the first cell that is not a number.

    Python's float() parses each cell (correctly rounded, unlike pandas' fast parser); only
    when that fails is the frame scanned for the cell to name."""
    try:
        values = frame.to_numpy(dtype=object).astype(np.float64)
    except (ValueError, TypeError):
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(values)  # text, empty cells and "nan" alike: NaN is never valid input
    if bad.any():
        row, col = np.argwhere(bad)[0]
        cell = frame.iat[row, col]
        raise ValueError(f"{path}: row {row + first_row} column {col + first_col} is not a number: {cell!r}")
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


def _check_ragged(frame: pd.DataFrame, path: Path, first_row: int) -> None:
    """Short rows come back padded with empty cells: name the first one."""
    empty = (frame == "").to_numpy()
    trailing = empty[:, -1]
    if trailing.any():
        row = int(np.argmax(trailing))
        have = int((~empty[row]).sum())
        raise ValueError(f"{path}: ragged rows: row {row + first_row} has {have} fields, expected {frame.shape[1]}")


def _has_header(frame: pd.DataFrame, first_value_col: int) -> bool:
    """Row 1 is a header when none of its value cells is a number but row 2's are."""
    if frame.shape[0] < 2 or frame.shape[1] <= first_value_col:
        return False
    row1 = pd.to_numeric(frame.iloc[0, first_value_col:], errors="coerce")
    row2 = pd.to_numeric(frame.iloc[1, first_value_col:], errors="coerce")
    return bool(row1.isna().all() and row2.notna().all())


def load_delimited(path: Path, sep: str, first_column: FirstColumn) -> EmbeddingTable:
    frame = pd.read_csv(path, sep=sep, header=None, dtype=str, na_filter=False, skipinitialspace=True)
    if frame.shape[1] < 2 and first_column != "data":
        raise ValueError(f"{path}: needs a first column and at least one value column")
    first_row = 1
    if _has_header(frame, 0 if first_column == "data" else 1):
        frame, first_row = frame.iloc[1:].reset_index(drop=True), 2
    _check_ragged(frame, path, first_row)
    mode = first_column
    if mode == "auto":
        mode = "data" if _all_numbers(frame.iloc[:, 0]) else "key"
    if mode == "data":
        return EmbeddingTable(_numeric(frame, path, 1, first_row), None, path)
    vectors = _numeric(frame.iloc[:, 1:], path, 2, first_row)
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
    return EmbeddingTable(np.asarray(kv.vectors), list(kv.index_to_key), path)


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.readline().decode("utf-8", errors="replace").strip()


def has_word2vec_header(path: Path) -> bool:
    """True when line 1 is a word2vec/fastText ``N d`` header (two integers), False for GloVe."""
    parts = _first_line(path).split()
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _glove_fallback(path: Path, d: int) -> EmbeddingTable:
    """Line by line: the last ``d`` fields are the vector, everything before them the word
    (GloVe 840B has a few words with spaces in them)."""
    keys: list[str] = []
    rows: list[list[float]] = []
    with open(path, encoding="utf-8", errors="strict") as fh:
        for line_no, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").rstrip("\r").rstrip(" ").split(" ")
            if parts == [""]:
                continue
            if len(parts) < d + 1:
                raise ValueError(f"{path}: ragged rows: line {line_no} has {len(parts) - 1} values, expected {d}")
            try:
                rows.append([float(v) for v in parts[-d:]])
            except ValueError:
                raise ValueError(f"{path}: line {line_no} has a value that is not a number") from None
            keys.append(" ".join(parts[:-d]))
    return EmbeddingTable(np.asarray(rows, dtype=np.float32), keys, path)


def load_glove_text(path: Path) -> EmbeddingTable:
    """A headerless ``word v1 … vd`` text file (GloVe), read as float32."""
    first = _first_line(path).split(" ")
    if len(first) < 2:
        raise ValueError(f"{path}: not a word-vector text file (line 1 has no values: {' '.join(first)[:40]!r})")
    d = len(first) - 1
    try:
        frame = pd.read_csv(path, sep=" ", header=None, quoting=csv.QUOTE_NONE, na_filter=False,
                            dtype={0: str}, engine="c", encoding="utf-8", skip_blank_lines=True)
    except pd.errors.ParserError:
        table = _glove_fallback(path, d)
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    else:
        if frame.shape[1] > d + 1 and (frame.iloc[:, d + 1:] == "").all(axis=None):
            frame = frame.iloc[:, : d + 1]  # trailing spaces at the line ends
        if frame.shape[1] != d + 1:
            raise ValueError(f"{path}: ragged rows: line 1 has {d} values, others have {frame.shape[1] - 1}")
        values = frame.iloc[:, 1:]
        if values.dtypes.map(lambda t: np.issubdtype(t, np.number)).all():
            vectors = values.to_numpy(dtype=np.float32)
        else:
            cells = values.astype(str)
            _check_ragged(cells, path, 1)
            bad = np.argwhere(pd.to_numeric(cells.stack(), errors="coerce").isna().to_numpy().reshape(cells.shape))
            if len(bad):
                row, col = (int(v) for v in bad[0])
                raise ValueError(
                    f"{path}: not a readable word-vector text file (GloVe: 'word v1 ... vd' lines; word2vec/fastText: "
                    f"the same after an 'N d' header): line {row + 1} field {col + 2} is not a number: "
                    f"{cells.iat[row, col]!r}"
                )
            vectors = cells.to_numpy(dtype=np.float32)
        table = EmbeddingTable(vectors, frame.iloc[:, 0].astype(str).tolist(), path)
    _check_unique(table.keys, path)  # type: ignore[arg-type]
    return table


def load_word_text(path: Path) -> EmbeddingTable:
    """word2vec text / fastText .vec (``N d`` header) or GloVe (no header): sniffed from line 1."""
    if has_word2vec_header(path):
        return load_word2vec(path, binary=False)
    return load_glove_text(path)


def _as_matrix(arr: object, path: Path, what: str) -> np.ndarray:
    import scipy.sparse

    if scipy.sparse.issparse(arr):
        arr = arr.toarray()  # type: ignore[union-attr]
    arr = np.asarray(arr)
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array{what}, got shape {arr.shape}")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{path}: expected numbers{what}, got dtype {arr.dtype}")
    return arr if arr.dtype in (np.float32, np.float64) else arr.astype(np.float64)


def _pick(named: dict[str, object], name: str | None, path: Path, kind: str) -> tuple[str, object]:
    """The entry ``name`` of an .npz/.mat, or its only 2-D entry."""
    if name is not None:
        if name not in named:
            raise ValueError(f"{path}: no {kind} {name!r}; it holds {', '.join(sorted(named)) or 'nothing'}")
        return name, named[name]
    matrices = {k: v for k, v in named.items() if np.ndim(v) == 2 or hasattr(v, "tocsr")}
    if len(matrices) == 1:
        return next(iter(matrices.items()))
    shapes = ", ".join(f"{k} {'x'.join(map(str, np.shape(v)))}" for k, v in sorted(named.items()))
    if not matrices:
        raise ValueError(f"{path}: no 2-D {kind} in it ({shapes or 'empty'})")
    raise ValueError(f"{path}: holds several {kind}s ({shapes}); choose one as {path}:{sorted(matrices)[0]}")


def load_npy(path: Path) -> EmbeddingTable:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err})") from None
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array, got shape {arr.shape}")
    if arr.dtype in (np.float32, np.float64):
        return EmbeddingTable(arr, None, path)  # the memory map itself
    return EmbeddingTable(_as_matrix(arr, path, ""), None, path)


def load_npz(path: Path, name: str | None) -> EmbeddingTable:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npz archive ({err})") from None
    key, arr = _pick(arrays, name, path, "array")
    return EmbeddingTable(_as_matrix(arr, path, f" in {key!r}"), None, path)


def load_mat(path: Path, name: str | None) -> EmbeddingTable:
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path))
    except NotImplementedError:
        raise ValueError(
            f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save with save(..., '-v7') "
            "or export the matrix as .npy"
        ) from None
    except (ValueError, OSError, TypeError) as err:
        raise ValueError(f"{path}: not a readable MATLAB file ({err})") from None
    variables = {k: v for k, v in data.items() if not k.startswith("__")}
    key, arr = _pick(variables, name, path, "variable")
    return EmbeddingTable(_as_matrix(arr, path, f" in {key!r}"), None, path)


def load_parquet(path: Path) -> EmbeddingTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, memory_map=True)
    except (pa.ArrowException, OSError) as err:
        raise ValueError(f"{path}: not a readable parquet file ({str(err).splitlines()[0]})") from None
    string_cols = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    list_cols = [f.name for f in table.schema if pa.types.is_list(f.type) or pa.types.is_large_list(f.type)
                 or pa.types.is_fixed_size_list(f.type)]
    numeric = [f.name for f in table.schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)]
    if len(string_cols) > 1:
        raise ValueError(f"{path}: several text columns ({', '.join(string_cols)}); keep one key column")
    keys = None
    if string_cols:
        col = table.column(string_cols[0])
        if col.null_count:
            raise ValueError(f"{path}: key column {string_cols[0]!r} has missing values")
        keys = [str(k) for k in col.to_pylist()]
    if len(list_cols) == 1 and not numeric:
        col = table.column(list_cols[0]).combine_chunks()
        if col.null_count:
            raise ValueError(f"{path}: vector column {list_cols[0]!r} has missing rows")
        lengths = np.asarray(pa.compute.list_value_length(col))
        if len(lengths) and (lengths != lengths[0]).any():
            row = int(np.argmax(lengths != lengths[0]))
            raise ValueError(f"{path}: ragged rows: row {row + 1} has {lengths[row]} values, row 1 has {lengths[0]}")
        flat = np.asarray(col.flatten())
        if flat.dtype == object or not np.issubdtype(flat.dtype, np.number):
            raise ValueError(f"{path}: vector column {list_cols[0]!r} does not hold numbers")
        vectors = flat.reshape(len(col), int(lengths[0]) if len(lengths) else 0)
    elif numeric and not list_cols:
        for name in numeric:
            if table.column(name).null_count:
                raise ValueError(f"{path}: column {name!r} has missing values")
        vectors = np.column_stack([np.asarray(table.column(n)) for n in numeric])
    else:
        raise ValueError(f"{path}: expected one list-of-numbers column or numeric columns (one per dimension), "
                         f"found columns {', '.join(table.schema.names)}")
    if keys is not None:
        _check_unique(keys, path)
    return EmbeddingTable(_as_matrix(vectors, path, ""), keys, path)


def split_selector(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """``data.mat:I_te`` -> (data.mat, "I_te"); a path that exists as given is taken whole."""
    p = Path(path)
    text = str(path)
    if p.exists() or ":" not in text:
        return p, None
    head, _, name = text.rpartition(":")
    if Path(head).suffix.lower() in SELECTABLE and name:
        return Path(head), name
    return p, None


def check_finite(vectors: np.ndarray, path: Path) -> None:
    """ValueError naming the first row with NaN or Inf (chunked: a memory map stays unread)."""
    step = max(1, (1 << 22) // max(1, vectors.shape[1]))
    for s in range(0, vectors.shape[0], step):
        ok = np.isfinite(vectors[s : s + step]).all(axis=1)
        if not ok.all():
            raise ValueError(f"{path}: NaN or Inf values (first bad row: {s + int(np.argmin(ok))})")


def load_embeddings(path: str | os.PathLike[str], first_column: FirstColumn = "auto") -> EmbeddingTable:
    """Read one embedding file (format by suffix, see the module docstring)."""
    p, name = split_selector(path)
    if first_column not in FIRST_COLUMN_CHOICES:
        raise ValueError(f"first_column must be one of {', '.join(FIRST_COLUMN_CHOICES)}, got {first_column!r}")
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    suffix = p.suffix.lower()
    if name is not None and suffix not in SELECTABLE:
        raise ValueError(f"{p}: FILE:NAME selects an array of .npz or a variable of .mat only")
    if suffix == ".npy":
        table = load_npy(p)
    elif suffix == ".npz":
        table = load_npz(p, name)
    elif suffix == ".mat":
        table = load_mat(p, name)
    elif suffix == ".parquet":
        table = load_parquet(p)
    elif suffix in (".csv", ".tsv"):
        try:
            table = load_delimited(p, "," if suffix == ".csv" else "\t", first_column)
        except pd.errors.ParserError as err:
            raise ValueError(f"{p}: cannot parse, ragged rows? ({str(err).strip()})") from None
        except pd.errors.EmptyDataError:
            raise ValueError(f"{p}: file is empty") from None
    elif suffix in WORD2VEC_TEXT:
        if p.stat().st_size == 0:
            raise ValueError(f"{p}: file is empty")
        table = load_word_text(p)
    elif suffix in WORD2VEC_BINARY:
        table = load_word2vec(p, binary=True)
    else:
        raise ValueError(f"{p}: unknown file type {suffix!r}; use {FORMATS_HELP}")
    if table.vectors.shape[0] == 0 or table.vectors.shape[1] == 0:
        raise ValueError(f"{p}: no vectors (shape {table.vectors.shape})")
    check_finite(table.vectors, p)
    return table


def _key_overlap_error(tables: Sequence[EmbeddingTable], matched: int, min_overlap: float) -> str:
    sizes = ", ".join(f"{t.path.name} {len(t.keys or [])}" for t in tables)
    smallest = min(len(t.keys or []) for t in tables)
    return (f"only {matched} keys match ({matched / smallest:.1%} of the smaller file's {smallest}; "
            f"keys per file: {sizes}); below the floor of {min_overlap:.0%} the files most likely name "
            "their items differently (check case and ids); lower --min-overlap to go on")


def pair_embeddings(tables: Sequence[EmbeddingTable], min_overlap: float | None = None) -> PairedMany:
    """Align tables by the keys all of them share (in the first table's order) when every one
    has keys, else by row order (equal row counts required).

    ``min_overlap``: with keys, the share of the smallest table's keys that must match
    (None: any match at all suffices).
    """
    if all(t.keys is not None for t in tables):
        indexes = [{key: i for i, key in enumerate(t.keys)} for t in tables[1:]]  # type: ignore[union-attr]
        first = tables[0].keys
        rows0 = [i for i, key in enumerate(first) if all(key in ix for ix in indexes)]  # type: ignore[union-attr]
        m = len(rows0)
        if not rows0:
            raise ValueError(f"{' and '.join(str(t.path) for t in tables)} share no keys")
        if min_overlap is not None and m < min_overlap * min(len(t.keys) for t in tables):  # type: ignore[arg-type]
            raise ValueError(_key_overlap_error(tables, m, min_overlap))
        keys = [first[i] for i in rows0]  # type: ignore[index]
        rows = [rows0] + [[ix[k] for k in keys] for ix in indexes]
        arrays = tuple(t.vectors[r] for t, r in zip(tables, rows))
        return PairedMany(arrays, keys, "keys", m, tuple(len(t.keys) - m for t in tables))  # type: ignore[arg-type]
    counts = [t.vectors.shape[0] for t in tables]
    if len(set(counts)) > 1:
        listing = ", ".join(f"{t.path} has {c}" for t, c in zip(tables, counts))
        raise ValueError(f"different row counts: {listing} (rows pair by order)")
    return PairedMany(tuple(t.vectors for t in tables), None, "row order", counts[0], tuple(0 for _ in tables))


def pair_tables(a: EmbeddingTable, b: EmbeddingTable) -> Paired:
    """Align two tables: by shared keys (in a's order) when both have keys, else by row order."""
    p = pair_embeddings([a, b])
    return Paired(p.arrays[0], p.arrays[1], p.by, p.matched, p.dropped[0], p.dropped[1])


def pair_xyf(
    x: EmbeddingTable, y: EmbeddingTable, f: EmbeddingTable | None, min_overlap: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, PairedMany]:
    """(X, Y, F, how X and Y paired). F = f(X) pairs with X first (by key when both have keys,
    else by row order), then X with Y; F's rows follow X's."""
    f_rows = None
    if f is not None:
        xf = pair_embeddings([x, f], min_overlap)
        x = EmbeddingTable(xf.arrays[0], xf.keys if xf.by == "keys" else x.keys, x.path)
        f_rows = xf.arrays[1]
    paired = pair_embeddings([x, y], min_overlap)
    F = f_rows
    if f_rows is not None and paired.by == "keys":
        index = {key: i for i, key in enumerate(x.keys)}  # type: ignore[union-attr]
        F = f_rows[[index[key] for key in paired.keys]]  # type: ignore[union-attr]
    return paired.arrays[0], paired.arrays[1], F, paired
