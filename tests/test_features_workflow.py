"""Feature extraction in the workflow (issue 5): biGRU and feature-map planning, what a change to
an encoder setting reruns, a real tiny synset-centroid run, and the clear errors for bad inputs.

Each test runs snakemake in its own working folder (see tests/test_workflow.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from crossmodal.features.images import canonical_encoder_name
from test_workflow import planned_jobs, snakemake

TABLE1 = "results/tables/table1.csv"
FEATURE_MAP = "results/tables/feature_map.csv"
BIGRU = "results/features/text/wikipedia/bigru.npz"
SYNSETS = "results/features/synsets/efficientnet-lite0.npz"
# Small Experiment 1 settings: the plans below only count jobs, they do not train.
EXP1 = {"epochs": 2, "n_runs": 2, "n_folds": 2, "mappings": ["lin"], "losses": ["mse"]}


def mirror_config(shared_data, **bigru: object) -> dict:
    return {"mirror_dir": str(shared_data), "experiment1": EXP1, "features": {"bigru": {"epochs": 1, **bigru}}}


def test_mirror_config_plans_bigru_features_and_feature_map(tmp_path, shared_data):
    result = snakemake(tmp_path, mirror_config(shared_data), "-n", TABLE1)
    jobs = planned_jobs(result)
    assert jobs["bigru_features"] == 1  # table1 depends on the biGRU features
    assert jobs["experiment1_wikipedia"] == 3  # bigru, lda10, tfidf1000
    assert "results/experiment1/wikipedia/sift128/bigru/dataset.npz" in result.stdout
    jobs = planned_jobs(snakemake(tmp_path, mirror_config(shared_data), "-n", FEATURE_MAP))
    assert jobs["bigru_features"] == 1 and jobs["feature_map"] == 1
    assert "experiment1_train" not in jobs


def test_changing_bigru_epochs_reruns_only_the_bigru_and_what_depends_on_it(tmp_path, shared_data):
    config = mirror_config(shared_data)
    # Mark every job of the two tables as done without running it: create each planned output
    # empty, then --touch --forceall (in DAG order, recording each job's params), then change one setting.
    plan = snakemake(tmp_path, config, "-n", TABLE1, FEATURE_MAP).stdout
    for line in plan.splitlines():
        if line.strip().startswith("output:"):
            for path in line.split(":", 1)[1].split(","):
                (tmp_path / path.strip()).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / path.strip()).touch()
    touched = snakemake(tmp_path, config, "--touch", "--forceall", TABLE1, FEATURE_MAP)
    assert touched.returncode == 0, (touched.stdout + touched.stderr)[-3000:]
    assert planned_jobs(snakemake(tmp_path, config, "-n", TABLE1, FEATURE_MAP)) == {}
    jobs = planned_jobs(snakemake(tmp_path, mirror_config(shared_data, epochs=2), "-n", TABLE1, FEATURE_MAP))
    # the biGRU, its Wikipedia dataset file, the text neighbours, 2 directions x lin/mse, the tables
    assert jobs == {"bigru_features": 1, "experiment1_wikipedia": 1, "experiment1_neighbours": 1,
                    "experiment1_train": 2, "experiment1_scores": 2, "experiment1_tables": 1, "feature_map": 1}


def _photo_tree(root, *, empty: str | None = None, corrupt: bool = False):
    """A synset tree from scikit-image's sample photos: 4 views each of 3 synsets, 1 of a 4th."""
    from PIL import Image
    from skimage import data

    photos = {"n02123045": data.chelsea(), "n07920052": data.coffee(), "n09818022": data.astronaut()}
    for synset, img in photos.items():
        (root / synset).mkdir(parents=True)
        for k, view in enumerate((img, img[:, ::-1], img[::-1], np.rot90(img))):
            Image.fromarray(np.ascontiguousarray(view)).save(root / synset / f"{k}.jpg")
    (root / "n11939491").mkdir()  # daisy: one image, fewer than min_images
    Image.fromarray(data.coffee()[::2, ::2]).save(root / "n11939491" / "0.png")
    if corrupt:
        (root / "n02123045" / "broken.jpg").write_bytes(b"not a jpeg at all")
    if empty:
        (root / empty).mkdir()
    return root


def synset_config(folder, **spec: object) -> dict:
    return {"features": {"synsets": {"folder": str(folder), "encoder": "efficientnet-lite0", "min_images": 2, **spec}}}


def test_synset_centroids_tiny_real_run(tmp_path):
    tree = _photo_tree(tmp_path / "tree", corrupt=True)
    result = snakemake(tmp_path, synset_config(tree), SYNSETS)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    with np.load(tmp_path / SYNSETS, allow_pickle=False) as npz:
        assert list(npz["words"]) == ["tabby", "espresso", "astronaut"]
        assert npz["vectors"].shape == (3, 1280) and np.isfinite(npz["vectors"]).all()
        assert list(npz["n_images"]) == [4, 4, 4]  # the corrupt file is skipped, not averaged
        assert not bool(npz["random_weights"])
    log = (tmp_path / "logs/features/synsets/efficientnet-lite0.log").read_text()
    assert "3 words from synsets with > 2 images" in log and "unreadable images skipped: 1" in log
    assert "filtered (too few images): 1" in log and "n02123045/broken.jpg" in log


def test_corrupt_image_is_an_error_when_configured(tmp_path):
    tree = _photo_tree(tmp_path / "tree", corrupt=True)
    result = snakemake(tmp_path, synset_config(tree, on_error="raise"), SYNSETS)
    assert result.returncode != 0
    assert "error: ValueError: cannot read image 'n02123045/broken.jpg'" in result.stdout + result.stderr
    assert not (tmp_path / SYNSETS).exists()


def test_empty_synset_folder_fails_with_one_line_naming_it(tmp_path):
    tree = _photo_tree(tmp_path / "tree", empty="n01440764")
    result = snakemake(tmp_path, synset_config(tree), SYNSETS)
    assert result.returncode != 0
    lines = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and f"synset folder {tree / 'n01440764'} contains no image files" in lines[0]
    assert not (tmp_path / SYNSETS).exists()


@pytest.mark.parametrize("where", ["synsets", "images"])
def test_unknown_encoder_stops_before_any_job_and_names_it(tmp_path, where):
    spec = {"folder": str(tmp_path), "encoder": "resnet999"}
    if where == "images":
        spec = {"wikipedia": {**spec, "ids": ["wikipedia_testset_list"]}}
    result = snakemake(tmp_path, {"features": {where: spec}}, "-n")
    assert result.returncode != 0
    text = result.stdout + result.stderr
    assert "invalid config: features." in text and "'resnet999' is not one of" in text
    with pytest.raises(ValueError, match="unknown image encoder 'resnet999'"):  # the library says so too
        canonical_encoder_name("resnet999")


def test_without_a_mirror_the_feature_map_says_which_rows_are_unavailable(tmp_path):
    result = snakemake(tmp_path, {}, FEATURE_MAP)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    import pandas as pd

    table = pd.read_csv(tmp_path / FEATURE_MAP)
    assert len(table) == 9 and table["our_map"].isna().all()
    assert table["status"].str.startswith("unavailable: ").all()
    assert "wikipedia_raw_features" in table.loc[0, "status"] and "no mirror_dir or mirror_url set" in table.loc[0, "status"]
    assert table.loc[0, "paper_map"] == 0.77


@pytest.mark.slow
def test_bigru_features_real_training_run(tmp_path, shared_data):
    """Trains the biGRU for one epoch on the mirror's Wikipedia texts (about a minute)."""
    result = snakemake(tmp_path, mirror_config(shared_data, max_len=100), BIGRU)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    with np.load(tmp_path / BIGRU, allow_pickle=False) as npz:
        assert npz["train"].shape == (2173, 64) and npz["test"].shape == (693, 64)
        assert str(npz["label"]).startswith("biGRU (ours, trained on Wikipedia train texts, GloVe-6B-50d inputs)")
    assert "epoch 1/1 train_loss=" in (tmp_path / "logs/features/text/wikipedia/bigru.log").read_text()


def test_folder_features_follow_the_id_list_and_count_missing_and_corrupt_images(tmp_path):
    from PIL import Image

    from crossmodal.features.images import folder_image_features, read_id_lists

    (tmp_path / "img" / "art").mkdir(parents=True)
    for k in ("a", "b"):
        Image.fromarray(np.full((40, 50, 3), 60 if k == "a" else 200, np.uint8)).save(tmp_path / "img" / "art" / f"{k}.jpg")
    (tmp_path / "img" / "c.jpg").write_bytes(b"broken")
    listing = tmp_path / "ids.list"
    listing.write_text("t1\tb\t3\nt2\tmissing\t1\nt3\ta\t2\nt4\tc\t2\n")
    ids = read_id_lists([listing], column=1)
    assert ids == ["b", "missing", "a", "c"]
    with pytest.warns(UserWarning, match="RANDOM WEIGHTS"):
        res = folder_image_features(tmp_path / "img", ids, "resnet18", allow_random_weights=True, progress=False)
    assert res.kept_ids == ["b", "a"] and res.features.shape == (2, 512)
    assert [s[0] for s in res.skipped] == ["missing", "c"] and res.skipped[0][1] == "no image file"
    with pytest.raises(ValueError, match="'missing'"):
        folder_image_features(tmp_path / "img", ids, "resnet18", allow_random_weights=True, on_error="raise")
