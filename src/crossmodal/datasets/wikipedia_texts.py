"""Raw article texts of the Wikipedia cross-modal dataset, aligned with the official split.

``texts.tar.gz`` holds one ``texts/<text id>.xml`` per article section, shaped
``<document id=... name=... cat=...><text>...</text></document>``. The section body is the
content of ``<text>``. Files are parsed as XML first; a file that is not well-formed XML
(stray ``&``, ``<`` in the prose) falls back to a regular expression on the raw bytes
(``<text[^>]*>(.*?)</text>``, XML character entities decoded), and those ids are counted and
listed in ``regex_fallback_ids`` so a caller can report them. A file with no ``<text>`` element
at all is an error.

The split lists (``{train,test}set_txt_img_cat.list``) are read with
:func:`crossmodal.datasets.wikipedia.read_wikipedia_list` (which repairs the stray leading ``A``
of the train list's first line); each listed text id must have exactly one text file, so the
returned splits follow the list order (= the row order of ``raw_features.mat``).
"""

from __future__ import annotations

import html
import os
import re
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from crossmodal.datasets.wikipedia import (
    LIST_FILES,
    check_categories,
    read_categories,
    read_wikipedia_list,
)

TEXTS_ARCHIVE = "texts.tar.gz"
_TEXT_RE = re.compile(rb"<text[^>]*>(.*?)</text\s*>", re.DOTALL)


@dataclass(frozen=True)
class WikiTextArchive:
    """All texts of the archive keyed by text id, plus the ids parsed by the regex fallback."""

    texts: dict[str, str]
    regex_fallback_ids: list[str] = field(default_factory=list)

    @property
    def n_regex_fallback(self) -> int:
        return len(self.regex_fallback_ids)


@dataclass(frozen=True)
class WikiTextSplit:
    """One official split in list order: text ids, image ids, texts, 1-based categories."""

    split: str
    text_ids: list[str]
    image_ids: list[str]
    texts: list[str]
    labels: list[int]
    categories: list[str]  # categories[c - 1] names category c

    def __len__(self) -> int:
        return len(self.text_ids)


def parse_text_document(raw: bytes, name: str = "<document>") -> tuple[str, bool]:
    """The ``<text>`` content of one document and whether the regex fallback was needed."""
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        m = _TEXT_RE.search(raw)
        if m is None:
            raise ValueError(f"{name}: not well-formed XML and no <text>...</text> element found") from None
        return html.unescape(m.group(1).decode("utf-8", errors="replace")).strip(), True
    node = root if root.tag == "text" else root.find(".//text")
    if node is None:
        raise ValueError(f"{name}: no <text> element")
    return "".join(node.itertext()).strip(), False


def read_wikipedia_texts(tar_path: str | os.PathLike[str]) -> WikiTextArchive:
    """Every ``texts/<id>.xml`` member of the archive; duplicate ids are an error."""
    texts: dict[str, str] = {}
    fallback: list[str] = []
    with tarfile.open(tar_path, "r:*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            p = PurePosixPath(member.name)
            if p.suffix != ".xml":
                continue
            text_id = p.stem
            if text_id in texts:
                raise ValueError(f"{tar_path}: duplicate text id {text_id!r}")
            fh = tar.extractfile(member)
            assert fh is not None
            text, used_regex = parse_text_document(fh.read(), f"{tar_path}:{member.name}")
            texts[text_id] = text
            if used_regex:
                fallback.append(text_id)
    if not texts:
        raise ValueError(f"{tar_path}: no texts/<id>.xml members found")
    return WikiTextArchive(texts, sorted(fallback))


def align_split(archive: WikiTextArchive, list_path: str | os.PathLike[str], categories: list[str], split: str) -> WikiTextSplit:
    """The split's texts in list order; a listed id without a text is an error."""
    listing = read_wikipedia_list(list_path)
    missing = [t for t in listing.text_ids if t not in archive.texts]
    if missing:
        raise ValueError(f"{Path(list_path).name}: {len(missing)} listed text ids have no text file, e.g. {missing[0]!r}")
    check_categories(listing.categories, len(categories), list_path)
    return WikiTextSplit(
        split=split,
        text_ids=list(listing.text_ids),
        image_ids=list(listing.image_ids),
        texts=[archive.texts[t] for t in listing.text_ids],
        labels=list(listing.categories),
        categories=list(categories),
    )


def load_wikipedia_texts(folder: str | os.PathLike[str]) -> tuple[dict[str, WikiTextSplit], WikiTextArchive]:
    """Both official splits from a folder laid out like the distributed dataset.

    Returns ``({"train": ..., "test": ...}, archive)``; ``archive.regex_fallback_ids`` says
    which files needed the regex fallback.
    """
    folder = Path(folder)
    archive = read_wikipedia_texts(folder / TEXTS_ARCHIVE)
    names = read_categories(folder / "categories.list")
    splits = {s: align_split(archive, folder / LIST_FILES[s], names, s) for s in ("train", "test")}
    return splits, archive
