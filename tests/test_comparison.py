"""comparison.csv: every published value once, beside the right one of ours, with notes and findings.

The long tables here are synthetic (random numbers in the real column layout), written to CSV and
read back as the rule does; every expectation is recomputed from them by a direct lookup.
"""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossmodal.report.heatmap import (
    heatmap_axes,
    heatmap_cells,
    heatmap_matrix,
    plot_heatmap,
)
from crossmodal.tables.comparison import (
    PUBLISHED_SHA256,
    compare,
    missing_notes,
    normalise_experiment2,
    published_finding,
    read_comparison,
    read_long,
    read_published,
    read_standins,
    summarise_comparison,
)

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "workflow" / "resources" / "published_tables.csv"
STANDINS = ROOT / "workflow" / "resources" / "paper_standins.csv"
SHARED_PUBLISHED = ROOT.parent / "shared" / "paper" / "published_tables.csv"

# (dataset, image feature, text feature, protocol, label) of the synthetic Experiment 1 runs.
PAIRS = [
    ("imagenet1k_concepts", "efficientnet_lite0_fc", "glove6b50d", "cv", "ImageNet-1k concept set (synthetic)"),
    ("iaprtc12", "vgg128", "biGRU", "cv", "IAPR TC-12 (test split, 5-fold CV)"),
    ("wikipedia", "sift128", "bigru", "split", "Wikipedia (official split, 5 runs)"),
    ("wikipedia", "sift128", "lda10", "split", "Wikipedia (official split, 5 runs)"),
]
SETTINGS = [("lin", "mse"), ("nn", "mse"), ("nn-3", "mse"), ("nn-5", "mse"),
            ("lin", "cosine"), ("nn", "cosine"), ("lin", "max-margin"), ("nn", "max-margin")]  # fmt: skip
BENCH = {"ws353": "WS-353", "men": "MEN", "semsim": "SemSim", "vissim": "VisSim", "simlex999": "SimLex-999",
         "simverb3500": "SimVerb-3500"}  # fmt: skip
# The test's own reading of the stand-in map (paper features -> our keys), for direct lookups.
EXPECTED_STANDIN = {
    ("ImageNet", "ResNet", "GloVe"): ("imagenet1k_concepts", "efficientnet_lite0_fc", "glove6b50d"),
    ("IAPR TC-12", "VGG-128", "biGRU"): ("iaprtc12", "vgg128", "biGRU"),
    ("Wikipedia", "VGG-128", "biGRU"): ("wikipedia", "sift128", "bigru"),
}
NO_STANDIN = [("ImageNet", "VGG-128", "GloVe"), ("IAPR TC-12", "ResNet", "biGRU"), ("Wikipedia", "ResNet", "biGRU"),
              ("ImageNet", "ResNet", "word2vec"), ("ImageNet", "VGG-128", "word2vec")]  # fmt: skip


def synthetic_experiment1(seed: int = 0, pairs=PAIRS, settings=SETTINGS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for (dataset, image, text, protocol, label), direction, (mapping, loss), metric, k, self_rule in itertools.product(
        pairs, ("i2t", "t2i"), settings, ("cosine", "euclidean"), (5, 10), ("include", "exclude")
    ):
        x, y = rng.uniform(0.1, 0.8, size=2)
        rows.append({
            "dataset": dataset, "dataset_label": label, "direction": direction, "mapping": mapping, "loss": loss,
            "image_feature": image, "image_label": f"{image} label", "text_feature": text, "text_label": f"{text} label",
            "protocol": protocol, "n_items": 100, "n_train": 0, "hp_source": "authors", "lr": 1e-4, "hidden": "",
            "dropout": "", "margin": "", "epochs": 2, "batch_size": 64, "metric": metric, "k": k, "self": self_rule,
            "n_evaluations": 5, "n_items_tested": int(rng.integers(50, 100)),
            "mnno_x_fx_mean": x, "mnno_x_fx_std": rng.uniform(0, 0.05), "mnno_y_fx_mean": y,
            "mnno_y_fx_std": rng.uniform(0, 0.05), "mnno_x_y_mean": 0.2, "mnno_x_y_std": 0.01, "mse_mean": 1.0,
            "mse_std": 0.1, "r2_mean": 0.0, "r2_std": 0.0, "n_unsteady": 0, "p_value": rng.uniform(0, 0.01),
            "p_adjusted": 0.001, "significant": bool(rng.integers(0, 2)),
        })  # fmt: skip
    return pd.DataFrame(rows)


def synthetic_experiment2(embeddings: dict[str, str], seed: int = 1, unavailable: set[str] = frozenset()) -> pd.DataFrame:
    """Rows as table2_long.csv: ``embeddings`` key -> label; ``unavailable`` benchmarks have no rho.

    A key "slot:<name>" makes Table 12 rows of an unfilled slot (no embedding, every cell n/a)."""
    rng = np.random.default_rng(seed)
    rows = []
    for (emb, label), bench, sim in itertools.product(embeddings.items(), BENCH, ("cos", "eucl")):
        base = rng.uniform(0.2, 0.7)
        for model in ("f_nn", "f_lin", "input"):
            na = bench in unavailable
            rho = np.nan if na else (base if model == "input" else base + rng.uniform(-0.1, 0.05))
            rows.append({
                "embedding": "" if emb.startswith("slot:") else emb, "embedding_label": label, "model": model, "benchmark": bench,
                "benchmark_label": BENCH[bench], "benchmark_source": f"wordsim_{bench}", "similarity": sim,
                "rho_mean": rho, "rho_std": np.nan if na else 0.01, "n_seeds": 0 if model == "input" else 10,
                "p_value": np.nan, "n_pairs": int(rng.integers(10, 300)), "n_dropped": int(rng.integers(0, 3)),
                "p_adjusted": np.nan, "significant": False, "available": not na,
                "reason": "3 of 353 pairs covered by the vocabulary (< 10): no rho computed" if na else "",
            })  # fmt: skip
    return pd.DataFrame(rows)


def roundtrip(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    df.to_csv(path, index=False)
    return read_long(path)


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return read_published(PUBLISHED)


@pytest.fixture(scope="module")
def standins() -> pd.DataFrame:
    return read_standins(STANDINS)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("longs")
    exp1 = roundtrip(synthetic_experiment1(), tmp / "experiment1_long.csv")
    table2 = roundtrip(synthetic_experiment2({"glove-6b-50d": "GloVe-6B-50d",
                                              "visual-imagenet1k_concepts": "EfficientNet-Lite0 concepts"},
                                             unavailable={"simverb3500"}), tmp / "table2_long.csv")  # fmt: skip
    w2v = synthetic_experiment2({"slot:word2vec": ""}, unavailable=set(BENCH)).assign(slot="word2vec")
    vgg = synthetic_experiment2({"visual-synsets-vgg-m-128": "VGG-M-128 synset centroids"}, seed=3).assign(slot="vgg128")
    table12 = roundtrip(pd.concat([w2v, vgg], ignore_index=True), tmp / "table12_long.csv")
    return {"exp1": exp1, "table2": table2, "table12": table12}


@pytest.fixture(scope="module")
def comparison(published, standins, inputs, tmp_path_factory) -> pd.DataFrame:
    table = compare(published, standins, inputs["exp1"], normalise_experiment2(inputs["table2"], inputs["table12"]))
    path = tmp_path_factory.mktemp("cmp") / "comparison.csv"
    table.to_csv(path, index=False)
    return read_comparison(path)  # as a reader of the file sees it


# --- the shipped transcription --------------------------------------------------------------------


def test_shipped_copy_has_the_recorded_sha256():
    assert hashlib.sha256(PUBLISHED.read_bytes()).hexdigest() == PUBLISHED_SHA256


def test_shipped_copy_equals_the_shared_transcription():
    if not SHARED_PUBLISHED.is_file():
        pytest.skip(f"{SHARED_PUBLISHED} not present (fresh clone): only the recorded sha256 is checked")
    assert PUBLISHED.read_bytes() == SHARED_PUBLISHED.read_bytes()


def test_an_altered_transcription_is_refused(tmp_path):
    altered = tmp_path / "published_tables.csv"
    altered.write_bytes(PUBLISHED.read_bytes().replace(b"0.681", b"0.682", 1))
    with pytest.raises(ValueError, match="sha256"):
        read_published(altered)


# --- one row per published value --------------------------------------------------------------------


def test_every_published_row_appears_exactly_once_in_order(published, comparison):
    assert len(published) == 560 == len(comparison)
    keys = ["table", "experiment", "dataset", "direction", "model", "loss", "neighbours", "text_features",
            "image_features", "embedding", "column", "similarity", "k", "label_note"]  # fmt: skip
    assert (comparison[keys].to_numpy() == published[keys].to_numpy()).all()
    assert np.allclose(comparison["published_value"], published["value"].astype(float))
    assert (comparison["published_significant"] == published["significant"]).all()


def test_every_number_of_ours_has_a_note_and_every_gap_a_reason(comparison):
    assert missing_notes(comparison).empty
    compared = comparison["status"] == "compared"
    assert set(comparison["status"]) <= {"compared", "not available"}
    assert comparison.loc[compared, "ours"].notna().all()
    assert comparison.loc[~compared, "ours"].isna().all() and comparison.loc[~compared, "delta"].isna().all()
    assert (comparison.loc[~compared, "reason"] != "").all() and (comparison.loc[compared, "reason"] == "").all()
    assert (comparison.loc[~compared, "finding_holds"] == "").all()


def test_delta_is_ours_minus_published(comparison):
    c = comparison[comparison["ours"].notna()]
    assert len(c) > 0
    assert np.allclose(c["delta"], c["ours"] - c["published_value"])


# --- Experiment 1: the right cell, the finding --------------------------------------------------------


def _direct_lookup(exp1: pd.DataFrame, row: pd.Series) -> pd.Series:
    dataset, image, text = EXPECTED_STANDIN[(row["dataset"], row["image_features"], row["text_features"])]
    hit = exp1[(exp1["dataset"] == dataset) & (exp1["image_feature"] == image) & (exp1["text_feature"] == text)
               & (exp1["direction"] == {"I->T": "i2t", "T->I": "t2i"}[row["direction"]])
               & (exp1["mapping"] == row["model"]) & (exp1["loss"] == row["loss"])
               & (exp1["metric"] == row["neighbours"]) & (exp1["k"] == 10) & (exp1["self"] == "include")]  # fmt: skip
    assert len(hit) == 1
    return hit.iloc[0]


def test_experiment1_values_come_from_the_matching_row_at_k10_with_self(comparison, inputs):
    exp1 = inputs["exp1"]
    c = comparison[(comparison["experiment"] == "1") & (comparison["status"] == "compared")]
    # every table with a stand-in setting we ran is compared (10 and 11 need word2vec)
    assert set(c["table"]) == {"1", "3", "4", "5", "6", "7", "8", "9"}
    for _, row in c.iterrows():
        ours = _direct_lookup(exp1, row)
        x_col = row["column"] == "X,f(X)"
        assert row["ours"] == pytest.approx(ours["mnno_x_fx_mean"] if x_col else ours["mnno_y_fx_mean"], abs=1e-12)
        assert row["ours_std"] == pytest.approx(ours["mnno_x_fx_std"] if x_col else ours["mnno_y_fx_std"], abs=1e-12)
        assert row["our_n"] == str(ours["n_items_tested"])
        assert row["finding_holds"] == str(bool(ours["mnno_x_fx_mean"] > ours["mnno_y_fx_mean"])).lower()
        assert row["ours_significant"] == (str(bool(ours["significant"])).lower() if x_col else "")
        assert ours["dataset_label"] in row["our_setting"]


def test_experiment1_finding_flags_are_not_all_alike(comparison):
    flags = set(comparison.loc[(comparison["experiment"] == "1") & (comparison["ours"].notna()), "finding_holds"])
    assert flags == {"true", "false"}  # the synthetic numbers go both ways: both branches are exercised


def test_stand_in_notes_name_the_data_difference(comparison):
    c = comparison[comparison["ours"].notna() & (comparison["experiment"] == "1")]
    notes = c.groupby("dataset")["data_note"].agg(set)
    assert all("GloVe-6B-50d" in n and "EfficientNet-Lite0" in n for n in notes["ImageNet"])
    assert all("5-fold CV" in n and "test split" in n for n in notes["IAPR TC-12"])
    assert all("SIFT-128" in n for n in notes["Wikipedia"])
    quirk = comparison[(comparison["label_note"] != "") & comparison["ours"].notna()]
    assert len(quirk) and quirk["data_note"].str.contains("label").all()


def test_cells_without_a_stand_in_are_not_available_with_the_reason(comparison, standins):
    for dataset, image, text in NO_STANDIN:
        rows = comparison[(comparison["dataset"] == dataset) & (comparison["image_features"] == image)
                          & (comparison["text_features"] == text)]  # fmt: skip
        assert len(rows) > 0
        assert (rows["status"] == "not available").all()
        reasons = set(standins.loc[(standins["paper_dataset"] == dataset) & (standins["paper_image_features"] == image)
                                   & (standins["paper_text_features"] == text) & (standins["reason"] != ""), "reason"])  # fmt: skip
        assert set(rows["reason"]) == reasons and all(r.startswith("no stand-in") for r in reasons)


def test_a_setting_not_run_says_so(published, standins, inputs):
    exp1 = inputs["exp1"][inputs["exp1"]["mapping"] != "nn-5"]
    table = compare(published, standins, exp1, normalise_experiment2(inputs["table2"]))
    rows = table[(table["model"] == "nn-5") & (table["dataset"] == "IAPR TC-12") & (table["image_features"] == "VGG-128")]
    assert len(rows) and (rows["status"] == "not available").all()
    assert rows["reason"].str.startswith("not run: experiment1_long.csv has results for iaprtc12/vgg128/biGRU").all()


def test_authors_release_is_preferred_and_named(published, standins, inputs):
    authors = synthetic_experiment1(seed=5, pairs=[("imagenet_authors", "resnet", "glove", "cv", "ImageNet (concepts)")])
    exp1 = pd.concat([inputs["exp1"], authors], ignore_index=True)
    table = compare(published, standins, exp1, normalise_experiment2(inputs["table2"]))
    rows = table[(table["dataset"] == "ImageNet") & (table["image_features"] == "ResNet") & (table["text_features"] == "GloVe")
                 & table["ours"].notna()]  # fmt: skip
    assert len(rows) and (rows["our_dataset"] == "imagenet_authors").all()
    assert (rows["data_note"].str.startswith("authors' released features")).all()
    first = rows.iloc[0]
    hit = authors[(authors["direction"] == {"I->T": "i2t", "T->I": "t2i"}[first["direction"]])
                  & (authors["mapping"] == first["model"]) & (authors["loss"] == first["loss"])
                  & (authors["metric"] == first["neighbours"]) & (authors["k"] == 10) & (authors["self"] == "include")]  # fmt: skip
    assert first["ours"] == pytest.approx(hit.iloc[0]["mnno_x_fx_mean" if first["column"] == "X,f(X)" else "mnno_y_fx_mean"])


def test_the_older_table1_long_without_loss_is_read_as_mse(published, standins, inputs):
    old = inputs["exp1"][inputs["exp1"]["loss"] == "mse"].drop(columns=["loss"])
    table = compare(published, standins, old, normalise_experiment2(inputs["table2"]))
    assert table.loc[table["table"] == "1", "ours"].notna().any()
    assert table.loc[table["table"] == "5", "ours"].isna().all()  # max-margin: not in an MSE-only table


# --- Experiment 2 ----------------------------------------------------------------------------------------

_BENCH_KEYS = {"WS-353": "ws353", "MEN": "men", "SemSim": "semsim", "VisSim": "vissim", "SimLex": "simlex999",
               "SimVerb": "simverb3500"}  # fmt: skip
_EMBEDDING_KEYS = {"GloVe": "glove-6b-50d", "ResNet": "visual-imagenet1k_concepts"}


def test_experiment2_values_and_finding_recomputed(comparison, inputs):
    t2 = inputs["table2"]
    c = comparison[(comparison["table"] == "2") & comparison["ours"].notna()]
    assert len(c) > 0
    for _, row in c.iterrows():
        emb = _EMBEDDING_KEYS[row["text_features"] or row["image_features"]]
        cell = t2[(t2["embedding"] == emb) & (t2["benchmark"] == _BENCH_KEYS[row["column"]])
                  & (t2["similarity"] == row["similarity"])]  # fmt: skip
        mine = cell[cell["model"] == row["model"]].iloc[0]
        ref = cell[cell["model"] == "input"].iloc[0]
        assert row["ours"] == pytest.approx(mine["rho_mean"], abs=1e-12)
        assert row["our_n"] == str(mine["n_pairs"])
        if row["model"] == "input":
            assert row["finding_holds"] == ""
        else:
            assert row["finding_holds"] == str(bool(mine["rho_mean"] - ref["rho_mean"] >= -0.05)).lower()
        if mine["n_dropped"]:
            assert f"cover {mine['n_pairs']} of {mine['n_pairs'] + mine['n_dropped']}" in row["data_note"]
    assert set(c.loc[c["model"] != "input", "finding_holds"]) == {"true", "false"}


def test_experiment2_unavailable_cells_carry_the_long_tables_reason(comparison):
    simverb = comparison[(comparison["table"] == "2") & (comparison["column"] == "SimVerb")]
    assert (simverb["status"] == "not available").all()
    assert simverb["reason"].str.contains("pairs covered by the vocabulary").all()
    w2v = comparison[(comparison["table"] == "12") & (comparison["text_features"] == "word2vec")]
    assert (w2v["status"] == "not available").all()
    assert w2v["reason"].str.startswith("experiment2.table12.word2vec: 3 of 353 pairs").all()


def test_table12_slots_take_the_configured_embedding(comparison, inputs):
    t12 = inputs["table12"]
    vgg = comparison[(comparison["table"] == "12") & (comparison["image_features"] == "VGG-128")]
    assert (vgg["status"] == "compared").all() and (vgg["our_embedding"] == "visual-synsets-vgg-m-128").all()
    assert vgg["data_note"].str.contains("VGG-M-128 synset centroids").all()
    for _, row in vgg.iterrows():
        hit = t12[(t12["slot"] == "vgg128") & (t12["benchmark"] == _BENCH_KEYS[row["column"]])
                  & (t12["similarity"] == row["similarity"]) & (t12["model"] == row["model"])]  # fmt: skip
        assert row["ours"] == pytest.approx(hit.iloc[0]["rho_mean"], abs=1e-12)


def test_experiment2_without_a_stand_in_says_why(published, standins, inputs):
    table = compare(published, standins, inputs["exp1"], normalise_experiment2(inputs["table2"]))
    vgg = table[(table["table"] == "12") & (table["image_features"] == "VGG-128")]
    assert (vgg["status"] == "not available").all() and vgg["reason"].str.startswith("no stand-in").all()


# --- the published finding and the summary --------------------------------------------------------------


def test_published_finding_recomputed_independently(published):
    flags = published_finding(published)
    value = published["value"].astype(float).to_numpy()
    exp1 = np.flatnonzero(published["experiment"].to_numpy() == "1")
    # Experiment 1 rows come in printed (X,f(X), Y,f(X)) pairs
    for a, b in zip(exp1[::2], exp1[1::2]):
        assert published.at[a, "column"] == "X,f(X)" and published.at[b, "column"] == "Y,f(X)"
        assert flags[a] == flags[b] == (value[a] > value[b])
    exp2 = published[published["experiment"] == "2"]
    inputs = {(r.table, r.text_features + r.image_features, r.column, r.similarity): float(r.value)
              for r in exp2.itertuples() if r.model == "input"}  # fmt: skip
    for r in exp2.itertuples():
        ref = inputs[(r.table, r.text_features + r.image_features, r.column, r.similarity)]
        assert flags[r.Index] == (None if r.model == "input" else float(r.value) - ref >= -0.05 - 1e-12)


def test_summary_counts_recomputed(comparison):
    summary = summarise_comparison(comparison).set_index("table")
    assert list(summary.index) == [str(t) for t in range(1, 13)]
    for table, g in comparison.groupby("table"):
        s = summary.loc[table]
        compared = g[g["ours"].notna()]
        assert s["n_published"] == len(g)
        assert s["n_compared"] == len(compared)
        assert s["n_finding_tested"] == (compared["finding_holds"] != "").sum()
        assert s["n_finding_holds"] == (compared["finding_holds"] == "true").sum()
        if len(compared):
            assert s["median_abs_delta"] == pytest.approx(float(np.median(np.abs(compared["ours"] - compared["published_value"]))))
        else:
            assert np.isnan(s["median_abs_delta"])


def test_summary_is_the_same_from_the_csv_read_back(comparison, tmp_path):
    """pandas reads the written "true"/"false"/"" flags back as True/False/NaN: same counts."""
    comparison.to_csv(tmp_path / "c.csv", index=False)
    again = summarise_comparison(pd.read_csv(tmp_path / "c.csv"))
    pd.testing.assert_frame_equal(again, summarise_comparison(comparison))


# --- the heat-map ----------------------------------------------------------------------------------------


def test_heatmap_values_are_the_differences_of_the_long_table(inputs):
    exp1 = inputs["exp1"]
    cells = heatmap_cells(exp1, k=10, self_rule="include")
    sel = exp1[(exp1["k"] == 10) & (exp1["self"] == "include")]
    assert len(cells) == len(sel)
    rows, columns = heatmap_axes(cells)
    for metric in ("cosine", "euclidean"):
        mat = heatmap_matrix(cells, metric, rows, columns)
        for _, r in sel[sel["metric"] == metric].iterrows():
            arrow = {"i2t": "I→T", "t2i": "T→I"}[r["direction"]]
            i = rows.index(f"{r['dataset']} · {r['image_feature']} / {r['text_feature']} · {arrow}")
            j = columns.index(f"{r['mapping']} · {r['loss']}")
            assert mat[i, j] == pytest.approx(r["mnno_x_fx_mean"] - r["mnno_y_fx_mean"], abs=1e-12)
    assert columns[:4] == ["lin · mse", "nn · mse", "nn-3 · mse", "nn-5 · mse"]


def test_heatmap_marks_settings_not_run_and_png_bytes_are_reproducible(inputs, tmp_path):
    exp1 = inputs["exp1"]
    exp1 = exp1[~((exp1["dataset"] == "iaprtc12") & (exp1["loss"] == "cosine"))]
    cells = heatmap_cells(exp1)
    rows, columns = heatmap_axes(cells)
    mat = heatmap_matrix(cells, "cosine", rows, columns)
    iapr = [i for i, r in enumerate(rows) if r.startswith("iaprtc12")]
    cos = [j for j, c in enumerate(columns) if c.endswith("· cosine")]
    assert np.isnan(mat[np.ix_(iapr, cos)]).all() and np.isfinite(mat).sum() == mat.size - len(iapr) * len(cos)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    plot_heatmap(cells, a, legend=["x: y"])
    plot_heatmap(cells, b, legend=["x: y"])
    data = a.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data == b.read_bytes()
    assert b"Software" not in data and b"matplotlib version" not in data
