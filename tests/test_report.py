"""The Snakemake HTML report: table pages, the comparison, the heat-map, captions, front page.

Two levels, both through the project's real Snakefile, rules, scripts and captions:

* always run (``report_run``): the report rules (comparison, heatmap, one page per table) on
  synthetic long tables and small stand-in table CSVs placed in a temporary working folder;
  ``--allowed-rules`` keeps Snakemake from rebuilding those inputs, so the run takes seconds
  instead of the full Experiment 1/2 pipeline. The built report is parsed (stdlib html.parser)
  for every item, its caption and the front page.
* ``slow``: a tiny configuration of the whole workflow (``snakemake`` then ``--report``), checking
  that the real report holds every table, both figures, the heat-map and a caption for each.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_comparison import BENCH, synthetic_experiment1, synthetic_experiment2

from crossmodal.plan import REPORT_TABLES as PLAN_REPORT_TABLES
from reportread import read_report, visible_text

from crossmodal.report.html import read_table_csv, table_page

# The page list, from the plan (the workflow reads the same).
REPORT_TABLES = list(PLAN_REPORT_TABLES)

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--cores", "1"]
PAPER_TABLES = [f"table{n}" for n in range(1, 13)]
# A caption that failed to render as reStructuredText shows docutils' message in the HTML.
RST_PROBLEM = re.compile(r"system-message|System Message|Unknown target name")


def run(workdir: Path, config: dict, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run([*SNAKEMAKE, "-d", str(workdir), *args], capture_output=True, text=True, timeout=timeout,
                            check=False)  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


# --- the table page on its own ------------------------------------------------------------------------


class _Rows:
    """Count <tr> and collect cell texts of an HTML page."""

    def __init__(self, page: str) -> None:
        from html.parser import HTMLParser

        cells: list[list[str]] = []
        inside = [False]

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                if tag == "tr":
                    cells.append([])
                if tag in ("td", "th"):
                    cells[-1].append("")
                    inside[0] = True

            def handle_endtag(self, tag):
                if tag in ("td", "th"):
                    inside[0] = False

            def handle_data(self, data):
                if inside[0]:
                    cells[-1][-1] += data

        P().feed(page)
        self.rows = cells


def test_table_page_shows_every_cell_escaped_and_rounded(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('dataset,cell,n\n"A <b>",0.123456*,12\nB,0.1234567,\n')
    table = read_table_csv(path)
    rows = _Rows(table_page(table, "T <1>")).rows
    assert rows[0] == ["dataset", "cell", "n"]
    assert rows[1] == ["A <b>", "0.123456*", "12"]  # text and starred cells as written
    assert rows[2] == ["B", "0.123", ""]  # a long decimal rounded, an empty cell empty
    assert "<b>" not in table_page(table, "x").split("<tbody>")[1]  # escaped


# --- always: the report rules on synthetic inputs -----------------------------------------------------


def _stand_in_table(name: str) -> str:
    return f"row,X f(X),Y f(X),note\n{name} a,0.41234,0.2*,\n{name} b,n/a,n/a,not available offline\n"


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> tuple[Path, list[str]]:
    """A report built by the report rules alone; returns the folder and the table pages in it."""
    workdir = tmp_path_factory.mktemp("report")
    tables = workdir / "results" / "tables"
    tables.mkdir(parents=True)
    synthetic_experiment1().to_csv(tables / "experiment1_long.csv", index=False)
    synthetic_experiment2({"glove-6b-50d": "GloVe-6B-50d"}).to_csv(tables / "table2_long.csv", index=False)
    t12 = synthetic_experiment2({"slot:word2vec": "", "slot:vgg128": ""}, unavailable=set(BENCH))
    t12["slot"] = ["word2vec" if i < len(t12) // 2 else "vgg128" for i in range(len(t12))]
    t12.to_csv(tables / "table12_long.csv", index=False)
    for name in REPORT_TABLES:  # stand-ins for the tables the other rules write
        if name != "comparison":
            (tables / f"{name}.csv").write_text(_stand_in_table(name))
    # rule names as targets: everything they write; other rules may not run (inputs are given)
    rules = ["comparison", "heatmap", "table_pages"]
    run(workdir, {}, "--allowed-rules", *rules, "--", *rules)
    run(workdir, {}, "--report", str(workdir / "report.html"), "--allowed-rules", *rules, "--", *rules)
    pages = sorted(p.stem for p in (workdir / "results" / "report").glob("*.html"))
    return workdir, pages


def test_report_pages_exist_for_every_paper_table_the_workflow_writes(report_run):
    _, pages = report_run
    # the workflow writes all twelve paper tables (rule all builds them); each gets a page
    assert set(PAPER_TABLES) <= set(pages)


def test_report_holds_comparison_heatmap_and_every_table_page_with_captions(report_run):
    workdir, pages = report_run
    report = read_report(workdir / "report.html")
    cats = report.categories()
    assert set(cats["Comparison"]) == {"comparison.csv", "comparison.html"}
    assert "heatmap.png" in cats["Figures"]
    for name in pages:
        item = report.by_name(f"{name}.html")
        assert item.mime_type == "text/html"
        caption = visible_text(item.caption_html)
        assert len(caption) > 200, f"{name}: caption too short: {caption!r}"
        assert not RST_PROBLEM.search(item.caption_html), f"{name}: {caption[:300]}"
        assert "{{" not in caption and "snakemake.config" not in caption
        # the page holds the table as written (row count, cells)
        csv = read_table_csv(workdir / "results" / "tables" / f"{name}.csv")
        rows = _Rows(item.data.decode("utf-8")).rows
        assert len(rows) >= len(csv) + 1
        if name in PAPER_TABLES:
            assert rows[-1][0] == csv.iloc[-1, 0]
    for n in range(1, 12):
        if n != 2:  # Experiment 1 captions say what data and settings produced the table
            caption = visible_text(report.by_name(f"table{n}.html").caption_html)
            assert "Data really used" in caption and "cross-validation" in caption


def test_report_embeds_the_files_byte_for_byte(report_run):
    workdir, _ = report_run
    report = read_report(workdir / "report.html")
    heat = report.by_name("heatmap.png")
    assert heat.mime_type == "image/png"
    assert heat.data == (workdir / "results/figures/heatmap.png").read_bytes()
    assert report.by_name("comparison.csv").data == (workdir / "results/tables/comparison.csv").read_bytes()
    caption = visible_text(heat.caption_html)
    assert "K = 10" in caption and "counted among its own neighbours" in caption
    cmp_caption = visible_text(report.by_name("comparison.csv").caption_html)
    for phrase in ("560 values", "finding_holds", "data_note", "paper_standins.csv", "rho(X) - 0.05"):
        assert phrase in cmp_caption


def test_comparison_page_starts_with_the_summary(report_run):
    workdir, _ = report_run
    page = read_report(workdir / "report.html").by_name("comparison.html").data.decode("utf-8")
    rows = _Rows(page).rows
    assert rows[0] == ["table", "n_published", "n_compared", "n_finding_tested", "n_finding_holds", "median_abs_delta"]
    assert [r[0] for r in rows[1:13]] == [str(n) for n in range(1, 13)]
    assert len(rows) == 13 + 1 + len(pd.read_csv(workdir / "results/tables/comparison.csv"))


def test_report_front_page(report_run):
    workdir, _ = report_run
    front = visible_text(read_report(workdir / "report.html").front_page_html)
    assert "Do Neural Network Cross-Modal Mappings Really Bridge Modalities?" in front
    assert "Data are not the paper's" in front and "GloVe-6B-50d" in front
    assert "snakemake --report report.html" in front and "{{" not in front


# --- slow: the whole workflow, tiny ----------------------------------------------------------------------

TINY = {
    "experiment1": {"epochs": 2, "n_folds": 2, "mappings": ["lin"], "losses": ["mse"],
                    "hyperparameter_search": {"n_folds": 2, "grid": {"lr": [0.01]}}},
    "experiment2": {"benchmarks": ["ws353"], "n_seeds": 2, "output_dim": 32, "nn_hidden_dim": 16},
    "neighbours": {"k": [5, 10], "table_k": 10},
}  # fmt: skip


@pytest.mark.slow
def test_full_tiny_workflow_report_has_every_table_both_figures_and_the_heatmap(tmp_path):
    # `all` plus the report rules by name (whether or not rule all lists report_targets())
    targets = ["all", "comparison", "heatmap", "table_pages"]
    run(tmp_path, TINY, *targets, timeout=3000)
    run(tmp_path, TINY, "--report", str(tmp_path / "report.html"), *targets, timeout=600)
    report = read_report(tmp_path / "report.html")
    names = {r.name for r in report.results.values()}
    for table in PAPER_TABLES:
        assert f"{table}.csv" in names and f"{table}.html" in names
    assert {"comparison.csv", "comparison.html", "figure1.png", "figure2.png", "heatmap.png"} <= names
    for item in report.results.values():
        assert visible_text(item.caption_html), f"{item.name} has no caption"
        assert not RST_PROBLEM.search(item.caption_html), item.name
