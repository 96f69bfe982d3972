"""Word-level visual vectors for Experiment 2: one visual vector per word, as KeyedVectors.

Experiment 2 (paper §4.2) also applies the untrained networks to visual word vectors (the
paper's ResNet / VGG-128 centroids of ImageNet synsets). Two sources exist in this project:

* the offline ImageNet-1k concept set (``crossmodal.datasets.imagenet_concepts``): the image
  side of each concept, i.e. the class's EfficientNet-Lite0 classifier row (a 1280-d class
  template, not an image centroid), keyed by the concept's word;
* synset centroids of an ImageNet-style image folder (``crossmodal.features.synsets``): the
  mean CNN feature of a synset's images, keyed by the synset's first lemma -- how the paper
  builds its visual vectors, available only when images are configured.

Each becomes a :class:`VisualWords` (words, vectors, an honest label, provenance), saved as a
gensim KeyedVectors file plus a JSON side file with the label, so that the Experiment 2 rules
treat it like any word-vector set. Keys are kept as the source stores them: a multi-word
concept ("great white shark", ``multiword: average``) stays one key with spaces and can only
match a benchmark entry written the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crossmodal.datasets.paired import PairedSet
from crossmodal.datasets.word_vector_files import keyed_vectors_from_arrays
from crossmodal.features.word_vectors import save_keyed_vectors
from crossmodal.io import write_text_atomic


@dataclass(frozen=True)
class VisualWords:
    """``vectors[i]`` is the visual vector of ``words[i]``; ``label`` says what they are."""

    words: list[str]
    vectors: np.ndarray
    label: str
    info: dict[str, object] = field(default_factory=dict)


def concept_visual_words(ps: PairedSet) -> VisualWords:
    """The image side of the ImageNet-1k concept set, keyed by the concepts' words."""
    if ps.meta.get("source") != "imagenet_concepts":
        raise ValueError(f"{ps.name}: not an ImageNet-1k concept set (meta source {ps.meta.get('source')!r})")
    label = f"{ps.experiment1.image_label} (ImageNet-1k concept set, {len(ps)} words)"
    info = {
        "source": "imagenet1k_concepts",
        "description": ps.description,
        "image_feature": ps.image_feature,
        "multiword": ps.meta.get("multiword"),
        "coverage": ps.meta.get("coverage"),
    }
    return VisualWords(list(ps.keys), ps.image, label, info)


def synset_visual_words(path: str | os.PathLike[str]) -> VisualWords:
    """Synset centroids written by ``crossmodal.features.synsets.save_synset_vectors``."""
    with np.load(Path(path), allow_pickle=False) as npz:
        words = [str(w) for w in npz["words"]]
        vectors = np.asarray(npz["vectors"], dtype=np.float32)
        encoder = str(npz["encoder"][()])
        min_images = int(npz["min_images"][()])
        random_weights = bool(npz["random_weights"][()])
        n_images = [int(n) for n in npz["n_images"]]
    if not words:
        raise ValueError(f"{path}: no synset kept (every synset had <= {min_images} readable images or no lemma)")
    label = f"{encoder} synset centroids, {vectors.shape[1]}-d ({len(words)} words, > {min_images} images each)"
    info = {
        "source": "synsets",
        "encoder": encoder,
        "random_weights": random_weights,
        "min_images": min_images,
        "images_per_word": {"min": min(n_images), "max": max(n_images)} if n_images else {},
    }
    return VisualWords(words, vectors, label, info)


def save_visual_words(vw: VisualWords, kv_path: str | os.PathLike[str], info_path: str | os.PathLike[str]) -> None:
    """KeyedVectors file (checked: finite, unique words) and a JSON side file with the label. Atomic."""
    kv = keyed_vectors_from_arrays(vw.words, vw.vectors)
    save_keyed_vectors(kv, kv_path)
    info = {"label": vw.label, "n_words": len(vw.words), "dim": int(kv.vector_size), **vw.info}
    write_text_atomic(info_path, json.dumps(info, indent=1, sort_keys=True) + "\n")


def read_label(info_path: str | os.PathLike[str]) -> str:
    """The label stored beside a visual KeyedVectors file."""
    return str(json.loads(Path(info_path).read_text(encoding="utf-8"))["label"])
