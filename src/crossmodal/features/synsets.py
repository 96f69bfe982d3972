"""ImageNet-style word-level visual vectors: one centroid per synset (paper §4.1.1, §4.1.3).

Input: a folder with one sub-folder per synset (``n02084071/*.JPEG``). Following Collell et
al. (2017) as the paper describes it: keep synsets with **more than** ``min_images`` images
(paper: 50), name each synset by its most relevant word -- the first lemma of timm's
``imagenet_synset_to_lemma.txt`` (or a given mapping) -- and represent it by the mean
(centroid) of its images' CNN features.

Policies (reported in :class:`SynsetVectors`):

* a synset folder with no image files at all is an error naming the folder;
* a synset with ``<= min_images`` image files is filtered out before extraction
  (``filtered``: synset -> count); if unreadable images (``on_error="skip"``) bring a synset
  down to ``<= min_images`` readable images it is filtered afterwards as well;
* a synset with no lemma in the mapping is dropped (``no_lemma``);
* two synsets with the same word: the first in sorted synset order keeps it, the others are
  dropped (``duplicate_word``: synset -> word) so the word list stays unique.

Words are the lemma lowercased (GloVe-6B is uncased; ``lowercase=False`` keeps the case).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crossmodal.features.images import (
    ImageEncoder,
    OnError,
    extract_image_features,
    load_encoder,
)

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm")


def default_lemma_file() -> Path:
    """timm's ``imagenet_synset_to_lemma.txt`` (ImageNet-21k synsets, lemmas comma-separated)."""
    from crossmodal.datasets.imagenet_concepts import default_resources

    return default_resources().lemmas


def synset_words(lemmas: Mapping[str, str] | str | os.PathLike[str] | None = None, lowercase: bool = True) -> dict[str, str]:
    """synset -> its most relevant word (first lemma), from a lemma file or a mapping."""
    if isinstance(lemmas, Mapping):
        return {k: (v.lower() if lowercase else v) for k, v in lemmas.items()}
    from crossmodal.datasets.imagenet_concepts import read_lemmas

    table = read_lemmas(default_lemma_file() if lemmas is None else lemmas)
    return {s: (names[0].lower() if lowercase else names[0]) for s, names in table.items() if names}


def list_synset_images(root: str | os.PathLike[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> dict[str, list[Path]]:
    """synset folder name -> its image files (sorted); an empty synset folder is an error."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"synset image folder not found: {root}")
    out: dict[str, list[Path]] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in extensions)
        if not files:
            raise ValueError(f"synset folder {d} contains no image files ({', '.join(extensions)})")
        out[d.name] = files
    if not out:
        raise ValueError(f"{root}: no synset sub-folders")
    return out


@dataclass
class SynsetVectors:
    words: list[str]
    synsets: list[str]
    vectors: np.ndarray  # (n_words, d) float32 centroids, row i = words[i]
    n_images: list[int]  # readable images averaged per kept synset
    encoder: str
    random_weights: bool
    min_images: int
    filtered: dict[str, int] = field(default_factory=dict)  # synset -> image count (<= min_images)
    no_lemma: list[str] = field(default_factory=list)
    duplicate_word: dict[str, str] = field(default_factory=dict)
    skipped_images: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def summary(self) -> str:
        return (
            f"{len(self.words)} words from synsets with > {self.min_images} images ({self.encoder}); "
            f"filtered (too few images): {len(self.filtered)}; no lemma: {len(self.no_lemma)}; "
            f"duplicate word: {len(self.duplicate_word)}; unreadable images skipped: {len(self.skipped_images)}"
        )


def synset_centroids(
    root: str | os.PathLike[str],
    encoder: ImageEncoder | str,
    *,
    min_images: int = 50,
    lemmas: Mapping[str, str] | str | os.PathLike[str] | None = None,
    lowercase: bool = True,
    batch_size: int = 32,
    on_error: OnError = "skip",
    progress: bool = True,
    **encoder_kwargs: Any,
) -> SynsetVectors:
    """Word list and centroid matrix for the synset folders under ``root`` (see module doc)."""
    if min_images < 0:
        raise ValueError(f"min_images must be >= 0, got {min_images}")
    if isinstance(encoder, str):
        encoder = load_encoder(encoder, **encoder_kwargs)
    folders = list_synset_images(root)
    words_of = synset_words(lemmas, lowercase)
    filtered = {s: len(f) for s, f in folders.items() if len(f) <= min_images}
    no_lemma = [s for s in folders if s not in filtered and s not in words_of]
    duplicate: dict[str, str] = {}
    chosen: list[str] = []
    seen: set[str] = set()
    for s in folders:
        if s in filtered or s in no_lemma:
            continue
        w = words_of[s]
        if w in seen:
            duplicate[s] = w
            continue
        seen.add(w)
        chosen.append(s)
    words, synsets, rows, counts, skipped = [], [], [], [], []
    for s in chosen:
        files = folders[s]
        res = extract_image_features(
            files, encoder, ids=[f"{s}/{f.name}" for f in files], batch_size=batch_size, on_error=on_error, progress=progress
        )
        skipped.extend(res.skipped)
        n = len(res.kept_ids)
        if n <= min_images:
            filtered[s] = n
            continue
        words.append(words_of[s])
        synsets.append(s)
        rows.append(res.features.astype(np.float64).mean(axis=0))
        counts.append(n)
    V = np.asarray(rows, dtype=np.float32).reshape(len(rows), encoder.dim)
    return SynsetVectors(
        words=words, synsets=synsets, vectors=V, n_images=counts, encoder=encoder.label,
        random_weights=encoder.random_weights, min_images=min_images, filtered=filtered,
        no_lemma=no_lemma, duplicate_word=duplicate, skipped_images=skipped,
    )  # fmt: skip


def save_synset_vectors(path: str | os.PathLike[str], sv: SynsetVectors) -> None:
    """``words``, ``synsets``, ``vectors`` (row i = words[i]), ``n_images`` and the filter report. Atomic."""
    import json

    from crossmodal.io import atomic_path

    report = {"filtered": sv.filtered, "no_lemma": sv.no_lemma, "duplicate_word": sv.duplicate_word,
              "skipped_images": [list(s) for s in sv.skipped_images]}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, words=np.array(sv.words, dtype=str), synsets=np.array(sv.synsets, dtype=str), vectors=sv.vectors,
                 n_images=np.array(sv.n_images, dtype=np.int64), encoder=np.array(sv.encoder),
                 random_weights=np.array(sv.random_weights), min_images=np.array(sv.min_images),
                 report=np.array(json.dumps(report, sort_keys=True)))
