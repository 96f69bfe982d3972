"""HTML for the Snakemake report: a self-contained page per table, and a reader of the report.

Snakemake 9's HTML report lists a CSV output only as a download (its viewer shows images,
HTML and PDF inline, nothing else), so every table also gets a small standalone HTML page
that the report displays inline. ``read_report`` pulls what a built report embeds (results,
captions, categories, front page) out of its ``<script>`` blocks, for tests and checks.
"""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1rem; color: #1f2933; }
h1 { font-size: 1.15rem; margin: 0 0 .3rem 0; }
p.note { font-size: .8rem; color: #52606d; margin: 0 0 .8rem 0; }
div.wrap { overflow: auto; max-height: 92vh; border: 1px solid #cbd2d9; }
table { border-collapse: collapse; font-size: .78rem; }
th, td { border: 1px solid #e4e7eb; padding: .2rem .45rem; text-align: left; vertical-align: top; }
th { position: sticky; top: 0; background: #f0f4f8; z-index: 1; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
td.yes { background: #e3f9e5 !important; }
td.no { background: #ffe3e3 !important; }
td.na { color: #9aa5b1; }
td.long { min-width: 26rem; font-size: .72rem; }
h2 { font-size: 1rem; margin: 1rem 0 .3rem 0; }
"""
# Free-text columns: given width so that rows stay short.
_LONG_COLUMNS = {"data_note", "reason", "our_setting", "label_note", "note", "finding"}
# Columns whose true/false values are coloured (a finding that holds or not).
_FLAG_COLUMNS = {"finding_holds", "published_finding_holds"}


def _number(text: str, decimals: int) -> str | None:
    """``text`` rounded to ``decimals`` when it is a decimal number with more digits; else None."""
    if "." not in text or text.endswith("*"):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return f"{value:.{decimals}f}" if len(text.split(".", 1)[1]) > decimals else text


def _cell(column: str, text: str, decimals: int) -> str:
    if text in ("", "nan"):
        return '<td class="na"></td>'
    number = _number(text, decimals)
    if number is not None or text.lstrip("-").isdigit():
        return f'<td class="num">{number or text}</td>'
    if column in _FLAG_COLUMNS and text in ("true", "false"):
        return f'<td class="{"yes" if text == "true" else "no"}">{text}</td>'
    if text in ("n/a", "not available"):
        return f'<td class="na">{html.escape(text)}</td>'
    cls = ' class="long"' if column in _LONG_COLUMNS else ""
    return f"<td{cls}>{html.escape(text)}</td>"


def _table(df: pd.DataFrame, decimals: int) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "\n".join(
        "<tr>" + "".join(_cell(str(c), str(v), decimals) for c, v in zip(df.columns, row)) + "</tr>"
        for row in df.astype(str).itertuples(index=False, name=None)
    )
    return f'<div class="wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table></div>\n'


def table_page(
    table: pd.DataFrame,
    title: str,
    note: str = "",
    decimals: int = 3,
    before: list[tuple[str, pd.DataFrame]] | None = None,
) -> str:
    """A standalone HTML page showing ``table`` (text as written; long decimals rounded).

    ``before``: (heading, small table) sections shown above the main table, e.g. a summary.
    """
    sections = "".join(f"<h2>{html.escape(h)}</h2>\n{_table(t, decimals)}" for h, t in (before or []))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        + (f'<p class="note">{html.escape(note)}</p>\n' if note else "")
        + sections
        + (f"<h2>{html.escape(title)}</h2>\n" if before else "")
        + _table(table, decimals)
        + "</body>\n</html>\n"
    )


def read_table_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A results CSV exactly as written: every cell a string ("n/a", "0.123*", "")."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


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
