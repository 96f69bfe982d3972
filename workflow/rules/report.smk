# The paper beside ours (comparison.csv), the Experiment 1 heat-map, and an HTML page per table
# so that `snakemake --report report.html` shows every table inline (Snakemake 9's report
# offers a CSV only as a download). The tables and their categories: crossmodal.plan.REPORT_TABLES;
# their titles: workflow/report/captions.yaml.


rule comparison:
    """Every published number (560) beside ours, with the data difference or why we have none."""
    input:
        experiment1="results/tables/experiment1_long.csv",
        table2="results/tables/table2_long.csv",
        table12="results/tables/table12_long.csv",
        # in the checkout, not in a storage provider's (local: the kubernetes route's fs storage)
        published=local(str(ROOT / "workflow" / "resources" / "published_tables.csv")),
        standins=local(str(ROOT / "workflow" / "resources" / "paper_standins.csv")),
    output:
        report(P.COMPARISON_CSV, caption="../report/comparison.rst", category="Comparison"),
    threads: 1
    resources:
        **resources("light"),
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
        report(P.HEATMAP_PNG, caption="../report/heatmap.rst", category="Figures"),
    params:
        k=PLAN.experiment1.heatmap_k,
        self_rule="include",
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/report/heatmap.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/heatmap.py"


rule table_pages:
    """Every table of REPORT_TABLES that the workflow writes, as a standalone HTML page."""
    input:
        **{name: f"results/tables/{name}.csv" for name in P.REPORT_TABLES},
    output:
        **{
            name: report(P.report_page(name), caption=f"../report/{name}.rst", category=category)
            for name, category in P.REPORT_TABLES.items()
        },
    params:
        titles=report_titles(),
        summary="comparison",  # this one's page opens with the per-table summary
        captions=experiment1_captions(),  # shown by workflow/report/table<N>.rst
    threads: 1
    resources:
        **resources("light"),
    log:
        "logs/report/table_pages.log",
    conda:
        "../../envs/report.yaml"
    script:
        "../scripts/table_view.py"
