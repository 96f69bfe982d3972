"""Experiment 2 on visual word vectors, low-coverage benchmarks, and Table 12.

Numbers are checked against independent recomputations (raw npz arrays, scipy), never against
hard-coded values. The workflow tests run Snakemake in a tmp folder like tests/test_workflow.py.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from crossmodal.datasets.experiment1 import concept_set
from crossmodal.datasets.imagenet_concepts import default_resources
from crossmodal.datasets.paired import save_paired
from crossmodal.datasets.word_vector_files import keyed_vectors_from_arrays
from crossmodal.datasets.wordsim import read_wordsim
from crossmodal.experiments.similarity import untrained_mapping_rhos
from crossmodal.features.synsets import SynsetVectors, save_synset_vectors
from crossmodal.features.visual_words import (
    concept_visual_words,
    read_label,
    save_visual_words,
    synset_visual_words,
)
from crossmodal.features.word_vectors import load_keyed_vectors
from crossmodal.tables.table2 import read_rhos, summarise_rhos, table2_wide
from crossmodal.tables.table12 import BenchmarkColumn, Slot, table12
from test_experiment2 import independent_rhos

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "2"]
GENSIM_DATA = __import__("gensim").__path__[0] + "/test/test_data"
TINY = {"benchmarks": ["ws353"], "n_seeds": 2, "output_dim": 32, "nn_hidden_dim": 16}


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, "-d", str(workdir), *args], capture_output=True, text=True, timeout=600)


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# --- visual word vectors from the concept set ---------------------------------------------------


@pytest.fixture(scope="module")
def concept_files(tmp_path_factory):
    """The real concept set (installed packages) saved as npz, and its visual KeyedVectors."""
    try:
        res = default_resources()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    ps, _ = concept_set(res.weights, res.synsets, res.lemmas, res.glove_emb, res.glove_index, name="imagenet1k_concepts")
    folder = tmp_path_factory.mktemp("visual")
    save_paired(ps, folder / "dataset.npz")
    save_visual_words(concept_visual_words(ps), folder / "concepts.kv", folder / "concepts.json")
    return folder


def _raw_concepts(folder: Path) -> tuple[list[str], np.ndarray]:
    """Keys and image matrix read straight from the npz, without the library's loader."""
    with np.load(folder / "dataset.npz") as npz:
        return [str(k) for k in npz["keys"]], np.asarray(npz["image"], dtype=np.float32)


def test_concept_kv_holds_exactly_the_concept_words_and_image_vectors(concept_files):
    keys, image = _raw_concepts(concept_files)
    kv = load_keyed_vectors(concept_files / "concepts.kv")
    assert kv.index_to_key == keys
    np.testing.assert_array_equal(kv.vectors, image)
    label = read_label(concept_files / "concepts.json")
    assert label == f"EfficientNet-Lite0 class templates, {image.shape[1]}-d (ImageNet-1k concept set, {len(keys)} words)"
    assert "resnet" not in label.lower()
    info = json.loads((concept_files / "concepts.json").read_text())
    assert info["n_words"] == len(keys) and info["dim"] == image.shape[1]


def _independent_rhos(words: list[str], matrix: np.ndarray, pairs: pd.DataFrame) -> tuple[dict[str, float], int]:
    return independent_rhos({w: i for i, w in enumerate(words)}, matrix, pairs)


@pytest.mark.parametrize(
    "benchmark, min_pairs",
    [
        (f"{GENSIM_DATA}/simlex999.txt", 3),  # offline: a handful of pairs, threshold lowered to compute them
        ("wordsim/EN-VisSim.txt", 30),  # mirror: several hundred pairs
    ],
)
def test_visual_input_rho_equals_scipy_on_the_covered_pairs(concept_files, benchmark, min_pairs, request):
    path = Path(benchmark) if benchmark.startswith("/") else request.getfixturevalue("shared_data") / benchmark
    pairs = read_wordsim(path)
    words, image = _raw_concepts(concept_files)
    expected, n_used = _independent_rhos(words, image, pairs)
    assert n_used >= min_pairs
    got = untrained_mapping_rhos(load_keyed_vectors(concept_files / "concepts.kv"), pairs, n_seeds=2,
                                 output_dim=32, hidden_dim=16, min_pairs=min_pairs)
    assert (got["reason"] == "").all() and got["n_pairs"].iloc[0] == n_used
    assert got["n_dropped"].iloc[0] == len(pairs) - n_used
    inputs = got[got["model"] == "input"].set_index("similarity")["rho"]
    # 1e-4, not 1e-12: VisSim has self-pairs ("mink mink", "bow bow") whose cosine is 1 only up to
    # the last bit; how the sum is ordered decides which of them ranks first (rho moves by ~2e-5).
    for sim in ("cos", "eucl"):
        assert inputs[sim] == pytest.approx(expected[sim], abs=1e-4)


def test_visual_rows_are_labelled_honestly_and_na_below_min_pairs(concept_files):
    """Offline WS-353 shares only a few pairs with the concept words: Table 2 shows n/a and why."""
    pairs = read_wordsim(f"{GENSIM_DATA}/wordsim353.tsv")
    words, image = _raw_concepts(concept_files)
    _, n_used = _independent_rhos(words, image, pairs)
    assert n_used < 30
    got = untrained_mapping_rhos(load_keyed_vectors(concept_files / "concepts.kv"), pairs, n_seeds=2,
                                 output_dim=32, hidden_dim=16, min_pairs=30)
    label = read_label(concept_files / "concepts.json")
    long = got.assign(embedding="visual-imagenet1k_concepts", embedding_label=label, benchmark="ws353",
                      benchmark_label="WS-353", benchmark_source="gensim_wordsim353")
    wide = table2_wide(summarise_rhos(long))
    assert list(wide.index) == [f"f_nn({label})", f"f_lin({label})", label]
    assert (wide[["WS-353 cos", "WS-353 eucl"]] == "n/a").all().all()
    assert set(wide["note"]) == {f"WS-353: {n_used} of {len(pairs)} pairs covered by the vocabulary (< 30): no rho computed"}


# --- low coverage -------------------------------------------------------------------------------


@pytest.mark.parametrize("n_covered", [0, 4])
def test_low_coverage_gives_na_with_the_reason_not_a_rho(n_covered):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(10)]
    kv = keyed_vectors_from_arrays(words, rng.normal(size=(10, 6)))
    covered = [(words[i], words[i + 1], float(i)) for i in range(n_covered)]
    oov = [(f"zz{i}", "w0", 1.0) for i in range(6)]
    pairs = pd.DataFrame(covered + oov, columns=["word1", "word2", "score"])
    got = untrained_mapping_rhos(kv, pairs, n_seeds=3, output_dim=8, hidden_dim=4, min_pairs=5)
    assert got["rho"].isna().all() and (got["n_pairs"] == n_covered).all()
    assert (got["reason"] == f"{n_covered} of {len(pairs)} pairs covered by the vocabulary (< 5): no rho computed").all()
    assert sorted(set(got["model"])) == ["f_lin", "f_nn", "input"]

    # In a table beside a computed embedding: n/a cells, the reason in `note`, and the missing
    # cells do not count in the Bonferroni adjustment.
    good = untrained_mapping_rhos(kv, pd.DataFrame([(words[i], words[j], float(i * j)) for i in range(5) for j in range(5, 10)],
                                                   columns=["word1", "word2", "score"]), 3, 8, 4, min_pairs=5)
    meta = dict(benchmark="b", benchmark_label="B", benchmark_source="src")
    long = pd.concat([good.assign(embedding="good", embedding_label="Good", **meta),
                      got.assign(embedding="thin", embedding_label="Thin", **meta)], ignore_index=True)
    summary = summarise_rhos(long)
    alone = summarise_rhos(long[long["embedding"] == "good"])
    np.testing.assert_array_equal(summary["p_adjusted"].to_numpy()[:6], alone["p_adjusted"].to_numpy())
    thin = summary[summary["embedding"] == "thin"]
    assert not thin["available"].any() and thin["rho_mean"].isna().all() and not thin["significant"].any()
    wide = table2_wide(summary)
    assert list(wide.columns) == ["B cos", "B eucl", "note"]
    assert (wide.loc[["f_nn(Thin)", "f_lin(Thin)", "Thin"], ["B cos", "B eucl"]] == "n/a").all().all()
    assert wide.loc["Thin", "note"] == f"B: {got['reason'].iloc[0]}"
    assert wide.loc["Good", "note"] == "" and wide.loc["Good", "B cos"] != "n/a"


# --- synset centroids -----------------------------------------------------------------------------


def test_synset_centroids_become_visual_word_vectors(tmp_path):
    rng = np.random.default_rng(1)
    sv = SynsetVectors(words=["tabby", "teapot", "great white shark"], synsets=["n02123045", "n04398044", "n01484850"],
                       vectors=rng.normal(size=(3, 5)).astype(np.float32), n_images=[60, 51, 70], encoder="VGG-M-128",
                       random_weights=False, min_images=50, filtered={"n00000001": 3})
    save_synset_vectors(tmp_path / "vgg-m-128.npz", sv)
    vw = synset_visual_words(tmp_path / "vgg-m-128.npz")
    save_visual_words(vw, tmp_path / "s.kv", tmp_path / "s.json")
    kv = load_keyed_vectors(tmp_path / "s.kv")
    assert kv.index_to_key == sv.words
    np.testing.assert_array_equal(kv.vectors, sv.vectors)
    assert read_label(tmp_path / "s.json") == "VGG-M-128 synset centroids, 5-d (3 words, > 50 images each)"

    empty = SynsetVectors(words=[], synsets=[], vectors=np.zeros((0, 5), np.float32), n_images=[], encoder="VGG-M-128",
                          random_weights=False, min_images=50)
    save_synset_vectors(tmp_path / "empty.npz", empty)
    with pytest.raises(ValueError, match="no synset kept"):
        synset_visual_words(tmp_path / "empty.npz")


# --- Table 12 (library) ----------------------------------------------------------------------------

BENCHES = [BenchmarkColumn("ws353", "WS-353", "gensim_wordsim353"), BenchmarkColumn("simlex999", "SimLex-999", "gensim_simlex999")]


def test_table12_with_nothing_configured_keeps_every_row_as_na_with_its_reason():
    slots = [Slot("word2vec", "word2vec", None, "no word2vec here"), Slot("vgg128", "VGG-128", None, "no images here")]
    wide, long = table12(None, slots, BENCHES)
    rows = ["f_nn(word2vec)", "f_lin(word2vec)", "word2vec", "f_nn(VGG-128)", "f_lin(VGG-128)", "VGG-128"]
    assert list(wide.index) == rows and wide.index.name == "embedding"
    assert list(wide.columns) == ["paper_row", "WS-353 cos", "WS-353 eucl", "SimLex-999 cos", "SimLex-999 eucl", "note"]
    assert (wide.drop(columns=["paper_row", "note"]) == "n/a").all().all()
    assert list(wide["note"]) == ["no word2vec here"] * 3 + ["no images here"] * 3
    assert len(long) == 2 * 3 * 2 * 2 and not long["available"].any() and long["rho_mean"].isna().all()
    assert (long["embedding_label"] == "").all()  # nothing is shown under the paper's names


# --- the workflow ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config, named",
    [
        ({"experiment2": {"table12": {"glove": "x"}}}, "experiment2.table12.glove: unknown key"),
        ({"experiment2": {"visual": ["resnet"]}}, "experiment2.visual"),
    ],
)
def test_bad_experiment2_config_is_rejected_naming_the_key(tmp_path, config, named):
    result = snakemake(tmp_path, config, "-n")
    assert result.returncode != 0
    assert "invalid config: " + named in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_synset_folder_wires_visual_rows_and_the_vgg128_slot(tmp_path):
    (tmp_path / "images").mkdir()
    config = {"experiment2": {**TINY, "visual": "auto"},
              "features": {"synsets": {"folder": str(tmp_path / "images"), "encoder": "vgg-m-128"}}}
    result = snakemake(tmp_path, config, "-n", "results/tables/table2.csv", "results/tables/table12.csv")
    assert result.returncode == 0, result.stdout + result.stderr
    for path in ("results/experiment2/visual-imagenet1k_concepts/ws353.csv", "results/experiment2/visual-synsets-vgg-m-128/ws353.csv",
                 "results/features/visual/synsets-vgg-m-128.kv", "results/features/synsets/vgg-m-128.npz"):
        assert path in result.stdout, path


@pytest.fixture(scope="module")
def tiny_table12(tmp_path_factory):
    """Table 12 with GloVe-6B-50d in the word2vec slot and VGG-128 unset (Table 2 left out: time)."""
    workdir = tmp_path_factory.mktemp("tiny12")
    config = {"experiment2": {**TINY, "visual": [], "table12": {"word2vec": "glove-6b-50d", "vgg128": None}}}
    result = snakemake(workdir, config, "results/tables/table12.csv")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return workdir


def test_tiny_table12_labels_the_configured_slot_by_its_own_embedding(tiny_table12):
    rows = read_csv_rows(tiny_table12 / "results/tables/table12.csv")
    assert list(rows[0]) == ["embedding", "paper_row", "WS-353 cos", "WS-353 eucl", "note"]
    assert [r["embedding"] for r in rows] == ["f_nn(GloVe-6B-50d)", "f_lin(GloVe-6B-50d)", "GloVe-6B-50d",
                                              "f_nn(VGG-128)", "f_lin(VGG-128)", "VGG-128"]
    assert [r["paper_row"] for r in rows[:3]] == ["f_nn(word2vec)", "f_lin(word2vec)", "word2vec"]
    assert all(r["note"].startswith("GloVe-6B-50d in the paper's word2vec rows") for r in rows[:3])
    assert all(r[c] == "n/a" for r in rows[3:] for c in ("WS-353 cos", "WS-353 eucl"))
    assert all(r["note"] == "not configured (experiment2.table12.vgg128 is null)" for r in rows[3:])
    # The GloVe rows are Table 2's computation on the same rho file, with the table's own Bonferroni.
    rhos = read_rhos([tiny_table12 / "results/experiment2/glove-6b-50d/ws353.csv"])
    expected = summarise_rhos(rhos)
    long = pd.read_csv(tiny_table12 / "results/tables/table12_long.csv", keep_default_na=False)
    assert list(long.columns) == ["slot", "paper_row", *expected.columns]
    got = long[long["slot"] == "word2vec"].reset_index(drop=True)
    for col in ("model", "similarity", "embedding_label"):
        assert list(got[col]) == list(expected[col])
    numbers = pd.read_csv(tiny_table12 / "results/tables/table12_long.csv")  # empty cells -> NaN
    numbers = numbers[numbers["slot"] == "word2vec"].reset_index(drop=True)
    for col in ("rho_mean", "rho_std", "p_value", "p_adjusted"):
        np.testing.assert_allclose(numbers[col], expected[col].astype(float), rtol=1e-12)
    for r, (_, e) in zip(rows[:3], expected[expected["similarity"] == "cos"].iterrows()):
        assert r["WS-353 cos"].rstrip("*") == f"{e['rho_mean']:.3f}"
    vgg = long[long["slot"] == "vgg128"]
    assert len(vgg) == 3 * 2 and not (vgg["available"] == "True").any() and (vgg["embedding_label"] == "").all()
