"""The Wikipedia cross-modal dataset (Rasiwasia et al. 2010) with its official 2,173/693 split.

Source files: ``raw_features.mat`` (``I_tr``/``I_te``: 128-d SIFT bag-of-visual-words image
features; ``T_tr``/``T_te``: 10-d LDA topic text features; ``T_tfidf_tr``/``T_tfidf_te``:
1000-d tf-idf text features) and ``{train,test}set_txt_img_cat.list`` (tab-separated text id,
image id, category 1-10, one line per .mat row in the same order), ``categories.list`` (the
category names; line c names category c, 1-based).

The paper used ResNet/VGG-128 image and biGRU text features of this dataset, which are not
available offline; SIFT with LDA-10 or tf-idf-1000 are the features the dataset ships with.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.io
import scipy.sparse

from crossmodal.datasets.paired import PairedSet
from crossmodal.names import WIKIPEDIA_IMAGE_FEATURE, WIKIPEDIA_TEXT_VARIABLES

Split = Literal["train", "test"]
TextFeature = Literal["lda10", "tfidf1000"]

TEXT_VARIABLES = WIKIPEDIA_TEXT_VARIABLES  # .mat variable prefix per text feature
IMAGE_VARIABLE = "I"
IMAGE_FEATURE = WIKIPEDIA_IMAGE_FEATURE
SPLIT_SUFFIX: dict[str, str] = {"train": "_tr", "test": "_te"}
LIST_FILES: dict[str, str] = {"train": "trainset_txt_img_cat.list", "test": "testset_txt_img_cat.list"}

# Text ids are "<32 hex md5>-<section number>", image ids are 32 hex digits.
_TEXT_ID = re.compile(r"[0-9a-f]{32}-[0-9][0-9.]*")
_IMAGE_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class WikiListing:
    """One parsed ``*_txt_img_cat.list``: parallel columns plus the lines that were repaired."""

    text_ids: list[str]
    image_ids: list[str]
    categories: list[int]
    repaired_lines: list[int]  # 1-based line numbers whose text id lost a stray leading character


def _repair_text_id(raw: str) -> str | None:
    """The text id, dropping one stray leading non-hex character if that makes it valid.

    The distributed train list's first line reads "Ab3150...-3": one junk character before a
    well-formed id. Only that exact defect is repaired; anything else stays an error.
    """
    if _TEXT_ID.fullmatch(raw):
        return raw
    if len(raw) > 1 and raw[0] not in "0123456789abcdef" and _TEXT_ID.fullmatch(raw[1:]):
        return raw[1:]
    return None


def read_wikipedia_list(path: str | os.PathLike[str]) -> WikiListing:
    """Parse a ``*_txt_img_cat.list`` file, repairing the known stray-character defect."""
    text_ids, image_ids, cats, repaired = [], [], [], []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{lineno}: expected 3 tab-separated fields, got {len(parts)}")
        raw_text, image_id, cat = (p.strip() for p in parts)
        text_id = _repair_text_id(raw_text)
        if text_id is None:
            raise ValueError(f"{path}:{lineno}: malformed text id {raw_text!r}")
        if text_id != raw_text:
            repaired.append(lineno)
        if not _IMAGE_ID.fullmatch(image_id):
            raise ValueError(f"{path}:{lineno}: malformed image id {image_id!r}")
        text_ids.append(text_id)
        image_ids.append(image_id)
        cats.append(int(cat))
    return WikiListing(text_ids, image_ids, cats, repaired)


def check_categories(categories: list[int], n_categories: int, list_path: str | os.PathLike[str]) -> None:
    """Every category id of a split list must name one of the dataset's categories (1-based)."""
    bad = [c for c in categories if not 1 <= c <= n_categories]
    if bad:
        raise ValueError(f"{Path(list_path).name}: category {bad[0]} outside 1..{n_categories}")


def read_categories(path: str | os.PathLike[str]) -> list[str]:
    """Category names; element c-1 names category c."""
    return [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]


def _dense(x: object) -> np.ndarray:
    return x.toarray() if scipy.sparse.issparse(x) else np.asarray(x)


def load_wikipedia_split(
    mat_path: str | os.PathLike[str],
    list_path: str | os.PathLike[str],
    categories_path: str | os.PathLike[str],
    split: Split,
    text_feature: TextFeature = "lda10",
) -> PairedSet:
    """One official split: image = SIFT-128, text = LDA-10 or tf-idf-1000, labels = (category,).

    Keys are the text ids (the section ids, unique). Labels are the 1-based category ids of
    the list file; ``meta["categories"][c - 1]`` names category c. Raises ValueError when the
    list and the .mat disagree on the row count or a category is out of range.
    """
    if split not in SPLIT_SUFFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if text_feature not in TEXT_VARIABLES:
        raise ValueError(f"text_feature must be one of {sorted(TEXT_VARIABLES)}, got {text_feature!r}")
    mat = scipy.io.loadmat(mat_path)
    suffix = SPLIT_SUFFIX[split]
    image = _dense(mat[IMAGE_VARIABLE + suffix])
    text = _dense(mat[TEXT_VARIABLES[text_feature] + suffix])
    listing = read_wikipedia_list(list_path)
    names = read_categories(categories_path)
    n = len(listing.text_ids)
    # The list is the only link between a .mat row and its item, so counts must agree exactly.
    for var, arr in ((IMAGE_VARIABLE + suffix, image), (TEXT_VARIABLES[text_feature] + suffix, text)):
        if arr.shape[0] != n:
            raise ValueError(f"{Path(mat_path).name}:{var} has {arr.shape[0]} rows but {Path(list_path).name} lists {n}")
    check_categories(listing.categories, len(names), list_path)
    return PairedSet(
        image=image,
        text=text,
        keys=listing.text_ids,
        labels=[(c,) for c in listing.categories],
        name=f"wikipedia/{split}",
        description=(
            f"Wikipedia dataset (Rasiwasia et al. 2010), official {split} split, {n} article sections "
            f"paired with one image each; image = 128-d SIFT bag of visual words, text = "
            f"{text.shape[1]}-d {'LDA topic proportions' if text_feature == 'lda10' else 'tf-idf'}; "
            "labels = 1-based category id (meta['categories'][c-1])"
        ),
        image_feature=IMAGE_FEATURE,
        text_feature=text_feature,
        meta={
            "source": "wikipedia",
            "categories": names,
            "image_ids": listing.image_ids,
            "repaired_list_lines": listing.repaired_lines,
        },
    )


def load_wikipedia(folder: str | os.PathLike[str], text_feature: TextFeature = "lda10") -> dict[str, PairedSet]:
    """Both official splits from a folder laid out like the distributed dataset."""
    folder = Path(folder)
    return {
        split: load_wikipedia_split(
            folder / "raw_features.mat", folder / LIST_FILES[split], folder / "categories.list", split, text_feature
        )
        for split in ("train", "test")
    }
