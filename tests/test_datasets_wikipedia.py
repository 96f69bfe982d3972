"""Wikipedia dataset loader on the real files (official 2,173/693 split)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from crossmodal.datasets.wikipedia import load_wikipedia, load_wikipedia_split, read_wikipedia_list

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def wiki_dir(shared_data: Path) -> Path:
    d = shared_data / "wikipedia"
    if not (d / "raw_features.mat").is_file():
        pytest.skip(f"Wikipedia files not found in {d}")
    return d


def _lines(path: Path) -> list[list[str]]:
    return [ln.split("\t") for ln in path.read_text().splitlines() if ln.strip()]


@pytest.mark.parametrize("text_feature,var", [("lda10", "T"), ("tfidf1000", "T_tfidf")])
def test_official_split_matches_mat_and_lists(wiki_dir: Path, text_feature: str, var: str) -> None:
    sets = load_wikipedia(wiki_dir, text_feature)
    mat = scipy.io.loadmat(wiki_dir / "raw_features.mat")
    names = (wiki_dir / "categories.list").read_text().split()
    for split, suffix, list_name, n_expected in (
        ("train", "_tr", "trainset_txt_img_cat.list", 2173),
        ("test", "_te", "testset_txt_img_cat.list", 693),
    ):
        ps = sets[split]
        rows = _lines(wiki_dir / list_name)
        assert len(ps) == len(rows) == n_expected
        np.testing.assert_array_equal(ps.image, mat["I" + suffix].astype(np.float32))
        np.testing.assert_array_equal(ps.text, mat[var + suffix].astype(np.float32))
        assert ps.image.shape[1] == 128 and ps.text.shape[1] == mat[var + suffix].shape[1]
        assert ps.labels == [(int(r[2]),) for r in rows]
        assert ps.meta["categories"] == names
        assert {lab[0] for lab in ps.labels} <= set(range(1, len(names) + 1))
        assert ps.meta["image_ids"] == [r[1] for r in rows]
        assert ps.keys[1:] == [r[0] for r in rows[1:]]
        assert (ps.image_feature, ps.text_feature) == ("sift128", text_feature)


def test_stray_leading_character_is_repaired(wiki_dir: Path) -> None:
    raw_first = _lines(wiki_dir / "trainset_txt_img_cat.list")[0][0]
    listing = read_wikipedia_list(wiki_dir / "trainset_txt_img_cat.list")
    assert raw_first.startswith("A")
    assert listing.text_ids[0] == raw_first[1:]
    assert listing.repaired_lines == [1]
    assert read_wikipedia_list(wiki_dir / "testset_txt_img_cat.list").repaired_lines == []


def test_row_count_mismatch_fails(wiki_dir: Path, tmp_path: Path) -> None:
    lines = (wiki_dir / "testset_txt_img_cat.list").read_text().splitlines()
    short = tmp_path / "test.list"
    short.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ValueError, match="I_te has 693 rows but test.list lists 692"):
        load_wikipedia_split(wiki_dir / "raw_features.mat", short, wiki_dir / "categories.list", "test")


def test_malformed_id_is_not_silently_repaired(wiki_dir: Path, tmp_path: Path) -> None:
    lines = (wiki_dir / "testset_txt_img_cat.list").read_text().splitlines()
    bad = tmp_path / "test.list"
    bad.write_text("\n".join([lines[0], "XY" + lines[1], *lines[2:]]) + "\n")
    with pytest.raises(ValueError, match="test.list:2: malformed text id"):
        read_wikipedia_list(bad)
