"""Names shared by the library and the workflow, in a module with no heavy imports.

The Snakefile reads these while it builds the job graph; keeping them here (rather than in the
modules that use torch, gensim or scipy) keeps a no-op rerun from importing those libraries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from crossmodal.mappers.paper import HIDDEN_LAYERS

# Distances of the neighbour searches (crossmodal.metrics.knn).
Metric = Literal["cosine", "euclidean"]
METRICS: tuple[str, ...] = ("cosine", "euclidean")

# ImageNet-style concept set (crossmodal.datasets.imagenet_concepts): its feature names.
CONCEPT_IMAGE_FEATURE = "efficientnet_lite0_fc"
CONCEPT_TEXT_FEATURE = "glove6b50d"

# Wikipedia dataset (crossmodal.datasets.wikipedia): image feature name, and the .mat variable
# prefix of each of its own text features (the split suffix is "_tr" / "_te").
WIKIPEDIA_IMAGE_FEATURE = "sift128"
WIKIPEDIA_TEXT_VARIABLES: dict[str, str] = {"lda10": "T", "tfidf1000": "T_tfidf"}

# The paper's Table 12 embeddings, in its row order: (slot key, printed name).
TABLE12_PAPER_SLOTS: tuple[tuple[str, str], ...] = (("word2vec", "word2vec"), ("vgg128", "VGG-128"))

# Experiment 1 datasets in table order (the paper's: ImageNet, IAPR TC-12, Wikipedia).
EXP1_DATASETS: tuple[str, ...] = ("imagenet1k_concepts", "imagenet_authors", "iaprtc12", "wikipedia", "wiki_authors")
# Directions (i2t: X = image, Y = text; t2i the reverse), their labels in the tables (ASCII, as in
# the paper's transcribed CSV) and in the figures.
DIRECTIONS: tuple[str, ...] = ("i2t", "t2i")
DIRECTION_LABELS: dict[str, str] = {"i2t": "I->T", "t2i": "T->I"}
DIRECTION_ARROWS: dict[str, str] = {d: label.replace("->", "\u2192") for d, label in DIRECTION_LABELS.items()}
# Mappings (Supplement C) and losses, in table order.
MAPPINGS: tuple[str, ...] = tuple(HIDDEN_LAYERS)  # registered by crossmodal.mappers.paper
LOSSES: tuple[str, ...] = ("mse", "cosine", "max-margin")
# Every published mNNO is mNNO^10 with each point counted among its own neighbours.
PAPER_K = 10


@dataclass(frozen=True)
class TableSpec:
    """The settings one paper table holds."""

    number: int
    metric: str
    loss: str
    mappings: tuple[str, ...]
    word2vec: bool  # Tables 10/11: ImageNet with word2vec text vectors; all others exclude them


# Experiment 1's paper tables (Table 1 and Supplement Tables 3-11): the settings each holds.
PAPER_TABLES: dict[int, TableSpec] = {
    1: TableSpec(1, "cosine", "mse", ("lin", "nn"), False),
    3: TableSpec(3, "cosine", "mse", ("nn-3", "nn-5"), False),
    4: TableSpec(4, "euclidean", "mse", ("nn-3", "nn-5"), False),
    5: TableSpec(5, "cosine", "max-margin", ("lin", "nn"), False),
    6: TableSpec(6, "euclidean", "max-margin", ("lin", "nn"), False),
    7: TableSpec(7, "cosine", "cosine", ("lin", "nn"), False),
    8: TableSpec(8, "euclidean", "cosine", ("lin", "nn"), False),
    9: TableSpec(9, "euclidean", "mse", ("lin", "nn"), False),
    10: TableSpec(10, "euclidean", "mse", ("lin", "nn"), True),
    11: TableSpec(11, "cosine", "mse", ("lin", "nn"), True),
}
