"""HTML for the Snakemake report: a self-contained page per table.

Snakemake 9's HTML report lists a CSV output only as a download (its viewer shows images,
HTML and PDF inline, nothing else), so every table also gets a small standalone HTML page
that the report displays inline. (Reading a built report back is tests/reportread.py.)
"""

from __future__ import annotations

import base64
import html
import os

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
    figure: tuple[str, bytes] | None = None,
) -> str:
    """A standalone HTML page showing ``table`` (text as written; long decimals rounded).

    ``before``: (heading, small table) sections shown above the main table, e.g. a summary;
    ``figure``: (heading, PNG bytes) shown first, embedded so the page stays one file.
    """
    sections = "".join(f"<h2>{html.escape(h)}</h2>\n{_table(t, decimals)}" for h, t in (before or []))
    if figure is not None:
        png = base64.b64encode(figure[1]).decode("ascii")
        sections = f'<h2>{html.escape(figure[0])}</h2>\n<img alt="{html.escape(figure[0])}" src="data:image/png;base64,{png}">\n' + sections
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
