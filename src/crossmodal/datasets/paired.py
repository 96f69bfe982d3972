"""`PairedSet`: N paired image/text vectors, the unit every Experiment 1 step consumes.

Row i of ``image`` and row i of ``text`` describe the same item (a concept, an image with
its caption, a Wikipedia section with its image). mNNO is only meaningful for paired
rows, so the container checks the pairing invariants once, at construction, instead of
every consumer re-checking them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from crossmodal.io import atomic_path

# Bumped whenever the .npz layout changes, so an old file fails loudly instead of misloading.
NPZ_FORMAT_VERSION = 2
PROTOCOLS: tuple[str, ...] = ("cv", "split")

Labels = list[tuple[int, ...]]


def _as_matrix(values: object, what: str) -> np.ndarray:
    """Coerce to a C-contiguous float32 matrix (all models and metrics run in float32)."""
    # Overflow to inf is expected here and reported as a non-finite row by the caller.
    with np.errstate(over="ignore"):
        arr = np.ascontiguousarray(np.asarray(values, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"{what} must be a 2-d matrix, got shape {arr.shape}")
    return arr


def _first_nonfinite_row(arr: np.ndarray) -> int | None:
    bad = ~np.isfinite(arr).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


@dataclass(frozen=True)
class DatasetHeader:
    """What every Experiment 1 step reads about a set: how it is evaluated and what it is called.

    protocol: ``"split"`` (rows ``0..n_train-1`` train, the rest test; several runs) or ``"cv"``
    (all rows by k-fold cross-validation); n_train: size of the training split (0 under cv);
    family: the hyper-parameter family of ``crossmodal.mappings.hyperparams``; dataset_label /
    split_label: what the rows are ("IAPR TC-12" / "test split"); image_label / text_label: what
    the features are ("VGG-128 (authors), 128-d").
    """

    protocol: str
    n_train: int
    family: str
    dataset_label: str
    split_label: str
    image_label: str
    text_label: str

    def check(self, n: int) -> None:
        """A clear error for a protocol this set's ``n`` rows cannot follow."""
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if self.protocol == "split" and not 0 < self.n_train < n:
            raise ValueError(f"a split needs 0 < n_train < {n}, got {self.n_train}")
        if self.protocol == "cv" and self.n_train != 0:
            raise ValueError(f"a cv set has n_train 0, got {self.n_train}")


@dataclass(frozen=True)
class PairedSet:
    """N paired (image, text) vectors with keys, optional labels and provenance strings.

    image: float32 (N, dI); text: float32 (N, dT); keys: N unique item ids (words, text ids,
    row numbers); labels: per-item tuples of integer label ids, or None when the data has
    no labels; name: short identifier (e.g. "iaprtc12/TS"); description: one sentence saying
    exactly what the rows are; image_feature / text_feature: feature names (e.g. "vgg128").
    Inputs are coerced to float32; a non-finite value (also one that overflows float32)
    raises ValueError naming the first bad row.
    """

    image: np.ndarray
    text: np.ndarray
    keys: list[str]
    labels: Labels | None
    name: str
    description: str
    image_feature: str
    text_feature: str
    # Free-form provenance (source files, policies) for people reading the file; what the
    # Experiment 1 steps need is typed in ``header``. Must be JSON-serialisable to be saved.
    meta: dict[str, object] = field(default_factory=dict)
    header: DatasetHeader | None = None

    def __post_init__(self) -> None:
        image = _as_matrix(self.image, "image")
        text = _as_matrix(self.text, "text")
        n = image.shape[0]
        if text.shape[0] != n:
            raise ValueError(f"image has {n} rows but text has {text.shape[0]}: rows must be paired")
        keys = [str(k) for k in self.keys]
        if len(keys) != n:
            raise ValueError(f"{len(keys)} keys for {n} rows")
        seen: set[str] = set()
        for row, key in enumerate(keys):
            if key in seen:
                raise ValueError(f"keys must be unique; {key!r} repeats at row {row}")
            seen.add(key)
        labels = None
        if self.labels is not None:
            labels = [tuple(int(v) for v in lab) for lab in self.labels]
            if len(labels) != n:
                raise ValueError(f"{len(labels)} label tuples for {n} rows")
        for what, arr in (("image", image), ("text", text)):
            row = _first_nonfinite_row(arr)
            if row is not None:
                raise ValueError(f"{what} row {row} (key {keys[row]!r}) has non-finite values")
        if self.header is not None:
            self.header.check(n)
        # Frozen dataclass: write the normalised values through object.__setattr__.
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "meta", dict(self.meta))

    def __len__(self) -> int:
        return self.image.shape[0]

    @property
    def experiment1(self) -> DatasetHeader:
        """The typed header, or a clear error for a set built without one."""
        if self.header is None:
            raise ValueError(f"{self.name}: no dataset header (build it with crossmodal.datasets.experiment1)")
        return self.header

    @property
    def image_dim(self) -> int:
        return self.image.shape[1]

    @property
    def text_dim(self) -> int:
        return self.text.shape[1]

    def subset(self, rows: Sequence[int] | np.ndarray, name: str | None = None) -> PairedSet:
        """The rows ``rows`` (in that order) as a new PairedSet, e.g. one CV fold."""
        idx = np.asarray(rows, dtype=np.int64)
        return PairedSet(
            image=self.image[idx],
            text=self.text[idx],
            keys=[self.keys[i] for i in idx],
            labels=None if self.labels is None else [self.labels[i] for i in idx],
            name=name or self.name,
            description=self.description,
            image_feature=self.image_feature,
            text_feature=self.text_feature,
            meta=self.meta,
        )  # no header: a subset no longer follows the set's protocol

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to one .npz file atomically (no pickles, so loading never runs code)."""
        save_paired(self, path)


def _pack_labels(labels: Labels) -> tuple[np.ndarray, np.ndarray]:
    """Ragged label tuples as a flat array plus row offsets (npz cannot hold ragged lists)."""
    lengths = np.array([len(lab) for lab in labels], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat = np.array([v for lab in labels for v in lab], dtype=np.int64)
    return flat, offsets


def _unpack_labels(flat: np.ndarray, offsets: np.ndarray) -> Labels:
    return [tuple(int(v) for v in flat[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1)]


def save_paired(ps: PairedSet, path: str | os.PathLike[str]) -> None:
    """Save ``ps`` to ``path`` (.npz), atomically."""
    header = {
        "format_version": NPZ_FORMAT_VERSION,
        "name": ps.name,
        "description": ps.description,
        "image_feature": ps.image_feature,
        "text_feature": ps.text_feature,
        "has_labels": ps.labels is not None,
        "meta": ps.meta,
        "dataset_header": None if ps.header is None else asdict(ps.header),
    }
    arrays: dict[str, np.ndarray] = {
        "image": ps.image,
        "text": ps.text,
        "keys": np.array(ps.keys, dtype=np.str_),
        "header": np.array(json.dumps(header, sort_keys=True)),
    }
    if ps.labels is not None:
        arrays["label_values"], arrays["label_offsets"] = _pack_labels(ps.labels)
    with atomic_path(path) as tmp:
        # Write through a file handle so numpy never appends its own ".npz" to the temp name.
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_paired(path: str | os.PathLike[str]) -> PairedSet:
    """Load a PairedSet written by :func:`save_paired` (re-validated on construction)."""
    with np.load(Path(path), allow_pickle=False) as npz:
        header = json.loads(str(npz["header"][()]))
        if header.get("format_version") != NPZ_FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported PairedSet format {header.get('format_version')!r}")
        labels = _unpack_labels(npz["label_values"], npz["label_offsets"]) if header["has_labels"] else None
        return PairedSet(
            image=npz["image"],
            text=npz["text"],
            keys=[str(k) for k in npz["keys"]],
            labels=labels,
            name=header["name"],
            description=header["description"],
            image_feature=header["image_feature"],
            text_feature=header["text_feature"],
            meta=header["meta"],
            header=None if header["dataset_header"] is None else DatasetHeader(**header["dataset_header"]),
        )
