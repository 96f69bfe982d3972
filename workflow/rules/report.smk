# The paper beside ours (comparison.csv), the Experiment 1 heat-map, and an HTML page per table
# so that `snakemake --report report.html` shows every table inline (Snakemake 9's report
# offers a CSV only as a download). Include this file after every other rule file: a table gets
# a page only when some rule above (or rule comparison here) writes results/tables/<name>.csv.

# Constants and helpers (REPORT_TABLES, report_targets(), ...) live in common.smk.


rule comparison:
    """Every published number (560) beside ours, with the data difference or why we have none."""
    input:
        experiment1="results/tables/experiment1_long.csv",
        table2="results/tables/table2_long.csv",
        table12="results/tables/table12_long.csv",
        published=str(REPORT_RESOURCES / "published_tables.csv"),
        standins=str(REPORT_RESOURCES / "paper_standins.csv"),
    output:
        report(COMPARISON_CSV, caption="../report/comparison.rst", category="Comparison"),
    log:
        "logs/report/comparison.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/comparison.py"


rule heatmap:
    """mNNO(X,f(X)) - mNNO(Y,f(X)) over every Experiment 1 setting, one panel per neighbour metric."""
    input:
        "results/tables/experiment1_long.csv",
    output:
        report(HEATMAP_PNG, caption="../report/heatmap.rst", category="Figures"),
    params:
        k=heatmap_k(),
        self_rule="include",
    log:
        "logs/report/heatmap.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/heatmap.py"


rule table_pages:
    """Every table of REPORT_TABLES that the workflow writes, as a standalone HTML page."""
    input:
        **{name: f"results/tables/{name}.csv" for name in report_tables()},
    output:
        **{
            name: report(report_page(name), caption=f"../report/{name}.rst", category=REPORT_TABLES[name][1])
            for name in report_tables()
        },
    params:
        titles={name: REPORT_TABLES[name][0] for name in report_tables()},
        summary="comparison",  # this one's page opens with the per-table summary
    log:
        "logs/report/table_pages.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/table_view.py"
