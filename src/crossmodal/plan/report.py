"""The report: which tables get a page (and in which report category), the comparison, the
heat-map and the figures. Titles and captions are text, in workflow/report/ (captions.yaml and
<name>.rst), not here."""

from __future__ import annotations

#: Tables shown in the report as a page each: name -> report category. Title:
#: workflow/report/captions.yaml; caption: workflow/report/<name>.rst.
REPORT_TABLES: dict[str, str] = {
    "comparison": "Comparison",
    **{f"table{n}": "Tables" for n in range(1, 13)},
    "hyperparameters": "Experiment 1 details",
    "training_checks": "Experiment 1 details",
}
COMPARISON_CSV = "results/tables/comparison.csv"
HEATMAP_PNG = "results/figures/heatmap.png"
FIGURES: tuple[str, ...] = ("results/figures/figure1.png", "results/figures/figure2.png")


def report_page(name: str) -> str:
    return f"results/report/{name}.html"


def report_targets() -> list[str]:
    """What `snakemake --report` needs besides the tables and figures: comparison, heat-map, pages."""
    return [COMPARISON_CSV, HEATMAP_PNG, *[report_page(n) for n in REPORT_TABLES]]
