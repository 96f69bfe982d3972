"""Names shared by the library and the workflow, in a module with no heavy imports.

The Snakefile reads these while it builds the job graph; keeping them here (rather than in the
modules that use torch, gensim or scipy) keeps a no-op rerun from importing those libraries.
"""

from __future__ import annotations

# ImageNet-style concept set (crossmodal.datasets.imagenet_concepts): its feature names.
CONCEPT_IMAGE_FEATURE = "efficientnet_lite0_fc"
CONCEPT_TEXT_FEATURE = "glove6b50d"

# Wikipedia dataset (crossmodal.datasets.wikipedia): image feature name, and the .mat variable
# prefix of each of its own text features (the split suffix is "_tr" / "_te").
WIKIPEDIA_IMAGE_FEATURE = "sift128"
WIKIPEDIA_TEXT_VARIABLES: dict[str, str] = {"lda10": "T", "tfidf1000": "T_tfidf"}

# The paper's Table 12 embeddings, in its row order: (slot key, printed name).
TABLE12_PAPER_SLOTS: tuple[tuple[str, str], ...] = (("word2vec", "word2vec"), ("vgg128", "VGG-128"))

# Experiment 1 directions (i2t: X = image, Y = text; t2i the reverse) and their table labels.
DIRECTION_LABELS: dict[str, str] = {"i2t": "I->T", "t2i": "T->I"}
