"""The workflow's word-vector files (gensim ``KeyedVectors`` saved as one ``.kv`` file), and
looking a benchmark word up in them.

Reading word vectors from their published formats (GloVe, word2vec, the kumo package layout)
is crossmodal.datasets.word_vector_files.
"""

from __future__ import annotations

import os

from gensim.models import KeyedVectors

from crossmodal.io import atomic_path


def save_keyed_vectors(kv: KeyedVectors, target: str | os.PathLike[str]) -> None:
    """Save as one gensim file (no side ``.npy`` files) atomically."""
    with atomic_path(target) as tmp:
        kv.save(str(tmp), separately=[])


def load_keyed_vectors(path: str | os.PathLike[str]) -> KeyedVectors:
    return KeyedVectors.load(str(path))


def lookup_word(kv: KeyedVectors, word: str) -> str | None:
    """The vocabulary key used for ``word``: as written, else lowercased, else ``None`` (OOV).

    Benchmarks mix cases ('Arafat', 'FBI') while GloVe-6B is all lowercase and word2vec is
    cased, so trying the exact form first and the lowercased form second serves both.
    """
    if word in kv.key_to_index:
        return word
    lower = word.lower()
    return lower if lower in kv.key_to_index else None
