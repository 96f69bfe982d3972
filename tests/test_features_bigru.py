"""biGRU text features (Supplement B): tokeniser, network equivalence, training, determinism,
and (slow) a real run on the Wikipedia training split."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from crossmodal.features.bigru import (
    BiGRUNet,
    _pad,
    bigru_features,
    tokenize,
    train_bigru,
)


def _toy_kv(dim=8, seed=0) -> KeyedVectors:
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(40)] + ["cat", "dog", "sea", "ship", "the", "a"]
    kv = KeyedVectors(vector_size=dim)
    kv.add_vectors(words, rng.normal(size=(len(words), dim)).astype(np.float32))
    return kv


def _toy_corpus(n=60, seed=1):
    rng = np.random.default_rng(seed)
    cue = {0: ["cat", "dog"], 1: ["sea", "ship"], 2: ["w1", "w2"]}
    texts, labels = [], []
    for i in range(n):
        c = i % 3
        words = list(rng.choice([f"w{j}" for j in range(3, 40)], size=rng.integers(3, 15))) + list(rng.choice(cue[c], size=2))
        rng.shuffle(words)
        texts.append(" ".join(words) + " OOVTOKEN!")
        labels.append(c + 1)
    return texts, labels


def test_tokenize():
    assert tokenize("The Cat's ''hat'', 1961; U.S.-made don't") == ["the", "cat's", "hat", "1961", "u", "s", "made", "don't"]


def test_network_equals_packed_bidirectional_gru():
    torch.manual_seed(0)
    emb = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    emb[0] = 0
    net = BiGRUNet(emb, n_out=3, hidden=5)
    ref = torch.nn.GRU(6, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(net.gru_fwd, name))
            getattr(ref, name + "_reverse").copy_(getattr(net.gru_bwd, name))
    seqs = [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10, 11]]
    ids, lengths = _pad(seqs)
    with torch.no_grad():
        fwd, bwd, _ = net.states(ids, lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(net.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        out, h_n = ref(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
        torch.testing.assert_close(fwd, out[..., :5])
        torch.testing.assert_close(bwd, out[..., 5:])
        mean_feature = (0.5 * (out[..., :5] + out[..., 5:])).sum(1) / lengths[:, None]
        torch.testing.assert_close(net.features(ids, lengths), mean_feature)
        net.pooling = "last"
        torch.testing.assert_close(net.features(ids, lengths), 0.5 * (h_n[0] + h_n[1]))


def test_training_shapes_determinism_and_logging():
    kv = _toy_kv()
    texts, labels = _toy_corpus()
    logged = []
    kw = {"epochs": 4, "batch_size": 8, "lr": 1e-2, "seed": 5, "progress": False}
    Ftr, Fte, enc = bigru_features(texts[:45], labels[:45], texts[45:], kv, log=lambda e, l: logged.append((e, l)), **kw)
    assert Ftr.shape == (45, 64) and Fte.shape == (15, 64) and Ftr.dtype == np.float32
    assert [e for e, _ in logged] == [1, 2, 3, 4] and len(enc.epoch_seconds) == 4
    assert enc.history[-1] < enc.history[0]  # the training loss goes down
    assert enc.label_values == [1, 2, 3]
    Ftr2, Fte2, _ = bigru_features(texts[:45], labels[:45], texts[45:], kv, **kw)
    np.testing.assert_array_equal(Ftr, Ftr2)
    np.testing.assert_array_equal(Fte, Fte2)
    assert np.abs(Ftr).max() < 1  # a mean of tanh-bounded GRU states
    acc = (np.array(enc.label_values)[enc.predict_logits(texts[:45]).argmax(1)] == np.array(labels[:45])).mean()
    assert acc > 0.6


def test_multilabel_and_options():
    kv = _toy_kv()
    texts, labels = _toy_corpus(30)
    multi = [(c, 7) if i % 2 else (c,) for i, c in enumerate(labels)]
    enc = train_bigru(texts, multi, kv, multilabel=True, epochs=2, batch_size=8, progress=False, merge="concat")
    assert enc.label_values == [1, 2, 3, 7] and enc.dim == 128
    assert enc.transform(texts[:3]).shape == (3, 128)
    enc = train_bigru(texts, labels, kv, epochs=1, progress=False, pooling="last", hidden=16)
    assert enc.transform(texts[:2]).shape == (2, 16)


def test_oov_dropped_and_errors():
    kv = _toy_kv()
    enc = train_bigru(["cat dog", "sea ship"], [0, 1], kv, epochs=1, progress=False)
    assert enc.indexer.encode("CAT zzz dog!") == enc.indexer.encode("cat dog")
    with pytest.raises(ValueError, match="no in-vocabulary token"):
        enc.transform(["zzz qqq"])
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        train_bigru(["cat", "dog"], [0], kv, progress=False)
    with pytest.raises(ValueError, match="merge"):
        train_bigru(["cat", "dog"], [0, 1], kv, merge="max", progress=False)


@pytest.fixture(scope="module")
def glove():
    from crossmodal.features.bigru import default_glove

    return default_glove()


@pytest.mark.shared_data
def test_wikipedia_subset_fast(shared_data, glove):
    from crossmodal.datasets.wikipedia_texts import load_wikipedia_texts

    splits, _ = load_wikipedia_texts(shared_data / "wikipedia")
    tr, te = splits["train"], splits["test"]
    kw = {"epochs": 1, "batch_size": 16, "max_len": 40, "seed": 0, "progress": False}
    a_tr, a_te, _ = bigru_features(tr.texts[:64], tr.labels[:64], te.texts[:16], glove, **kw)
    _, b_te, _ = bigru_features(tr.texts[:64], tr.labels[:64], te.texts[:16], glove, **kw)
    assert a_tr.shape == (64, 64) and a_te.shape == (16, 64)
    np.testing.assert_array_equal(a_te, b_te)
    assert np.isfinite(a_tr).all()


@pytest.mark.slow
@pytest.mark.shared_data
def test_wikipedia_bigru_retrieval_map(shared_data, glove):
    """Train on the 2,173 training texts; test-split text->text class mAP is far above chance."""
    from crossmodal.datasets.wikipedia import load_wikipedia
    from crossmodal.datasets.wikipedia_texts import load_wikipedia_texts
    from crossmodal.metrics.peers import retrieval_map

    splits, _ = load_wikipedia_texts(shared_data / "wikipedia")
    tr, te = splits["train"], splits["test"]
    _, F_te, enc = bigru_features(tr.texts, tr.labels, te.texts, glove, epochs=5, max_len=500, seed=0, progress=False)
    ours = retrieval_map(F_te, F_te, te.labels)
    lab = np.array(te.labels)
    chance = float(np.mean([(lab == c).mean() for c in lab]))  # expected precision of a random ranking
    lda = retrieval_map(load_wikipedia(shared_data / "wikipedia")["test"].text, load_wikipedia(shared_data / "wikipedia")["test"].text, te.labels)
    print(f"biGRU test mAP {ours:.3f}, LDA-10 {lda:.3f}, chance {chance:.3f}, losses {np.round(enc.history, 3)}")
    assert ours > chance + 0.25
