"""Experiment 1 datasets: one PairedSet per (dataset, image feature, text feature), labelled.

Every set carries its evaluation protocol and honest labels in its typed ``header``
(:class:`crossmodal.datasets.paired.DatasetHeader`) so that the later steps (splits, neighbours,
training, tables) need nothing else; ``meta`` keeps the free-form provenance for readers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from crossmodal.datasets.authors_csv import FIRST_COLUMN, pair_authors_csv
from crossmodal.datasets.embedding_files import MIN_KEY_OVERLAP, load_embeddings, pair_embeddings
from crossmodal.datasets.paired import DatasetHeader, PairedSet
from crossmodal.datasets.wikipedia import TEXT_VARIABLES, load_wikipedia_split

if TYPE_CHECKING:  # the concept set needs torch and gensim; the other sets need neither
    from crossmodal.datasets.imagenet_concepts import CoverageReport, MultiwordPolicy

# Display names of feature sets; an unknown name is shown as it is.
FEATURE_LABELS: dict[str, str] = {
    "vgg128": "VGG-128 (authors)",
    "resnet": "ResNet (authors)",
    "biGRU": "biGRU (authors)",
    "glove": "GloVe (authors)",
    "word2vec": "word2vec (authors)",
    "sift128": "SIFT-128 BoVW (dataset's)",
    "lda10": "LDA-10 (dataset's)",
    "tfidf1000": "tf-idf-1000 (dataset's)",
    "efficientnet_lite0_fc": "EfficientNet-Lite0 class templates",
    "glove6b50d": "GloVe-6B-50d",
}
# The authors' release: dataset key of authors_csv -> (hyperparameter family, table label).
AUTHORS_DATASETS: dict[str, tuple[str, str]] = {
    "iaprtc": ("iaprtc", "IAPR TC-12"),
    "wiki": ("wiki", "Wikipedia"),
    "imagenet": ("imagenet", "ImageNet"),
}


def feature_label(name: str, dim: int) -> str:
    """"VGG-128 (authors)" for known names, else the name; always with the dimensionality."""
    return f"{FEATURE_LABELS.get(name, name)}, {dim}-d"


def with_protocol(
    ps: PairedSet,
    *,
    name: str,
    family: str,
    dataset_label: str,
    split_label: str,
    protocol: str,
    n_train: int = 0,
    extra: Mapping[str, object] | None = None,
) -> PairedSet:
    """``ps`` named ``name``, with its typed Experiment 1 header (``extra`` joins its provenance)."""
    header = DatasetHeader(
        protocol=protocol,
        n_train=int(n_train) if protocol == "split" else 0,
        family=family,
        dataset_label=dataset_label,
        split_label=split_label,
        image_label=feature_label(ps.image_feature, ps.image_dim),
        text_label=feature_label(ps.text_feature, ps.text_dim),
    )
    return replace(ps, name=name, meta={**ps.meta, **(extra or {})}, header=header)


def relabelled(ps: PairedSet, side: str, label: str) -> PairedSet:
    """``ps`` with the display label of its ``side`` ("image" or "text") features replaced."""
    dim = ps.image_dim if side == "image" else ps.text_dim
    return replace(ps, header=replace(ps.experiment1, **{f"{side}_label": f"{label}, {dim}-d"}))


def concat_splits(train: PairedSet, test: PairedSet, name: str) -> PairedSet:
    """Train rows first, then test rows, as one PairedSet (with_protocol then records the split point)."""
    if (train.image_feature, train.text_feature) != (test.image_feature, test.text_feature):
        raise ValueError("train and test splits use different features")
    if train.image_dim != test.image_dim or train.text_dim != test.text_dim:
        raise ValueError(
            f"train and test dimensions differ: image {train.image_dim}/{test.image_dim}, "
            f"text {train.text_dim}/{test.text_dim}"
        )
    labels = None if train.labels is None or test.labels is None else train.labels + test.labels
    return PairedSet(
        image=np.vstack([train.image, test.image]),
        text=np.vstack([train.text, test.text]),
        keys=train.keys + test.keys,
        labels=labels,
        name=name,
        description=f"{len(train)} training rows, then {len(test)} test rows. Train: {train.description}. "
        f"Test: {test.description}",
        image_feature=train.image_feature,
        text_feature=train.text_feature,
        meta={"train": train.meta, "test": test.meta},
    )


def authors_set(
    dataset: str,
    files: Mapping[str, str | os.PathLike[str]],
    image_feature: str,
    text_feature: str,
    *,
    name: str,
) -> PairedSet:
    """The authors' released CSVs as an Experiment 1 set.

    ``files``: ``vis``/``lang`` (one file pair: ImageNet, or a test split evaluated by CV) or
    ``vis_tr``/``lang_tr``/``vis_ts``/``lang_ts`` (the official train/test split).
    """
    if dataset not in AUTHORS_DATASETS:
        raise ValueError(f"dataset must be one of {sorted(AUTHORS_DATASETS)}, got {dataset!r}")
    family, label = AUTHORS_DATASETS[dataset]
    first = FIRST_COLUMN[dataset]

    def pair(vis: str | os.PathLike[str], lang: str | os.PathLike[str], prefix: str) -> PairedSet:
        return pair_authors_csv(vis, lang, first_column=first, name=name, image_feature=image_feature,
                                text_feature=text_feature, key_prefix=prefix)

    if set(files) == {"vis_tr", "lang_tr", "vis_ts", "lang_ts"}:
        train, test = pair(files["vis_tr"], files["lang_tr"], "TR:"), pair(files["vis_ts"], files["lang_ts"], "TS:")
        ps, n_train = concat_splits(train, test, name), len(train)
        split = f"official {n_train:,}/{len(test):,} split"
        return with_protocol(ps, name=name, family=family, dataset_label=label, split_label=split,
                             protocol="split", n_train=n_train, extra={"source": "authors_csv"})
    if set(files) == {"vis", "lang"}:
        ps = pair(files["vis"], files["lang"], "TS:" if dataset != "imagenet" else "")
        split = "concepts" if dataset == "imagenet" else "test split"
        return with_protocol(ps, name=name, family=family, dataset_label=label, split_label=split, protocol="cv",
                             extra={"source": "authors_csv"})
    raise ValueError(f"files must be vis/lang or vis_tr/lang_tr/vis_ts/lang_ts, got {sorted(files)}")


def read_text_feature_file(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """A text feature file for the Wikipedia split: .npz with ``train`` and ``test`` matrices whose
    rows follow the official lists (the hook for encoders such as the biGRU)."""
    with np.load(Path(path), allow_pickle=False) as npz:
        return np.asarray(npz["train"]), np.asarray(npz["test"])


def read_text_feature_label(path: str | os.PathLike[str]) -> str | None:
    """The file's own display name (array ``label``, e.g. "biGRU (ours, ...)"), if it has one."""
    with np.load(Path(path), allow_pickle=False) as npz:
        return str(npz["label"]) if "label" in npz.files else None


def wikipedia_set(
    mat: str | os.PathLike[str],
    train_list: str | os.PathLike[str],
    test_list: str | os.PathLike[str],
    categories: str | os.PathLike[str],
    text_feature: str,
    *,
    name: str,
    text_file: str | os.PathLike[str] | None = None,
) -> PairedSet:
    """Wikipedia's official 2,173/693 split with SIFT-128 images and a text feature.

    ``text_feature`` is one of the dataset's own (lda10, tfidf1000), read from the .mat, or any
    other name whose matrices come from ``text_file`` (see :func:`read_text_feature_file`).
    """
    own = text_feature in TEXT_VARIABLES
    replacement = None if own else text_file  # where the text side comes from, if not the .mat
    if not own and replacement is None:
        raise ValueError(f"text feature {text_feature!r} is not one of the dataset's own "
                         f"({', '.join(TEXT_VARIABLES)}) and no features file was given")
    feature = text_feature if own else "lda10"  # the .mat always supplies the images
    splits = {
        split: load_wikipedia_split(mat, listing, categories, split, feature)  # type: ignore[arg-type]
        for split, listing in (("train", train_list), ("test", test_list))
    }
    if replacement is not None:
        where = Path(replacement).name
        splits = {
            split: PairedSet(ps.image, text, ps.keys, ps.labels, ps.name,
                             f"{ps.description} (text replaced by {text_feature} from {where})",
                             ps.image_feature, text_feature, ps.meta)
            for (split, ps), text in zip(splits.items(), read_text_feature_file(replacement))
        }
    ps = concat_splits(splits["train"], splits["test"], name)
    n_train = len(splits["train"])
    ps = with_protocol(ps, name=name, family="wiki", dataset_label="Wikipedia",
                       split_label=f"official {n_train:,}/{len(ps) - n_train:,} split", protocol="split",
                       n_train=n_train, extra={"source": "wikipedia"})
    label = None if replacement is None else read_text_feature_label(replacement)
    # The encoder's own honest name, e.g. "biGRU (ours, trained on ..., GloVe-6B-50d inputs)".
    return relabelled(ps, "text", label) if label else ps


def concept_set(
    weights: str | os.PathLike[str],
    synsets: str | os.PathLike[str],
    lemmas: str | os.PathLike[str],
    glove_emb: str | os.PathLike[str],
    glove_index: str | os.PathLike[str],
    *,
    name: str,
    multiword: MultiwordPolicy = "skip",
) -> tuple[PairedSet, CoverageReport]:
    """The offline "ImageNet-1k concept set" (see crossmodal.datasets.imagenet_concepts), for CV."""
    from crossmodal.datasets.imagenet_concepts import build_imagenet_concepts

    ps, report = build_imagenet_concepts(weights, synsets, lemmas, glove_emb, glove_index, multiword=multiword)
    labelled = with_protocol(ps, name=name, family="imagenet", dataset_label="ImageNet-1k concept set",
                             split_label=f"{report.kept} of {report.total} classes", protocol="cv")
    return labelled, report


def paired_set(
    x_file: str | os.PathLike[str],
    y_file: str | os.PathLike[str],
    spec: Mapping[str, object],
    *,
    name: str,
) -> PairedSet:
    """Your own pair of embedding files (config ``experiment1.datasets.<name>``, kind paired) as
    an Experiment 1 set: X on the image side, Y on the text side; rows paired by key (at least
    ``MIN_KEY_OVERLAP`` of the smaller file's keys must match) or by row order. ``split`` cv: all
    rows by k-fold CV; fixed: the first ``n_train`` paired rows train, the rest test."""
    first = str(spec["first_column"])
    tables = [load_embeddings(x_file, first_column=first), load_embeddings(y_file, first_column=first)]  # type: ignore[arg-type]
    pairs = pair_embeddings(tables, min_overlap=MIN_KEY_OVERLAP)
    keys = pairs.keys if pairs.keys is not None else [str(i) for i in range(pairs.matched)]
    x_feature, y_feature = str(spec["x_feature"]), str(spec["y_feature"])
    description = (f"{pairs.matched} rows of {x_file} (X) and {y_file} (Y), paired by {pairs.by}; "
                   f"dropped {pairs.dropped[0]} of X's and {pairs.dropped[1]} of Y's rows")
    ps = PairedSet(pairs.arrays[0], pairs.arrays[1], keys, None, name, description, x_feature, y_feature,
                   {"source": "paired", "x_file": str(x_file), "y_file": str(y_file)})
    fixed = spec["split"] == "fixed"
    n_train = int(spec["n_train"] or 0) if fixed else 0  # type: ignore[call-overload]
    split = f"first {n_train:,} rows train, {len(ps) - n_train:,} test" if fixed else f"{len(ps):,} pairs"
    out = with_protocol(ps, name=name, family=str(spec["family"]), dataset_label=str(spec["label"] or name),
                        split_label=split, protocol="split" if fixed else "cv", n_train=n_train)
    for side, axis, feature in (("image", "x", x_feature), ("text", "y", y_feature)):
        out = relabelled(out, side, str(spec[f"{axis}_label"] or feature))
    return out
