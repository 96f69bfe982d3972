"""Experiment 1 in the workflow: a tiny end-to-end run, caching, determinism, errors, config.

The tiny run uses the embedded default (the ImageNet-1k concept set, from packages only) plus a
small synthetic copy of the authors' ImageNet release (``imagenet_authors`` with ``folder``),
so that a change to one dataset can be seen to leave the other's jobs alone.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from test_workflow import planned_jobs, snakemake

# Tiny: 2 epochs, 2 folds, lin with MSE only, the search (on here) over two learning rates with 2-fold CV.
EXP1 = {"epochs": 2, "n_folds": 2, "mappings": ["lin"], "losses": ["mse"],
        "hyperparameter_search": {"enabled": True, "n_folds": 2, "grid": {"lr": [0.01, 0.001]}}}
NEIGHBOURS = {"k": [5, 10], "table_k": 10}  # 20 test items per fold: K = 30 would not fit
TABLE1 = "results/tables/table1.csv"
OUTPUTS = ("table1.csv", "table1_strict.csv", "table9.csv", "table9_strict.csv", "experiment1_long.csv",
           *(f"table{n}.csv" for n in range(3, 12)), "hyperparameters.csv", "training_checks.csv")


def authors_release(folder: Path, n: int = 40) -> Path:
    """imagenet/{vis_resnet,lang_glove,lang_word2vec}.csv: first column the word, no header."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(n)]
    for name, dim in (("vis_resnet", 8), ("lang_glove", 6), ("lang_word2vec", 5)):
        with (folder / f"{name}.csv").open("w", newline="") as fh:
            csv.writer(fh).writerows([[w, *(f"{v:.6f}" for v in row)] for w, row in zip(words, rng.standard_normal((n, dim)))])
    return folder


def tiny_config(release: Path, **authors: object) -> dict:
    datasets = {"imagenet_authors": {"folder": str(release), "image_features": ["resnet"], "text_features": ["glove"],
                                     **authors}}
    return {"experiment1": {**EXP1, "datasets": datasets}, "neighbours": NEIGHBOURS}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return authors_release(tmp_path_factory.mktemp("release") / "imagenet")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, release):
    workdir = tmp_path_factory.mktemp("tiny_exp1")
    result = snakemake(workdir, tiny_config(release), TABLE1)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return workdir


def test_tiny_run_writes_tables_with_honest_labels(tiny_run):
    for name in OUTPUTS:
        assert (tiny_run / "results/tables" / name).is_file()
    lines = (tiny_run / TABLE1).read_text().splitlines()
    assert lines[0].startswith("dataset,direction,mapping,text features,")
    assert '"EfficientNet-Lite0 class templates, 1280-d: X,f(X)"' in lines[0]
    rows = lines[1:]
    assert len(rows) == 4  # 2 datasets x 2 directions x 1 mapping
    assert rows[0].startswith('"ImageNet-1k concept set (639 of 1000 classes, 2-fold CV)",I->T,lin,"GloVe-6B-50d, 50-d",')
    assert rows[2].startswith('"ImageNet (concepts, 2-fold CV)",I->T,lin,"GloVe (authors), 6-d",')
    assert lines[0].endswith(",note")
    assert all(cell.rstrip("*").replace(".", "").isdigit() or cell == "n/a" for row in rows for cell in row.split(",")[-5:-1])
    assert all(row.endswith(",") for row in rows)  # no note: every setting of Table 1 was run
    # Table 3 (nn-3/nn-5) was not run: its rows are n/a with the reason, never another setting's numbers
    table3 = (tiny_run / "results/tables/table3.csv").read_text().splitlines()
    assert len(table3) == 1 + 4 * 2 and all(",n/a,n/a," in row and "not run: table 3 needs mappings nn-3, nn-5" in row
                                             for row in table3[1:])
    table11 = (tiny_run / "results/tables/table11.csv").read_text()
    assert "word2vec" in table11 and "not available" in table11  # the synthetic release's word2vec is not configured
    coverage = tiny_run / "results/experiment1/imagenet1k_concepts/efficientnet_lite0_fc/glove6b50d/coverage.json"
    assert '"kept": 639' in coverage.read_text()
    log = (tiny_run / "logs/experiment1/imagenet1k_concepts/efficientnet_lite0_fc/glove6b50d/i2t/train.log").read_text()
    assert "epoch 2/2 2xlin mean train_mse=" in log  # loss per epoch, both folds trained together
    assert not list(tiny_run.rglob("*.part*")), "temporary files left behind"


def test_searched_hyperparameters_are_recorded_and_used(tiny_run):
    import json

    import pandas as pd

    hp = pd.read_csv(tiny_run / "results/tables/hyperparameters.csv")
    assert len(hp) == 4 and (hp["hp_source"] == "cv").all() and set(hp["lr"]) <= {0.01, 0.001}
    job = "results/experiment1/imagenet1k_concepts/efficientnet_lite0_fc/glove6b50d/t2i/lin/mse"
    chosen = json.loads((tiny_run / job / "cv/chosen.json").read_text())
    row = hp[(hp["dataset"] == "imagenet1k_concepts") & (hp["direction"] == "t2i")]
    assert (row["lr"].item(), row["epochs"].item(), row["n_settings"].item()) == (chosen["lr"], chosen["epochs"], 2)
    long = pd.read_csv(tiny_run / "results/tables/experiment1_long.csv")
    assert set(long["k"]) == {5, 10} and set(long["metric"]) == {"cosine", "euclidean"}
    checks = pd.read_csv(tiny_run / "results/tables/training_checks.csv")
    assert len(checks) == 4 * 2 and set(checks["loss"]) == {"mse"}  # 4 settings x 2 folds, each checked


def test_rerun_is_a_no_op(tiny_run, release):
    assert planned_jobs(snakemake(tiny_run, tiny_config(release), "-n", TABLE1)) == {}


def test_adding_a_mapping_reuses_the_cached_neighbours_of_x_and_y(tiny_run, release):
    config = tiny_config(release)
    config["experiment1"]["mappings"] = ["lin", "nn"]
    jobs = planned_jobs(snakemake(tiny_run, config, "-n", TABLE1))
    # The search runs for the 4 new settings only; each training and scoring job holds every setting
    # of its dataset, pair and direction, so those 4 jobs (now lin and nn) run again.
    assert jobs == {"experiment1_cv": 4, "experiment1_train": 4, "experiment1_scores": 4, "experiment1_tables": 1}


def test_changing_one_datasets_features_reruns_only_that_dataset(tiny_run, release):
    jobs = planned_jobs(snakemake(tiny_run, tiny_config(release, text_features=["word2vec"]), "-n", TABLE1))
    # The dataset's only pair changed, so its splits are drawn again from the new file (same rows).
    assert jobs == {"experiment1_authors_csv": 1, "experiment1_splits": 1, "experiment1_neighbours": 2,
                    "experiment1_cv": 2, "experiment1_train": 2, "experiment1_scores": 2, "experiment1_tables": 1}


def test_same_config_and_seeds_give_byte_identical_tables_from_scratch(tiny_run, release, tmp_path):
    shutil.copytree(tiny_run / "resources", tmp_path / "resources")  # fetched package files only
    result = snakemake(tmp_path, tiny_config(release), TABLE1)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for name in OUTPUTS:
        assert (tmp_path / "results/tables" / name).read_bytes() == (tiny_run / "results/tables" / name).read_bytes()


def test_k_not_below_the_test_items_fails_with_one_clear_line(tmp_path, release):
    config = tiny_config(release)
    config["experiment1"]["datasets"]["imagenet1k_concepts"] = {"enabled": False}
    config["neighbours"] = {"k": [20], "table_k": 20}  # 2 folds of 40 items: 20 test items, at most K = 19 without self
    result = snakemake(tmp_path, config, TABLE1)
    assert result.returncode != 0
    assert "k=20 is too large for N=20 points (at most N - 1 without self)" in result.stdout + result.stderr
    assert not list((tmp_path / "results").rglob("neighbours/**/*.npz"))


@pytest.mark.parametrize(
    "config, named",
    [
        ({"experiment1": {"bogus": 1}}, "experiment1.bogus: unknown key"),
        ({"experiment1": {"datasets": {"iaprtc12": {"split": "train"}}}}, "experiment1.datasets.iaprtc12.split"),
        ({"experiment1": {"datasets": {"cifar": {}}}}, "experiment1.datasets.cifar: 'kind' is a required property"),
        ({"experiment1": {"datasets": {"mine": {"kind": "paired", "x": "a.npy", "y": "b.npy", "split": "half"}}}},
         "experiment1.datasets.mine.split: 'half' is not one of"),
        ({"experiment1": {"epochs": 0}}, "experiment1.epochs: 0 is less than the minimum of 1"),
        ({"experiment1": {"n_folds": 1}}, "experiment1.n_folds: 1 is less than the minimum of 2"),
        ({"experiment1": {"mappings": ["mlp"]}}, "experiment1.mappings.0"),
        ({"experiment1": {"hyperparameters": {"lr": {"imagenet": {"i2t": {"cnn": 0.1}}}}}},
         "experiment1.hyperparameters.lr.imagenet.i2t"),
        ({"experiment1": {"hyperparameters": {"momentum": 0.9}}}, "experiment1.hyperparameters.momentum: unknown key"),
    ],
)
def test_bad_experiment1_config_stops_before_any_job(tmp_path, config, named):
    result = snakemake(tmp_path, config, "-n")
    assert result.returncode != 0
    assert "invalid config: " in result.stdout + result.stderr and named in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_mirror_adds_iapr_test_split_cv_and_wikipedia(tmp_path, shared_data):
    result = snakemake(tmp_path, {"mirror_dir": str(shared_data)}, "-n", TABLE1)
    jobs = planned_jobs(result)
    assert jobs["experiment1_authors_csv"] == 1 and jobs["experiment1_wikipedia"] == 3
    # (concepts + IAPR + 3 Wikipedia text features: biGRU, LDA, tf-idf) x 2 directions, each job
    # training its 8 (mapping, loss) settings
    assert jobs["experiment1_train"] == jobs["experiment1_scores"] == 10
    assert "experiment1_cv" not in jobs  # the search is off by default
    searched = planned_jobs(snakemake(tmp_path, {"mirror_dir": str(shared_data),
                                                 "experiment1": {"hyperparameter_search": {"enabled": True}}}, "-n", TABLE1))
    assert searched["experiment1_cv"] == 80 and searched["experiment1_train"] == 10  # the search: one job per setting
    assert jobs["bigru_features"] == 1
    assert "results/scores/iaprtc12/vgg128/biGRU/t2i/nn-5/mse/summary.csv" in result.stdout
    assert "results/scores/iaprtc12/vgg128/biGRU/t2i/nn/max-margin/summary.csv" in result.stdout
    assert "collell_iaprtc_tr_" not in result.stdout  # no TR files: CV inside the test split


def test_your_own_paired_files_run_through_the_grid(tmp_path):
    """experiment1.datasets.<name>: {kind: paired}: a keyed CSV and a GloVe text file (no header),
    paired by key, become a dataset with its own rows in the paper-layout tables."""
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(36)]
    x = rng.standard_normal((36, 6))
    y = x[:, :4] @ rng.standard_normal((4, 5)) + 0.1 * rng.standard_normal((36, 5))
    with (tmp_path / "x.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([[w, *(f"{v:.6f}" for v in row)] for w, row in zip(words, x)])
    extra = [f"other{i} " + " ".join("0.5" for _ in range(5)) for i in range(3)]  # words X does not have
    (tmp_path / "y.txt").write_text("\n".join([*(f"{w} " + " ".join(f"{v:.6f}" for v in row)
                                               for w, row in zip(reversed(words), y[::-1])), *extra]) + "\n")
    spec = {"kind": "paired", "x": str(tmp_path / "x.csv"), "y": str(tmp_path / "y.txt"), "label": "My pairs",
            "x_feature": "vis", "y_feature": "txt", "x_label": "my visual vectors"}
    config = {"experiment1": {**EXP1, "datasets": {"imagenet1k_concepts": {"enabled": False}, "mine": spec}},
              "neighbours": {"k": [5], "table_k": 5}}
    workdir = tmp_path / "work"
    workdir.mkdir()
    result = snakemake(workdir, config, TABLE1)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    data = np.load(workdir / "results/experiment1/mine/vis/txt/dataset.npz", allow_pickle=False)
    order = [str(k) for k in data["keys"]]
    assert order == words  # X's order; Y's rows found by key, its extra words dropped
    np.testing.assert_allclose(data["text"], np.round(y, 6), atol=1e-6)
    table = (workdir / TABLE1).read_text()
    assert "My pairs" in table and "my visual vectors, 6-d" in table and "txt, 5-d" in table
    long = (workdir / "results/tables/experiment1_long.csv").read_text()
    assert long.count("mine,") >= 2  # both directions scored
