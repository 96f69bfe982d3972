"""ImageNet-1k concept set: the word policy on tiny synthetic resources, then the real build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from crossmodal.datasets.imagenet_concepts import (
    DUPLICATE_WORD,
    KEPT,
    MULTIWORD_ONLY,
    NOT_IN_GLOVE,
    build_imagenet_concepts,
    default_resources,
)

# class index -> lemmas; see the expectations in the tests below.
TOY_LEMMAS = [
    "Crane",
    "great white shark, man-eater",
    "crane, derrick",
    "lesser panda, red panda, panda",
    "giant panda, panda",
    "qwertyx zzz, blorf",
    "foo bar",
]
TOY_VOCAB = ["crane", "derrick", "man-eater", "great", "white", "shark", "panda", "giant", "foo", "the"]


@pytest.fixture()
def toy(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    n = len(TOY_LEMMAS)
    torch.save({"_fc.weight": torch.from_numpy(rng.standard_normal((n, 4)).astype(np.float32))}, tmp_path / "w.pth")
    wnids = [f"n{i:08d}" for i in range(n)]
    (tmp_path / "syn.txt").write_text("\n".join(wnids) + "\n")
    # Extra synsets in the lemma file must be ignored (timm's file covers ImageNet-22k).
    (tmp_path / "lem.txt").write_text("\n".join(f"{s}\t{lem}" for s, lem in zip(wnids, TOY_LEMMAS)) + "\nn99999999\tx\n")
    np.save(tmp_path / "emb.npy", rng.standard_normal((len(TOY_VOCAB), 3)).astype(np.float32))
    pd.DataFrame({"index": TOY_VOCAB}).to_parquet(tmp_path / "idx.parquet")
    return {"weights": tmp_path / "w.pth", "synsets": tmp_path / "syn.txt", "lemmas": tmp_path / "lem.txt",
            "glove_emb": tmp_path / "emb.npy", "glove_index": tmp_path / "idx.parquet"}


def _check_rows(ps, toy: dict[str, Path], expected: dict[int, str]) -> None:
    W = torch.load(toy["weights"])["_fc.weight"].numpy()
    emb = np.load(toy["glove_emb"])
    row = {w: i for i, w in enumerate(TOY_VOCAB)}
    assert ps.labels == [(ci,) for ci in sorted(expected)]
    assert ps.keys == [expected[ci] for ci in sorted(expected)]
    for i, ci in enumerate(sorted(expected)):
        np.testing.assert_array_equal(ps.image[i], W[ci])
        ref = np.mean([emb[row[t]].astype(np.float64) for t in expected[ci].split()], axis=0)
        np.testing.assert_allclose(ps.text[i], ref.astype(np.float32), rtol=0, atol=1e-7)


def test_policy_skip(toy: dict[str, Path]) -> None:
    ps, rep = build_imagenet_concepts(**toy, multiword="skip")
    status = {r.class_index: r.status for r in rep.records}
    # 0: first lemma, lowercased. 1: multi-word first lemma skipped, hyphenated word kept.
    # 2: "crane" tie at rank 0 -> lower class index (0) wins; no fallback to "derrick".
    # 3 vs 4: "panda" is lemma 2 of class 3 but lemma 1 of class 4 -> class 4 wins.
    # 5: has a single-word lemma, not in GloVe. 6: only multi-word lemmas.
    _check_rows(ps, toy, {0: "crane", 1: "man-eater", 4: "panda"})
    assert status == {0: KEPT, 1: KEPT, 2: DUPLICATE_WORD, 3: DUPLICATE_WORD, 4: KEPT, 5: NOT_IN_GLOVE, 6: MULTIWORD_ONLY}
    assert (rep.total, rep.kept) == (7, 3)
    assert rep.dropped == {MULTIWORD_ONLY: 1, NOT_IN_GLOVE: 1, DUPLICATE_WORD: 2}
    assert (rep.n_averaged, rep.n_not_first_lemma) == (0, 2)


def test_policy_average(toy: dict[str, Path]) -> None:
    ps, rep = build_imagenet_concepts(**toy, multiword="average")
    status = {r.class_index: r.status for r in rep.records}
    _check_rows(ps, toy, {0: "crane", 1: "great white shark", 3: "panda", 4: "giant panda"})
    assert status[2] == DUPLICATE_WORD and status[5] == NOT_IN_GLOVE and status[6] == NOT_IN_GLOVE
    assert rep.n_averaged == 2


def test_class_count_mismatch_fails(toy: dict[str, Path]) -> None:
    toy["synsets"].write_text("\n".join(toy["synsets"].read_text().split()[:-1]))
    with pytest.raises(ValueError, match="7 classes but syn.txt lists 6"):
        build_imagenet_concepts(**toy)


# ---- the real resources (installed packages) ----


@pytest.fixture(scope="module")
def real():
    try:
        res = default_resources()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    ps, rep = build_imagenet_concepts(res.weights, res.synsets, res.lemmas, res.glove_emb, res.glove_index)
    return res, ps, rep


def test_real_counts_and_shapes(real) -> None:
    res, ps, rep = real
    n_classes = len(res.synsets.read_text().split())
    assert rep.total == n_classes == 1000
    assert rep.kept + sum(rep.dropped.values()) == rep.total
    assert len(ps) == rep.kept > 0
    assert ps.image.shape == (rep.kept, 1280) and ps.text.shape == (rep.kept, 50)
    assert len(set(ps.keys)) == len(ps) and all(" " not in k for k in ps.keys)
    idx = [lab[0] for lab in ps.labels]
    assert idx == sorted(idx)
    print(rep.summary())


def test_real_spot_check_tabby(real) -> None:
    res, ps, rep = real
    wnids = res.synsets.read_text().split()
    ci = wnids.index("n02123045")  # the synset whose lemmas start with "tabby"
    words = pd.read_parquet(res.glove_index)["index"].tolist()
    g_row = words.index("tabby")
    i = ps.labels.index((ci,))
    assert ps.keys[i] == "tabby"
    np.testing.assert_array_equal(ps.text[i], np.load(res.glove_emb, mmap_mode="r")[g_row])
    W = torch.load(res.weights, map_location="cpu", weights_only=True)["_fc.weight"]
    np.testing.assert_array_equal(ps.image[i], W[ci].numpy())


def test_real_duplicates_go_to_most_relevant_claimant(real) -> None:
    _, ps, rep = real
    kept = {r.key: r for r in rep.records if r.status == KEPT}
    dups = [r for r in rep.records if r.status == DUPLICATE_WORD]
    assert len(dups) == rep.dropped[DUPLICATE_WORD] > 0
    for r in dups:
        winner = kept[r.key]
        assert (winner.lemma_rank, winner.class_index) < (r.lemma_rank, r.class_index)


def test_real_class_order_matches_synsets(real) -> None:
    """Visual templates and word vectors must share similarity structure; a misaligned
    class order (weights vs synset list) would leave none."""
    _, ps, _ = real

    def cos(Z: np.ndarray) -> np.ndarray:
        Z = Z.astype(np.float64)
        Z = Z / np.linalg.norm(Z, axis=1, keepdims=True)
        return Z @ Z.T

    iu = np.triu_indices(len(ps), 1)
    t = cos(ps.text)[iu]
    real_r = np.corrcoef(cos(ps.image)[iu], t)[0, 1]
    rng = np.random.default_rng(0)
    shuffled = [np.corrcoef(cos(ps.image[rng.permutation(len(ps))])[iu], t)[0, 1] for _ in range(3)]
    assert real_r > max(abs(s) for s in shuffled) + 0.05
