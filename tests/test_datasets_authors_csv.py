"""Importer of the authors' released feature CSVs (real IAPR TC-12 test split + synthetic files)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from crossmodal.datasets.authors_csv import (
    authors_csv_paths,
    load_authors_split,
    pair_authors_csv,
    parse_label_ids,
)


def _read_independently(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)


@pytest.fixture(scope="module")
def iapr_dir(shared_data: Path) -> Path:
    d = shared_data / "iaprtc12"
    if not (d / "TS_vis_vgg128.csv").is_file():
        pytest.skip(f"IAPR TC-12 CSVs not found in {d}")
    return d


@pytest.mark.shared_data
def test_iapr_test_split_loads_and_pairs(iapr_dir: Path) -> None:
    ps = load_authors_split(iapr_dir, "iaprtc", "vgg128", "biGRU", "TS")
    vis_col, vis = _read_independently(iapr_dir / "TS_vis_vgg128.csv")
    lang_col, lang = _read_independently(iapr_dir / "TS_lang_biGRU.csv")
    assert ps.image.shape == vis.shape == (len(vis_col), 128)
    assert ps.text.shape == lang.shape == (len(lang_col), 64)
    assert len(ps) == 1962
    np.testing.assert_array_equal(ps.image, vis.astype(np.float32))
    np.testing.assert_array_equal(ps.text, lang.astype(np.float32))
    assert ps.labels == [tuple(int(t) for t in f.split()) for f in vis_col]
    assert all(len(lab) > 0 for lab in ps.labels)
    assert (ps.image_feature, ps.text_feature, ps.name) == ("vgg128", "biGRU", "iaprtc/TS")
    assert ps.keys[0] == "TS:0" and len(set(ps.keys)) == len(ps)


@pytest.mark.shared_data
def test_iapr_pairing_check_fails_on_shortened_copy(iapr_dir: Path, tmp_path: Path) -> None:
    rows = list(csv.reader((iapr_dir / "TS_lang_biGRU.csv").open(newline="")))
    _write(tmp_path / "TS_lang_biGRU.csv", rows[:-1])
    with pytest.raises(ValueError, match="row counts differ"):
        pair_authors_csv(iapr_dir / "TS_vis_vgg128.csv", tmp_path / "TS_lang_biGRU.csv",
                         first_column="labels", name="x", image_feature="v", text_feature="t")


@pytest.mark.shared_data
def test_iapr_pairing_check_fails_on_misordered_copy(iapr_dir: Path, tmp_path: Path) -> None:
    rows = list(csv.reader((iapr_dir / "TS_lang_biGRU.csv").open(newline="")))
    # Rotate by one row: same count, every row paired with its neighbour's vector.
    _write(tmp_path / "TS_lang_biGRU.csv", rows[1:] + rows[:1])
    first_bad = next(i for i in range(len(rows)) if rows[i][0].split() != rows[(i + 1) % len(rows)][0].split())
    with pytest.raises(ValueError, match=rf"pairing broken at row {first_bad}\b"):
        pair_authors_csv(iapr_dir / "TS_vis_vgg128.csv", tmp_path / "TS_lang_biGRU.csv",
                         first_column="labels", name="x", image_feature="v", text_feature="t")


def test_imagenet_layout_pairs_by_word(tmp_path: Path) -> None:
    folder = tmp_path / "imagenet"
    folder.mkdir()
    words = ["dog", "nan", "null", "cat"]  # words pandas would otherwise read as missing
    rng = np.random.default_rng(0)
    vis, lang = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    _write(folder / "vis_resnet.csv", [[w, *map(lambda x: repr(float(x)), v)] for w, v in zip(words, vis)])
    _write(folder / "lang_glove.csv", [[w, *map(lambda x: repr(float(x)), v)] for w, v in zip(words, lang)])
    ps = load_authors_split(folder, "imagenet", "resnet", "glove")
    assert ps.keys == words and ps.labels is None
    np.testing.assert_array_equal(ps.image, vis.astype(np.float32))
    np.testing.assert_array_equal(ps.text, lang.astype(np.float32))

    _write(folder / "lang_glove.csv", [[w, *map(lambda x: repr(float(x)), v)] for w, v in zip(["dog", "nan", "cat", "null"], lang)])
    with pytest.raises(ValueError, match="pairing broken at row 2: vis_resnet.csv has 'null', lang_glove.csv has 'cat'"):
        load_authors_split(folder, "imagenet", "resnet", "glove")


def test_non_numeric_cell_fails(tmp_path: Path) -> None:
    _write(tmp_path / "TS_vis_a.csv", [["1 2", "0.5", ""], ["3", "1.0", "2.0"]])
    _write(tmp_path / "TS_lang_b.csv", [["1 2", "0.5"], ["3", "1.0"]])
    with pytest.raises(ValueError, match="non-numeric"):
        load_authors_split(tmp_path, "wiki", "a", "b", "TS")


def test_label_parsing() -> None:
    assert parse_label_ids("40 115  122") == (40, 115, 122)
    assert parse_label_ids("") == ()
    with pytest.raises(ValueError, match="row 7"):
        parse_label_ids("4 x", where="f.csv row 7")


def test_paths_follow_release_layout(tmp_path: Path) -> None:
    assert authors_csv_paths(tmp_path, "wiki", "resnet", "biGRU", "TR") == (
        tmp_path / "TR_vis_resnet.csv", tmp_path / "TR_lang_biGRU.csv")
    assert authors_csv_paths(tmp_path, "imagenet", "vgg128", "word2vec") == (
        tmp_path / "vis_vgg128.csv", tmp_path / "lang_word2vec.csv")
    with pytest.raises(ValueError):
        authors_csv_paths(tmp_path, "iaprtc", "vgg128", "biGRU", None)
    with pytest.raises(ValueError):
        authors_csv_paths(tmp_path, "imagenet", "vgg128", "glove", "TS")
