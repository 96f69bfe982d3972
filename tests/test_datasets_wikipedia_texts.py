"""Raw Wikipedia texts: XML/regex parsing of texts.tar.gz and alignment with the split lists."""

from __future__ import annotations

import io
import tarfile

import pytest

from crossmodal.datasets.wikipedia_texts import (
    load_wikipedia_texts,
    parse_text_document,
    read_wikipedia_texts,
)

ID1 = "b3150b0c281960b6a6d33407824fd40a-3"
ID2 = "c6c0c0ebfe08377e850437fb2adf1351-6"
ID3 = "c39584729495496984371f0ec2f38974-9"
IMG = "ceb47321a83dd824cec2d5d3f2034765"


def _tar(path, docs: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo("texts")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        for name, data in docs.items():
            info = tarfile.TarInfo(f"texts/{name}.xml")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_parse_good_and_bad_xml():
    good = b'<document id="x" cat="3"><text>\nHello &amp; <i>world</i>\n</text></document>'
    assert parse_text_document(good) == ("Hello & world", False)
    bad = b'<document id="x"><text>Fish & chips &amp; peas < 3</text></document>'
    assert parse_text_document(bad) == ("Fish & chips & peas < 3", True)
    with pytest.raises(ValueError, match="no <text>"):
        parse_text_document(b"<document>nothing</document>")
    with pytest.raises(ValueError, match="no <text>"):
        parse_text_document(b"<document>broken & nothing")


def test_archive_and_split_alignment(tmp_path):
    _tar(
        tmp_path / "texts.tar.gz",
        {
            ID1: b"<document><text>first text</text></document>",
            ID2: b"<document><text>second & bad</text></document>",
            ID3: b"<document><text>third</text></document>",
        },
    )
    arch = read_wikipedia_texts(tmp_path / "texts.tar.gz")
    assert arch.texts == {ID1: "first text", ID2: "second & bad", ID3: "third"}
    assert arch.regex_fallback_ids == [ID2] and arch.n_regex_fallback == 1
    (tmp_path / "categories.list").write_text("art\nbiology\ngeography\n")
    (tmp_path / "trainset_txt_img_cat.list").write_text(f"A{ID1}\t{IMG}\t2\n{ID3}\t{IMG}\t1\n")
    (tmp_path / "testset_txt_img_cat.list").write_text(f"{ID2}\t{IMG}\t3\n")
    splits, _ = load_wikipedia_texts(tmp_path)
    assert splits["train"].text_ids == [ID1, ID3]  # stray leading "A" repaired
    assert splits["train"].texts == ["first text", "third"] and splits["train"].labels == [2, 1]
    assert splits["test"].texts == ["second & bad"] and len(splits["test"]) == 1
    assert splits["test"].categories == ["art", "biology", "geography"]
    (tmp_path / "testset_txt_img_cat.list").write_text(f"{ID2.replace('c6', 'd6')}\t{IMG}\t3\n")
    with pytest.raises(ValueError, match="no text file"):
        load_wikipedia_texts(tmp_path)


def test_duplicate_and_empty_archives(tmp_path):
    _tar(tmp_path / "empty.tar.gz", {})
    with pytest.raises(ValueError, match="no texts"):
        read_wikipedia_texts(tmp_path / "empty.tar.gz")


@pytest.mark.shared_data
def test_real_wikipedia_texts(shared_data):
    splits, arch = load_wikipedia_texts(shared_data / "wikipedia")
    assert len(arch.texts) == 2866
    assert len(splits["train"]) == 2173 and len(splits["test"]) == 693
    assert set(splits["train"].labels) == set(range(1, 11)) == set(splits["test"].labels)
    assert not set(splits["train"].text_ids) & set(splits["test"].text_ids)
    assert all(len(t) > 100 for s in splits.values() for t in s.texts)
    # many sections contain bare '&' and are read by the regex fallback; they are reported
    assert 0 < arch.n_regex_fallback < len(arch.texts)
    assert splits["train"].text_ids[0] == "b3150b0c281960b6a6d33407824fd40a-3"
    assert splits["train"].texts[0].startswith("After more than 15 years away from the theatre, Sorkin")
