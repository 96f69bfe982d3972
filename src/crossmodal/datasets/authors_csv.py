"""Importer for the feature CSVs released with the paper (github.com/gcollell/neural_cross_modal_maps).

Layout of the release's ``training_data/`` folder::

    {wiki,iaprtc}/{TR,TS}_{vis,lang}_{emb}.csv     e.g. iaprtc/TS_vis_vgg128.csv, TS_lang_biGRU.csv
    imagenet/{vis,lang}_{emb}.csv                  e.g. imagenet/vis_resnet.csv, lang_glove.csv

No header. Column 1 is the word (imagenet) or the item's space-separated integer label ids
(wiki, iaprtc); the remaining columns are the vector. The vis and lang files of one split are
paired by row order only, so pairing is verified through column 1: words must be equal row by
row, and so must label sets (labels are not unique keys, but a shifted or truncated file
almost surely breaks their row-by-row equality).

Note: the authors' own reader builds the imagenet lang path from the *visual* embedding name
(``'lang_' + emb_vis``); here the two names are independent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from crossmodal.datasets.paired import PairedSet

Dataset = Literal["wiki", "iaprtc", "imagenet"]
FirstColumn = Literal["labels", "word"]

# What column 1 holds in each released dataset.
FIRST_COLUMN: dict[str, FirstColumn] = {"wiki": "labels", "iaprtc": "labels", "imagenet": "word"}
SPLITS = ("TR", "TS")


def read_authors_csv(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """Column 1 as raw strings and the remaining columns as a float64 matrix.

    ``na_filter=False`` keeps words such as "nan" or "null" as words, and makes an empty
    or non-numeric vector cell fail the float conversion instead of becoming NaN silently.
    """
    # round_trip: parse floats exactly as Python does (the fast parser can be 1 ulp off).
    df = pd.read_csv(path, header=None, dtype={0: str}, na_filter=False, float_precision="round_trip")
    if df.shape[1] < 2:
        raise ValueError(f"{path}: expected a key column and at least one vector column")
    try:
        values = df.iloc[:, 1:].to_numpy(dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric vector cell ({err})") from err
    return df.iloc[:, 0].astype(str).str.strip().tolist(), values


def parse_label_ids(field: str, *, where: str = "") -> tuple[int, ...]:
    """"40 115 122" -> (40, 115, 122); an empty field is an item without labels."""
    try:
        return tuple(int(tok) for tok in field.split())
    except ValueError as err:
        raise ValueError(f"{where}: label field {field!r} is not space-separated integers") from err


def _check_pairing(vis_col: list[str], lang_col: list[str], vis_path: Path, lang_path: Path) -> None:
    if len(vis_col) != len(lang_col):
        raise ValueError(
            f"row counts differ: {vis_path.name} has {len(vis_col)}, {lang_path.name} has {len(lang_col)};"
            " the files are paired by row order and cannot be aligned"
        )
    for row, (a, b) in enumerate(zip(vis_col, lang_col)):
        if a != b:
            raise ValueError(
                f"pairing broken at row {row}: {vis_path.name} has {a!r}, {lang_path.name} has {b!r}"
            )


def pair_authors_csv(
    vis_path: str | os.PathLike[str],
    lang_path: str | os.PathLike[str],
    *,
    first_column: FirstColumn,
    name: str,
    image_feature: str,
    text_feature: str,
    key_prefix: str = "",
) -> PairedSet:
    """Pair one vis CSV with one lang CSV (same row order) into a PairedSet.

    first_column="word": keys are the words, labels None. first_column="labels": labels are
    the parsed label-id tuples, keys are ``f"{key_prefix}{row}"`` (the row in the file).
    Raises ValueError when row counts or column 1 disagree between the two files.
    """
    vis_path, lang_path = Path(vis_path), Path(lang_path)
    vis_col, vis = read_authors_csv(vis_path)
    lang_col, lang = read_authors_csv(lang_path)
    if first_column == "labels":
        # Compare parsed tuples, so "1 2" and "1  2" count as the same labels.
        vis_lab = [parse_label_ids(f, where=f"{vis_path.name} row {i}") for i, f in enumerate(vis_col)]
        lang_lab = [parse_label_ids(f, where=f"{lang_path.name} row {i}") for i, f in enumerate(lang_col)]
        _check_pairing([" ".join(map(str, t)) for t in vis_lab], [" ".join(map(str, t)) for t in lang_lab], vis_path, lang_path)
        keys = [f"{key_prefix}{i}" for i in range(len(vis_col))]
        labels: list[tuple[int, ...]] | None = vis_lab
        what = "items (rows of the authors' files; keys are row numbers, labels are the items' label ids)"
    elif first_column == "word":
        _check_pairing(vis_col, lang_col, vis_path, lang_path)
        keys, labels = vis_col, None
        what = "concepts (keys are the concept words)"
    else:
        raise ValueError(f"first_column must be 'labels' or 'word', got {first_column!r}")
    return PairedSet(
        image=vis,
        text=lang,
        keys=keys,
        labels=labels,
        name=name,
        description=(
            f"{len(keys)} {what}; image = {image_feature} ({vis.shape[1]}-d) from {vis_path.name}, "
            f"text = {text_feature} ({lang.shape[1]}-d) from {lang_path.name}, paired by row order "
            "as released with Collell & Moens (2018)"
        ),
        image_feature=image_feature,
        text_feature=text_feature,
        meta={"source": "authors_csv", "vis_file": vis_path.name, "lang_file": lang_path.name},
    )


def authors_csv_paths(
    folder: str | os.PathLike[str], dataset: Dataset, vis_emb: str, lang_emb: str, split: str | None = None
) -> tuple[Path, Path]:
    """(vis, lang) paths of one released split inside ``folder`` (the dataset's own folder,
    whatever it is called locally, e.g. ``.../iaprtc12``)."""
    folder = Path(folder)
    if dataset == "imagenet":
        if split is not None:
            raise ValueError("imagenet has no TR/TS split in the release (the paper uses 5-fold CV)")
        return folder / f"vis_{vis_emb}.csv", folder / f"lang_{lang_emb}.csv"
    if dataset not in FIRST_COLUMN:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(FIRST_COLUMN)}")
    if split not in SPLITS:
        raise ValueError(f"{dataset} needs split 'TR' or 'TS', got {split!r}")
    return folder / f"{split}_vis_{vis_emb}.csv", folder / f"{split}_lang_{lang_emb}.csv"


def load_authors_split(
    folder: str | os.PathLike[str], dataset: Dataset, vis_emb: str, lang_emb: str, split: str | None = None
) -> PairedSet:
    """Load one released (dataset, split, vis_emb, lang_emb) combination as a PairedSet."""
    vis_path, lang_path = authors_csv_paths(folder, dataset, vis_emb, lang_emb, split)
    name = dataset if split is None else f"{dataset}/{split}"
    return pair_authors_csv(
        vis_path,
        lang_path,
        first_column=FIRST_COLUMN[dataset],
        name=name,
        image_feature=vis_emb,
        text_feature=lang_emb,
        key_prefix="" if split is None else f"{split}:",
    )
