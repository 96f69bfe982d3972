"""The embedding file formats ``crossmodal mnno`` / ``bridge`` read, as facts with no imports, so the
CLI can describe them in ``--help`` without loading numpy or pandas
(the readers: ``crossmodal.datasets.embedding_files``)."""

from __future__ import annotations

from typing import Literal

FirstColumn = Literal["auto", "key", "label", "data"]
FIRST_COLUMN_CHOICES: tuple[str, ...] = ("auto", "key", "label", "data")
WORD2VEC_TEXT = (".txt", ".vec", ".w2v")
WORD2VEC_BINARY = (".bin",)
SELECTABLE = (".npz", ".mat")  # formats where FILE:NAME picks one array / variable
SUFFIXES = (".npy", ".npz", ".csv", ".tsv", *WORD2VEC_TEXT, *WORD2VEC_BINARY, ".parquet", ".mat")
FORMATS_HELP = ".npy, .npz[:ARRAY], .csv, .tsv, GloVe/word2vec/fastText .txt/.vec, word2vec .bin, .parquet, .mat[:VAR]"

#: Pairing by key stops when fewer keys match than this share of the smaller file's keys:
#: below it the files most likely name their items differently (case, ids vs words), and the
#: few matches left would be measured as if they were the data.
MIN_KEY_OVERLAP = 0.5
