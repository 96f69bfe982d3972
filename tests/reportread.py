"""Reading a built Snakemake report back (tests only): its results, captions and visible text."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# --- reading a built report ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportResult:
    path: str
    name: str
    category: str
    caption_html: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class ReportContents:
    front_page_html: str
    results: dict[str, ReportResult]

    def by_name(self, name: str) -> ReportResult:
        hits = [r for r in self.results.values() if r.name == name]
        if len(hits) != 1:
            raise KeyError(f"{len(hits)} report items named {name!r} (have {sorted(r.name for r in self.results.values())})")
        return hits[0]

    def categories(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.results.values():
            out.setdefault(r.category, []).append(r.name)
        return out


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: dict[str, str] = {}
        self._current: str | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._current = dict(attrs).get("id") or ""
            self._buffer = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._buffer.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            if self._current:
                self.scripts[self._current] = "".join(self._buffer)
            self._current = None


def _assigned_json(script: str, name: str) -> object:
    """The JSON value of ``var <name> = <json>;`` in a report script block."""
    text = script.strip()
    prefix = f"var {name} ="
    if not text.startswith(prefix):
        raise ValueError(f"script does not assign {name!r}: {text[:60]!r}")
    return json.loads(text[len(prefix):].strip().rstrip(";"))


def _data_uri_bytes(uri: str) -> bytes:
    if not uri.startswith("data:") or ";base64," not in uri:
        raise ValueError(f"not an embedded base64 data URI: {uri[:60]!r}")
    return base64.b64decode(uri.split(";base64,", 1)[1])


def read_report(path: str | os.PathLike[str]) -> ReportContents:
    """What a self-contained Snakemake 9 HTML report embeds: front page and every result."""
    parser = _Scripts()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    for needed in ("results", "categories", "workflow-desc"):
        if needed not in parser.scripts:
            raise ValueError(f"{path}: no <script id={needed!r}> (not a Snakemake 9 HTML report?)")
    results = _assigned_json(parser.scripts["results"], "results")
    categories = _assigned_json(parser.scripts["categories"], "categories")
    front = _assigned_json(parser.scripts["workflow-desc"], "workflow_desc")
    category_of = {p: cat for cat, subcats in categories.items() for paths in subcats.values() for p in paths}
    items = {
        p: ReportResult(
            path=p, name=r["name"], category=category_of.get(p, ""), caption_html=r["caption"],
            mime_type=r["mime_type"], data=_data_uri_bytes(r["data_uri"]),
        )
        for p, r in results.items()
    }  # fmt: skip
    return ReportContents(front_page_html=str(front), results=items)


def visible_text(fragment: str) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded, whitespace collapsed)."""

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    p = _Text()
    p.feed(fragment)
    return " ".join(" ".join(p.parts).split())
